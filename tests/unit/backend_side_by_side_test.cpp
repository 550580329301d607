// Serial kernels side by side (compiler/side_by_side.h): consecutive serial
// kernels that share no written bytes run as one parallel loop on 2 threads,
// dependent kernels and kernels whose buffers share bytes in the memory plan
// do not, and the results stay the interpreter's bit for bit on 1 and 2
// threads, with the pool and without (a null context).
#include <gtest/gtest.h>

#include "nabla/compiler/side_by_side.h"
#include "tests/support/backend_testing.h"
#include "tests/support/random_graph.h"

namespace nabla {
namespace NABLA_UNITY_ID {

// Every result of exe on `in` holds the interpreter's bits, through run()
// (the pool) and through the raw entry with a null context (no pool).
void expect_interpreter_bits(const Function& f, Executable& exe, const std::vector<Tensor>& in) {
  std::vector<Tensor> want = interpret(f, in), got = exe.run(in);
  std::vector<Tensor> raw;
  for (const Tensor& w : want) raw.emplace_back(w.dtype(), w.shape());
  ASSERT_EQ(test::call_entry(exe, in, raw, nullptr), NABLA_OK);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(test::compare_bits(got[i], want[i]), "") << "result " << i;
    EXPECT_EQ(test::compare_bits(raw[i], want[i]), "") << "result " << i << ", no pool";
  }
}

// The exact weight decay of an MLP: sequential sums of squares of three
// weights, none reading another's result.
Module decay_sums() {
  return test::make_function({f32({784, 512}), f32({512, 512}), f32({512, 10})}, [](std::vector<Value>& x) {
    return std::vector<Value>{sum(x[0] * x[0]), sum(x[1] * x[1]), sum(x[2] * x[2])};
  });
}

TEST(BackendSideBySide, IndependentSumsRunAsOneLoopOfTwoTasks) {
  Module m = decay_sums();
  Function& f = *m.find("f");
  std::vector<Tensor> in = test::random_inputs(f, 11, 0);
  Executable two = compile(f, test::test_options(2));
  ASSERT_EQ(two.stats().side_by_side.size(), 1u);
  // The largest sum alone, the two others on the other thread.
  const SideBySide& side = two.stats().side_by_side[0];
  ASSERT_EQ(side.tasks.size(), 2u);
  EXPECT_EQ(side.tasks[0], std::vector<std::string>{"k0.fused"});
  EXPECT_EQ(side.tasks[1], (std::vector<std::string>{"k1.fused", "k2.fused"}));
  EXPECT_EQ(two.num_threads(), 2);
  expect_interpreter_bits(f, two, in);
  Executable one = compile(f, test::test_options(1));
  EXPECT_TRUE(one.stats().side_by_side.empty());
  expect_interpreter_bits(f, one, in);
}

TEST(BackendSideBySide, ASumThatReadsTheOtherIsNotBesideIt) {
  Module m = test::make_function({f32({784, 512}), f32({512, 512})}, [](std::vector<Value>& x) {
    Value s = sum(x[0] * x[0]);
    return std::vector<Value>{s, sum(x[1] * s)};
  });
  Function& f = *m.find("f");
  Executable two = compile(f, test::test_options(2));
  EXPECT_TRUE(two.stats().side_by_side.empty());
  expect_interpreter_bits(f, two, test::random_inputs(f, 12, 0));
}

// Unfused: exp(x), its sum (t's last reader), then sum(y), which the plan
// may store in t's bytes (t is dead by then): no data flows between the two
// sums, but they share bytes. With t a result too, it has bytes of its own
// and the sums run side by side.
Module sums_after_exp(bool t_is_result) {
  return test::make_function({f32({600, 100}), f32({600, 100})}, [&](std::vector<Value>& x) {
    Value t = exp(x[0]);
    Value a = sum(t);
    Value c = sum(x[1]);
    std::vector<Value> r{a, c * 2.0};
    if (t_is_result) r.push_back(t);
    return r;
  });
}

TEST(BackendSideBySide, KernelsSharingBytesInThePlanAreNotBesideEachOther) {
  for (bool t_is_result : {false, true}) {
    Module m = sums_after_exp(t_is_result);
    Function& f = *m.find("f");
    CompileOptions o = test::test_options(2);
    o.fuse = false;
    Executable two = compile(f, o);
    if (!t_is_result) {
      EXPECT_EQ(two.workspace_bytes(), 600 * 100 * 4) << "sum(y) no longer reuses exp(x)'s bytes";
      EXPECT_TRUE(two.stats().side_by_side.empty());
    } else {
      ASSERT_EQ(two.stats().side_by_side.size(), 1u);
      EXPECT_EQ(two.stats().side_by_side[0].tasks.size(), 2u);
    }
    expect_interpreter_bits(f, two, test::random_inputs(f, 13, 0));
  }
}

TEST(BackendSideBySide, AccessAndDealing) {
  Module m = test::make_function({f32({16})}, [](std::vector<Value>& x) {
    return std::vector<Value>{exp(x[0]), log(x[0])};
  });
  Function& f = *m.find("f");
  const Node* in = f.inputs()[0];
  const Node* r0 = f.results()[0];
  const Node* r1 = f.results()[1];
  MemoryPlan plan;
  plan.storage[in] = {StorageKind::Input, 0, 0, in, {}};
  plan.storage[r0] = {StorageKind::Workspace, 0, 0, r0, {}};
  plan.storage[r1] = {StorageKind::Workspace, 0, 64, r1, {}};
  KernelAccess a = kernel_access(plan, {r0}, 0), b = kernel_access(plan, {r1}, 0);
  EXPECT_EQ(a.reads.size(), 0u);  // inputs are never written
  ASSERT_EQ(a.writes.size(), 1u);
  EXPECT_EQ(a.writes[0].begin, 0);
  EXPECT_EQ(a.writes[0].end, 64);
  EXPECT_TRUE(independent(a, b));
  plan.storage[r1].offset = 32;  // within r0's 64 bytes
  EXPECT_FALSE(independent(a, kernel_access(plan, {r1}, 0)));
  plan.storage[r1] = {StorageKind::Output, 1, 0, r1, {}};
  plan.scratch_offset[r1] = 0;  // scratch over r0's bytes
  EXPECT_TRUE(independent(a, kernel_access(plan, {r1}, 0)));
  EXPECT_FALSE(independent(a, kernel_access(plan, {r1}, 16)));

  EXPECT_EQ(deal_to_tasks({401, 262, 5}, 2), (std::vector<std::vector<size_t>>{{0}, {1, 2}}));
  EXPECT_EQ(deal_to_tasks({5, 262, 401}, 2), (std::vector<std::vector<size_t>>{{2}, {0, 1}}));
  EXPECT_EQ(deal_to_tasks({7, 7}, 3), (std::vector<std::vector<size_t>>{{0}, {1}}));
}

}  // namespace NABLA_UNITY_ID
}  // namespace nabla
