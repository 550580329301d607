#include "nabla/compiler/parallel_codegen.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <thread>
#include <unordered_set>

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

#include "nabla/runtime/error.h"

namespace nabla {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct Part {
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

// Small constants are copied into every part that reads them (as private
// globals), not shared: a constant defined in another part no longer folds
// into its loads (a scalar like 0.5 becomes a load in the loop, and
// minimum/maximum against it need NaN checks).
constexpr uint64_t kCopiedConstantBytes = 256;

bool is_small_constant(const llvm::GlobalVariable& g) {
  return g.isConstant() && g.hasInitializer() &&
         g.getParent()->getDataLayout().getTypeAllocSize(g.getValueType()) <= kCopiedConstantBytes;
}

// Makes the module's local symbols that parts may share hidden externals (so
// that the parts' objects link), except small constants, which every part
// copies.
void externalize(llvm::Module& m) {
  auto make_external = [](llvm::GlobalValue& g) {
    if (!g.hasName()) g.setName("nabla.part.unnamed");
    if (!g.hasLocalLinkage()) return;
    g.setLinkage(llvm::GlobalValue::ExternalLinkage);
    g.setVisibility(llvm::GlobalValue::HiddenVisibility);
  };
  for (llvm::Function& f : m) make_external(f);
  for (llvm::GlobalVariable& g : m.globals())
    if (!is_small_constant(g)) make_external(g);
}

// The time it takes to optimize and compile a function, in microseconds on
// Zen 4 (per-function times in LLVM's time trace of the MLP step and its
// Hessian-vector product, and the parts' times of compile_bench's random
// graphs; docs/performance.md "Compile time"): a function the emitter
// scheduled (light passes) 1.5 ms and 5 us an instruction; a kernel that gets
// the full -O3 pipeline 1.8 ms and 24 us an instruction (the vectorizer turns
// each loop into several); the entry 0.6 ms and 55 us an instruction. A
// function whose instructions misjudge it carries its time (kWorkAttribute:
// the GEMM's shared transpose, whose shuffles take 7.7 ms to select).
size_t work_of(const llvm::Function& f) {
  uint64_t given = 0;
  if (f.hasFnAttribute(kWorkAttribute) && !f.getFnAttribute(kWorkAttribute).getValueAsString().getAsInteger(10, given))
    return given;
  size_t n = f.getInstructionCount();
  if (f.hasFnAttribute(kScheduledAttribute)) return 1500 + 5 * n;
  bool kernel = f.hasLocalLinkage() || f.hasHiddenVisibility();  // hidden once externalized
  return kernel ? 1800 + 24 * n : 600 + 55 * n;
}

// Below this much work in all (about 12 ms on one thread) the module stays
// one part: a second thread, the bitcode copy and a second object would save
// little, and one object keeps the kernels next to the entry, which calls
// them directly (the parts' calls go through the linker's stubs), so a first
// call touches fewer code pages.
constexpr size_t kMinWorkToSplit = 12000;

// A worker thread starts its part about 1 ms after the calling thread starts
// its own (the thread, reading its functions from the bitcode; the parts of
// the MLP step and its Hessian-vector product, docs/performance.md "Compile
// time"): its part begins with that much work dealt.
constexpr size_t kWorkerStartWork = 1000;

// Deals the defined functions out into `count` parts of about equal work:
// the largest first, each to the part with the least work so far. Returns the
// names of each part's functions.
std::vector<std::unordered_set<std::string>> deal_functions(llvm::Module& m, size_t count) {
  std::vector<std::pair<size_t, llvm::Function*>> sized;
  for (llvm::Function& f : m)
    if (!f.isDeclaration()) sized.emplace_back(work_of(f), &f);
  std::stable_sort(sized.begin(), sized.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::unordered_set<std::string>> parts(count);
  std::vector<size_t> load(count, kWorkerStartWork);
  load[0] = 0;  // the calling thread's part
  for (const auto& [size, f] : sized) {
    size_t p = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[p] += size;
    parts[p].insert(f->getName().str());
  }
  return parts;
}

// Reduces a copy of the whole module to one part: the other parts' functions
// become declarations; unless the part owns the global variables, they become
// declarations too, small constants private copies.
void keep_part(llvm::Module& m, const std::unordered_set<std::string>& mine, bool owns_globals) {
  for (llvm::Function& f : m)
    if (!f.isDeclaration() && !mine.count(f.getName().str())) f.deleteBody();
  if (owns_globals) return;
  for (llvm::GlobalVariable& g : m.globals()) {
    if (g.isDeclaration() || is_small_constant(g)) continue;  // small ones stay private copies
    g.setInitializer(nullptr);
    g.setLinkage(llvm::GlobalValue::ExternalLinkage);
  }
}

// Runs on a worker thread: the part gets a context of its own, and a copy of
// the whole module (its bitcode) reduced to the part. The bitcode is read
// lazily: only the part's own function bodies are parsed (the worker started
// its part 4-5 ms earlier in a fresh process, docs/performance.md).
void compile_bitcode(const std::string& bitcode, const std::unordered_set<std::string>& mine,
                     const TargetSpec& target, const PartsOptions& o, Part& p) {
  try {
    llvm::LLVMContext context;
    auto m = llvm::getLazyBitcodeModule(llvm::MemoryBufferRef(bitcode, "nabla.part"), context);
    if (!m) throw InternalError("cannot read back a module partition: " + llvm::toString(m.takeError()));
    keep_part(**m, mine, false);
    if (llvm::Error e = (*m)->materializeAll())
      throw InternalError("cannot read back a module partition: " + llvm::toString(std::move(e)));
    compile_module(**m, target, o, p);
  } catch (...) {
    p.error = std::current_exception();
  }
}

}  // namespace

CompiledParts compile_parts(llvm::Module& m, const TargetSpec& target, const PartsOptions& o) {
  merge_equal_functions(m);
  int defined = 0;
  size_t work = 0;
  for (const llvm::Function& f : m)
    if (!f.isDeclaration()) {
      ++defined;
      work += work_of(f);
    }
  int count = work < kMinWorkToSplit ? 1 : std::max(1, std::min(o.parts, defined));
  std::vector<Part> parts(static_cast<size_t>(count));
  if (count == 1) {
    compile_module(m, target, o, parts[0]);
  } else {
    // Part 0 is compiled on this thread in `m` itself, the others from the
    // bitcode of the whole module.
    externalize(m);
    std::vector<std::unordered_set<std::string>> names = deal_functions(m, parts.size());
    std::string bitcode;
    llvm::raw_string_ostream os(bitcode);
    llvm::WriteBitcodeToFile(m, os);
    std::vector<std::thread> threads;
    for (size_t i = 1; i < parts.size(); ++i)
      threads.emplace_back(compile_bitcode, std::cref(bitcode), std::cref(names[i]), std::cref(target),
                           std::cref(o), std::ref(parts[i]));
    try {
      keep_part(m, names[0], true);
      compile_module(m, target, o, parts[0]);
    } catch (...) {
      parts[0].error = std::current_exception();
    }
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
