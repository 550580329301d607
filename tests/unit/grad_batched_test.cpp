// Batched sweeps (passes/batching.h, vjp_batched / jvp_batched / hvp_batched
// in passes/derivatives.h): on every differentiable op of the catalogue
// (op_cases.h, converted to f64), each of P = 3 rows equals the unbatched
// product (grad, jvp, hvp) bit for bit (interpreted, and compiled on some
// ops) and f64 central differences to 1e-6, and no op takes the generic
// fallback (every sweep is one batched graph); the
// Jacobian of an m-vector is one sweep (its graph does not grow with m);
// compiled code agrees with the interpreter; bad arguments are clear errors.
#include <memory>
#include <set>
#include <unordered_map>

#include "grad_util.h"
#include "nabla/passes/batching.h"
#include "nabla/passes/derivatives.h"
#include "tests/support/backend_testing.h"
#include "tests/unit/op_cases.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace gradtest;

constexpr int64_t kP = 3;

// Row p of a stacked value: [P] ++ s -> s (a gather by a rank-0 index).
Value row(Value v, int64_t p) {
  return gather(v, constant(*v->function(), Tensor::scalar(DType::i64, static_cast<double>(p))), 0);
}

Value stack_of(Function& f, const TensorType& t, Stream& s) {
  Shape shape{kP};
  shape.insert(shape.end(), t.shape.begin(), t.shape.end());
  return random_constant(f, {t.dtype, shape}, s);
}

// Results of the f64 copy of one case: y, then per float input x (in order)
// vjp_batched, jvp_batched, the P unbatched vjps and jvps, and when z = sum(y W)
// has a gradient in x, g = grad(z, x), hvp_batched and the P unbatched hvps.
struct Built {
  std::vector<Node*> xs;
  std::vector<size_t> first;  // index of each x's first result
  std::vector<bool> has_hvp;
  std::vector<Value> T;       // each x's tangents [P] ++ x.shape
  std::vector<Value> U;       // each x's cotangents [P] ++ y.shape
  bool no_differences = false;  // stop_gradient: no comparison with differences
};

Built build_products(Function& f, const std::string& name) {
  Stream s(5);
  Value y = f.results()[0];
  Value W = random_constant(f, y->type(), s);
  Value z = sum(mul(y, W));
  Built b;
  b.no_differences = name == "stop_gradient";
  for (Node* n : f.inputs())
    if (is_float(n->dtype())) b.xs.push_back(n);
  for (Value x : b.xs) {
    b.first.push_back(f.results().size());
    Value U = stack_of(f, y->type(), s), T = stack_of(f, x->type(), s);
    b.U.push_back(U);
    b.T.push_back(T);
    f.output(vjp_batched(y, x, U));
    EXPECT_EQ(last_batch_fallbacks(), 0u) << "vjp, fallbacks " << last_batch_fallbacks();
    f.output(jvp_batched(y, x, T));
    EXPECT_EQ(last_batch_fallbacks(), 0u) << "jvp, fallbacks " << last_batch_fallbacks();
    for (int64_t p = 0; p < kP; ++p) f.output(grad(sum(mul(y, row(U, p))), {x}, {.allow_disconnected = true})[0]);
    for (int64_t p = 0; p < kP; ++p) f.output(jvp(y, x, row(T, p)));
    Value g;
    try {
      g = grad(z, {x})[0];
    } catch (const Error&) {
      b.has_hvp.push_back(false);
      continue;
    }
    b.has_hvp.push_back(true);
    f.output(g);
    f.output(hvp_batched(z, x, T));
    for (int64_t p = 0; p < kP; ++p) f.output(hvp(z, x, row(T, p)));
  }
  return b;
}

// The results of f at inputs with x's value moved by h * d.
std::vector<Tensor> shifted(const Function& f, std::vector<Tensor> in, size_t x, const Tensor& d, double h) {
  Tensor moved = in[x].clone();
  for (int64_t i = 0; i < moved.numel(); ++i) moved.set(i, moved.get(i) + h * d.get(i));
  in[x] = moved;
  return run(f, in);
}

double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += a.get(i) * b.get(i);
  return s;
}

// Central differences of result `at` along d for input x: (r(x + h d) - r(x - h d)) / 2h.
std::vector<double> central(const Function& f, const std::vector<Tensor>& in, size_t x, const Tensor& d, size_t at) {
  const double h = 1e-6;
  Tensor plus = shifted(f, in, x, d, h)[at], minus = shifted(f, in, x, d, -h)[at];
  std::vector<double> out(plus.numel());
  for (int64_t i = 0; i < plus.numel(); ++i) out[i] = (plus.get(i) - minus.get(i)) / (2 * h);
  return out;
}

