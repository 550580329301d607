// The lowering driver: kernels per node, the entry function of the kernel ABI
// (runtime/abi.h) that calls them in schedule order, parallel dispatch through
// ctx->parallel_for, error exits, and the copies of results that no kernel
// writes in place.
#include "nabla/compiler/lower.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

#include "nabla/compiler/element_program.h"
#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower_collective.h"
#include "nabla/compiler/lower_indexed.h"
#include "nabla/compiler/side_by_side.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/loop.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/error.h"

namespace nabla {


namespace {

// nabla_context and nabla_error_info of runtime/abi.h, as LLVM types.
llvm::StructType* context_type(llvm::LLVMContext& ctx) {
  auto* ptr = llvm::PointerType::getUnqual(ctx);
  auto* i32 = llvm::Type::getInt32Ty(ctx);
  auto* i64 = llvm::Type::getInt64Ty(ctx);
  auto* error = llvm::StructType::get(ctx, {i32, i32, ptr, i64, i64, i64});
  return llvm::StructType::get(ctx, {ptr, ptr, error, ptr});
}

enum ContextField { kParallelFor = 0, kPool = 1, kError = 2, kComm = 3 };
enum ErrorField { kStatus = 0, kNode = 1, kOp = 2, kValue = 3, kIndex = 4, kBound = 5 };

// Chunks per thread when a parallel loop's threads claim chunks
// (KernelInfo::claim): each a small share, so few atomic adds.
constexpr int64_t kClaimsPerThread = 8;

const std::string& prefer_width(const LowerOptions& o, const KernelInfo& info) {
  std::string_view kind = info.kind;
  if (kind == "elementwise" || kind == "layout") return o.elementwise_width;
  if (kind == "reduce") return o.reduce_width;
  return o.other_width;
}

class FunctionLowering {
 public:
  FunctionLowering(const Function& f, llvm::Module& m, const LowerOptions& o)
      : f_(f), m_(m), o_(o), kb_(m, o), ctx_type_(context_type(m.getContext())) {}

  LoweredFunction run();

 private:
  void begin_entry();
  llvm::Value* pointer(const Node* n);  // in the entry
  llvm::GlobalVariable* constant_global(const Node* n);
  void lower_kernel(const Node* n, int index);
  void lower_loop(const Node* n);
  void set_vector_width(llvm::Function* fn, const std::string& prefer) const;
  void lower_collective(const Node* n);
  llvm::Function* make_kernel(const Node* n, const KernelInfo& info, const std::vector<const Node*>& outs,
                              const std::vector<const Node*>& args, int node_id, bool serial);
  void same_block_base(const std::vector<const Node*>& outs, std::vector<llvm::Value*>& ptrs);
  void branch_on_pool(int64_t tasks, llvm::Function* task, const std::function<llvm::Value*()>& data,
                      const std::function<void()>& ser);
  llvm::Value* task_args(const std::vector<llvm::Value*>& args, size_t slots);
  void call_parallel(llvm::Function* kernel, std::vector<llvm::Value*> args, const KernelInfo& info);
  llvm::Function* make_task(llvm::Function* kernel, size_t num_args, const KernelInfo& info);
  // A serial kernel whose call waits in pending_ for kernels to run beside it.
  struct SerialCall {
    llvm::Function* kernel;
    std::vector<llvm::Value*> args;  // without the task range
    int64_t tasks, work;
    KernelAccess access;
  };
  void call_serial(const SerialCall& c);
  void flush_serial();
  void call_side_by_side(const std::vector<SerialCall>& calls, const std::vector<std::vector<size_t>>& dealt);
  llvm::Function* make_side_task(const std::vector<SerialCall>& calls, const std::vector<std::vector<size_t>>& dealt);

