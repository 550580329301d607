// nabla-gradbench: nabla as a GradBench tool (docs/gradbench.md). Reads one
// JSON message per line on stdin and answers each with one line on stdout,
// until the end of the input; a bad message gets `"success": false` and the
// program keeps serving.
#include <iostream>
#include <string>

#include "tools/common/cli.h"
#include "tools/gradbench/gradbench.h"

int main(int argc, char** argv) {
  nabla::CompileOptions options;
  options.num_threads = 1;
  nabla::cli::Program program{
      "nabla-gradbench",
      "[options] < MESSAGES",
      "speaks the GradBench protocol on stdin and stdout (modules hello, lse, llsq, gmm)",
      {{"--multithreaded", "", "let the compiled functions use every hardware thread (default: one)",
        [&](std::string_view) { options.num_threads = 0; }},
       {"--fast-math", "", "compile with fast-math (reassociated reductions, fused multiply-adds)",
        [&](std::string_view) { options.fast_math = true; }}},
  };
  return nabla::cli::run(program, argc, argv, [&](std::vector<std::string>& positional) {
    if (!positional.empty()) throw nabla::Error("unexpected argument '" + positional[0] + "'");
    nabla::gradbench::Server server(options);
    std::ios::sync_with_stdio(false);
    for (std::string line; std::getline(std::cin, line);) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::cout << server.handle(line) << std::endl;
    }
    return 0;
  });
}
