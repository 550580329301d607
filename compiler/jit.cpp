#include "compiler/jit.h"

#include <cmath>
#include <cstring>

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Target/TargetMachine.h>

#include "compiler/codegen.h"
#include "runtime/error.h"

namespace nabla {

using namespace llvm;

namespace {

std::string message(llvm::Error e) {
  std::string text;
  handleAllErrors(std::move(e), [&](const ErrorInfoBase& info) { text = info.message(); });
  return text;
}

// The C library functions that generated code may call (the math functions
// the kernels use, and what LLVM turns loops into), bound to this process's.
template <class T> orc::ExecutorSymbolDef symbol(T* fn) {
  return {orc::ExecutorAddr::fromPtr(reinterpret_cast<void*>(fn)), JITSymbolFlags::Exported};
}

orc::SymbolMap libc_symbols(orc::LLJIT& jit) {
  orc::SymbolMap map;
  auto add = [&](const char* name, orc::ExecutorSymbolDef def) { map[jit.mangleAndIntern(name)] = def; };
  using F1 = float(float);
  using D1 = double(double);
  using F2 = float(float, float);
  using D2 = double(double, double);
  add("expf", symbol<F1>(::expf));   add("exp", symbol<D1>(::exp));
  add("logf", symbol<F1>(::logf));   add("log", symbol<D1>(::log));
  add("log1pf", symbol<F1>(::log1pf)); add("log1p", symbol<D1>(::log1p));
  add("tanhf", symbol<F1>(::tanhf)); add("tanh", symbol<D1>(::tanh));
  add("sinf", symbol<F1>(::sinf));   add("sin", symbol<D1>(::sin));
  add("cosf", symbol<F1>(::cosf));   add("cos", symbol<D1>(::cos));
  add("sqrtf", symbol<F1>(::sqrtf)); add("sqrt", symbol<D1>(::sqrt));
  add("floorf", symbol<F1>(::floorf)); add("floor", symbol<D1>(::floor));
  add("powf", symbol<F2>(::powf));   add("pow", symbol<D2>(::pow));
  add("memset", symbol<void*(void*, int, size_t)>(::memset));
  add("memcpy", symbol<void*(void*, const void*, size_t)>(::memcpy));
  add("memmove", symbol<void*(void*, const void*, size_t)>(::memmove));
  return map;
}

}  // namespace

struct Jit::Impl {
  std::unique_ptr<TargetMachine> tm;
  std::unique_ptr<orc::LLJIT> jit;
};

Jit::Jit(const TargetSpec& spec) : impl_(std::make_unique<Impl>()) {
  impl_->tm = create_target_machine(spec);
  orc::JITTargetMachineBuilder jtmb(impl_->tm->getTargetTriple());
  jtmb.setCPU(impl_->tm->getTargetCPU().str());
  jtmb.getFeatures() = SubtargetFeatures(impl_->tm->getTargetFeatureString());
  jtmb.setCodeGenOptLevel(impl_->tm->getOptLevel());
  auto jit = orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(jtmb)).create();
  if (!jit) throw nabla::Error("jit: " + message(jit.takeError()));
  impl_->jit = std::move(*jit);
  orc::JITDylib& dylib = impl_->jit->getMainJITDylib();
  if (auto e = dylib.define(orc::absoluteSymbols(libc_symbols(*impl_->jit))))
    throw nabla::Error("jit: " + message(std::move(e)));
  // Anything else (e.g. a libm function LLVM chose to call) from the process.
  auto generator = orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      impl_->jit->getDataLayout().getGlobalPrefix());
  if (!generator) throw nabla::Error("jit: " + message(generator.takeError()));
  dylib.addGenerator(std::move(*generator));
}

Jit::~Jit() = default;

TargetMachine& Jit::target_machine() { return *impl_->tm; }

void* Jit::add(std::unique_ptr<Module> module, std::unique_ptr<LLVMContext> context,
               const std::string& symbol) {
  orc::ThreadSafeModule tsm(std::move(module), std::move(context));
  if (auto e = impl_->jit->addIRModule(std::move(tsm))) throw nabla::Error("jit: " + message(std::move(e)));
  return lookup(symbol);
}

void* Jit::add_objects(const std::vector<std::string>& objects, const std::string& symbol) {
  for (const std::string& object : objects)
    if (auto e = impl_->jit->addObjectFile(MemoryBuffer::getMemBufferCopy(object, "nabla.part")))
      throw nabla::Error("jit: " + message(std::move(e)));
  return lookup(symbol);
}

void* Jit::lookup(const std::string& symbol) {
  auto address = impl_->jit->lookup(symbol);
  if (!address) throw nabla::Error("jit: " + message(address.takeError()));
  return address->toPtr<void*>();
}

}  // namespace nabla
