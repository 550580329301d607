#include "nabla/compiler/codegen.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
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
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/SubtargetFeature.h>
#include <llvm/TargetParser/Triple.h>

#include "nabla/runtime/error.h"

namespace nabla {

using namespace llvm;

namespace {

void initialize_targets() {
  static std::once_flag once;
  std::call_once(once, [] {
    InitializeAllTargetInfos();
    InitializeAllTargets();
    InitializeAllTargetMCs();
    InitializeAllAsmPrinters();
    InitializeAllAsmParsers();
  });
}

std::string host_features() {
  SubtargetFeatures features;
  for (const auto& entry : sys::getHostCPUFeatures()) features.AddFeature(entry.getKey(), entry.getValue());
  return features.getString();
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
  initialize_targets();
  bool host = spec.triple.empty();
  std::string triple_name = host ? sys::getProcessTriple() : Triple::normalize(spec.triple);
  std::string error;
  const Target* target = TargetRegistry::lookupTarget(triple_name, error);
  if (!target) throw Error("unknown target '" + spec.triple + "': " + error);
  std::string cpu = !spec.cpu.empty() ? spec.cpu : host ? sys::getHostCPUName().str() : "generic";
  std::string features = !spec.features.empty() ? spec.features : host && spec.cpu.empty() ? host_features() : "";
  TargetOptions options;
  std::unique_ptr<TargetMachine> tm(target->createTargetMachine(
      triple_name, cpu, features, options, Reloc::PIC_, std::nullopt, codegen_level(spec.opt_level)));
  if (!tm) throw Error("cannot create a target machine for '" + triple_name + "'");
  const MCSubtargetInfo* sti = tm->getMCSubtargetInfo();
  if (cpu != "generic" && !sti->isCPUStringValid(cpu))
    throw Error("unknown CPU '" + cpu + "' for target '" + triple_name + "'");
  return tm;
}

int native_vector_bits(const TargetMachine& tm) {
  const MCSubtargetInfo* sti = tm.getMCSubtargetInfo();
  if (tm.getTargetTriple().isX86()) {
    if (sti->checkFeatures("+avx512f")) return 512;
    if (sti->checkFeatures("+avx")) return 256;
  }
  return 128;
}

void prepare_module(Module& m, const TargetMachine& tm) {
  m.setDataLayout(tm.createDataLayout());
  m.setTargetTriple(tm.getTargetTriple().str());
}

void optimize_module(Module& m, TargetMachine& tm, int opt_level) {
  std::string problems;
  raw_string_ostream os(problems);
  if (verifyModule(m, &os)) throw Error("internal error: generated LLVM IR is invalid: " + os.str());
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
  PassBuilder pb(&tm, tuning);
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
  mpm.run(m, mam);
}

void write_llvm_ir(const Module& m, const std::string& path) {
  write_file(path, "LLVM IR", [&](raw_fd_ostream& out) { m.print(out, nullptr); });
}

void emit_machine_code(Module& m, TargetMachine& tm, raw_pwrite_stream& out, bool assembly) {
  legacy::PassManager pm;
  CodeGenFileType type = assembly ? CodeGenFileType::AssemblyFile : CodeGenFileType::ObjectFile;
  if (tm.addPassesToEmitFile(pm, out, nullptr, type))
    throw Error("the target cannot emit " + std::string(assembly ? "assembly" : "object files"));
  pm.run(m);
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
