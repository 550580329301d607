#include "nabla/compiler/codegen.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <map>
#include <set>
#include <vector>

#include <llvm/ADT/StringExtras.h>
#include <llvm/Analysis/LoopInfo.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/OptBisect.h>
#include <llvm/IR/StructuralHash.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Signals.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/Utils/FunctionComparator.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/SubtargetFeature.h>
#include <llvm/TargetParser/Triple.h>

#include "nabla/runtime/error.h"

namespace nabla {

using namespace llvm;

namespace {

// Registers LLVM's target for `arch`: only the one a triple names when nabla
// generates code for it (registering all of LLVM's twenty-one took 6 ms of
// the first compile in a process, docs/performance.md), all of them for any
// other architecture, so that its error says "not supported" or "unknown".
void initialize_target(Triple::ArchType arch) {
  static std::once_flag x86, aarch64, riscv, all;
  switch (arch) {
    case Triple::x86_64:
      return std::call_once(x86, [] {
        LLVMInitializeX86TargetInfo(), LLVMInitializeX86Target(), LLVMInitializeX86TargetMC();
        LLVMInitializeX86AsmPrinter(), LLVMInitializeX86AsmParser();
      });
    case Triple::aarch64:
      return std::call_once(aarch64, [] {
        LLVMInitializeAArch64TargetInfo(), LLVMInitializeAArch64Target(), LLVMInitializeAArch64TargetMC();
        LLVMInitializeAArch64AsmPrinter(), LLVMInitializeAArch64AsmParser();
      });
    case Triple::riscv64:
      return std::call_once(riscv, [] {
        LLVMInitializeRISCVTargetInfo(), LLVMInitializeRISCVTarget(), LLVMInitializeRISCVTargetMC();
        LLVMInitializeRISCVAsmPrinter(), LLVMInitializeRISCVAsmParser();
      });
    default:
      return std::call_once(all, [] {
        InitializeAllTargetInfos();
        InitializeAllTargets();
        InitializeAllTargetMCs();
        InitializeAllAsmPrinters();
        InitializeAllAsmParsers();
      });
  }
}

std::string host_features() {
  SubtargetFeatures features;
  for (const auto& entry : sys::getHostCPUFeatures()) features.AddFeature(entry.getKey(), entry.getValue());
  return features.getString();
}

bool is_native(const std::string& cpu) { return cpu == "native" || cpu == "host"; }

// What a target gets without --cpu: code for every machine of its
// architecture, as clang chooses it (riscv64 Linux: rv64gc, hardware floats).
struct TargetDefaults {
  std::string cpu, features, abi;
};
TargetDefaults target_defaults(const Triple& t) {
  if (t.getArch() == Triple::x86_64) return {"x86-64", "", ""};
  if (t.isRISCV64()) return {"generic-rv64", "+m,+a,+f,+d,+c", "lp64d"};
  if (t.isRISCV32()) return {"generic-rv32", "+m,+a,+f,+d,+c", "ilp32d"};
  return {"generic", "", ""};
}

// The architectures nabla generates code for: each is tested by running its
// code (natively, or under qemu-user). LLVM knows more, but on several of them
// nabla's kernels hit LLVM crashes or soft-float gaps.
constexpr Triple::ArchType kSupportedArchs[] = {Triple::x86_64, Triple::aarch64, Triple::riscv64};

// The target of a spec: its normalized triple and LLVM's Target.
std::pair<std::string, const Target*> lookup(const TargetSpec& spec) {
  std::string triple = spec.triple.empty() ? sys::getProcessTriple() : Triple::normalize(spec.triple);
  initialize_target(Triple(triple).getArch());
  std::string error;
  const Target* target = TargetRegistry::lookupTarget(triple, error);
  if (!target) throw Error("unknown target '" + spec.triple + "': " + error);
  if (std::find(std::begin(kSupportedArchs), std::end(kSupportedArchs), Triple(triple).getArch()) ==
      std::end(kSupportedArchs))
    throw Error("target '" + triple + "' is not supported: nabla generates code for x86_64, aarch64 and riscv64");
  return {triple, target};
}

// Collects the errors LLVM reports through a context while it lives (LLVM's
// default prints them and exits the process); check() throws the first.
class LlvmDiagnostics {
 public:
  explicit LlvmDiagnostics(LLVMContext& context) : context_(context), saved_(context.getDiagnosticHandler()) {
    context.setDiagnosticHandler(std::make_unique<Collector>(first_error_));
  }
  ~LlvmDiagnostics() { context_.setDiagnosticHandler(std::move(saved_)); }
  void check() const {
    if (!first_error_.empty()) throw Error("LLVM: " + first_error_);
  }

