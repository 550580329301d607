// nablac end to end: for the lecture's examples and the MLP training step,
// nablac emits an object and a header; a C program and a C++ program, built
// here with cc/c++, link against them alone, run on .npy inputs, and their
// results must equal the reference interpreter's; the training step once more
// with streaming stores forced on every elementwise kernel. Also AArch64 and
// RISC-V objects, run under qemu-user.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "nabla/ir/interpreter.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/passes/pass_manager.h"
#include "nabla/runtime/npy.h"

namespace nabla {
namespace NABLA_UNITY_ID {

namespace fs = std::filesystem;
const std::string kSource = NABLA_SOURCE_DIR;
const std::string kNablac = std::string(NABLA_BINARY_DIR) + "/tools/nablac";

int sh(const std::string& cmd, std::string* output = nullptr) {
  // One log per process: ctest runs the tests of this file side by side.
  std::string log = std::string(NABLA_BINARY_DIR) + "/aot_test_cmd." + std::to_string(getpid()) + ".log";
  int rc = std::system((cmd + " > " + log + " 2>&1").c_str());
  if (output) {
    std::ifstream in(log);
    output->assign(std::istreambuf_iterator<char>(in), {});
  }
  std::remove(log.c_str());
  return rc;
}

struct Case {
  std::string file, func;
  std::string flags;  // more nablac options
  std::string name;   // the test's name
};

// The interpreter's results on the inputs, after build-grad.
std::vector<Tensor> expected(const std::string& file, const std::string& func,
                             const std::vector<Tensor>& inputs) {
  Module m = parse_file(file);
  PassManager pm;
  pm.add("build-grad");
  pm.run(m);
  return interpret(*m.find(func), inputs);
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  double tol = got.dtype() == DType::f32 ? 1e-5 : 1e-12;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double a = got.get(i), b = want.get(i);
    ASSERT_LE(std::abs(a - b), tol * (1 + std::abs(b))) << what << " element " << i << ": " << a << " vs " << b;
  }
}

class Aot : public ::testing::TestWithParam<Case> {};

// Compiles `func` of `file` with nablac (and `flags`), and the C and C++
// drivers against the object alone, into dir.
void build_drivers(const std::string& file, const std::string& func, const std::string& dir,
                   const std::string& flags = "") {
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string out;
  ASSERT_EQ(sh(kNablac + " " + file + " --func " + func + " -o " + dir + "/model.o --header " + dir +
                   "/model.h --namespace ex " + flags,
               &out),
            0)
      << out;
  std::string drivers = kSource + "/tests/aot";
  ASSERT_EQ(sh("cc -std=c11 -O1 -Wall -Wextra -Werror -I" + drivers + " -include " + dir + "/model.h" +
                   " -DSIGNATURE=nabla_" + func + "_signature " + drivers + "/driver.c " + dir +
                   "/model.o -lm -o " + dir + "/c_driver",
               &out),
            0)
      << out;
  ASSERT_EQ(sh("c++ -std=c++17 -O1 -Wall -Wextra -Werror -I" + drivers + " -include " + dir + "/model.h" +
                   " -DCLASS=ex::" + func + " " + drivers + "/driver.cpp " + dir + "/model.o -lm -o " + dir +
                   "/cpp_driver",
               &out),
            0)
      << out;
}

TEST_P(Aot, CAndCppProgramsMatchTheInterpreter) {
  const Case& c = GetParam();
  std::string dir = std::string(NABLA_BINARY_DIR) + "/aot_test/" + c.name;
  ASSERT_NO_FATAL_FAILURE(build_drivers(c.file, c.func, dir, c.flags));
  std::string out;

  Module m = parse_file(c.file);
  std::vector<Tensor> inputs = random_inputs(*m.find(c.func), 7);
  std::string args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string path = dir + "/in" + std::to_string(i) + ".npy";
    write_npy(path, inputs[i]);
    args += " " + path;
  }
  std::vector<Tensor> want = expected(c.file, c.func, inputs);
  for (std::string driver : {"c_driver", "cpp_driver"}) {
    ASSERT_EQ(sh(dir + "/" + driver + args + " " + dir, &out), 0) << driver << ": " << out;
    for (size_t i = 0; i < want.size(); ++i)
      expect_close(read_npy(dir + "/out" + std::to_string(i) + ".npy"), want[i],
                   driver + " output " + std::to_string(i));
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const char* name : {"xy", "logreg", "relu_layer", "mlp", "mlp_step"}) {
    std::string file = kSource + "/examples/" + name + ".nabla";
    Module m = parse_file(file);
    std::string func = m.functions().front()->name();
    out.push_back({file, func, "", func});
  }
  // Every elementwise kernel with streaming stores (docs/backend.md#streaming-stores),
  // whose results the drivers place wherever malloc puts them.
  out.push_back({kSource + "/examples/mlp_step.nabla", out.back().func, "--stream-store-bytes 1", "streaming"});
  out.push_back({kSource + "/tests/aot/axis_ops.nabla", "axis_ops", "", "axis_ops"});
  out.push_back({kSource + "/tests/aot/conv_ops.nabla", "conv_ops", "", "conv_ops"});
  out.push_back({kSource + "/tests/aot/loops.nabla", "loops", "", "loops"});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Examples, Aot, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

// Sets element `at` of input `input` to each bad value: the interpreter's
// message must be `want(bad)`, and both drivers print it and exit with 1.
void expect_reported(const std::string& name, const std::string& file, const std::string& func, size_t input,
                     int64_t at, std::initializer_list<int64_t> bad_values,
                     const std::function<std::string(int64_t)>& want_message) {
  std::string dir = std::string(NABLA_BINARY_DIR) + "/aot_test/" + name, out;
  ASSERT_NO_FATAL_FAILURE(build_drivers(file, func, dir));
  Module m = parse_file(file);
  for (int64_t bad : bad_values) {
    std::vector<Tensor> inputs = random_inputs(*m.find(func), 5);
    inputs[input].set(at, static_cast<double>(bad));
    std::string want;
    try {
      expected(file, func, inputs);
      FAIL() << "the interpreter accepted " << bad;
    } catch (const Error& e) {
      want = e.what();
    }
    EXPECT_EQ(want, want_message(bad));
    std::string args;
    for (size_t i = 0; i < inputs.size(); ++i) {
      write_npy(dir + "/in" + std::to_string(i) + ".npy", inputs[i]);
      args += " " + dir + "/in" + std::to_string(i) + ".npy";
    }
    for (std::string driver : {"c_driver", "cpp_driver"}) {
      int rc = sh(dir + "/" + driver + args + " " + dir, &out);
      EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) << driver << " rc " << rc << ": " << out;
      EXPECT_EQ(out, want + "\n") << driver;
    }
  }
}