  const Function& f_;
  llvm::Module& m_;
  const LowerOptions& o_;
  KernelBuilder kb_;
  llvm::StructType* ctx_type_;
  LoweredFunction out_;
  llvm::Function* entry_ = nullptr;
  llvm::BasicBlock* entry_block_ = nullptr;
  llvm::Value *inputs_ = nullptr, *outputs_ = nullptr, *workspace_ = nullptr, *ctx_ = nullptr;
  std::unordered_map<const Node*, llvm::Value*> pointers_;
  std::unordered_map<const Node*, llvm::GlobalVariable*> globals_;
  std::unordered_map<const Node*, int> node_ids_;
  std::unordered_set<const Function*> groups_done_;  // bodies of fused groups already lowered
  std::unordered_set<const Node*> loops_done_;       // first nodes of the loops already lowered
  std::unique_ptr<CollectiveLowering> collectives_;  // all_reduce: calls of ctx->comm
  std::vector<SerialCall> pending_;  // consecutive independent serial kernels, not yet called
};

// Every function of the module gets the same vector-width attributes (the
// GEMM's too: compiler/gemm_driver.cpp): LLVM's X86 backend creates a
// subtarget for each distinct set in each part of a split compile, 0.8-2.7 ms
// each on Zen 4 (docs/performance.md, "Compile time"). min-legal-vector-width
// is the target's widest register, which keeps 512-bit vectors legal as they
// are without it.
void FunctionLowering::set_vector_width(llvm::Function* fn, const std::string& prefer) const {
  if (!prefer.empty()) fn->addFnAttr("prefer-vector-width", prefer);
  fn->addFnAttr("min-legal-vector-width", std::to_string(o_.vector_bits));
}

void FunctionLowering::begin_entry() {
  auto& c = m_.getContext();
  auto* ptr = llvm::PointerType::getUnqual(c);
  auto* type = llvm::FunctionType::get(llvm::Type::getInt32Ty(c), {ptr, ptr, ptr, ptr}, false);
  entry_ = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, o_.entry_name, m_);
  entry_->setDoesNotThrow();
  set_vector_width(entry_, o_.other_width);
  const char* names[] = {"inputs", "outputs", "workspace", "ctx"};
  for (unsigned i = 0; i < 4; ++i) entry_->getArg(i)->setName(names[i]);
  inputs_ = entry_->getArg(0);
  outputs_ = entry_->getArg(1);
  workspace_ = entry_->getArg(2);
  ctx_ = entry_->getArg(3);
  entry_block_ = llvm::BasicBlock::Create(c, "entry", entry_);
  kb_.b.SetInsertPoint(entry_block_);
  collectives_ = std::make_unique<CollectiveLowering>(kb_, ctx_, ctx_type_, o_.overlap_collectives);
}

llvm::GlobalVariable* FunctionLowering::constant_global(const Node* n) {
  auto it = globals_.find(n);
  if (it != globals_.end()) return it->second;
  const Tensor& v = n->attrs().value;
  llvm::GlobalVariable* g = kb_.constant_data(v.data(), v.nbytes(), "const." + std::to_string(globals_.size()));
  globals_[n] = g;
  return g;
}

llvm::Value* FunctionLowering::pointer(const Node* n) {
  const Storage& s = out_.plan.storage.at(n);
  if (s.kind == StorageKind::Constant) return constant_global(s.owner);
  if (auto it = pointers_.find(s.owner); it != pointers_.end()) return it->second;
  auto& b = kb_.b;
  // Argument pointers are loaded in the entry block, once.
  llvm::IRBuilder<> at(entry_block_, entry_block_->getFirstInsertionPt());
  llvm::Value* p = nullptr;
  auto* ptr = kb_.ptr_type();
  switch (s.kind) {
    case StorageKind::Input:
      p = at.CreateLoad(ptr, at.CreateConstInBoundsGEP1_64(ptr, inputs_, static_cast<uint64_t>(s.index)), "in");
      break;
    case StorageKind::Output:
      p = at.CreateLoad(ptr, at.CreateConstInBoundsGEP1_64(ptr, outputs_, static_cast<uint64_t>(s.index)), "out");
      if (s.offset != 0) p = at.CreateConstInBoundsGEP1_64(b.getInt8Ty(), p, static_cast<uint64_t>(s.offset), "block");
      break;
    default:
      p = at.CreateConstInBoundsGEP1_64(b.getInt8Ty(), workspace_, static_cast<uint64_t>(s.offset), "buf");
      break;
  }
  pointers_[s.owner] = p;
  return p;
}

// Results stored at strides into one output (the blocks of an assembled
// concat, e.g. ba's x, y interleaved) are addressed from the first one's
// pointer, so that LLVM's vectorizer sees one interleaved group of stores
// (shuffles and full-width stores) instead of a scatter per result.
void FunctionLowering::same_block_base(const std::vector<const Node*>& outs, std::vector<llvm::Value*>& ptrs) {
  const Storage& first = out_.plan.storage.at(outs[0]);
  if (first.kind != StorageKind::Output || first.strides.empty()) return;
  for (size_t i = 1; i < outs.size(); ++i) {
    const Storage& s = out_.plan.storage.at(outs[i]);
    if (s.kind == StorageKind::Output && s.index == first.index && s.strides == first.strides)
      ptrs[i] = kb_.b.CreateGEP(kb_.b.getInt8Ty(), ptrs[0], kb_.i64(s.offset - first.offset), "block");
  }
}

llvm::Function* FunctionLowering::make_kernel(const Node* n, const KernelInfo& info,
                                              const std::vector<const Node*>& outs,
                                              const std::vector<const Node*>& args, int node_id,
                                              bool serial) {
  auto& c = m_.getContext();
  auto* ptr = kb_.ptr_type();
  auto* i64 = kb_.i64_type();
  // (results..., non-constant operands..., scratch?, ctx?, begin, end)
  std::vector<llvm::Type*> params(outs.size() + args.size(), ptr);
  if (info.scratch_bytes > 0) params.push_back(ptr);
  if (info.can_fail) params.push_back(ptr);
  params.push_back(i64);
  params.push_back(i64);
  llvm::Type* ret = info.can_fail ? llvm::Type::getInt32Ty(c) : llvm::Type::getVoidTy(c);
  std::string name = "k" + std::to_string(out_.num_kernels) + "." + std::string(op_name(n->op()));
  auto* fn = llvm::Function::Create(llvm::FunctionType::get(ret, params, false),
                                    llvm::GlobalValue::InternalLinkage, name, m_);
  fn->setDoesNotThrow();
  fn->addFnAttr(llvm::Attribute::NoInline);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  set_vector_width(fn, prefer_width(o_, info));
  for (unsigned i = 0; i < params.size() - 2; ++i) fn->addParamAttr(i, llvm::Attribute::NoAlias);
  fn->getArg(0)->setName("result");

  llvm::IRBuilderBase::InsertPointGuard guard(kb_.b);
  kb_.b.SetInsertPoint(llvm::BasicBlock::Create(c, "entry", fn));
  KernelEnv env{kb_, *n, node_id, {}, fn->getArg(0), out_.plan.storage.at(outs[0]).strides, {}, {}};
  unsigned next = static_cast<unsigned>(outs.size());
  if (outs.size() > 1 || outs[0] != n) {
    env.group = outs;
    for (unsigned i = 0; i < outs.size(); ++i) env.group_results.push_back(fn->getArg(i));
    same_block_base(outs, env.group_results);
  }
  for (const Node* o : n->operands()) {
    if (out_.plan.storage.at(o).kind == StorageKind::Constant) {
      env.operands.push_back(constant_global(out_.plan.storage.at(o).owner));
    } else {
      llvm::Value* arg = fn->getArg(next++);
      env.operands.push_back(arg);
    }
  }
  if (info.scratch_bytes > 0) env.scratch = fn->getArg(next++);
  if (info.can_fail) env.ctx = fn->getArg(next++);
  // A serial kernel is called once, for all its tasks: its loops get
  // constant trip counts (no remainder loops after the vectorized ones).
  env.begin = serial ? static_cast<llvm::Value*>(kb_.i64(0)) : fn->getArg(next);
  env.end = serial ? static_cast<llvm::Value*>(kb_.i64(info.tasks)) : fn->getArg(next + 1);
  emit_kernel(env);
  if (info.can_fail) kb_.b.CreateRet(kb_.b.getInt32(NABLA_OK));
  else kb_.b.CreateRetVoid();
  return fn;
}

// The task: unpacks the pointers and runs its range; with info.claim, it
// claims chunks of info.claim iterations from a counter after the pointers
// (zeroed by the entry) until none is left, whatever range it was given.
llvm::Function* FunctionLowering::make_task(llvm::Function* kernel, size_t num_args, const KernelInfo& info) {
  auto& c = m_.getContext();
  auto* ptr = kb_.ptr_type();
  auto* i64 = kb_.i64_type();
  auto* task_type = llvm::FunctionType::get(llvm::Type::getVoidTy(c), {ptr, i64, i64}, false);
  auto* task = llvm::Function::Create(task_type, llvm::GlobalValue::InternalLinkage,
                                      kernel->getName() + ".task", m_);
  task->setDoesNotThrow();
  set_vector_width(task, o_.other_width);
  llvm::IRBuilder<> tb(llvm::BasicBlock::Create(c, "entry", task));
  std::vector<llvm::Value*> targs;
  auto* array = llvm::ArrayType::get(ptr, num_args + (info.claim > 0 ? 1 : 0));
  for (size_t i = 0; i < num_args; ++i)
    targs.push_back(tb.CreateLoad(ptr, tb.CreateConstInBoundsGEP2_64(array, task->getArg(0), 0, i)));
  if (info.claim <= 0) {
    targs.push_back(task->getArg(1));
    targs.push_back(task->getArg(2));
    tb.CreateCall(kernel, targs);
    tb.CreateRetVoid();
    return task;
  }
  llvm::Value* counter = tb.CreateConstInBoundsGEP2_64(array, task->getArg(0), 0, num_args);
  auto* claim = llvm::BasicBlock::Create(c, "claim", task);
  auto* run = llvm::BasicBlock::Create(c, "run", task);
  auto* done = llvm::BasicBlock::Create(c, "done", task);
  tb.CreateBr(claim);
  tb.SetInsertPoint(claim);
  llvm::Value* begin = tb.CreateAtomicRMW(llvm::AtomicRMWInst::Add, counter, llvm::ConstantInt::get(i64, info.claim),
                                          llvm::MaybeAlign(8), llvm::AtomicOrdering::Monotonic);
  llvm::Value* tasks = llvm::ConstantInt::get(i64, info.tasks);
  tb.CreateCondBr(tb.CreateICmpSLT(begin, tasks), run, done);
  tb.SetInsertPoint(run);
  targs.push_back(begin);
  targs.push_back(tb.CreateBinaryIntrinsic(llvm::Intrinsic::smin,
                                           tb.CreateAdd(begin, llvm::ConstantInt::get(i64, info.claim)), tasks));
  tb.CreateCall(kernel, targs);
  tb.CreateBr(claim);
  tb.SetInsertPoint(done);
  tb.CreateRetVoid();
  return task;
}

// if (ctx && ctx->parallel_for) ctx->parallel_for(ctx->pool, tasks, task,
// data()) else ser(); the builder continues after both.
void FunctionLowering::branch_on_pool(int64_t tasks, llvm::Function* task, const std::function<llvm::Value*()>& data,
                                      const std::function<void()>& ser) {
  auto& c = m_.getContext();
  auto& b = kb_.b;
  llvm::BasicBlock* pb = llvm::BasicBlock::Create(c, "parallel", entry_);
  llvm::BasicBlock* sb = llvm::BasicBlock::Create(c, "serial", entry_);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(c, "next", entry_);
  llvm::Value* pf_slot = b.CreateStructGEP(ctx_type_, ctx_, kParallelFor);
  llvm::BasicBlock* check = llvm::BasicBlock::Create(c, "has_pool", entry_);
  b.CreateCondBr(b.CreateIsNull(ctx_), sb, check);
  b.SetInsertPoint(check);
  llvm::Value* pf = b.CreateLoad(kb_.ptr_type(), pf_slot, "parallel_for");
  b.CreateCondBr(b.CreateIsNull(pf), sb, pb);
  b.SetInsertPoint(pb);
  llvm::Value* args = data();
  auto* ptr = kb_.ptr_type();
  llvm::Value* pool = b.CreateLoad(ptr, b.CreateStructGEP(ctx_type_, ctx_, kPool), "pool");
  auto* pf_type = llvm::FunctionType::get(b.getVoidTy(), {ptr, kb_.i64_type(), ptr, ptr}, false);
  b.CreateCall(pf_type, pf, {pool, kb_.i64(tasks), task, args});
  b.CreateBr(done);
  b.SetInsertPoint(sb);
  ser();
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

// An array of `slots` pointers in the entry's frame holding `args` (the
// slots after them are the task's to fill).
llvm::Value* FunctionLowering::task_args(const std::vector<llvm::Value*>& args, size_t slots) {
  auto* array = llvm::ArrayType::get(kb_.ptr_type(), slots);
  llvm::IRBuilder<> at(entry_block_, entry_block_->getFirstInsertionPt());
  llvm::AllocaInst* data = at.CreateAlloca(array, nullptr, "task.args");
  for (size_t i = 0; i < args.size(); ++i)
    kb_.b.CreateStore(args[i], kb_.b.CreateConstInBoundsGEP2_64(array, data, 0, i));
  return data;
}

// if (ctx && ctx->parallel_for) ctx->parallel_for(ctx->pool, tasks, task, &args)
// else kernel(args..., 0, tasks)
void FunctionLowering::call_parallel(llvm::Function* kernel, std::vector<llvm::Value*> args, const KernelInfo& info) {
  auto& b = kb_.b;
  const int64_t tasks = info.tasks;
  llvm::Function* task = make_task(kernel, args.size(), info);
  branch_on_pool(tasks, task, [&] {
    const size_t slots = args.size() + (info.claim > 0 ? 1 : 0);
    llvm::Value* data = task_args(args, slots);
    if (info.claim > 0)
      b.CreateStore(kb_.i64(0), b.CreateConstInBoundsGEP2_64(llvm::ArrayType::get(kb_.ptr_type(), slots), data, 0,
                                                             args.size()));
    return data;
  }, [&] {
    args.push_back(kb_.i64(0));
    args.push_back(kb_.i64(tasks));
    b.CreateCall(kernel, args);
  });
}

// kernel(args..., 0, tasks) at the builder's position.
void FunctionLowering::call_serial(const SerialCall& c) {
  std::vector<llvm::Value*> args = c.args;
  args.push_back(kb_.i64(0));
  args.push_back(kb_.i64(c.tasks));
  kb_.b.CreateCall(c.kernel, args);
}

// The pending serial kernels: side by side when another thread would take
// at least min_parallel_work of their work, else one after the other.
void FunctionLowering::flush_serial() {
  std::vector<SerialCall> calls = std::move(pending_);
  pending_.clear();
  if (calls.empty()) return;
  std::vector<int64_t> work;
  for (const SerialCall& c : calls) work.push_back(std::max<int64_t>(c.work, 1));
  std::vector<std::vector<size_t>> dealt = deal_to_tasks(work, o_.num_threads);
  int64_t total = std::accumulate(work.begin(), work.end(), int64_t{0}), most = 0;
  for (const auto& t : dealt) {
    int64_t sum = 0;
    for (size_t k : t) sum += work[k];
    most = std::max(most, sum);
  }
  if (dealt.size() < 2 || total - most < o_.min_parallel_work) {
    for (const SerialCall& c : calls) {
      call_serial(c);
      collectives_->progress();
    }
    return;
  }
  call_side_by_side(calls, dealt);
}

// ctx->parallel_for(ctx->pool, tasks, side_task, &args), task t running the
// kernels dealt[t]; without a pool, every kernel in schedule order.
void FunctionLowering::call_side_by_side(const std::vector<SerialCall>& calls,
                                         const std::vector<std::vector<size_t>>& dealt) {
  llvm::Function* task = make_side_task(calls, dealt);
  branch_on_pool(static_cast<int64_t>(dealt.size()), task, [&] {
    std::vector<llvm::Value*> args;
    for (const SerialCall& c : calls) args.insert(args.end(), c.args.begin(), c.args.end());
    return task_args(args, args.size());
  }, [&] {
    for (const SerialCall& c : calls) call_serial(c);
  });
  collectives_->progress();
  SideBySide side;
  for (const auto& t : dealt) {
    side.tasks.emplace_back();
    for (size_t k : t) side.tasks.back().push_back(calls[k].kernel->getName().str());
  }
  out_.side_by_side.push_back(std::move(side));
}

// The task of serial kernels side by side: for each task t in [begin, end),
// unpacks the pointers of the kernels dealt[t] (all kernels' pointers, in
// call order, are the data) and calls them.
llvm::Function* FunctionLowering::make_side_task(const std::vector<SerialCall>& calls,
                                                 const std::vector<std::vector<size_t>>& dealt) {
  auto& c = m_.getContext();
  auto* ptr = kb_.ptr_type();
  auto* i64 = kb_.i64_type();
  std::vector<size_t> first{0};  // each call's first slot
  for (const SerialCall& call : calls) first.push_back(first.back() + call.args.size());
  auto* array = llvm::ArrayType::get(ptr, first.back());
  auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(c), {ptr, i64, i64}, false);
  auto* task = llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage,
                                      calls[dealt[0][0]].kernel->getName() + ".side.task", m_);
  task->setDoesNotThrow();
  set_vector_width(task, o_.other_width);
  llvm::IRBuilder<> tb(llvm::BasicBlock::Create(c, "entry", task));
  for (size_t t = 0; t < dealt.size(); ++t) {
    auto* run = llvm::BasicBlock::Create(c, "task" + std::to_string(t), task);
    auto* next = llvm::BasicBlock::Create(c, "after" + std::to_string(t), task);
    llvm::Value* index = llvm::ConstantInt::get(i64, t);
    tb.CreateCondBr(tb.CreateAnd(tb.CreateICmpSLE(task->getArg(1), index), tb.CreateICmpSLT(index, task->getArg(2))),
                    run, next);
    tb.SetInsertPoint(run);
    for (size_t k : dealt[t]) {
      std::vector<llvm::Value*> args;
      for (size_t i = first[k]; i < first[k + 1]; ++i)
        args.push_back(tb.CreateLoad(ptr, tb.CreateConstInBoundsGEP2_64(array, task->getArg(0), 0, i)));
      args.push_back(llvm::ConstantInt::get(i64, 0));
      args.push_back(llvm::ConstantInt::get(i64, calls[k].tasks));
      tb.CreateCall(calls[k].kernel, args);
    }
    tb.CreateBr(next);
    tb.SetInsertPoint(next);
  }
  tb.CreateRetVoid();
  return task;
}

