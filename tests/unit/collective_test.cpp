// all_reduce in one process, and through a simulated communicator: a table
// of runtime/abi.h functions that behaves as if two more ranks took part
// (their values added, maxed, ...) and does the work only in wait, as a
// non-blocking collective may. The interpreter and the JIT must call it the
// same way and agree bit for bit; the JIT must wait before the first reader.
#include <cmath>

#include <gtest/gtest.h>

#include "nabla/compiler/compile.h"
#include "nabla/compiler/lower.h"
#include "nabla/compiler/memory_plan.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/parser.h"
#include "nabla/passes/collectives.h"
#include "nabla/runtime/error.h"
#include "tests/support/backend_testing.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

// Three ranks: the other two hold x + 1 and 2x (elementwise), so sum = 4x + 1,
// max = max(x, x + 1, 2x), min likewise. Counts the calls.
struct Simulated {
  struct Request {
    void* buf;
    int64_t count;
    int32_t dtype, op;
  };
  std::vector<Request> requests;
  int starts = 0, waits = 0, progress = 0;
  bool fail_start = false;
  std::string message = "simulated failure on rank 2";
  nabla_communicator table{this, 0, 3, start, wait, on_progress, error_message};

  template <class T> static void combine(const Request& r) {
    T* p = static_cast<T*>(r.buf);
    for (int64_t i = 0; i < r.count; ++i) {
      T x = p[i], a = static_cast<T>(x + 1), b = static_cast<T>(2 * x);
      if (r.op == NABLA_REDUCE_SUM) p[i] = static_cast<T>(x + a + b);
      else if (r.op == NABLA_REDUCE_MEAN) p[i] = static_cast<T>(static_cast<T>(x + a + b) / static_cast<T>(3));
      else if (r.op == NABLA_REDUCE_MAX) p[i] = std::max({x, a, b});
      else p[i] = std::min({x, a, b});
    }
  }
  static int32_t start(void* s, void* buf, int64_t count, int32_t dtype, int32_t op, void** request) {
    auto* self = static_cast<Simulated*>(s);
    ++self->starts;
    if (self->fail_start) return NABLA_COLLECTIVE_FAILED;
    self->requests.push_back({buf, count, dtype, op});
    *request = reinterpret_cast<void*>(self->requests.size());
    return NABLA_OK;
  }
  static int32_t wait(void* s, void* request) {
    auto* self = static_cast<Simulated*>(s);
    ++self->waits;
    const Request& r = self->requests.at(reinterpret_cast<size_t>(request) - 1);
    if (r.dtype == NABLA_DTYPE_F32) combine<float>(r);
    else if (r.dtype == NABLA_DTYPE_F64) combine<double>(r);
    else if (r.dtype == NABLA_DTYPE_I32) combine<int32_t>(r);
    else combine<int64_t>(r);
    return NABLA_OK;
  }
  static void on_progress(void* s) { ++static_cast<Simulated*>(s)->progress; }
  static const char* error_message(void* s) { return static_cast<Simulated*>(s)->message.c_str(); }
};

using test::error_of;

std::vector<double> values(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.get(i));
  return v;
}

TEST(Collective, OneProcessIsTheIdentity) {
  Module m = test::make_function({f32({3}), i32({3})}, [](std::vector<Value>& x) {
    return std::vector<Value>{all_reduce(x[0], Reduction::mean), all_reduce(x[1], Reduction::max),
                              all_reduce(x[0]) * 2.0};
  });
  Tensor a = Tensor::from_doubles(DType::f32, {3}, std::vector<double>{1.5, -2, 3});
  Tensor b = Tensor::from_doubles(DType::i32, {3}, std::vector<double>{7, -8, 9});
  std::vector<Tensor> in{a, b};
  for (const std::vector<Tensor>& out : {interpret(*m.find("f"), in), compile(m, "f", test::test_options()).run(in)}) {
    EXPECT_EQ(values(out[0]), (std::vector<double>{1.5, -2, 3}));
    EXPECT_EQ(values(out[1]), (std::vector<double>{7, -8, 9}));
    EXPECT_EQ(values(out[2]), (std::vector<double>{3, -4, 6}));
  }
}

