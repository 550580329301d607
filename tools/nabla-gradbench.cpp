// nabla-gradbench: nabla as a GradBench tool (docs/gradbench.md). Reads one
// JSON message per line on stdin and answers each with one line on stdout,
// until the end of the input; a bad message gets `"success": false` and the
// program keeps serving.
#include <iostream>
#include <string>

#include "tools/common/cli.h"
#include "tools/gradbench/gradbench.h"
#include "tools/gradbench/huge_page_malloc.h"
#include "tools/gradbench/scan_evals.h"

int main(int argc, char** argv) {
  nabla::gradbench::use_huge_page_malloc(argv);  // re-executes this program once
  nabla::CompileOptions options;
  options.num_threads = 1;
  std::string module_dir;
  bool compile_stats = false;
  nabla::cli::Program program{
      "nabla-gradbench",
      "[options] < MESSAGES",
      "speaks the GradBench protocol on stdin and stdout (the modules of docs/gradbench.md)",
      {{"--multithreaded", "", "let the compiled functions use every hardware thread (default: one)",
        [&](std::string_view) { options.num_threads = 0; }},
       {"--fast-math", "", "compile with fast-math (reassociated reductions, fused multiply-adds)",
        [&](std::string_view) { options.fast_math = true; }},
       {"--compile-stats", "", "print on stderr where each prepare's time goes (graph and derivatives, passes, LLVM)",
        [&](std::string_view) { compile_stats = true; }},
       {"--unrolled", "", "build ode and lstm with one copy of the step per time step instead of a scan",
        [&](std::string_view) { nabla::gradbench::set_unrolled_loops(true); }},
       {"--write-modules", "DIR", "also write each module built, before the passes, to DIR/MODULE.FUNCTION[SIZES].nabla",
        [&](std::string_view dir) { module_dir = dir; }}},
  };
  return nabla::cli::run(program, argc, argv, [&](std::vector<std::string>& positional) {
    if (!positional.empty()) throw nabla::Error("unexpected argument '" + positional[0] + "'");
    nabla::gradbench::Server server(options);
    server.write_modules_to(module_dir);
    server.print_compile_stats(compile_stats);
    std::ios::sync_with_stdio(false);
    for (std::string line; std::getline(std::cin, line);) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::cout << server.handle(line) << std::endl;
    }
    return 0;
  });
}