void FunctionLowering::lower_collective(const Node* n) {
  flush_serial();
  collectives_->wait_for({out_.plan.storage.at(n->operand(0)).owner}, out_.num_kernels);
  // In place when the memory plan gave the result the operand's buffer.
  const Storage &r = out_.plan.storage.at(n), &o = out_.plan.storage.at(n->operand(0));
  bool in_place = r.kind == o.kind && r.index == o.index && r.offset == o.offset;
  collectives_->start(*n, node_ids_.at(n), pointer(n), in_place ? pointer(n) : pointer(n->operand(0)),
                      out_.num_kernels);
}

void FunctionLowering::lower_kernel(const Node* n, int index) {
  if (is_collective(n->op())) return lower_collective(n);
  if (is_loop(n->op())) {
    flush_serial();
    return lower_loop(n);
  }
  // A group of fused nodes is one kernel, at its first node that is needed,
  // storing each of its nodes that has storage (the planned ones).
  std::vector<const Node*> outs{n};
  if (n->body() && n->body()->results().size() > 1) {
    if (!groups_done_.insert(n->body()).second) return;
    outs.clear();
    for (const Node* m : fused_group(n))
      if (out_.plan.storage.count(m)) outs.push_back(m);
    n = outs[0];
  }
  KernelInfo info = describe_kernel(*n, o_);
  if (const Storage& s = out_.plan.storage.at(outs[0]); !s.strides.empty())
    info.tasks = strided_elementwise_tasks(*n, outs, s.strides);
  std::vector<const Node*> args;
  for (const Node* op : n->operands())
    if (out_.plan.storage.at(op).kind != StorageKind::Constant) args.push_back(op);
  std::vector<const Node*> reads;  // what the kernel reads, for the collectives' waits
  for (const Node* o : outs)
    for (const Node* op : o->operands()) reads.push_back(out_.plan.storage.at(op).owner);
  bool parallel = o_.num_threads > 1 && info.tasks > 1 && info.work >= o_.min_parallel_work && !info.can_fail;
  // A serial kernel waits for the next ones, to run beside those it shares no bytes with.
  bool side = o_.num_threads > 1 && !parallel && !info.can_fail && !info.checks;
  KernelAccess access;
  if (side) access = kernel_access(out_.plan, outs, info.scratch_bytes);
  if (!side || std::any_of(pending_.begin(), pending_.end(),
                           [&](const SerialCall& c) { return !independent(c.access, access); }))
    flush_serial();
  collectives_->wait_for(reads, out_.num_kernels);
  llvm::Function* kernel = make_kernel(n, info, outs, args, node_ids_.at(n), !parallel);
  ++out_.num_kernels;

  auto& b = kb_.b;
  if (info.checks) {
    KernelEnv checks{kb_, *n, node_ids_.at(n), {}, pointer(n), {}, {}, {}};
    for (const Node* o : n->operands()) checks.operands.push_back(pointer(o));
    checks.ctx = ctx_;
    emit_checks(checks);
  }
  std::vector<llvm::Value*> call_args;
  for (const Node* o : outs) call_args.push_back(pointer(o));
  for (const Node* a : args) call_args.push_back(pointer(a));
  if (info.scratch_bytes > 0)
    call_args.push_back(b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), workspace_,
                                                     static_cast<uint64_t>(out_.plan.scratch_offset.at(n))));
  if (parallel) {
    ++out_.num_parallel_kernels;
    call_parallel(kernel, call_args, info);
    collectives_->progress();
    return;
  }
  if (side) {
    pending_.push_back({kernel, std::move(call_args), info.tasks, info.work, std::move(access)});
    return;
  }
  if (info.can_fail) call_args.push_back(ctx_);
  call_args.push_back(kb_.i64(0));
  call_args.push_back(kb_.i64(info.tasks));
  llvm::Value* status = b.CreateCall(kernel, call_args);
  collectives_->progress();
  if (!info.can_fail) return;
  llvm::BasicBlock* fail = llvm::BasicBlock::Create(m_.getContext(), "failed", entry_);
  llvm::BasicBlock* ok = llvm::BasicBlock::Create(m_.getContext(), "ok", entry_);
  b.CreateCondBr(b.CreateICmpNE(status, b.getInt32(NABLA_OK)), fail, ok);
  b.SetInsertPoint(fail);
  b.CreateRet(status);
  b.SetInsertPoint(ok);
}

