// compiler/codegen.h: machine code generation runs under a pass gate of its
// own (it refuses loop strength reduction) and gives the context back the
// gate it had.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <llvm/ADT/SmallVector.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/OptBisect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include "nabla/compiler/codegen.h"

namespace nabla {
namespace NABLA_UNITY_ID {

// Lets every pass run and counts the passes that ask.
struct CountingGate : llvm::OptPassGate {
  int asked = 0;
  bool shouldRunPass(llvm::StringRef, llvm::StringRef) override {
    ++asked;
    return true;
  }
  bool isEnabled() const override { return true; }
};

// float loop_sum(const float* x, i64 n), n >= 1: a loop over a pointer, what
// loop strength reduction works on.
void emit_loop_sum(llvm::Module& m) {
  llvm::LLVMContext& c = m.getContext();
  llvm::IRBuilder<> b(c);
  auto* fty = llvm::FunctionType::get(b.getFloatTy(), {b.getPtrTy(), b.getInt64Ty()}, false);
  auto* f = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, "loop_sum", m);
  auto* entry = llvm::BasicBlock::Create(c, "entry", f);
  auto* loop = llvm::BasicBlock::Create(c, "loop", f);
  auto* exit = llvm::BasicBlock::Create(c, "exit", f);
  b.SetInsertPoint(entry);
  b.CreateBr(loop);
  b.SetInsertPoint(loop);
  llvm::PHINode* i = b.CreatePHI(b.getInt64Ty(), 2);
  llvm::PHINode* acc = b.CreatePHI(b.getFloatTy(), 2);
  llvm::Value* x = b.CreateLoad(b.getFloatTy(), b.CreateGEP(b.getFloatTy(), f->getArg(0), i));
  llvm::Value* sum = b.CreateFAdd(acc, x);
  llvm::Value* next = b.CreateAdd(i, b.getInt64(1));
  b.CreateCondBr(b.CreateICmpSLT(next, f->getArg(1)), loop, exit);
  i->addIncoming(b.getInt64(0), entry);
  i->addIncoming(next, loop);
  acc->addIncoming(llvm::ConstantFP::get(b.getFloatTy(), 0.0), entry);
  acc->addIncoming(sum, loop);
  b.SetInsertPoint(exit);
  b.CreateRet(sum);
}

TEST(Codegen, MachineCodeUsesItsOwnPassGateAndRestoresTheContexts) {
  llvm::LLVMContext context;
  CountingGate gate;
  context.setOptPassGate(gate);
  auto m = std::make_unique<llvm::Module>("codegen_test", context);
  TargetSpec spec;
  spec.cpu = "native";
  std::unique_ptr<llvm::TargetMachine> tm = create_target_machine(spec);
  prepare_module(*m, *tm);
  emit_loop_sum(*m);
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  emit_machine_code(*m, *tm, os, /*assembly=*/true);
  std::string text(buffer.begin(), buffer.end());
  EXPECT_NE(text.find("loop_sum:"), std::string::npos) << text;
  EXPECT_EQ(gate.asked, 0);  // the codegen passes asked emit_machine_code's gate
  EXPECT_EQ(&context.getOptPassGate(), &gate);
  // The context's own gate is asked again once it is back.
  EXPECT_TRUE(context.getOptPassGate().shouldRunPass("a pass", "a function"));
  EXPECT_EQ(gate.asked, 1);
}

}  // namespace
}  // namespace nabla