 private:
  struct Collector : DiagnosticHandler {
    explicit Collector(std::string& first) : first(first) {}
    bool handleDiagnostics(const DiagnosticInfo& d) override {
      if (d.getSeverity() != DS_Error) return false;  // warnings and remarks: printed as usual
      if (first.empty()) {
        raw_string_ostream os(first);
        DiagnosticPrinterRawOStream printer(os);
        d.print(printer);
      }
      return true;
    }
    std::string& first;
  };
  LLVMContext& context_;
  std::unique_ptr<DiagnosticHandler> saved_;
  std::string first_error_;
};

// Every entry of a feature list is +NAME or -NAME, NAME a feature of the
// target (LLVM would only warn, and ignore it).
void check_features(const std::string& features, const MCSubtargetInfo& sti, const std::string& triple) {
  ArrayRef<SubtargetFeatureKV> known = sti.getAllProcessorFeatures();
  for (StringRef entry : split(features, ',')) {
    entry = entry.trim();
    if (entry.empty()) continue;
    bool sign = entry.starts_with("+") || entry.starts_with("-");
    StringRef name = sign ? entry.drop_front() : entry;
    bool found = std::any_of(known.begin(), known.end(), [&](const SubtargetFeatureKV& f) { return name == f.Key; });
    if (!sign || name.empty())
      throw Error("feature '" + entry.str() + "' must be +NAME (add) or -NAME (remove)");
    if (!found) throw Error("unknown feature '" + name.str() + "' for " + triple);
  }
}

CodeGenOptLevel codegen_level(int opt_level) {
  switch (opt_level) {
    case 0: return CodeGenOptLevel::None;
    case 1: return CodeGenOptLevel::Less;
    case 2: return CodeGenOptLevel::Default;
    default: return CodeGenOptLevel::Aggressive;
  }
}

// Writes through a temporary file renamed into place, so that a failure
// leaves nothing half-written at `path`.
template <class Fn> void write_file(const std::string& path, const char* what, Fn&& fn) {
  if (path == "-") {
    fn(outs());
    outs().flush();
    return;
  }
  std::string tmp = path + ".tmp";
  sys::RemoveFileOnSignal(tmp);  // also on an LLVM fatal error (exit_on_llvm_fatal_error)
  std::string failure;
  {
    std::error_code ec;
    raw_fd_ostream out(tmp, ec, sys::fs::OF_None);
    if (ec) throw Error("cannot write " + std::string(what) + " to " + path + ": " + ec.message());
    try {
      fn(out);
    } catch (const Error& e) {
      failure = e.what();
    }
    out.close();
    if (out.has_error()) {
      if (failure.empty()) failure = "cannot write " + std::string(what) + " to " + path + ": " + out.error().message();
      out.clear_error();  // an unhandled stream error would abort in the destructor
    }
  }
  if (failure.empty() && std::rename(tmp.c_str(), path.c_str()) != 0)
    failure = "cannot write " + std::string(what) + " to " + path;
  sys::DontRemoveFileOnSignal(tmp);
  if (!failure.empty()) {
    std::remove(tmp.c_str());
    throw Error(failure);
  }
}

}  // namespace

std::unique_ptr<TargetMachine> create_target_machine(const TargetSpec& spec) {
  auto [triple, target] = lookup(spec);
  TargetDefaults defaults = target_defaults(Triple(triple));
  std::string cpu = spec.cpu.empty() ? defaults.cpu : spec.cpu;
  std::string features = defaults.features;
  if (is_native(spec.cpu)) {
    if (Triple(triple).getArch() != Triple(sys::getProcessTriple()).getArch())
      throw Error("CPU '" + spec.cpu + "' is this machine's (" + sys::getProcessTriple() + "), not a CPU of " + triple);
    cpu = sys::getHostCPUName().str();
    features = host_features();
  }
  std::unique_ptr<MCSubtargetInfo> sti(target->createMCSubtargetInfo(triple, "", ""));
  if (!sti->isCPUStringValid(cpu)) throw Error("unknown CPU '" + cpu + "' for target '" + triple + "'");
  check_features(spec.features, *sti, triple);
  if (!spec.features.empty()) features += (features.empty() ? "" : ",") + spec.features;
  TargetOptions options;
  options.MCOptions.ABIName = defaults.abi;
  std::unique_ptr<TargetMachine> tm(target->createTargetMachine(triple, cpu, features, options, Reloc::PIC_,
                                                                std::nullopt, codegen_level(spec.opt_level)));
  if (!tm) throw Error("cannot create a target machine for '" + triple + "'");
  return tm;
}

std::string target_cpus_text(const TargetSpec& spec) {
  auto [triple, target] = lookup(spec);
  std::unique_ptr<MCSubtargetInfo> sti(target->createMCSubtargetInfo(triple, "", ""));
  std::string s = "CPUs of " + triple + " (default: " + target_defaults(Triple(triple)).cpu + "; native: " +
                  sys::getHostCPUName().str() + " on this machine):\n";
  for (const SubtargetSubTypeKV& cpu : sti->getAllProcessorDescriptions()) s += "  " + std::string(cpu.Key) + "\n";
  return s;
}

std::string target_features_text(const TargetSpec& spec) {
  auto [triple, target] = lookup(spec);
  std::unique_ptr<MCSubtargetInfo> sti(target->createMCSubtargetInfo(triple, "", ""));
  std::string s = "features of " + triple + " (--features +NAME,-NAME adds and removes them):\n";
  for (const SubtargetFeatureKV& f : sti->getAllProcessorFeatures()) {
    std::string key = f.Key;
    s += "  " + key + std::string(key.size() < 24 ? 24 - key.size() : 1, ' ') + f.Desc + "\n";
  }
  return s;
}

int native_vector_bits(const TargetMachine& tm) {
  const MCSubtargetInfo* sti = tm.getMCSubtargetInfo();
  if (tm.getTargetTriple().isX86()) {
    if (sti->checkFeatures("+avx512f")) return 512;
    if (sti->checkFeatures("+avx")) return 256;
  }
  return 128;
}

bool has_fma(const TargetMachine& tm) {
  const MCSubtargetInfo* sti = tm.getMCSubtargetInfo();
  if (tm.getTargetTriple().isX86()) return sti->checkFeatures("+fma") || sti->checkFeatures("+fma4");
  if (tm.getTargetTriple().isRISCV()) return sti->checkFeatures("+f");
  return true;
}

void prepare_module(Module& m, const TargetMachine& tm) {
  m.setDataLayout(tm.createDataLayout());
  m.setTargetTriple(tm.getTargetTriple().str());
}

namespace {

// The passes that functions the emitter has already scheduled (the GEMM's
// kernels and packing, kScheduledAttribute) get: the clean-up of the
// emitter's IR, the first time each comes in the pipeline. O3's loop, GVN and
// vector passes find nothing to do in them but cost a third of the
// optimization time of the MLP step, and O3's later rounds of InstCombine
// (eight in all) a fifth (docs/performance.md, "Compile time"); the step runs
// as fast without them.
bool light_pass(StringRef pass) {
  return pass == "SROAPass" || pass == "EarlyCSEPass" || pass == "InstCombinePass" || pass == "SimplifyCFGPass";
}

// The interprocedural constant propagation passes find little to do in a
// module whose defined functions are all external (a part of a split compile,
// compiler/parallel_codegen.cpp): no function's arguments can be tracked, and
// the function pipeline's SCCP propagates within each function. On the MLP
// step they took a sixth of the optimization time (docs/performance.md,
// "Compile time").
bool interprocedural_pass(StringRef pass) { return pass == "IPSCCPPass" || pass == "CalledValuePropagationPass"; }

bool has_local_function(const Module& m) {
  return std::any_of(m.begin(), m.end(), [](const Function& f) { return !f.isDeclaration() && f.hasLocalLinkage(); });
}

// Whether the optimizer runs a pass on an IR unit: every pass on most
// functions, each light one once on scheduled functions, the
// interprocedural ones on modules with local functions.
class ScheduledPassFilter {
 public:
  bool operator()(StringRef pass, const Any& ir) {
    if (const auto* mp = any_cast<const Module*>(&ir)) return !interprocedural_pass(pass) || has_local_function(**mp);
    const Function* f = nullptr;
    if (const auto* fp = any_cast<const Function*>(&ir)) f = *fp;
    else if (const auto* lp = any_cast<const Loop*>(&ir)) f = (*lp)->getHeader()->getParent();
    if (!f || !f->hasFnAttribute(kScheduledAttribute)) return true;
    return light_pass(pass) && runs_.insert({f, pass.str()}).second;
  }