void FunctionLowering::lower_loop(const Node* n) {
  std::vector<Node*> group = fused_group(n);
  if (!loops_done_.insert(group[0]).second) return;
  n = group[0];
  std::vector<const Node*> reads;
  for (const Node* op : n->operands()) reads.push_back(out_.plan.storage.at(op).owner);
  collectives_->wait_for(reads, out_.num_kernels);
  auto& b = kb_.b;
  // No scratch at all (no carries, bodies without workspace): nothing reads it.
  auto offset = out_.plan.scratch_offset.find(n);
  llvm::Value* scratch = offset == out_.plan.scratch_offset.end()
                             ? workspace_
                             : b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), workspace_, static_cast<uint64_t>(offset->second));
  LoopEnv env{kb_, *n, node_ids_.at(n), o_, {}, {}, scratch, ctx_, {}};
  for (const Node* o : n->operands()) env.operands.push_back(pointer(o));
  for (const Node* m : group) env.results.push_back(pointer(m));
  env.return_if_failed = [&](llvm::Value* status) {
    llvm::BasicBlock* fail = llvm::BasicBlock::Create(m_.getContext(), "loop.failed", entry_);
    llvm::BasicBlock* ok = llvm::BasicBlock::Create(m_.getContext(), "loop.ok", entry_);
    b.CreateCondBr(b.CreateICmpNE(status, b.getInt32(NABLA_OK)), fail, ok);
    b.SetInsertPoint(fail);
    kb_.when(b.CreateIsNotNull(ctx_), [&] {
      llvm::Value* error = b.CreateStructGEP(ctx_type_, ctx_, kError);
      auto* error_type = llvm::cast<llvm::StructType>(ctx_type_->getElementType(kError));
      b.CreateStore(b.getInt32(static_cast<uint32_t>(env.node_id)), b.CreateStructGEP(error_type, error, kNode));
    });
    b.CreateRet(status);
    b.SetInsertPoint(ok);
  };
  emit_loop(env);
  ++out_.num_kernels;
  collectives_->progress();
}

