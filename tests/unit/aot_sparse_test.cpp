// nablac --sparse-hessian / --sparse-jacobian: the header carries the CSR
// pattern as static const arrays, and a C program built against the object
// alone (tests/aot/sparse_driver.c) reads the pattern from the header and the
// values from the entry point; they equal the dense Hessian that the
// interpreter evaluates (f64, 1e-12), lower triangle, every nonzero.
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
namespace {

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

TEST(AotSparse, CProgramReadsPatternAndValues) {
  std::string dir = std::string(NABLA_BINARY_DIR) + "/aot_sparse_test", out;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string file = kSource + "/tests/aot/rosenbrock.nabla";
  ASSERT_EQ(sh(kNablac + " " + file + " -o " + dir + "/rosen.o --header " + dir +
                   "/rosen.h --sparse-hessian rosen --sparse-jacobian @rosen", &out), 0) << out;
  std::ifstream h(dir + "/rosen.h");
  std::string header((std::istreambuf_iterator<char>(h)), {});
  EXPECT_NE(header.find("#define NABLA_ROSEN_HESSIAN_PATTERN_NNZ 23\n"), std::string::npos);
  EXPECT_NE(header.find("the Hessian of @rosen's first result in %x, lower triangle, 3 colors"), std::string::npos);
  EXPECT_NE(header.find("static const int32_t nabla_rosen_hessian_row_ptr[13] = {0, 1, 3, 5,"), std::string::npos);
  EXPECT_NE(header.find("#define NABLA_ROSEN_JACOBIAN_PATTERN_NNZ 12\n"), std::string::npos);  // the gradient
  ASSERT_EQ(sh("cc -std=c11 -O1 -Wall -Wextra -Werror -include " + dir + "/rosen.h" +
                   " -DENTRY=nabla_rosen_hessian -DPREFIX=NABLA_ROSEN_HESSIAN " + kSource +
                   "/tests/aot/sparse_driver.c " + dir + "/rosen.o -lm -o " + dir + "/driver", &out), 0) << out;
  ASSERT_EQ(sh(dir + "/driver", &out), 0) << out;

  Module m = parse_file(file);
  Function& f = *m.find("rosen");
  Value x = f.inputs()[0];
  Value dense = hessian(f.results()[0], x);
  f.clear_results();
  f.output(dense);
  Tensor xv(DType::f64, {12});
  for (int i = 0; i < 12; ++i) xv.set(i, -1.0 + 0.17 * i);
  std::vector<Tensor> ins{xv};
  Tensor want = interpret(f, ins)[0];
  std::istringstream lines(out);
  int r, c, count = 0, lower_nonzeros = 0;
  double v;
  while (lines >> r >> c >> v) {
    ++count;
    ASSERT_LE(c, r);
    double w = want.get(r * 12 + c);
    EXPECT_NEAR(v, w, 1e-12 * std::max(1.0, std::fabs(w))) << "(" << r << "," << c << ")";
  }
  for (int i = 0; i < 12; ++i)
    for (int j = 0; j <= i; ++j) lower_nonzeros += want.get(i * 12 + j) != 0;
  EXPECT_EQ(count, 23);
  EXPECT_EQ(lower_nonzeros, 23);
}

TEST(AotSparse, UnknownFunctionIsAnError) {
  std::string out;
  std::string file = kSource + "/tests/aot/rosenbrock.nabla";
  EXPECT_NE(sh(kNablac + " " + file + " -o /dev/null --sparse-hessian nope", &out), 0);
  EXPECT_NE(out.find("has no function @nope (it has @rosen)"), std::string::npos) << out;
}

}  // namespace
}  // namespace nabla