 private:
  std::set<std::pair<const Function*, std::string>> runs_;
};

}  // namespace

void optimize_module(Module& m, TargetMachine& tm, int opt_level) {
  std::string problems;
  raw_string_ostream os(problems);
  if (verifyModule(m, &os)) throw InternalError("generated LLVM IR is invalid: " + os.str());
  PipelineTuningOptions tuning;
  tuning.LoopVectorization = opt_level >= 2;
  tuning.SLPVectorization = opt_level >= 2;
  // Unrolling doubled the machine-code time of elementwise kernels here and
  // gained nothing (they are memory bound; the vectorizer interleaves anyway).
  tuning.LoopUnrolling = false;
  LoopAnalysisManager lam;
  FunctionAnalysisManager fam;
  CGSCCAnalysisManager cam;
  ModuleAnalysisManager mam;
  PassInstrumentationCallbacks callbacks;
  ScheduledPassFilter filter;
  callbacks.registerShouldRunOptionalPassCallback([&filter](StringRef pass, Any ir) { return filter(pass, ir); });
  PassBuilder pb(&tm, tuning, std::nullopt, &callbacks);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cam, mam);
  OptimizationLevel level = opt_level <= 0   ? OptimizationLevel::O0
                            : opt_level == 1 ? OptimizationLevel::O1
                            : opt_level == 2 ? OptimizationLevel::O2
                                             : OptimizationLevel::O3;
  ModulePassManager mpm = level == OptimizationLevel::O0 ? pb.buildO0DefaultPipeline(level)
                                                         : pb.buildPerModuleDefaultPipeline(level);
  LlvmDiagnostics diagnostics(m.getContext());
  mpm.run(m, mam);
  diagnostics.check();
}