LoweredFunction FunctionLowering::run() {
  out_.entry = o_.entry_name;
  for (const Node* n : f_) {
    node_ids_[n] = static_cast<int>(out_.nodes.size());
    out_.nodes.push_back(n);
  }
  out_.plan = plan_memory(f_, [&](const Node& n) { return describe_kernel(n, o_).scratch_bytes; });
  begin_entry();
  for (size_t i = 0; i < out_.plan.kernels.size(); ++i) lower_kernel(out_.plan.kernels[i], static_cast<int>(i));
  flush_serial();
  auto& b = kb_.b;
  collectives_->wait_all(out_.num_kernels);
  out_.collectives = collectives_->schedule();
  for (const MemoryPlan::Copy& copy : out_.plan.result_copies) {
    int64_t bytes = copy.from->type().numel() * static_cast<int64_t>(dtype_size(copy.from->dtype()));
    if (bytes == 0) continue;
    llvm::IRBuilder<> at(entry_block_, entry_block_->getFirstInsertionPt());
    auto* ptr = kb_.ptr_type();
    llvm::Value* dst = at.CreateLoad(ptr, at.CreateConstInBoundsGEP1_64(ptr, outputs_, static_cast<uint64_t>(copy.output)), "out");
    llvm::Align align(dtype_size(copy.from->dtype()));
    b.CreateMemCpy(dst, align, pointer(copy.from), align, static_cast<uint64_t>(bytes));
  }
  b.CreateRet(b.getInt32(NABLA_OK));
  return std::move(out_);
}

}  // namespace