TEST(Collective, InterpreterAndJitCallTheCommunicatorAlike) {
  // Several collectives of each dtype and reduction in one function, each read
  // by a later kernel, one returned directly.
  Module m = test::make_function({f32({2, 3}), f64({4}), i32({3}), i64({2})}, [](std::vector<Value>& x) {
    Value s = all_reduce(x[0]);
    Value mean = all_reduce(x[1], Reduction::mean);
    return std::vector<Value>{exp(s), mean + 1.0, all_reduce(x[2], Reduction::max),
                              all_reduce(x[3], Reduction::min), all_reduce(x[0] * 3.0, Reduction::sum)};
  });
  std::vector<Tensor> in{
      Tensor::from_doubles(DType::f32, {2, 3}, std::vector<double>{0.1, -0.7, 0.3, 1.1, -2.5, 0.25}),
      Tensor::from_doubles(DType::f64, {4}, std::vector<double>{0.3, -1e-3, 7, 1e10}),
      Tensor::from_doubles(DType::i32, {3}, std::vector<double>{-5, 0, 4}),
      Tensor::from_doubles(DType::i64, {2}, std::vector<double>{-3, 6})};
  Simulated a, b;
  std::vector<Tensor> want = interpret(*m.find("f"), in, &a.table);
  Executable exe = compile(m, "f", test::test_options());
  exe.set_communicator(&b.table);
  std::vector<Tensor> got = exe.run(in);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(values(got[i]), values(want[i])) << "result " << i;
  // By hand: sum 4x + 1, mean (4x + 1) / 3, max(x, x + 1, 2x), min likewise.
  EXPECT_FLOAT_EQ(static_cast<float>(got[0].get(0)), std::exp(4 * 0.1f + 1));
  EXPECT_EQ(got[1].get(2), (4 * 7.0 + 1) / 3 + 1);
  EXPECT_EQ(values(got[2]), (std::vector<double>{-4, 1, 8}));
  EXPECT_EQ(values(got[3]), (std::vector<double>{-6, 6}));
  EXPECT_EQ(b.starts, 5);
  EXPECT_EQ(b.waits, 5);
  EXPECT_EQ(a.starts, b.starts);
  EXPECT_EQ(exe.stats().collectives.size(), 5u);
}

TEST(Collective, WaitComesAfterTheKernelsInBetween) {
  // all_reduce(g) is needed only at the end: the independent matmul chain runs
  // while it is in flight (with overlap), and progress is called meanwhile.
  Module m = test::make_function({f32({64, 64}), f32({64, 64})}, [](std::vector<Value>& x) {
    Value r = all_reduce(x[0] * 2.0);
    Value h = relu(matmul(x[1], x[1]));
    h = relu(matmul(h, x[1]));
    h = relu(matmul(h, x[1]));
    return std::vector<Value>{h + r};
  });
  for (bool overlap : {true, false}) {
    CompileOptions o = test::test_options();
    o.overlap_collectives = overlap;
    Executable exe = compile(m, "f", o);
    Simulated c;
    exe.set_communicator(&c.table);
    Tensor x(DType::f32, {64, 64}), y(DType::f32, {64, 64});
    for (int64_t i = 0; i < x.numel(); ++i) x.set(i, 0.01 * static_cast<double>(i % 17)), y.set(i, 0.02);
    std::vector<Tensor> got = exe.run(std::vector<Tensor>{x, y});
    Simulated ref;
    std::vector<Tensor> want = interpret(*m.find("f"), std::vector<Tensor>{x, y}, &ref.table);
    EXPECT_EQ(values(got[0]), values(want[0])) << "overlap " << overlap;
    ASSERT_EQ(exe.stats().collectives.size(), 1u);
    const CollectiveSchedule& s = exe.stats().collectives[0];
    if (overlap) {
      EXPECT_GE(s.wait - s.start, 2) << "the matmuls run while it is in flight";
      EXPECT_GE(c.progress, 2);
    } else {
      EXPECT_EQ(s.wait, s.start);
      EXPECT_EQ(c.progress, 0);
    }
  }
}

