#include "nabla/compiler/aot.h"

#include <llvm/ADT/SmallVector.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include "nabla/compiler/lower.h"

namespace nabla {

AotModule::AotModule() = default;
AotModule::~AotModule() {
  module_.reset();  // before its context
}
AotModule::AotModule(AotModule&&) noexcept = default;
AotModule& AotModule::operator=(AotModule&&) noexcept = default;

namespace {

// The object's half of the header's link check: a one-byte constant.
void define_link_check(llvm::Module& m, const std::string& symbol) {
  llvm::Type* byte = llvm::Type::getInt8Ty(m.getContext());
  new llvm::GlobalVariable(m, byte, /*isConstant=*/true, llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantInt::get(byte, 0), symbol);
}

// The warning for code with multiply-adds that may fuse (llvm.fmuladd: the
// GEMM's with --fast-math) on a CPU without FMA: they run as a multiply and
// an add, correct but slower. (Nothing emits llvm.fma, which would become a
// call of libm's fma there: exact code multiplies and adds apart.)
std::string fma_warning(const llvm::Module& m, const llvm::TargetMachine& tm) {
  if (has_fma(tm)) return "";
  bool multiply_adds = false;
  for (const llvm::Function& f : m) {
    llvm::Intrinsic::ID id = f.getIntrinsicID();
    multiply_adds |= id == llvm::Intrinsic::fmuladd && !f.use_empty();
  }
  if (!multiply_adds) return "";
  std::string advice = tm.getTargetTriple().isX86() ? "--cpu x86-64-v3 (x86 since Haswell and Zen) or --cpu native"
                                                     : "a CPU with FMA (--cpu NAME)";
  return "CPU '" + tm.getTargetCPU().str() + "' has no FMA instruction: the multiply-adds of the matrix " +
         "products run as a multiply and an add; " + advice + " fuses them (docs/nablac.md#targets-and-cpus)";
}

}  // namespace

AotTarget AotModule::target() const {
  return {tm_->getTargetTriple().str(), tm_->getTargetCPU().str(), tm_->getTargetFeatureString().str()};
}

AotModule compile_ahead_of_time(Module& m, const AotOptions& options) {
  AotModule out;
  out.tm_ = create_target_machine(options.target);
  run_compile_passes(m, options.pipeline);
  out.context_ = std::make_unique<llvm::LLVMContext>();
  out.module_ = std::make_unique<llvm::Module>("nabla.aot", *out.context_);
  prepare_module(*out.module_, *out.tm_);
  for (Function* f : m.functions()) {
    LowerOptions lo;
    lo.entry_name = entry_symbol(f->name());
    lo.vector_bits = native_vector_bits(*out.tm_);
    lo.fast_math = options.fast_math;
    lo.stream_store_bytes = options.stream_store_bytes;
    lo.num_threads = 1;  // AOT code is single-threaded unless ctx->parallel_for is given
    LoweredFunction lowered = lower_function(*f, *out.module_, lo);
    AotFunction a{f, lowered.entry, static_cast<uint64_t>(lowered.plan.workspace_bytes), ""};
    a.check_symbol = link_check_symbol(a, out.tm_->getTargetTriple().str());
    define_link_check(*out.module_, a.check_symbol);
    out.functions_.push_back(std::move(a));
  }
  merge_equal_functions(*out.module_);
  optimize_module(*out.module_, *out.tm_, options.target.opt_level);
  if (std::string w = fma_warning(*out.module_, *out.tm_); !w.empty()) out.warnings_.push_back(w);
  return out;
}

std::string AotModule::object_bytes() {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  std::unique_ptr<llvm::Module> copy = llvm::CloneModule(*module_);
  emit_machine_code(*copy, *tm_, os, /*assembly=*/false);
  return std::string(buffer.begin(), buffer.end());
}

std::string AotModule::assembly_text() {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  std::unique_ptr<llvm::Module> copy = llvm::CloneModule(*module_);
  emit_machine_code(*copy, *tm_, os, /*assembly=*/true);
  return std::string(buffer.begin(), buffer.end());
}

std::string AotModule::llvm_ir_text() {
  std::string s;
  llvm::raw_string_ostream os(s);
  module_->print(os, nullptr);
  return os.str();
}


}  // namespace nabla