// A label outside [0, C) makes the generated entry return an error status
// with the op, the bad value, its index and the bound (never an out-of-bounds
// read); both drivers report it as the interpreter does and exit with 1.
TEST(AotErrors, LabelOutsideTheClassesIsReported) {
  // y: i32[64], 10 classes
  expect_reported("bad_label", kSource + "/examples/mlp_step.nabla", "mlp_step", 1, 37, {10, -1}, [](int64_t bad) {
    return "cross_entropy: label " + std::to_string(bad) + " at index 37 is outside [0, 10)";
  });
}

// The same for an index of gather outside [-6, 6).
TEST(AotErrors, IndexOutsideTheAxisIsReported) {
  expect_reported("bad_index", kSource + "/tests/aot/axis_ops.nabla", "axis_ops", 1, 2, {6, -7}, [](int64_t bad) {
    return "gather: index " + std::to_string(bad) + " at position 2 is outside [-6, 6)";
  });
}

// The same for a while beyond its max_trip_count.
TEST(AotErrors, WhileBeyondItsBoundIsReported) {
  expect_reported("bad_trip_count", kSource + "/tests/aot/loops.nabla", "loops", 3, 0, {6, 100}, [](int64_t) {
    return std::string("while: still running after max_trip_count = 5 steps");
  });
}