// Each row of the batched products against the unbatched product, bit for bit.
void expect_rows_equal_unbatched(const std::vector<Tensor>& r, const Built& b, size_t k) {
  size_t at = b.first[k];
  for (int64_t p = 0; p < kP; ++p) {
    SCOPED_TRACE("x %" + b.xs[k]->name() + ", row " + std::to_string(p));
    {
      SCOPED_TRACE("vjp");
      expect_same_bits(row_of(r[at], p), r[at + 2 + p]);
    }
    {
      SCOPED_TRACE("jvp");
      expect_same_bits(row_of(r[at + 1], p), r[at + 2 + kP + p]);
    }
    size_t g = at + 2 + 2 * kP;
    SCOPED_TRACE("hvp");
    if (b.has_hvp[k]) expect_same_bits(row_of(r[g + 1], p), r[g + 2 + p]);
  }
}

// The rows of the batched products against central differences of y (jvp;
// vjp through <J^T u, t> = <u, J t>) and of g (hvp).
// (stop_gradient's derivative is zero by definition, not its primal's
// difference quotient: it is compared with the unbatched products only.)
void check_x(const Function& f, const std::vector<Tensor>& in, const std::vector<Tensor>& r, const Built& b, size_t k) {
  expect_rows_equal_unbatched(r, b, k);
  if (b.no_differences) return;
  size_t x = static_cast<size_t>(b.xs[k]->input_index()), at = b.first[k];
  const Tensor &T = b.T[k]->attrs().value, &U = b.U[k]->attrs().value;
  for (int64_t p = 0; p < kP; ++p) {
    SCOPED_TRACE("x %" + b.xs[k]->name() + ", row " + std::to_string(p));
    Tensor t = row_of(T, p), u = row_of(U, p), vrow = row_of(r[at], p), jrow = row_of(r[at + 1], p);
    std::vector<double> jt = central(f, in, x, t, 0);
    expect_close(values(jrow), jt, 1e-6);
    double ujt = 0;
    for (int64_t i = 0; i < u.numel(); ++i) ujt += u.get(i) * jt[i];
    EXPECT_NEAR(dot(vrow, t), ujt, 1e-6 * std::max(1.0, std::fabs(ujt)));
    if (b.has_hvp[k]) {
      size_t g = at + 2 + 2 * kP;
      expect_close(values(row_of(r[g + 1], p)), central(f, in, x, t, g), 1e-6);
    }
  }
}

class BatchedOp : public ::testing::TestWithParam<test::GradCase> {};

// One case copied to f64 with its products (build_products), and its
// kink-free inputs.
struct CaseProducts {
  Module m32, m;
  Function* f = nullptr;
  Built b;
  std::vector<Tensor> in;
};

std::unique_ptr<CaseProducts> products_of(const test::GradCase& c) {
  auto cp = std::make_unique<CaseProducts>();
  Function& f32f = cp->m32.add_function("f");
  f32f.output(c.build(f32f));
  std::unordered_map<const Node*, Node*> map;
  cp->f = &copy_as_f64(f32f, cp->m, map);
  cp->b = build_products(*cp->f, c.name);
  for (const Tensor& t : kink_free_inputs(f32f, 3)) cp->in.push_back(to_f64(t));
  return cp;
}

TEST_P(BatchedOp, RowsEqualUnbatchedAndFiniteDifferences) {
  std::unique_ptr<CaseProducts> c = products_of(GetParam());
  std::vector<Tensor> r = run(*c->f, c->in);
  for (size_t k = 0; k < c->b.xs.size(); ++k) check_x(*c->f, c->in, r, c->b, k);
}

