#pragma once
// Pipelines of passes. A pipeline is written as text, the same in C++ and in
// `nabla-opt --passes=...`:
//
//   pipeline := entry (',' entry)*
//   entry    := NAME ('{' option (' ' option)* '}')?    a registered pass
//             | 'repeat(' pipeline ')'                  rerun until nothing changes
//             | 'default'                               default_pipeline()'s entries
//   option   := KEY ('=' VALUE)?                        a bare KEY means KEY=true
//
// e.g. "build-grad,repeat(simplify{unsafe-math},cse,dce)". The manager runs
// each pass over every function of a module, optionally verifies after each
// pass (naming the pass that broke an invariant), prints the module after
// chosen passes, and counts the nodes each pass removed, added and replaced.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nabla/passes/pass.h"

namespace nabla {

// The pipeline the JIT and nablac run: expand grad ops (build-grad), then
// clean up until a fixed point. The one definition; docs/passes.md explains
// each step.
std::string_view default_pipeline();

struct PassManagerOptions {
  // Run the verifier (ir/verifier.h) on the input and after every pass; a
  // failure throws nabla::Error naming the pass and the function, e.g.
  //   verify-each: after pass 'cse' on @f: <the verifier's message>
  // Also checks that a pass which reports "no change" did not edit anything.
  bool verify_each = false;
  // Print the module after every pass, or after the passes named here (each
  // must occur in the pipeline). Dumps go to print_stream (nullptr: std::cerr),
  // each under a header `// -----// IR Dump After NAME //----- //`.
  bool print_after_all = false;
  std::vector<std::string> print_after;
  std::ostream* print_stream = nullptr;
  // Upper bound on the rounds of a repeat(...) group.
  int max_repeat = 10;
};

// Per pipeline entry: how often the pass ran (once per function and round),
// how often it changed something, and the nodes it touched.
struct PassStatistics {
  std::string name;       // the pass name, or "repeat" for a group
  int depth = 0;          // nesting depth inside repeat groups
  bool is_repeat = false; // a group: runs counts rounds, changed the rounds that changed

  uint64_t runs = 0;
  uint64_t changed = 0;
  uint64_t removed = 0;   // body nodes erased
  uint64_t added = 0;     // body nodes created
  uint64_t replaced = 0;  // nodes whose uses were redirected to another node
};

class PassManager {
 public:
  explicit PassManager(PassManagerOptions options = {});
  ~PassManager();
  PassManager(PassManager&&) noexcept;
  PassManager& operator=(PassManager&&) noexcept;

  // Appends the passes of a pipeline string. Throws nabla::Error for an unknown
  // pass, an unknown option or a syntax error, e.g.
  //   pipeline: unknown pass 'foo' (registered: build-grad, cse, ...)
  PassManager& add(std::string_view pipeline);
  // Appends one pass object (for passes outside the registry, e.g. in tests).
  PassManager& add(std::unique_ptr<Pass> pass);
  // Appends a repeat(...) group built from a pipeline string.
  PassManager& add_repeat(std::string_view pipeline);

  // Sets an option on every pass of the pipeline that takes it (e.g.
  // "unsafe-math" for each simplify); returns how many passes took it.
  int set_option_all(std::string_view key, std::string_view value);

  // Runs the pipeline on every function of the module, pass by pass. Returns
  // true when any pass changed anything.
  bool run(Module& m);

  // The pipeline in the text syntax above.
  std::string str() const;
  // One row per pass of the pipeline, in pipeline order (nested ones included).
  std::vector<PassStatistics> statistics() const;
  // The statistics as a table, for --pass-stats.
  void print_statistics(std::ostream& os) const;

  struct Entry;

 private:
  PassManagerOptions options_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Runs default_pipeline() on a module.
bool run_default_pipeline(Module& m, PassManagerOptions options = {});

}  // namespace nabla