void KernelEnv::fail_if(llvm::Value* failed, int32_t status, llvm::Value* value, llvm::Value* index, int64_t bound,
                        std::string_view op) {
  auto& b = kb.b;
  auto& c = kb.ctx;
  llvm::Function* fn = b.GetInsertBlock()->getParent();
  llvm::BasicBlock* bad = llvm::BasicBlock::Create(c, "bad", fn);
  llvm::BasicBlock* good = llvm::BasicBlock::Create(c, "good", fn);
  b.CreateCondBr(failed, bad, good, llvm::MDBuilder(c).createUnlikelyBranchWeights());
  b.SetInsertPoint(bad);
  kb.when(b.CreateIsNotNull(ctx), [&] {
    llvm::StructType* type = context_type(c);
    llvm::Value* error = b.CreateStructGEP(type, ctx, kError);
    auto* error_type = llvm::cast<llvm::StructType>(type->getElementType(kError));
    b.CreateStore(b.getInt32(static_cast<uint32_t>(status)), b.CreateStructGEP(error_type, error, kStatus));
    b.CreateStore(b.getInt32(static_cast<uint32_t>(node_id)), b.CreateStructGEP(error_type, error, kNode));
    b.CreateStore(b.CreateGlobalString(op.empty() ? op_name(node.op()) : op, "op.name"), b.CreateStructGEP(error_type, error, kOp));
    b.CreateStore(value, b.CreateStructGEP(error_type, error, kValue));
    b.CreateStore(index, b.CreateStructGEP(error_type, error, kIndex));
    b.CreateStore(kb.i64(bound), b.CreateStructGEP(error_type, error, kBound));
  });
  b.CreateRet(b.getInt32(static_cast<uint32_t>(status)));
  b.SetInsertPoint(good);
}