TEST(Collective, ReducesInItsOperandsBufferWhenItReadsItLast) {
  // x * 2 is read by its all-reduce alone: the result takes its buffer (no
  // copy before the start, compiler/memory_plan.cpp). x·y is also read
  // after its all-reduce: that one keeps a buffer of its own.
  Module m = test::make_function({f32({64, 64}), f32({64, 64})}, [](std::vector<Value>& x) {
    Value r = all_reduce(x[0] * 2.0);
    Value u = matmul(x[0], x[1]);
    Value s = all_reduce(u, Reduction::mean);
    Value h = relu(matmul(x[1], x[1]));
    return std::vector<Value>{h + r + s * u};
  });
  Executable exe = compile(m, "f", test::test_options());
  MemoryPlan plan = plan_memory(exe.function(), [](const Node& n) { return describe_kernel(n, LowerOptions{}).scratch_bytes; });
  int shared = 0, apart = 0;
  for (const Node* n : exe.function()) {
    if (n->op() != Op::AllReduce) continue;
    const Storage &r = plan.storage.at(n), &o = plan.storage.at(n->operand(0));
    bool same = r.kind == o.kind && r.offset == o.offset;
    (n->operand(0)->users().size() == 1 ? shared : apart) += 1;
    EXPECT_EQ(same, n->operand(0)->users().size() == 1) << n->name();
  }
  EXPECT_EQ(shared, 1);
  EXPECT_EQ(apart, 1);
  Tensor x(DType::f32, {64, 64}), y(DType::f32, {64, 64});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, 0.01 * static_cast<double>(i % 23)), y.set(i, 0.03 - 0.001 * (i % 5));
  Simulated c, ref;
  exe.set_communicator(&c.table);
  EXPECT_EQ(values(exe.run(std::vector<Tensor>{x, y})[0]),
            values(interpret(*m.find("f"), std::vector<Tensor>{x, y}, &ref.table)[0]));
}

TEST(Collective, FailureIsAnErrorNamingTheCommunicatorsReason) {
  Module m = test::make_function({f32({3})}, [](std::vector<Value>& x) {
    return std::vector<Value>{all_reduce(x[0]) + 1.0};
  });
  Simulated c;
  c.fail_start = true;
  Tensor a(DType::f32, {3});
  Executable exe = compile(m, "f", test::test_options());
  exe.set_communicator(&c.table);
  try {
    exe.run(std::vector<Tensor>{a});
    FAIL() << "expected an error";
  } catch (const EvaluationError& e) {
    EXPECT_STREQ(e.what(), "all_reduce: simulated failure on rank 2");
    ASSERT_NE(e.node(), nullptr);
    EXPECT_EQ(e.node()->op(), Op::AllReduce);
  }
  EXPECT_THROW(interpret(*m.find("f"), std::vector<Tensor>{a}, &c.table), EvaluationError);
}

TEST(Collective, TypingErrors) {
  Module m;
  Function& f = m.function("f");
  Value b = f.input("b", boolean({3}));
  Value i = f.input("i", i32({3}));
  EXPECT_EQ(error_of([&] { all_reduce(b); }), "all_reduce: expected a numeric operand, got bool[3]");
  EXPECT_EQ(error_of([&] { all_reduce(i, Reduction::mean); }),
            "all_reduce: op = mean needs a float operand (f32 or f64), got i32[3]");
}

TEST(Collective, TextForm) {
  Module m = parse("func @f(%x: f32[2]) -> (f32[2]) {\n  %y = all_reduce %x {op = mean} : f32[2]\n  return %y\n}\n",
                   "t.nabla");
  EXPECT_EQ(m.find("f")->back()->attrs().op, Reduction::mean);
  EXPECT_EQ(error_of([] { parse("func @f(%x: f32[2]) -> (f32[2]) {\n  %y = all_reduce %x {op = prod}\n  return %y\n}\n", "t.nabla"); }),
            "t.nabla:2:28: error: unknown reduction 'prod' (sum, mean, max or min)\n"
            "  %y = all_reduce %x {op = prod}\n"
            "                           ^");
}

