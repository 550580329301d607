// nablac --sparse-hessian / --sparse-jacobian: the header carries the CSR
// pattern as static const arrays, and a C program built against the object
// alone (tests/aot/sparse_driver.c) reads the pattern from the header and the
// values from the entry point; they equal the dense Hessian or Jacobian that
// the interpreter evaluates (f64, 1e-12), every nonzero (the Hessian's lower
// triangle).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "nabla/ir/interpreter.h"
#include "nabla/ir/parser.h"
#include "nabla/passes/derivatives.h"

namespace nabla {
namespace NABLA_UNITY_ID {

const std::string kSource = NABLA_SOURCE_DIR;
const std::string kNablac = std::string(NABLA_BINARY_DIR) + "/tools/nablac";

int sh(const std::string& cmd, std::string* output) {
  std::string log = std::string(NABLA_BINARY_DIR) + "/aot_sparse_cmd." + std::to_string(getpid()) + ".log";
  int rc = std::system((cmd + " > " + log + " 2>&1").c_str());
  std::ifstream in(log);
  output->assign(std::istreambuf_iterator<char>(in), {});
  std::remove(log.c_str());
  return rc;
}

// nablac on tests/aot/NAME.nabla with `flags` into a fresh directory.
struct Compiled {
  std::string dir, header;
};
Compiled run_nablac(const std::string& name, const std::string& flags) {
  Compiled c{std::string(NABLA_BINARY_DIR) + "/aot_sparse_test/" + name, ""};
  std::filesystem::remove_all(c.dir);
  std::filesystem::create_directories(c.dir);
  std::string out;
  EXPECT_EQ(sh(kNablac + " " + kSource + "/tests/aot/" + name + ".nabla -o " + c.dir + "/" + name + ".o --header " +
                   c.dir + "/" + name + ".h " + flags, &out), 0) << out;
  std::ifstream h(c.dir + "/" + name + ".h");
  c.header.assign(std::istreambuf_iterator<char>(h), {});
  return c;
}

// sparse_driver.c built against the object for ENTRY (macros PREFIX), run:
// "row col value" per nonzero, on x[i] = -1 + 0.17 i.
std::string driver_output(const Compiled& c, const std::string& name, const std::string& entry,
                          const std::string& prefix) {
  std::string out;
  EXPECT_EQ(sh("cc -std=c11 -O1 -Wall -Wextra -Werror -include " + c.dir + "/" + name + ".h -DENTRY=" + entry +
                   " -DPREFIX=" + prefix + " " + kSource + "/tests/aot/sparse_driver.c " + c.dir + "/" + name +
                   ".o -lm -o " + c.dir + "/driver", &out), 0) << out;
  EXPECT_EQ(sh(c.dir + "/driver", &out), 0) << out;
  return out;
}

// The dense Hessian (or Jacobian) of @func's first result in its first input
// (12 elements), by the interpreter at the driver's point.
Tensor dense_derivative(const std::string& name, const std::string& func, bool hessian_of) {
  Module m = parse_file(kSource + "/tests/aot/" + name + ".nabla");
  Function& f = *m.find(func);
  Value x = f.inputs()[0], y = f.results()[0];
  Value dense = hessian_of ? hessian(y, x) : jacobian(y, x);
  f.clear_results();
  f.output(dense);
  Tensor xv(DType::f64, {12});
  for (int i = 0; i < 12; ++i) xv.set(i, -1.0 + 0.17 * i);
  std::vector<Tensor> ins{xv};
  return interpret(f, ins)[0];
}

// Every "row col value" line equals want[row, col] (1e-12); returns the count.
int check_values(const std::string& out, const Tensor& want, bool lower) {
  int64_t cols = want.shape()[1];
  std::istringstream lines(out);
  int r, c, count = 0;
  double v;
  while (lines >> r >> c >> v) {
    ++count;
    if (lower) {
      EXPECT_LE(c, r);
    }
    double w = want.get(r * cols + c);
    EXPECT_NEAR(v, w, 1e-12 * std::max(1.0, std::fabs(w))) << "(" << r << "," << c << ")";
  }
  return count;
}

// The nonzeros of want (of its lower triangle when `lower`).
int nonzeros(const Tensor& want, bool lower) {
  int64_t rows = want.shape()[0], cols = want.shape()[1];
  int n = 0;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < (lower ? i + 1 : cols); ++j) n += want.get(i * cols + j) != 0;
  return n;
}

TEST(AotSparse, CProgramReadsPatternAndValues) {
  Compiled c = run_nablac("rosenbrock", "--sparse-hessian rosen --sparse-jacobian @rosen");
  EXPECT_NE(c.header.find("#define NABLA_ROSEN_HESSIAN_PATTERN_NNZ 23\n"), std::string::npos);
  EXPECT_NE(c.header.find("the Hessian of @rosen's first result in %x, lower triangle, 3 colors"), std::string::npos);
  EXPECT_NE(c.header.find("static const int32_t nabla_rosen_hessian_row_ptr[13] = {0, 1, 3, 5,"), std::string::npos);
  EXPECT_NE(c.header.find("#define NABLA_ROSEN_JACOBIAN_PATTERN_NNZ 12\n"), std::string::npos);  // the gradient
  std::string out = driver_output(c, "rosenbrock", "nabla_rosen_hessian", "NABLA_ROSEN_HESSIAN");
  Tensor want = dense_derivative("rosenbrock", "rosen", true);
  EXPECT_EQ(check_values(out, want, true), 23);
  EXPECT_EQ(nonzeros(want, true), 23);
}

// A 22 x 12 Jacobian (tests/aot/residual.nabla) from the object: the values
// of every nonzero equal the interpreter's dense Jacobian.
TEST(AotSparse, CProgramReadsAJacobiansPatternAndValues) {
  Compiled c = run_nablac("residual", "--sparse-jacobian residual");
  EXPECT_NE(c.header.find("#define NABLA_RESIDUAL_JACOBIAN_PATTERN_ROWS 22\n"), std::string::npos) << c.header;
  EXPECT_NE(c.header.find("#define NABLA_RESIDUAL_JACOBIAN_PATTERN_NNZ 33\n"), std::string::npos);
  EXPECT_NE(c.header.find("the Jacobian of @residual's first result in %x, 2 colors"), std::string::npos);
  std::string out = driver_output(c, "residual", "nabla_residual_jacobian", "NABLA_RESIDUAL_JACOBIAN");
  Tensor want = dense_derivative("residual", "residual", false);
  EXPECT_EQ(check_values(out, want, false), 33);
  EXPECT_EQ(nonzeros(want, false), 33);
}

TEST(AotSparse, UnknownFunctionIsAnError) {
  std::string out;
  std::string file = kSource + "/tests/aot/rosenbrock.nabla";
  EXPECT_NE(sh(kNablac + " " + file + " -o /dev/null --sparse-hessian nope", &out), 0);
  EXPECT_NE(out.find("has no function @nope (it has @rosen)"), std::string::npos) << out;
}

}  // namespace
}  // namespace nabla
