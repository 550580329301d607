#pragma once
// Machine code from LLVM modules, in one place: the target machine (the host's
// or a named one), the -O pipeline of the new pass manager, and the emission
// of assembly, objects and textual IR. The JIT (compiler/jit.h) and the
// offline compiler both come through here.
#include <memory>
#include <string>

namespace llvm {
class Module;
class TargetMachine;
class raw_pwrite_stream;
}  // namespace llvm

namespace nabla {

struct TargetSpec {
  // The LLVM target triple; empty: this machine's.
  std::string triple;
  // The CPU. Empty: the target's generic CPU, whose code runs on every
  // machine of its architecture, as clang chooses it (x86-64: "x86-64", SSE2;
  // riscv64: rv64gc with the lp64d ABI; others: "generic"). "native" (or
  // "host"): this machine's CPU with all its features (for this machine's
  // architecture only; the JIT's choice).
  std::string cpu;
  // Features added to (+NAME) or removed from (-NAME) the CPU's, e.g.
  // "+avx2,-avx512f"; each NAME must be a feature of the target.
  std::string features;
  int opt_level = 3;  // 0..3
};

// Creates the target machine (registering LLVM's targets once). Throws
// nabla::Error for an unknown triple, CPU or feature.
std::unique_ptr<llvm::TargetMachine> create_target_machine(const TargetSpec& spec);

// The CPUs and the features of spec's target, one per line, for `nablac
// --cpu help` and `--features help`. Throw nabla::Error for an unknown triple.
std::string target_cpus_text(const TargetSpec& spec);
std::string target_features_text(const TargetSpec& spec);

// The widest vector register the kernels should use on this target, in bits
// (512 with AVX-512, 256 with AVX, else 128).
int native_vector_bits(const llvm::TargetMachine& tm);

// Whether the target's CPU has a fused multiply-add instruction. Only x86
// lacks one in its generic CPU (x86-64 .. x86-64-v2; x86-64-v3, Haswell and
// Zen have FMA3); AArch64 always has it, RISC-V with its F extension.
bool has_fma(const llvm::TargetMachine& tm);

// Gives the module the target's data layout and triple.
void prepare_module(llvm::Module& m, const llvm::TargetMachine& tm);

// Verifies the module (throws nabla::Error naming the problem) and runs the
// default per-module pipeline at opt_level with the target machine given to
// the PassBuilder, so that the vectorizers see the real target.
void optimize_module(llvm::Module& m, llvm::TargetMachine& tm, int opt_level);
// The attribute of functions whose code the emitter has scheduled itself
// (the GEMM's kernels and packing): optimize_module gives them light passes.
inline constexpr const char* kScheduledAttribute = "nabla-scheduled";
// The attribute that gives a function's time to optimize and compile, in
// microseconds, where its instructions misjudge it (the GEMM's shared
// transpose): the split compile deals functions out by it
// (compiler/parallel_codegen.cpp, work_of).
inline constexpr const char* kWorkAttribute = "nabla-work";

// Makes the module's local scheduled functions that are equal (LLVM's
// FunctionComparator: the same attributes, types and instructions) one
// function: the later ones' calls go to the first, and they are erased. The
// micro-kernels of products that differ only in A's leading dimension are
// equal (it is their argument). Returns how many were erased.
int merge_equal_functions(llvm::Module& m);

// Writes textual IR, assembly or an object file ("-": stdout; a file is
// written through a temporary file renamed into place). Throw nabla::Error on
// failure. Code generation runs the target's pipeline without loop strength
// reduction (docs/performance.md, "Compile time").
void write_llvm_ir(const llvm::Module& m, const std::string& path);
void write_text(const std::string& text, const std::string& path, const char* what);
void write_assembly(llvm::Module& m, llvm::TargetMachine& tm, const std::string& path);
void write_object(llvm::Module& m, llvm::TargetMachine& tm, const std::string& path);
void emit_machine_code(llvm::Module& m, llvm::TargetMachine& tm, llvm::raw_pwrite_stream& out,
                       bool assembly);

// The LLVM version nabla is built with ("19.1.7"), the target code is
// generated for by default (this machine's triple), and this machine's CPU
// ("skylake-avx512").
std::string llvm_version();
std::string host_triple();
std::string host_cpu();

// For programs: an LLVM fatal error, which would abort, instead prints
// `PROGRAM: error: LLVM: REASON` on stderr, removes the files being written
// and exits with code 1 (so does LLVM running out of memory).
void exit_on_llvm_fatal_error(std::string program);

}  // namespace nabla
