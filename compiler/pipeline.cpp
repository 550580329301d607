#include "nabla/compiler/pipeline.h"

#include <cctype>

#include "nabla/passes/collectives.h"
#include "nabla/passes/pass_manager.h"
#include "nabla/passes/registry.h"

namespace nabla {

void run_compile_passes(Module& m, const PipelineSpec& spec) {
  PassManagerOptions pmo;
  pmo.verify_each = spec.verify_each;
  pmo.print_after_all = spec.print_after_all;
  pmo.print_stream = spec.print_stream;
  PassManager pm(pmo);
  bool any = false;
  bool collectives = false;
  for (const Function* f : m.functions()) collectives = collectives || has_collectives(*f);
  if (spec.pipeline == "default") {
    pm.add(default_pipeline());
    any = true;
  } else if (!spec.pipeline.empty()) {
    pm.add(spec.pipeline);
    any = true;
  }
  if (collectives && spec.bucket_bytes > 0) {
    pm.add("bucket-collectives{bytes=" + std::to_string(spec.bucket_bytes) + "}");
    any = true;
  }
  if (collectives && spec.split_bytes > 0) {  // after bucketing, which would join the blocks again
    pm.add("split-collectives{bytes=" + std::to_string(spec.split_bytes) + "}");
    any = true;
  }
  if (spec.fuse_matmul) {  // before fuse takes the additions into regions
    pm.add("matmul-sum");
    any = true;
  }
  if (spec.fuse && create_pass("fuse")) {
    pm.add("fuse");
    any = true;
  }
  if (spec.fuse_matmul) {
    pm.add("fuse-matmul");
    any = true;
  }
  if (collectives && spec.schedule_collectives) {
    pm.add("schedule-collectives");
    any = true;
  }
  if (any) pm.run(m);
}

std::string entry_symbol(const std::string& name) {
  std::string s = "nabla_";
  for (char c : name) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  return s;
}

}  // namespace nabla
