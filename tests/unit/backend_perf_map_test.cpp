// NABLA_PERF_MAP (compiler/jit.cpp, docs/performance.md "Profiling JIT
// code"): with the variable set, the JIT writes the address, size and name
// of every function it links to /tmp/perf-PID.map, the file perf reads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

std::string perf_map_path() { return "/tmp/perf-" + std::to_string(::getpid()) + ".map"; }

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(BackendPerfMap, NamesTheEntryAndTheKernels) {
  Module m = test::make_function({TensorType{DType::f32, {64, 64}}}, [](std::vector<Value>& x) {
    return std::vector<Value>{sum(exp(matmul(x[0], x[0])))};
  });
  CompileOptions o = test::test_options(1);
  o.compile_threads = 2;
  std::remove(perf_map_path().c_str());
  ::setenv("NABLA_PERF_MAP", "1", 1);
  Executable exe = compile(m.function("f"), o);
  ::unsetenv("NABLA_PERF_MAP");
  std::string map = read_all(perf_map_path());
  std::remove(perf_map_path().c_str());
  std::istringstream lines(map);
  std::string line;
  bool entry = false, gemm = false;  // nabla_f, gemm.node0.kernel.MRxNR
  while (std::getline(lines, line)) {
    unsigned long long address = 0, size = 0;
    char name[256] = {};
    ASSERT_EQ(std::sscanf(line.c_str(), "%llx %llx %255s", &address, &size, name), 3) << line;
    EXPECT_GT(address, 0u) << line;
    EXPECT_GT(size, 0u) << line;
    entry = entry || std::string(name) == "nabla_f";
    gemm = gemm || std::string(name).find("gemm.node") == 0;
  }
  EXPECT_TRUE(entry) << map;
  EXPECT_TRUE(gemm) << map;
  // Without the variable nothing is written.
  Executable quiet = compile(m.function("f"), o);
  EXPECT_FALSE(std::ifstream(perf_map_path()).good());
}

}  // namespace
}  // namespace nabla
