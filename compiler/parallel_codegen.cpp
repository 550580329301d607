#include "nabla/compiler/parallel_codegen.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>

#include <llvm/ADT/SmallVector.h>
#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/IR/DataLayout.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/Utils/Cloning.h>
#include <llvm/Transforms/Utils/SplitModule.h>

#include "nabla/runtime/error.h"

namespace nabla {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct Part {
  std::string bitcode;  // the partition, when it is compiled on another thread
  std::string object, ir, assembly;
  double optimize_ms = 0, codegen_ms = 0;
  std::exception_ptr error;
};

std::string emit(llvm::Module& m, llvm::TargetMachine& tm, bool assembly) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  emit_machine_code(m, tm, os, assembly);
  return std::string(buffer.begin(), buffer.end());
}

void compile_module(llvm::Module& m, const TargetSpec& target, const PartsOptions& o, Part& p) {
  std::unique_ptr<llvm::TargetMachine> tm = create_target_machine(target);
  auto t = Clock::now();
  optimize_module(m, *tm, target.opt_level);
  p.optimize_ms = ms_since(t);
  if (o.want_ir) {
    llvm::raw_string_ostream os(p.ir);
    m.print(os, nullptr);
  }
  if (o.want_asm) {
    std::unique_ptr<llvm::Module> copy = llvm::CloneModule(m);
    p.assembly = emit(*copy, *tm, true);
  }
  t = Clock::now();
  p.object = emit(m, *tm, false);
  p.codegen_ms = ms_since(t);
}

// Runs on a worker thread: the part gets a context of its own.
void compile_bitcode(const TargetSpec& target, const PartsOptions& o, Part& p) {
  try {
    llvm::LLVMContext context;
    auto m = llvm::parseBitcodeFile(llvm::MemoryBufferRef(p.bitcode, "nabla.part"), context);
    if (!m) throw InternalError("cannot read back a module partition: " + llvm::toString(m.takeError()));
    compile_module(**m, target, o, p);
  } catch (...) {
    p.error = std::current_exception();
  }
}

// SplitModule leaves a constant that kernels of several parts use defined in
// one part and declared in the others, where its loads no longer fold: a
// scalar like 0.5 becomes a load in the loop, and minimum/maximum against it
// need NaN checks. Each part gets its own private copy of small constants.
constexpr uint64_t kCopiedConstantBytes = 256;

void copy_small_constants(llvm::Module& whole, llvm::Module& part) {
  for (llvm::GlobalVariable& g : part.globals()) {
    if (!g.isDeclaration()) continue;
    llvm::GlobalVariable* def = whole.getNamedGlobal(g.getName());
    if (!def || !def->isConstant() || !def->hasInitializer()) continue;
    if (whole.getDataLayout().getTypeAllocSize(def->getValueType()) > kCopiedConstantBytes) continue;
    g.setInitializer(def->getInitializer());
    g.setConstant(true);
    g.setLinkage(llvm::GlobalValue::PrivateLinkage);
    g.setAlignment(def->getAlign());
  }
}

}  // namespace

CompiledParts compile_parts(llvm::Module& m, const TargetSpec& target, const PartsOptions& o) {
  int defined = 0;
  for (const llvm::Function& f : m)
    if (!f.isDeclaration()) ++defined;
  int count = std::max(1, std::min(o.parts, defined));
  std::vector<Part> parts(static_cast<size_t>(count));
  if (count == 1) {
    compile_module(m, target, o, parts[0]);
  } else {
    size_t next = 0;
    llvm::SplitModule(
        m, static_cast<unsigned>(count),
        [&](std::unique_ptr<llvm::Module> part) {
          copy_small_constants(m, *part);
          llvm::raw_string_ostream os(parts[next++].bitcode);
          llvm::WriteBitcodeToFile(*part, os);
        },
        /*PreserveLocals=*/false, /*RoundRobin=*/true);
    std::vector<std::thread> threads;
    for (size_t i = 1; i < parts.size(); ++i)
      threads.emplace_back(compile_bitcode, std::cref(target), std::cref(o), std::ref(parts[i]));
    compile_bitcode(target, o, parts[0]);
    for (std::thread& t : threads) t.join();
  }
  CompiledParts out;
  for (Part& p : parts) {
    if (p.error) std::rethrow_exception(p.error);
    out.objects.push_back(std::move(p.object));
    out.llvm_ir += p.ir;
    out.assembly += p.assembly;
    out.optimize_ms = std::max(out.optimize_ms, p.optimize_ms);
    out.codegen_ms = std::max(out.codegen_ms, p.codegen_ms);
  }
  return out;
}

}  // namespace nabla
