#include "nabla/compiler/jit.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/JITLink/JITLink.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Target/TargetMachine.h>

#include "nabla/compiler/codegen.h"
#include "nabla/runtime/error.h"

namespace nabla {

using namespace llvm;

namespace {

std::string message(llvm::Error e) {
  std::string text;
  handleAllErrors(std::move(e), [&](const ErrorInfoBase& info) { text = info.message(); });
  return text;
}

// With NABLA_PERF_MAP set in the environment, every function the JIT links
// gets a line "ADDRESS SIZE NAME" in /tmp/perf-PID.map, where `perf report`
// finds the names of JIT code (kernels by node: docs/performance.md,
// "Profiling"). Nothing is written otherwise.
class PerfMap : public orc::ObjectLinkingLayer::Plugin {
  static bool is_code(const jitlink::Symbol& sym) {
    return (sym.getBlock().getSection().getMemProt() & orc::MemProt::Exec) != orc::MemProt::None;
  }

 public:
  void modifyPassConfig(orc::MaterializationResponsibility&, jitlink::LinkGraph&,
                        jitlink::PassConfiguration& config) override {
    // Local functions (a module compiled as one part keeps its kernels
    // internal) are pruned from the graph unless kept live.
    config.PrePrunePasses.push_back([](jitlink::LinkGraph& g) {
      for (jitlink::Symbol* sym : g.defined_symbols())
        if (sym->hasName() && is_code(*sym)) sym->setLive(true);
      return llvm::Error::success();
    });
    config.PostFixupPasses.push_back([](jitlink::LinkGraph& g) {
      static std::mutex mutex;
      std::lock_guard<std::mutex> lock(mutex);
      std::FILE* out = std::fopen(fmt::format("/tmp/perf-{}.map", ::getpid()).c_str(), "a");
      if (!out) return llvm::Error::success();  // profiling is best effort
      for (jitlink::Symbol* sym : g.defined_symbols())
        if (sym->hasName() && sym->getSize() > 0 && is_code(*sym))
          std::fprintf(out, "%llx %llx %s\n", static_cast<unsigned long long>(sym->getAddress().getValue()),
                       static_cast<unsigned long long>(sym->getSize()), sym->getName().str().c_str());
      std::fclose(out);
      return llvm::Error::success();
    });
  }
  llvm::Error notifyFailed(orc::MaterializationResponsibility&) override { return llvm::Error::success(); }
  llvm::Error notifyRemovingResources(orc::JITDylib&, orc::ResourceKey) override { return llvm::Error::success(); }
  void notifyTransferringResources(orc::JITDylib&, orc::ResourceKey, orc::ResourceKey) override {}
};

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
  if (std::getenv("NABLA_PERF_MAP"))
    if (auto* linker = dyn_cast<orc::ObjectLinkingLayer>(&impl_->jit->getObjLinkingLayer()))
      linker->addPlugin(std::make_shared<PerfMap>());
  orc::JITDylib& dylib = impl_->jit->getMainJITDylib();
  // The C library functions generated code calls (the libm functions of the
  // kLibm ops, and what LLVM turns loops into: memcpy, memset, ...) come from
  // this process: the same libm the interpreter calls.
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

void Jit::define_absolute(const std::string& symbol, const void* address) {
  orc::SymbolMap map;
  map[impl_->jit->mangleAndIntern(symbol)] = {orc::ExecutorAddr::fromPtr(address), JITSymbolFlags::Exported};
  if (auto e = impl_->jit->getMainJITDylib().define(orc::absoluteSymbols(std::move(map))))
    throw nabla::Error("jit: " + message(std::move(e)));
}

void* Jit::lookup(const std::string& symbol) {
  auto address = impl_->jit->lookup(symbol);
  if (!address) throw nabla::Error("jit: " + message(address.takeError()));
  return address->toPtr<void*>();
}

}  // namespace nabla