// Two reduced products: dW = xᵀg + W/2 (a weight gradient with its decay
// term; the result's rows are x's columns) and a·g + 1 (rows of a). Each is
// [40, 32] f32, 5120 bytes.
Module split_case() {
  return test::make_function({f32({24, 40}), f32({24, 32}), f32({40, 32}), f32({40, 24})}, [](std::vector<Value>& x) {
    Value dw = all_reduce(matmul(x[0], x[1], true) + x[2] * 0.5, Reduction::mean);
    Value p = all_reduce(matmul(x[3], x[1]) + 1.0);
    return std::vector<Value>{x[2] - dw * 0.1, p};
  });
}

std::vector<Tensor> split_inputs() {
  std::vector<Tensor> in{Tensor(DType::f32, {24, 40}), Tensor(DType::f32, {24, 32}), Tensor(DType::f32, {40, 32}),
                         Tensor(DType::f32, {40, 24})};
  for (size_t k = 0; k < in.size(); ++k)
    for (int64_t i = 0; i < in[k].numel(); ++i) in[k].set(i, std::sin(0.37 * static_cast<double>(i) + static_cast<double>(k)));
  return in;
}

int count(const Function& f, Op op) {
  int n = 0;
  for (const Node* x : f) n += x->op() == op;
  return n;
}

TEST(SplitCollectives, ProductsSplitIntoRowBlocksWithTheSameResults) {
  Module whole = split_case(), parts = split_case();
  Function& f = *parts.find("f");
  ASSERT_TRUE(split_collectives(f, 1024));  // 5 blocks of 8 rows each
  EXPECT_EQ(count(f, Op::AllReduce), 10);
  EXPECT_EQ(count(f, Op::MatMul), 10);
  for (const Node* n : f)
    if (n->op() == Op::MatMul) {
      EXPECT_EQ(n->shape(), (Shape{8, 32}));
    }
  Simulated a, b;
  std::vector<Tensor> want = interpret(*whole.find("f"), split_inputs(), &a.table);
  std::vector<Tensor> got = interpret(f, split_inputs(), &b.table);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(values(got[i]), values(want[i])) << "result " << i;
  EXPECT_EQ(b.starts, 10);
}

TEST(SplitCollectives, CompiledBlocksAgreeBitForBitAndOverlapTheNextBlock) {
  Module m = split_case();
  Simulated ref;
  std::vector<Tensor> want = interpret(*m.find("f"), split_inputs(), &ref.table);
  for (int64_t bytes : {int64_t{0}, int64_t{1024}, int64_t{2048}}) {
    CompileOptions o = test::test_options();
    o.collective_split_bytes = bytes;
    o.collective_bucket_bytes = 0;  // blocks under its 256 KiB would travel as one message again
    Executable exe = compile(m, "f", o);
    Simulated c;
    exe.set_communicator(&c.table);
    std::vector<Tensor> got = exe.run(split_inputs());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(values(got[i]), values(want[i])) << bytes << " bytes";
    const std::vector<CollectiveSchedule>& s = exe.stats().collectives;
    ASSERT_EQ(s.size(), bytes == 0 ? 2u : bytes == 1024 ? 10u : 4u) << bytes << " bytes";
    EXPECT_EQ(c.starts, static_cast<int>(s.size()));
    if (bytes > 0) {
      EXPECT_GT(s[0].wait - s[0].start, 1) << "the next block is computed meanwhile";
    }
  }
}

TEST(SplitCollectives, KeepsWhatItCannotOrNeedNotSplit) {
  Module m = test::make_function({f32({64, 16}), f32({16, 16}), f32({})}, [](std::vector<Value>& x) {
    Value shared = matmul(x[0], x[1]);  // also returned: computed once, its rows sliced
    return std::vector<Value>{all_reduce(shared), shared, all_reduce(x[0]), all_reduce(x[2] * 2.0),
                              all_reduce(x[1] * 2.0)};
  });
  Function& f = *m.find("f");
  // 4096-byte all_reduces at 1024 bytes: the shared product's in 4 blocks of
  // 16 rows, the input's whole, the scalar's and the 1024-byte one whole.
  ASSERT_TRUE(split_collectives(f, 1024));
  EXPECT_EQ(count(f, Op::AllReduce), 7);
  EXPECT_EQ(count(f, Op::MatMul), 1);
  EXPECT_EQ(count(f, Op::Slice), 4);
  EXPECT_FALSE(split_collectives(f, 0));
}

}  // namespace
}  // namespace nabla
