// JIT compile time (graph to callable) of seeded random graphs of growing
// size (tests/support/random_graph.h), with the time of each phase; then the
// parse time of modules of 10,000 and 100,000 one-line functions (linear:
// function look-up by name is a hash table).
//   compile_bench [--sizes 640,6400,64000]   (steps: about 1k, 10k, 100k nodes)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "nabla/compiler/compile.h"
#include "nabla/ir/parser.h"
#include "tests/support/random_graph.h"

namespace nabla::bench {
namespace {

// Parsing n functions `func @fI(%a: f32[]) -> f32[] { return %a }`: the
// time per function stays flat when parsing is linear in n.
void parse_times() {
  std::printf("\nParse time of modules of one-line functions (median of 3)\n%10s | %9s | %12s\n", "functions",
              "ms", "us/function");
  for (int n : {10000, 100000}) {
    std::string text;
    for (int i = 0; i < n; ++i) text += "func @f" + std::to_string(i) + "(%a: f32[]) -> f32[] { return %a }\n";
    std::vector<double> ms;
    for (int r = 0; r < 3; ++r) {
      Module m;  // freed after the timing
      ms.push_back(time_ms([&] { m = parse(text, "many.nabla"); }));
      if (m.functions().size() != static_cast<size_t>(n)) {
        std::fprintf(stderr, "compile_bench: parsed %zu functions of %d\n", m.functions().size(), n);
        std::exit(1);
      }
    }
    const double mid = median(ms);
    std::printf("%10d | %9.1f | %12.3f\n", n, mid, 1000 * mid / n);
  }
}

int run(int argc, char** argv) {
  // Steps that give about 1k, 10k and 100k nodes.
  std::vector<int> sizes = {640, 6400, 64000};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--sizes") && i + 1 < argc) {
      sizes.clear();
      for (char* p = std::strtok(argv[++i], ","); p; p = std::strtok(nullptr, ","))
        sizes.push_back(std::atoi(p));
    } else if (std::strcmp(argv[i], "--quick") != 0) {
      std::fprintf(stderr, "usage: compile_bench [--sizes 640,6400,64000]\n");
      return 1;
    }
  }
  std::printf("JIT compile time of random graphs (1 thread, default options)\n");
  std::printf("%8s %8s | %9s | %8s %9s %9s %9s | %8s %8s\n", "steps", "nodes", "total ms",
              "passes", "lowering", "optimize", "codegen", "kernels", "us/node");
  for (int steps : sizes) {
    test::RandomGraphOptions o;
    o.num_steps = steps;
    o.max_inputs = 16;
    o.max_results = 16;
    Module m = test::random_graph(1, o);
    const Function& f = *m.find("random");
    int nodes = 0;
    for (auto it = f.begin(); it != f.end(); ++it) ++nodes;
    CompileOptions co;
    co.num_threads = 1;
    auto t0 = std::chrono::steady_clock::now();
    Executable exe = compile(f, co);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const CompileStats& s = exe.stats();
    std::printf("%8d %8d | %9.0f | %8.0f %9.0f %9.0f %9.0f | %8d %8.1f\n", steps, nodes, ms,
                s.passes_ms, s.lowering_ms, s.optimize_ms, s.codegen_ms, s.num_kernels,
                1000 * ms / nodes);
    std::fflush(stdout);
  }
  parse_times();
  return 0;
}

}  // namespace
}  // namespace nabla::bench

int main(int argc, char** argv) { return nabla::bench::run(argc, argv); }