KernelInfo describe_kernel(const Node& n, const LowerOptions& o) {
  if (fused_matmul(n)) return describe_matmul(n, o);  // a GEMM with an epilogue
  if (fused_scatter(n)) return describe_fused_scatter(n, o);
  if (fused_body(n)) {
    KernelInfo info = fused_reduction(n) ? describe_reduce(n, o) : describe_elementwise(n, o);
    info.checks = indexes(n);  // gathers read through their index: checked first
    // Random rows (gathers) are read at the memory's latency, a thread at a
    // time: a thread that starts late or shares its core would hold the
    // whole kernel back by its range's length, so its threads claim chunks.
    if (info.checks && o.num_threads > 1) {
      const int64_t chunks = kClaimsPerThread * o.num_threads;
      info.claim = (info.tasks + chunks - 1) / chunks;
    }
    return info;
  }
  if (is_elementwise(n.op())) return describe_elementwise(n, o);
  switch (op_kind(n.op())) {
    case OpKind::Reduce: return describe_reduce(n, o);
    case OpKind::Layout: return describe_layout(n, o);
    case OpKind::Contract: return describe_matmul(n, o);
    case OpKind::Neural: return describe_neural(n, o);
    case OpKind::Axis: return describe_axis(n, o);
    case OpKind::Collective: return KernelInfo{"collective"};  // calls from the entry (lower_collective.h)
    case OpKind::Conv: return describe_conv(n, o);
    case OpKind::Loop: return describe_loop(n, o);
    case OpKind::Deriv: throw Error("grad: run the build-grad pass before compiling");
    // No code: leaves and aliases have storage, elementwise kinds are above.
    case OpKind::Leaf: case OpKind::Unary: case OpKind::Binary: case OpKind::Compare:
    case OpKind::Select: case OpKind::Convert: case OpKind::Region: break;
  }
  throw Error(std::string(op_name(n.op())) + ": the backend cannot lower this op");
}

