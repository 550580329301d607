#include "tests/support/test_jit.h"

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>

#include "runtime/error.h"

namespace nabla::testing {

using namespace llvm;

struct TestJit::Impl {
  std::unique_ptr<orc::LLJIT> jit;
  std::unique_ptr<TargetMachine> tm;
  orc::ThreadSafeContext ctx{std::make_unique<LLVMContext>()};
  int counter = 0;
};

namespace {
std::string take(llvm::Error e) {
  std::string msg;
  handleAllErrors(std::move(e), [&](const ErrorInfoBase& info) { msg = info.message(); });
  return msg;
}
}  // namespace

TestJit::TestJit() : impl_(std::make_unique<Impl>()) {
  InitializeNativeTarget();
  InitializeNativeTargetAsmPrinter();
  cpu_ = sys::getHostCPUName().str();
  SubtargetFeatures features;
  for (auto& [name, on] : sys::getHostCPUFeatures()) features.AddFeature(name, on);
  features_ = features.getString();
  auto jtmb = orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) throw nabla::Error("test jit: " + take(jtmb.takeError()));
  jtmb->setCPU(cpu_);
  jtmb->setCodeGenOptLevel(CodeGenOptLevel::Aggressive);
  auto tm = jtmb->createTargetMachine();
  if (!tm) throw nabla::Error("test jit: " + take(tm.takeError()));
  impl_->tm = std::move(*tm);
  auto jit = orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
  if (!jit) throw nabla::Error("test jit: " + take(jit.takeError()));
  impl_->jit = std::move(*jit);
}

TestJit::~TestJit() = default;

LLVMContext& TestJit::context() { return *impl_->ctx.getContext(); }

std::unique_ptr<Module> TestJit::new_module(const std::string& name) {
  auto m = std::make_unique<Module>(name, context());
  m->setDataLayout(impl_->tm->createDataLayout());
  m->setTargetTriple(impl_->tm->getTargetTriple().str());
  return m;
}

void* TestJit::compile(std::unique_ptr<Module> m, const std::string& symbol,
                       const std::string& asm_path) {
  std::string problems;
  raw_string_ostream os(problems);
  if (verifyModule(*m, &os)) throw nabla::Error("test jit: invalid module: " + problems);
  {
    LoopAnalysisManager lam;
    FunctionAnalysisManager fam;
    CGSCCAnalysisManager cam;
    ModuleAnalysisManager mam;
    PassBuilder pb(impl_->tm.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cam, mam);
    pb.buildPerModuleDefaultPipeline(OptimizationLevel::O3).run(*m, mam);
  }
  if (!asm_path.empty()) {
    std::error_code ec;
    raw_fd_ostream out(asm_path, ec, sys::fs::OF_None);
    if (ec) throw nabla::Error("test jit: cannot write " + asm_path);
    legacy::PassManager pm;
    impl_->tm->addPassesToEmitFile(pm, out, nullptr, CodeGenFileType::AssemblyFile);
    pm.run(*m);
  }
  auto rt = impl_->jit->getMainJITDylib().createResourceTracker();
  if (auto e = impl_->jit->addIRModule(rt, orc::ThreadSafeModule(std::move(m), impl_->ctx)))
    throw nabla::Error("test jit: " + take(std::move(e)));
  return lookup(symbol);
}

void* TestJit::lookup(const std::string& symbol) {
  auto addr = impl_->jit->lookup(symbol);
  if (!addr) throw nabla::Error("test jit: " + take(addr.takeError()));
  return addr->toPtr<void*>();
}

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
