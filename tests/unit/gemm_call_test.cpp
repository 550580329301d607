// The helpers that connect matmul nodes and parallel loops to the generated
// GEMM: the spec of a matmul node, and the calls over thread slots.
#include <gtest/gtest.h>

#include <llvm/IR/IRBuilder.h>

#include <random>
#include <thread>

#include "nabla/compiler/gemm.h"
#include "nabla/ir/builder.h"
#include "nabla/runtime/error.h"
#include "tests/support/gemm_runner.h"

namespace nabla {
namespace NABLA_UNITY_ID {

TEST(GemmCall, SpecOfABatchedTransposedMatmul) {
  Module m;
  Function& f = m.function("f");
  auto a = f.input("a", f64({2, 3, 7, 5}));  // transposed: K 7, M 5
  auto b = f.input("b", f64({2, 3, 7, 11}));
  Node* c = matmul(a, b, true, false);
  GemmSpec s = gemm_spec_for_matmul(*c, 2);
  EXPECT_EQ(s.dtype, DType::f64);
  EXPECT_EQ(s.batch, 6);
  EXPECT_EQ(s.M, 5);
  EXPECT_EQ(s.N, 11);
  EXPECT_EQ(s.K, 7);
  EXPECT_TRUE(s.trans_a);
  EXPECT_FALSE(s.trans_b);
  EXPECT_EQ(s.threads, 2);
}

TEST(GemmCall, IntegerMatmulIsAnError) {
  Module m;
  Function& f = m.function("f");
  Node* c = matmul(f.input("a", i32({2, 3})), f.input("b", i32({3, 4})));
  try {
    gemm_spec_for_matmul(*c, 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "gemm: element type must be f32 or f64, got i32");
  }
}

// A wrapper void run(A, B, C, scratch, slot_begin, slot_end) over 3 slots,
// called per slot from separate threads, against a plain loop.
TEST(GemmCall, SlotsCoverEveryTaskWithTheirOwnScratch) {
  testing::TestJit jit;
  auto module = jit.new_module("slots");
  GemmSpec s;
  s.M = 50, s.N = 70, s.K = 40, s.trans_b = true;  // B packed: scratch in use
  s.threads = 3;
  s.target_cpu = jit.cpu(), s.target_features = jit.features();
  GemmPlan plan = plan_gemm(s);
  ASSERT_GT(plan.scratch_bytes, 0);
  ASSERT_EQ(plan.num_tasks, 3);
  llvm::Function* gemm = emit_gemm(*module, s, "g");
  llvm::LLVMContext& ctx = module->getContext();
  llvm::IRBuilder<> b(ctx);
  auto* ptr = b.getPtrTy();
  auto* type = llvm::FunctionType::get(b.getVoidTy(), {ptr, ptr, ptr, ptr, b.getInt64Ty(),
                                                      b.getInt64Ty()}, false);
  auto* run = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, "run", *module);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", run));
  llvm::Value* null = llvm::ConstantPointerNull::get(ptr);
  emit_gemm_slots(b, gemm, plan, {run->getArg(0), run->getArg(1), run->getArg(2), null, null},
                  run->getArg(3), run->getArg(4), run->getArg(5), 3);
  b.CreateRetVoid();
  using Fn = void (*)(const float*, const float*, float*, void*, int64_t, int64_t);
  auto fn = reinterpret_cast<Fn>(jit.compile(std::move(module), "run"));

  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> a(50 * 40), bt(70 * 40), c(50 * 70, 0.f);
  for (auto& x : a) x = u(rng);
  for (auto& x : bt) x = u(rng);
  testing::AlignedBuffer scratch(static_cast<size_t>(3 * plan.scratch_bytes));
  std::vector<std::thread> threads;
  for (int64_t slot = 0; slot < 3; ++slot)
    threads.emplace_back([&, slot] { fn(a.data(), bt.data(), c.data(), scratch.data(), slot, slot + 1); });
  for (auto& t : threads) t.join();
  for (int m = 0; m < 50; ++m)
    for (int n = 0; n < 70; ++n) {
      double want = 0;
      for (int k = 0; k < 40; ++k) want += double(a[m * 40 + k]) * bt[n * 40 + k];
      ASSERT_NEAR(c[m * 70 + n], want, 1e-4) << m << "," << n;
    }
}

}  // namespace
}  // namespace nabla