void emit_kernel(KernelEnv& env) {
  const Node& n = env.node;
  if (fused_matmul(n)) return emit_matmul(env);
  if (fused_scatter(n)) return emit_fused_scatter(env);
  if (fused_body(n)) {
    if (fused_reduction(n)) emit_reduce(env);
    else emit_elementwise(env);
    return;
  }
  if (is_elementwise(n.op())) return emit_elementwise(env);
  switch (op_kind(n.op())) {
    case OpKind::Reduce: return emit_reduce(env);
    case OpKind::Layout: return emit_layout(env);
    case OpKind::Contract: return emit_matmul(env);
    case OpKind::Neural: return emit_neural(env);
    case OpKind::Axis: return emit_axis(env);
    case OpKind::Conv: return emit_conv(env);
    case OpKind::Leaf: case OpKind::Unary: case OpKind::Binary: case OpKind::Compare:
    case OpKind::Select: case OpKind::Convert: case OpKind::Region: case OpKind::Deriv:
    case OpKind::Collective: case OpKind::Loop: break;  // calls from the entry (lower_collective.h, lower_loop.cpp)  // calls from the entry (lower_collective.h)
  }
  throw Error(std::string(op_name(n.op())) + ": the backend cannot lower this op");
}

LoweredFunction lower_function(const Function& f, llvm::Module& module, const LowerOptions& options) {
  LoweredFunction lowered = FunctionLowering(f, module, options).run();
  for (llvm::Function& fn : module)
    if (!fn.isDeclaration()) combine_sincos(fn);
  return lowered;
}

}  // namespace nabla
