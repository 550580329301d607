#include "nabla/compiler/kernel_builder.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include <llvm/IR/Constants.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/TargetParser/Triple.h>

#include "nabla/compiler/lower.h"

namespace nabla {

using llvm::Align;
using llvm::AllocaInst;
using llvm::BasicBlock;
using llvm::Constant;
using llvm::ConstantDataArray;
using llvm::ConstantFP;
using llvm::ConstantInt;
using llvm::FastMathFlags;
using llvm::FunctionCallee;
using llvm::FunctionType;
using llvm::GlobalValue;
using llvm::GlobalVariable;
using llvm::IRBuilder;
using llvm::StringRef;
using llvm::Type;
namespace Intrinsic = llvm::Intrinsic;

KernelBuilder::KernelBuilder(llvm::Module& m, const LowerOptions& o)
    : module(m), ctx(m.getContext()), b(m.getContext()), options(o) {
  if (o.fast_math) b.setFastMathFlags(FastMathFlags::getFast());
}

Type* KernelBuilder::memory_type(DType t) {
  switch (t) {
    case DType::f32: return b.getFloatTy();
    case DType::f64: return b.getDoubleTy();
    case DType::i32: return b.getInt32Ty();
    case DType::i64: return b.getInt64Ty();
    case DType::bool_: return b.getInt8Ty();
  }
  return b.getInt8Ty();
}

Type* KernelBuilder::value_type(DType t) { return t == DType::bool_ ? b.getInt1Ty() : memory_type(t); }

Constant* KernelBuilder::constant(DType t, double v) {
  Type* type = value_type(t);
  if (is_float(t)) return ConstantFP::get(type, v);
  if (t == DType::bool_) return b.getInt1(v != 0);
  return ConstantInt::get(type, static_cast<uint64_t>(static_cast<int64_t>(v)), true);
}

llvm::Value* KernelBuilder::element_ptr(DType t, llvm::Value* base, llvm::Value* index) {
  return b.CreateInBoundsGEP(memory_type(t), base, index);
}

llvm::Value* KernelBuilder::load(DType t, llvm::Value* base, llvm::Value* index) {
  llvm::Value* v = b.CreateAlignedLoad(memory_type(t), element_ptr(t, base, index), Align(dtype_size(t)));
  if (t == DType::bool_) return b.CreateICmpNE(v, b.getInt8(0));
  return v;
}

void KernelBuilder::store(DType t, llvm::Value* v, llvm::Value* base, llvm::Value* index) {
  if (t == DType::bool_) v = b.CreateZExt(v, b.getInt8Ty());
  b.CreateAlignedStore(v, element_ptr(t, base, index), Align(dtype_size(t)));
}

void KernelBuilder::loop(llvm::Value* begin, llvm::Value* end, const std::function<void(llvm::Value*)>& body,
                         int64_t step, const char* name) {
  llvm::Function* f = b.GetInsertBlock()->getParent();
  BasicBlock* pre = b.GetInsertBlock();
  BasicBlock* head = BasicBlock::Create(ctx, std::string(name) + ".body", f);
  BasicBlock* exit = BasicBlock::Create(ctx, std::string(name) + ".end", f);
  b.CreateCondBr(b.CreateICmpSLT(begin, end), head, exit);
  b.SetInsertPoint(head);
  llvm::PHINode* i = b.CreatePHI(i64_type(), 2, name);
  i->addIncoming(begin, pre);
  body(i);
  llvm::Value* next = b.CreateAdd(i, i64(step), std::string(name) + ".next", /*HasNUW=*/false, /*HasNSW=*/true);
  i->addIncoming(next, b.GetInsertBlock());
  llvm::BranchInst* latch = b.CreateCondBr(b.CreateICmpSLT(next, end), head, exit);
  if (scalar_loops) {
    llvm::MDNode* self = llvm::MDNode::getTemporary(ctx, {}).release();
    llvm::Metadata* width[] = {llvm::MDString::get(ctx, "llvm.loop.vectorize.width"),
                               llvm::ConstantAsMetadata::get(b.getInt32(1))};
    llvm::Metadata* interleave[] = {llvm::MDString::get(ctx, "llvm.loop.interleave.count"),
                                    llvm::ConstantAsMetadata::get(b.getInt32(1))};
    llvm::Metadata* unroll[] = {llvm::MDString::get(ctx, "llvm.loop.unroll.disable")};
    llvm::MDNode* loop = llvm::MDNode::get(ctx, {self, llvm::MDNode::get(ctx, width),
                                                 llvm::MDNode::get(ctx, interleave), llvm::MDNode::get(ctx, unroll)});
    loop->replaceOperandWith(0, loop);
    llvm::MDNode::deleteTemporary(self);
    latch->setMetadata(llvm::LLVMContext::MD_loop, loop);
  } else if (interleave > 0) {
    llvm::MDNode* self = llvm::MDNode::getTemporary(ctx, {}).release();
    llvm::Metadata* count[] = {llvm::MDString::get(ctx, "llvm.loop.interleave.count"),
                               llvm::ConstantAsMetadata::get(b.getInt32(static_cast<uint32_t>(interleave)))};
    llvm::MDNode* loop = llvm::MDNode::get(ctx, {self, llvm::MDNode::get(ctx, count)});
    loop->replaceOperandWith(0, loop);
    llvm::MDNode::deleteTemporary(self);
    latch->setMetadata(llvm::LLVMContext::MD_loop, loop);
  }
  b.SetInsertPoint(exit);
}

void KernelBuilder::when(llvm::Value* cond, const std::function<void()>& then) {
  llvm::Function* f = b.GetInsertBlock()->getParent();
  BasicBlock* yes = BasicBlock::Create(ctx, "then", f);
  BasicBlock* done = BasicBlock::Create(ctx, "endif", f);
  b.CreateCondBr(cond, yes, done);
  b.SetInsertPoint(yes);
  then();
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

AllocaInst* KernelBuilder::local(Type* type, const char* name) {
  BasicBlock& entry = b.GetInsertBlock()->getParent()->getEntryBlock();
  IRBuilder<> at(&entry, entry.getFirstInsertionPt());
  return at.CreateAlloca(type, nullptr, name);
}

llvm::Value* KernelBuilder::math(const std::string& name, llvm::ArrayRef<llvm::Value*> args) {
  Type* type = args[0]->getType();
  std::string symbol = type->isFloatTy() ? name + "f" : name;
  std::vector<Type*> params(args.size(), type);
  FunctionCallee fn = module.getOrInsertFunction(symbol, FunctionType::get(type, params, false));
  llvm::CallInst* call = b.CreateCall(fn, args);
  call->addFnAttr(llvm::Attribute::NoBuiltin);
  call->addFnAttr(llvm::Attribute::NoUnwind);
  call->addFnAttr(llvm::Attribute::WillReturn);
  // errno is never read: the call is pure for our purposes.
  call->setDoesNotAccessMemory();
  return call;
}

llvm::Value* KernelBuilder::intrinsic(Intrinsic::ID id, llvm::ArrayRef<llvm::Value*> args) {
  return b.CreateIntrinsic(id, {args[0]->getType()}, args);
}

llvm::Value* KernelBuilder::add(llvm::Value* x, llvm::Value* y) {
  return x->getType()->isFPOrFPVectorTy() ? b.CreateFAdd(x, y) : b.CreateAdd(x, y);
}

llvm::Value* KernelBuilder::mul(llvm::Value* x, llvm::Value* y) {
  return x->getType()->isFPOrFPVectorTy() ? b.CreateFMul(x, y) : b.CreateMul(x, y);
}

namespace {

// The external declaration of `bytes` (one per address and size in a module).
GlobalVariable* external_constant(llvm::Module& module, ExternalConstants& sink, const void* bytes, size_t size) {
  auto size64 = static_cast<int64_t>(size);
  std::string symbol;
  for (const ExternalConstants::Entry& e : sink.entries)
    if (e.address == bytes && e.bytes == size64) symbol = e.symbol;
  if (symbol.empty()) {
    symbol = "nabla.data." + std::to_string(sink.entries.size());
    sink.entries.push_back({symbol, bytes, size64});
  }
  if (GlobalVariable* g = module.getNamedGlobal(symbol)) return g;
  auto* type = llvm::ArrayType::get(llvm::Type::getInt8Ty(module.getContext()), size);
  auto* g = new GlobalVariable(module, type, /*isConstant=*/true, GlobalValue::ExternalLinkage, nullptr, symbol);
  auto address = reinterpret_cast<uintptr_t>(bytes);  // the alignment it has, up to 64
  g->setAlignment(Align(std::min<uintptr_t>(64, address & (~address + 1))));
  return g;
}

}  // namespace

GlobalVariable* KernelBuilder::constant_data(const void* bytes, size_t size, const std::string& name) {
  ExternalConstants* sink = options.external_constants;
  if (sink && sink->min_bytes > 0 && static_cast<int64_t>(size) >= sink->min_bytes)
    return external_constant(module, *sink, bytes, size);
  Constant* init = ConstantDataArray::getRaw(StringRef(static_cast<const char*>(bytes), size), size,
                                             b.getInt8Ty());
  auto* g = new GlobalVariable(module, init->getType(), /*isConstant=*/true,
                               GlobalValue::PrivateLinkage, init, name);
  g->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
  g->setAlignment(Align(64));
  // LLVM keeps constant zeros in read-only data, where they take their size
  // in the object file (an LSTM's zero accumulators were 347 KB of a 377 KB
  // nablac object); in a .bss section (ELF NOBITS) they take none, and the
  // global stays constant for the optimizer.
  constexpr size_t kZerosInBssFrom = 4096;
  if (size >= kZerosInBssFrom && init->isNullValue() && llvm::Triple(module.getTargetTriple()).isOSBinFormatELF())
    g->setSection(".bss.nabla.zeros");
  return g;
}

// The pairs of calls sin(x), cos(x) (or sinf, cosf) of one x in one basic
// block of f, each pair replaced by one call to sincos (sincosf) at the
// first call: glibc computes sincos with the same code as sin and cos (the
// same bits, one range reduction). After a kernel is built, so that no value
// the lowering keeps is erased.
void combine_sincos(llvm::Function& f) {
  std::vector<std::pair<llvm::CallInst*, llvm::CallInst*>> pairs;  // (sin, cos)
  for (llvm::BasicBlock& bb : f) {
    std::unordered_map<llvm::Value*, std::pair<llvm::CallInst*, llvm::CallInst*>> by_arg;
    for (llvm::Instruction& i : bb) {
      auto* call = llvm::dyn_cast<llvm::CallInst>(&i);
      llvm::Function* callee = call ? call->getCalledFunction() : nullptr;
      if (!callee || call->arg_size() != 1) continue;
      StringRef name = callee->getName();
      auto& p = by_arg[call->getArgOperand(0)];
      if (name == "sin" || name == "sinf") p.first = p.first ? p.first : call;
      if (name == "cos" || name == "cosf") p.second = p.second ? p.second : call;
    }
    for (auto& [x, p] : by_arg)
      if (p.first && p.second) pairs.push_back(p);
  }
  for (auto [sin_call, cos_call] : pairs) {
    Type* type = sin_call->getType();
    if (!type->isDoubleTy() && !type->isFloatTy()) continue;
    llvm::Instruction* first = sin_call->comesBefore(cos_call) ? sin_call : cos_call;
    IRBuilder<> entry(&f.getEntryBlock(), f.getEntryBlock().begin());
    AllocaInst* s = entry.CreateAlloca(type, nullptr, "sin.out");
    AllocaInst* c = entry.CreateAlloca(type, nullptr, "cos.out");
    IRBuilder<> at(first);
    llvm::Module& m = *f.getParent();
    FunctionCallee sincos = m.getOrInsertFunction(type->isFloatTy() ? "sincosf" : "sincos",
                                                  FunctionType::get(at.getVoidTy(), {type, at.getPtrTy(), at.getPtrTy()}, false));
    llvm::CallInst* call = at.CreateCall(sincos, {sin_call->getArgOperand(0), s, c});
    call->addFnAttr(llvm::Attribute::NoBuiltin);
    call->addFnAttr(llvm::Attribute::NoUnwind);
    call->addFnAttr(llvm::Attribute::WillReturn);
    sin_call->replaceAllUsesWith(at.CreateLoad(type, s, "sin"));
    cos_call->replaceAllUsesWith(at.CreateLoad(type, c, "cos"));
    sin_call->eraseFromParent();
    cos_call->eraseFromParent();
  }
}

}  // namespace nabla