int merge_equal_functions(Module& m) {
  std::map<IRHash, std::vector<Function*>> kept;  // by structural hash
  GlobalNumberState numbers;
  std::vector<Function*> erased;
  for (Function& f : m) {
    if (f.isDeclaration() || !f.hasLocalLinkage() || !f.hasFnAttribute(kScheduledAttribute)) continue;
    std::vector<Function*>& same_hash = kept[StructuralHash(f)];
    auto equal = std::find_if(same_hash.begin(), same_hash.end(),
                              [&](Function* g) { return FunctionComparator(g, &f, &numbers).compare() == 0; });
    if (equal == same_hash.end()) {
      same_hash.push_back(&f);
      continue;
    }
    f.replaceAllUsesWith(*equal);
    erased.push_back(&f);
  }
  for (Function* f : erased) f->eraseFromParent();
  return static_cast<int>(erased.size());
}

void write_llvm_ir(const Module& m, const std::string& path) {
  write_file(path, "LLVM IR", [&](raw_fd_ostream& out) { m.print(out, nullptr); });
}

namespace {

// Code generation without LLVM's loop strength reduction: the GEMM's kernels
// address their operands with the emitter's own offsets and the elementwise
// loops with one index, which x86 folds into its addressing modes. LSR took a
// tenth of the machine-code time of the MLP step (llc-19 -time-passes); the
// step and the elementwise benchmark run as fast without it. The pass is
// never added (CodegenPasses), so that the analyses only it asks for
// (induction variable users, scalar evolution, the freeze canonicalization
// before it) do not run either. Functions the emitter has scheduled
// (kScheduledAttribute) also skip the machine instruction schedulers before
// and after register allocation (a seventh of the machine-code time; the
// kernels' loops are already in the order they should issue). Passes ask the
// gate with the description "function (NAME)" (docs/performance.md, "Compile
// time"). The gate is the context's while the passes run: its previous one
// is restored afterwards.
class CodegenGate : public OptPassGate {
 public:
  explicit CodegenGate(const Module& m) : m_(m) {}
  bool shouldRunPass(StringRef pass, StringRef ir) override {
    if (pass != "Machine Instruction Scheduler" && pass != "Post RA top-down list latency scheduler") return true;
    if (!ir.consume_front("function (") || !ir.consume_back(")")) return true;
    const Function* f = m_.getFunction(ir);
    return !f || !f->hasFnAttribute(kScheduledAttribute);
  }
  bool isEnabled() const override { return true; }