std::string case_name(const ::testing::TestParamInfo<test::GradCase>& info) {
  std::string n = info.param.name;
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(AllOps, BatchedOp, ::testing::ValuesIn(test::grad_cases()), case_name);

// Compiled with the exact pipeline (no fast-math, and no matmul-sum or GEMM
// epilogues, which may reorder a contraction: compiler/pipeline.h), the
// batched rows still equal the unbatched products bit for bit, on the ops
// whose batched forms differ most from the unbatched ones: reductions over
// shifted axes, matmul as rows of one product, convolutions with P folded
// into N or the channels, pooling, gathers, a scan through its batched body,
// a while's tangents through its batched bodies.
class CompiledBatchedOp : public ::testing::TestWithParam<test::GradCase> {};

TEST_P(CompiledBatchedOp, RowsEqualUnbatchedBitForBit) {
  std::unique_ptr<CaseProducts> c = products_of(GetParam());
  CompileOptions exact = test::test_options();
  exact.fuse_matmul = false;
  std::vector<Tensor> r = compile(*c->f, exact).run(c->in);
  for (size_t k = 0; k < c->b.xs.size(); ++k) expect_rows_equal_unbatched(r, c->b, k);
}

std::vector<test::GradCase> compiled_cases() {
  const std::set<std::string> names = {"sum_axes02", "max_axis1", "matmul_ta", "matmul_batched_tb", "softmax_axis1",
                                       "cumsum_reverse", "gather_axis0", "scatter_add_axis0", "conv2d_groups",
                                       "conv2d_weight_grad", "max_pool2d_padded", "scan_rnn", "while_newton_sqrt"};
  std::vector<test::GradCase> out;
  for (const test::GradCase& c : test::grad_cases())
    if (names.count(c.name)) out.push_back(c);
  EXPECT_EQ(out.size(), names.size());
  return out;
}

INSTANTIATE_TEST_SUITE_P(SomeOps, CompiledBatchedOp, ::testing::ValuesIn(compiled_cases()), case_name);

// The nodes of f after one derivative of an m-vector function: the same for
// every m when the derivative is one batched sweep.
size_t derivative_nodes(int64_t m, Value (*d)(Value, Value)) {
  Module mod;
  Function& f = mod.add_function("f");
  Value x = f.input("x", f64({m}));
  Value y = mul(sin(x), sum(mul(x, x)));
  f.output(d(y, x));
  return f.size();
}

Value jacrev_of(Value y, Value x) { return jacrev(y, x); }
Value jacfwd_of(Value y, Value x) { return jacfwd(y, x); }
Value hessian_of(Value y, Value x) { return hessian(sum(mul(y, x)), x); }

TEST(GradBatched, JacobianAndHessianAreOneSweep) {
  for (auto d : {&jacrev_of, &jacfwd_of, &hessian_of}) {
    size_t small = derivative_nodes(4, d), large = derivative_nodes(64, d);
    EXPECT_EQ(small, large);
    EXPECT_LT(small, 100u);
  }
}

// Dense derivatives through the batched sweeps, compiled, against the
// interpreter (f64, 1e-12): matmul, softmax, a convolution, a loop.
TEST(GradBatched, CompiledAgreesWithInterpreter) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({2, 3})), img = f.input("img", f64({1, 2, 4, 4}));
  Value w = f.input("w", f64({3, 2, 2, 2})), h0 = f.input("h0", f64({2, 3}));
  Stream s(3);
  Value y = softmax(tanh(matmul(x, random_constant(f, f64({3, 4}), s))), 1);
  f.output(jacrev(y, x));
  f.output(jacfwd(y, x));
  f.output(hessian(sum(mul(exp(x), x)), x));
  Value c = conv2d(img, w, {.padding = {1, 1, 0, 0}});
  f.output(jacobian(sum(mul(c, c), std::vector<int64_t>{1, 2}), w));
  f.output(hessian(sum(mul(c, c)), img));
  ScanResult r = test::elman_rnn(h0, reshape(x, {1, 2, 3}), random_constant(f, f64({3, 3}), s));
  f.output(jacfwd(r.carry[0], h0));
  std::vector<Tensor> in = kink_free_inputs(f, 4);
  EXPECT_EQ(test::compare_with_interpreter(f, in, test::test_options(), {.f32 = 0, .f64 = 1e-12}), "");
}

TEST(GradBatched, BadArgumentsAreErrors) {
  Module m;
  Function& f = m.add_function("f");
  Value x = f.input("x", f64({3})), y = mul(x, x);
  y->set_name("y");
  Value wrong = constant(f, Tensor(DType::f64, {2, 4})), empty = constant(f, Tensor(DType::f64, {0, 3}));
  EXPECT_EQ(error_of([&] { vjp_batched(y, x, wrong); }),
            "vjp_batched: the stack must be f64[P,3] (P >= 1, then %y's shape), got f64[2,4]");
  EXPECT_EQ(error_of([&] { jvp_batched(y, x, empty); }),
            "jvp_batched: the stack must be f64[P,3] (P >= 1, then %x's shape), got f64[0,3]");
  EXPECT_EQ(error_of([&] { hvp_batched(sum(y), x, constant(f, Tensor(DType::f32, {1, 3}))); }),
            "hvp_batched: the stack must be f64[P,3] (P >= 1, then %x's shape), got f32[1,3]");
  Value v = f.input("v", f64({3}));
  Value g = grad_op(sum(mul(y, v)), x), u = constant(f, Tensor(DType::f64, {2, 3}));
  g->set_name("g");
  EXPECT_EQ(error_of([&] { batch(std::vector<Value>{v}, std::vector<Value>{u}, std::vector<Value>{add(g, v)}); }),
            "batch: cannot batch the grad node %g; run build-grad first");
  EXPECT_EQ(error_of([&] { batch(std::vector<Value>{v}, std::vector<Value>{x}, std::vector<Value>{v}); }),
            "batch: the batched value of %v f64[3] must be [P] ++ its shape with one P >= 1 for all, got f64[3]");
}

}  // namespace
}  // namespace nabla
