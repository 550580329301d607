// The README's "A function in C++", whole: builds logistic regression with the
// C++ API, compiles it for this machine, runs it and prints the result. Built
// and run by the test suite (example.readme_function, and docs.readme_output
// compares what it prints with the README); exits 1 when a value differs from
// the formula computed here in plain C++.
#include <cmath>
#include <cstdio>
#include <vector>

#include <nabla/compiler/compile.h>
#include <nabla/ir/builder.h>

int main() {
  nabla::Module m;
  nabla::Function& f = m.function("logreg");
  auto x = f.input("x", nabla::f32({8, 3}));
  auto w = f.input("w", nabla::f32({3, 1}));
  auto b = f.input("b", nabla::f32());
  auto y = sigmoid(matmul(x, w) + b);
  f.output(y);

  nabla::Executable exe = nabla::compile(f);  // the default passes, then LLVM
  std::vector<double> xs(24), ws = {0.5, -0.25, 1.0}, bs = {0.1};
  for (int i = 0; i < 24; ++i) xs[i] = (i % 7) * 0.25 - 0.75;
  std::vector<nabla::Tensor> in = {nabla::Tensor::from_doubles(nabla::DType::f32, {8, 3}, xs),
                                   nabla::Tensor::from_doubles(nabla::DType::f32, {3, 1}, ws),
                                   nabla::Tensor::from_doubles(nabla::DType::f32, {}, bs)};
  std::vector<nabla::Tensor> out = exe.run(in);

  bool ok = true;
  std::printf("y =");
  for (int r = 0; r < 8; ++r) {
    double u = xs[3 * r] * ws[0] + xs[3 * r + 1] * ws[1] + xs[3 * r + 2] * ws[2] + bs[0];
    std::printf(" %.4f", out[0].get(r));
    ok &= std::fabs(out[0].get(r) - 1 / (1 + std::exp(-u))) <= 1e-6;
  }
  std::printf("\n%s\n", ok ? "ok" : "MISMATCH");
  return ok ? 0 : 1;
}
