// Sibling fusion (passes/fuse_siblings.h): fused regions of one shape that
// read a common operand become one body with several results, lowered as one
// loop that stores each result. Compiled results must equal the interpreter's
// bit for bit (no fast-math), and the fused function must interpret exactly
// as the unfused one.
#include <gtest/gtest.h>

#include "nabla/ir/fused.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/ir/verifier.h"
#include "nabla/passes/pass_manager.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

// The elementwise benchmark's function (bench/elementwise_bench.cpp) at size
// n: y = 30 cheap ops of x, and dx = d sum(y) / dx.
Module chain_and_gradient(int64_t n) {
  return test::make_function({f32({n})}, [](std::vector<Value>& in) {
    Value x = in[0];
    Value v = x;
    for (int i = 0; i < 30; ++i) {
      double c = 0.5 + 0.01 * i;
      switch (i % 6) {
        case 0: v = v * c; break;
        case 1: v = v + c; break;
        case 2: v = relu(v - 1.0); break;
        case 3: v = minimum(v, 4.0 + c); break;
        case 4: v = abs(v - c); break;
        case 5: v = maximum(v * x, -c); break;
      }
    }
    return std::vector<Value>{v, grad_op(sum(v), x)};
  });
}

// x in [-2, 2), the bench's input, which crosses every relu/min/max/abs kink.
std::vector<Tensor> ramp(int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = (i % 1000) * 0.004 - 2.0;
  return {Tensor::from_doubles(DType::f32, {n}, v)};
}

CompileOptions grad_options(int threads = 1) {
  CompileOptions o = test::test_options(threads);
  o.pipeline = "build-grad,default";
  return o;
}

TEST(SiblingFusion, ChainAndGradientIsOneKernel) {
  for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{4099}}) {
    Module m = chain_and_gradient(n);
    Executable exe = compile(m, "f", grad_options());
    EXPECT_EQ(exe.stats().num_kernels, 1) << n;
    EXPECT_EQ(exe.stats().num_fused_regions, 1) << n;
    EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), ramp(n), grad_options()), "") << n;
    EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), random_inputs(*m.find("f"), 7), grad_options()), "")
        << n;
  }
  Module empty = chain_and_gradient(0);
  EXPECT_EQ(test::compare_with_interpreter(*empty.find("f"), ramp(0), grad_options()), "");
}

TEST(SiblingFusion, ChainAndGradientOverThreads) {
  const int64_t n = 3 * 4096 + 5;
  Module m = chain_and_gradient(n);
  for (int threads : {2, 3}) {
    CompileOptions o = grad_options(threads);
    o.min_parallel_work = 1;
    Executable exe = compile(m, "f", o);
    EXPECT_EQ(exe.stats().num_parallel_kernels, 1) << threads;
    EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), ramp(n), o), "") << threads;
  }
}

// The fused function (one body of two results) interprets bit for bit as
// the function before fusion.
TEST(SiblingFusion, InterpreterAgreesBeforeAndAfterFusion) {
  Module m = chain_and_gradient(1000);
  PassManager pm;
  pm.add("build-grad,default");
  pm.run(m);
  std::vector<Tensor> in = ramp(1000);
  std::vector<Tensor> before = interpret(*m.find("f"), in);
  PassManager fuse;
  fuse.add("fuse");
  fuse.run(m);
  Function& f = *m.find("f");
  verify(f);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f.front()->body(), f.back()->body());
  EXPECT_EQ(f.front()->body()->results().size(), 2u);
  std::vector<Tensor> after = interpret(f, in);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(test::compare_tensors(after[i], before[i], {}), "") << i;
}

