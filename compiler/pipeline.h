#pragma once
// What the JIT (compile.h) and the offline compiler (aot.h) share before
// lowering: the pass pipeline with fusion, and the entry symbols.
#include <cstdint>
#include <ostream>
#include <string>

#include "nabla/ir/function.h"

namespace nabla {

struct PipelineSpec {
  std::string pipeline = "default";  // passes/pass_manager.h syntax; "default"; "" for none
  bool fuse = true;                  // then the `fuse` pass
  bool fuse_matmul = true;           // `matmul-sum` before fuse, `fuse-matmul` (GEMM epilogues) after
  // Modules with collectives: `bucket-collectives{bytes=N}` then
  // `split-collectives{bytes=N}` before fusion (0: none),
  // `schedule-collectives` after it (passes/collectives.h).
  int64_t split_bytes = int64_t{256} << 10;
  int64_t bucket_bytes = int64_t{256} << 10;
  bool schedule_collectives = true;
  bool verify_each = false;
  bool print_after_all = false;
  std::ostream* print_stream = nullptr;
};

// Runs the pipeline (and fusion) on every function of m.
void run_compile_passes(Module& m, const PipelineSpec& spec);

// The C symbol of a function's entry: "nabla_" and the function name with
// characters outside [A-Za-z0-9_] replaced by '_'.
std::string entry_symbol(const std::string& function_name);

}  // namespace nabla
