#include "tests/support/test_jit.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/Target/TargetMachine.h>

#include "nabla/compiler/codegen.h"
#include "nabla/runtime/error.h"

namespace nabla::testing {

using namespace llvm;

namespace {
TargetSpec native() {
  TargetSpec spec;
  spec.cpu = "native";
  return spec;
}
}  // namespace

TestJit::TestJit() : jit_(native()) {
  cpu_ = jit_.target_machine().getTargetCPU().str();
  features_ = jit_.target_machine().getTargetFeatureString().str();
}

TestJit::~TestJit() = default;

std::unique_ptr<Module> TestJit::new_module(const std::string& name) {
  auto ctx = std::make_unique<LLVMContext>();
  auto m = std::make_unique<Module>(name, *ctx);
  prepare_module(*m, jit_.target_machine());
  contexts_[m.get()] = std::move(ctx);
  return m;
}

void* TestJit::compile(std::unique_ptr<Module> m, const std::string& symbol,
                       const std::string& asm_path) {
  auto it = contexts_.find(m.get());
  if (it == contexts_.end()) throw nabla::Error("test jit: module not made by new_module");
  std::unique_ptr<LLVMContext> ctx = std::move(it->second);
  contexts_.erase(it);
  optimize_module(*m, jit_.target_machine(), 3);
  if (!asm_path.empty()) write_assembly(*m, jit_.target_machine(), asm_path);
  return jit_.add(std::move(m), std::move(ctx), symbol);
}

void* TestJit::lookup(const std::string& symbol) { return jit_.lookup(symbol); }

void add_external_wrapper(Module& m, const std::string& callee, const std::string& name) {
  Function* target = m.getFunction(callee);
  if (!target) throw nabla::Error("test jit: no function " + callee);
  Function* f = Function::Create(target->getFunctionType(), GlobalValue::ExternalLinkage, name, m);
  IRBuilder<> b(BasicBlock::Create(m.getContext(), "entry", f));
  std::vector<Value*> args;
  for (Argument& a : f->args()) args.push_back(&a);
  b.CreateCall(target, args);
  b.CreateRetVoid();
}

}  // namespace nabla::testing