// Siblings kept in the workspace and read by later kernels, next to a buffer
// (t) that only the group reads: the group writes its second result when it
// runs, so that result must not share bytes with t.
TEST(SiblingFusion, WorkspaceSiblingsAndTheirOperands) {
  Module m = test::make_function({f32({8, 8}), f32({8, 8}), f32({8})}, [](std::vector<Value>& in) {
    Value t = matmul(in[0], in[1]);
    Value y = relu(t * 2.0 + in[2]);
    Value z = neg(t + 1.0) * in[2];
    return std::vector<Value>{matmul(y, z), matmul(z, y)};
  });
  for (int threads : {1, 2}) {
    CompileOptions o = test::test_options(threads);
    o.min_parallel_work = 1;
    Executable exe = compile(m, "f", o);
    EXPECT_EQ(exe.stats().num_fused_regions, 1);
    for (uint64_t seed : {1, 2})
      EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), random_inputs(*m.find("f"), seed), o), "");
  }
}

// A region that depends on another's result is not its sibling; neither is
// one of another shape.
TEST(SiblingFusion, DependentAndOtherShapeRegionsStayApart) {
  Module m = test::make_function({f32({4, 4}), f32({2, 4, 4})}, [](std::vector<Value>& in) {
    Value x = in[0];
    Value y = relu(x * 2.0);
    Value t = transpose(y, {1, 0});
    Value z = neg(t + x);
    Value w = abs(x - 1.0) + in[1];
    return std::vector<Value>{y, neg(z * 3.0), w * 0.5};
  });
  CompileOptions o = test::test_options();
  Executable exe = compile(m, "f", o);
  EXPECT_EQ(exe.stats().num_fused_regions, 3);
  EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), random_inputs(*m.find("f"), 3), o), "");
}

// An elementwise value stored and reduced in the same loop: sum, mean and max
// over the outer axis (accumulated across rows), the inner axis (the chunked
// in-order path, rows longer than a chunk) and all axes, on 1 and 2 threads.
// The sums must keep the interpreter's order: equal bit for bit.
TEST(SiblingFusion, ValueAndItsReductionInOneLoop) {
  for (Shape shape : {Shape{37, 45}, Shape{5, 600}}) {
    for (std::vector<int64_t> axes : {std::vector<int64_t>{0}, std::vector<int64_t>{1}, std::vector<int64_t>{0, 1}}) {
      for (Op op : {Op::Sum, Op::Mean, Op::Max}) {
        Module m = test::make_function({f32(shape), f32({shape[1]})}, [&](std::vector<Value>& in) {
          Value e = relu(in[0] * in[1] - 0.25);
          Attrs attrs;
          attrs.axes = axes;
          return std::vector<Value>{e, e->function()->make(op, {e}, attrs)};
        });
        std::string what = std::string(op_name(op)) + " of " + shape_to_string(shape) + " over " +
                           std::to_string(axes.size()) + " axes (first " + std::to_string(axes[0]) + ")";
        for (int threads : {1, 2}) {
          CompileOptions o = test::test_options(threads);
          o.min_parallel_work = 1;
          Executable exe = compile(m, "f", o);
          EXPECT_EQ(exe.stats().num_fused_regions, 1) << what;
          EXPECT_EQ(exe.stats().num_kernels, 1) << what;
          for (uint64_t seed : {4, 5})
            EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), random_inputs(*m.find("f"), seed), o), "")
                << what << ", " << threads << " threads";
        }
      }
    }
  }
}

// The bias gradient of a layer: relu's derivative (read by the weight
// gradient's matmul) and its column sum come from one loop.
TEST(SiblingFusion, BiasGradientSharesTheReluDerivative) {
  Module m = test::make_function({f32({64, 32}), f32({32, 16}), f32({16}), f32({64, 16})}, [](std::vector<Value>& in) {
    Value h = relu(matmul(in[0], in[1]) + in[2]);
    Value d = h - in[3];
    Value loss = sum(d * d);
    return std::vector<Value>{loss, grad_op(loss, in[1]), grad_op(loss, in[2])};
  });
  for (int threads : {1, 2}) {
    CompileOptions o = test::test_options(threads);
    o.pipeline = "build-grad,default";
    o.min_parallel_work = 1;
    Executable exe = compile(m, "f", o);
    EXPECT_EQ(exe.stats().num_fused_regions, 2);  // the loss; the derivative with its column sum
    for (uint64_t seed : {6, 7})
      EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), random_inputs(*m.find("f"), seed), o), "") << threads;
  }
}