// Objects for other architectures: identified by readelf, linked by the
// cross gcc and run under qemu-user (all installed by scripts/setup.sh),
// equal to the interpreter. Each is built for nablac's default CPU of the
// target (generic AArch64; riscv64: rv64gc with the lp64d ABI).
struct Cross {
  std::string triple, readelf_machine, gcc, qemu;
};
const Cross kAArch64{"aarch64-linux-gnu", "AArch64", "aarch64-linux-gnu-gcc", "qemu-aarch64"};
const Cross kRiscV64{"riscv64-linux-gnu", "RISC-V", "riscv64-linux-gnu-gcc", "qemu-riscv64"};

struct CrossCase {
  Cross target;
  std::string file, func;
};

class AotCross : public ::testing::TestWithParam<CrossCase> {};

TEST_P(AotCross, ObjectRunsUnderQemu) {
  const auto& [c, file, func] = GetParam();
  std::string arch = c.triple.substr(0, c.triple.find('-'));
  std::string dir = std::string(NABLA_BINARY_DIR) + "/aot_test/" + arch + "_" + func, out;
  fs::remove_all(dir);
  fs::create_directories(dir);
  ASSERT_EQ(sh(kNablac + " " + file + " --target " + c.triple + " -o " + dir + "/model.o --header " + dir +
                   "/model.h",
               &out),
            0)
      << out;
  ASSERT_EQ(sh("llvm-readelf-19 -h -s " + dir + "/model.o", &out), 0) << out;
  EXPECT_NE(out.find(c.readelf_machine), std::string::npos) << out;
  EXPECT_NE(out.find("nabla_" + func), std::string::npos) << out;
  std::string drivers = kSource + "/tests/aot";
  ASSERT_EQ(sh(c.gcc + " -std=c11 -static -O1 -I" + drivers + " -include " + dir +
                   "/model.h -DSIGNATURE=nabla_" + func + "_signature " + drivers + "/driver.c " + dir +
                   "/model.o -lm -o " + dir + "/driver",
               &out),
            0)
      << out;
  Module m = parse_file(file);
  std::vector<Tensor> inputs = random_inputs(*m.find(func), 3);
  std::string args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    write_npy(dir + "/in" + std::to_string(i) + ".npy", inputs[i]);
    args += " " + dir + "/in" + std::to_string(i) + ".npy";
  }
  ASSERT_EQ(sh(c.qemu + " " + dir + "/driver" + args + " " + dir, &out), 0) << out;
  std::vector<Tensor> want = expected(file, func, inputs);
  for (size_t i = 0; i < want.size(); ++i)
    expect_close(read_npy(dir + "/out" + std::to_string(i) + ".npy"), want[i], arch + " output " + std::to_string(i));
}

INSTANTIATE_TEST_SUITE_P(
    Functions, AotCross,
    ::testing::Values(CrossCase{kAArch64, kSource + "/examples/mlp_step.nabla", "mlp_step"},
                      CrossCase{kAArch64, kSource + "/tests/aot/loops.nabla", "loops"},
                      CrossCase{kAArch64, kSource + "/tests/aot/axis_ops.nabla", "axis_ops"},
                      CrossCase{kAArch64, kSource + "/tests/aot/conv_ops.nabla", "conv_ops"},
                      CrossCase{kRiscV64, kSource + "/examples/mlp_step.nabla", "mlp_step"},
                      CrossCase{kRiscV64, kSource + "/tests/aot/axis_ops.nabla", "axis_ops"}),
    [](const auto& info) {
      return info.param.target.triple.substr(0, info.param.target.triple.find('-')) + "_" + info.param.func;
    });

}  // namespace
}  // namespace nabla