 private:
  const Module& m_;
};

// The target's code generation passes, less loop strength reduction and the
// loop pass that only prepares for it.
class CodegenPasses : public legacy::PassManager {
 public:
  void add(Pass* p) override {
    StringRef name = p->getPassName();
    if (name == "Loop Strength Reduction" || name == "Canonicalize Freeze Instructions in Loops") {
      delete p;
      return;
    }
    legacy::PassManager::add(p);
  }
};

class GateScope {
 public:
  GateScope(LLVMContext& context, OptPassGate& gate) : context_(context), saved_(context.getOptPassGate()) {
    context.setOptPassGate(gate);
  }
  ~GateScope() { context_.setOptPassGate(saved_); }

 private:
  LLVMContext& context_;
  OptPassGate& saved_;
};

}  // namespace

void emit_machine_code(Module& m, TargetMachine& tm, raw_pwrite_stream& out, bool assembly) {
  CodegenGate gate(m);
  GateScope scope(m.getContext(), gate);
  CodegenPasses pm;
  CodeGenFileType type = assembly ? CodeGenFileType::AssemblyFile : CodeGenFileType::ObjectFile;
  if (tm.addPassesToEmitFile(pm, out, nullptr, type))
    throw Error("the target cannot emit " + std::string(assembly ? "assembly" : "object files"));
  LlvmDiagnostics diagnostics(m.getContext());
  pm.run(m);
  diagnostics.check();
}

void write_text(const std::string& text, const std::string& path, const char* what) {
  write_file(path, what, [&](raw_fd_ostream& out) { out << text; });
}

void write_assembly(Module& m, TargetMachine& tm, const std::string& path) {
  write_file(path, "assembly", [&](raw_fd_ostream& out) { emit_machine_code(m, tm, out, true); });
}

void write_object(Module& m, TargetMachine& tm, const std::string& path) {
  write_file(path, "the object file", [&](raw_fd_ostream& out) { emit_machine_code(m, tm, out, false); });
}

std::string llvm_version() { return LLVM_VERSION_STRING; }
std::string host_triple() { return sys::getProcessTriple(); }
std::string host_cpu() { return sys::getHostCPUName().str(); }

namespace {

std::string& fatal_error_program() {
  static std::string name;
  return name;
}

[[noreturn]] void exit_after(const char* reason) {
  sys::RunInterruptHandlers();  // removes the files registered by write_file
  std::fprintf(stderr, "%s: error: LLVM: %s\n", fatal_error_program().c_str(), reason);
  std::fflush(stderr);
  std::_Exit(1);
}

}  // namespace

void exit_on_llvm_fatal_error(std::string program) {
  static std::once_flag once;
  fatal_error_program() = std::move(program);
  std::call_once(once, [] {
    install_fatal_error_handler([](void*, const char* reason, bool) { exit_after(reason); });
    install_bad_alloc_error_handler([](void*, const char* reason, bool) { exit_after(reason); });
  });
}

}  // namespace nabla