// sin(x) and cos(x) of one x (lone libm ops, as rodrigues' angle in ba)
// become one group of two results, computed by one sincos call per element;
// the results equal the interpreter's sin and cos bit for bit, f32 and f64,
// over several periods and at the range-reduction boundaries.
TEST(SiblingFusion, SinAndCosOfOneValueShareASincosCall) {
  for (DType t : {DType::f32, DType::f64}) {
    Module m = test::make_function({TensorType{t, {4099}}}, [](std::vector<Value>& in) {
      Value theta = sqrt(in[0] * in[0] + 1e-3);
      return std::vector<Value>{cos(theta), sin(theta), theta * 2.0, sin(in[0])};
    });
    std::vector<double> v(4099);
    for (size_t i = 0; i < v.size(); ++i) v[i] = (static_cast<double>(i) - 2049.0) * 0.0123 + (i % 7 == 0 ? 1e8 : 0.0);
    std::vector<Tensor> in{Tensor::from_doubles(t, {4099}, v)};
    std::vector<Tensor> want = test::reference_results(*m.find("f"), in);
    CompileOptions o = test::test_options();
    o.dump_llvm_ir = testing::TempDir() + "/sincos.ll";
    Executable exe = compile(m, "f", o);
    std::vector<Tensor> got = exe.run(in);
    std::string ir = test::read_file(o.dump_llvm_ir);
    EXPECT_NE(ir.find(t == DType::f32 ? "@sincosf(" : "@sincos("), std::string::npos) << dtype_name(t);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(test::compare_bits(got[i], want[i]), "") << "result " << i;
    int pairs = 0;
    for (const Node* n : exe.function())
      if (n->op() == Op::Fused && n->body()->results().size() == 2 && n->body_result() == 0) {
        std::vector<Op> ops{n->body()->results()[0]->op(), n->body()->results()[1]->op()};
        std::sort(ops.begin(), ops.end());
        pairs += ops == std::vector<Op>{std::min(Op::Sin, Op::Cos), std::max(Op::Sin, Op::Cos)};
      }
    EXPECT_EQ(pairs, 1) << dtype_name(t);
  }
}

// A costly producer (1/theta, ba's rodrigues) and a sibling group (px, py)
// read only by the group that sibling fusion made of their consumers move
// into it (passes/fuse_producers.h): one kernel computes all, equal to the
// interpreter bit for bit over sizes and threads; with a libm producer (exp)
// the consumer keeps its vector loop and the producer its kernel.
TEST(SiblingFusion, ProducersMoveIntoTheMergedGroup) {
  for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{4099}}) {
    for (bool libm : {false, true}) {
      Module m = test::make_function({f64({n}), f64({n})}, [&](std::vector<Value>& in) {
        Value a = in[0], b = in[1];
        Value inv = 1.0 / (libm ? exp(a) : a);
        Value p = sqrt(a * a + b * b), q = sqrt(a * b + 2.0);
        Value y = (p * q + a) * inv, z = (p - q * b) * inv;
        return std::vector<Value>{y, z};
      });
      for (int threads : {1, 2}) {
        CompileOptions o = test::test_options(threads);
        o.min_parallel_work = 1;
        Executable exe = compile(m, "f", o);
        EXPECT_EQ(exe.stats().num_kernels, libm ? 2 : 1) << n;
        for (uint64_t seed : {8, 9})
          EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), random_inputs(*m.find("f"), seed), o), "")
              << n << " " << libm << " " << threads;
      }
    }
  }
}

}  // namespace
}  // namespace nabla
