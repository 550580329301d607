// The GEMM entry function: the task loop and, per task, the cache-blocked loop
// nest around packing and micro-kernels (jc: nc columns of B, pc: kc deep,
// ic: mc rows of A, ir: mr-row panels, jr: nr-column panels).
#include <fmt/format.h>
#include <llvm/IR/Verifier.h>

#include "nabla/compiler/codegen.h"
#include "nabla/compiler/gemm_emit.h"

namespace nabla::gemm_detail {

using namespace llvm;

namespace {
Type* element_type(LLVMContext& ctx, DType t) {
  return t == DType::f64 ? Type::getDoubleTy(ctx) : Type::getFloatTy(ctx);
}
}  // namespace

GemmEmitter::GemmEmitter(Module& m, const GemmSpec& spec, std::string name)
    : mod_(m),
      spec_(spec),
      plan_(plan_gemm(spec)),
      name_(std::move(name)),
      b_(m.getContext()),
      t_(b_, element_type(m.getContext(), spec.dtype), plan_.lanes) {}

// Every function of the GEMM, its entry (the loop nest around packing and
// kernels) included, is scheduled (light passes) and not inlined: O3 on the
// entries inlined into their caller took a sixth of the MLP step's
// optimization time and bought no speed (docs/performance.md, "Compile time").
Function* GemmEmitter::new_function(const std::string& suffix, FunctionType* type) {
  std::string fname = suffix.empty() ? name_ : name_ + "." + suffix;
  Function* f = Function::Create(type, GlobalValue::InternalLinkage, fname, mod_);
  set_attributes(f);
  return f;
}

Type* GemmEmitter::memory_type(DType t) {
  switch (t) {
    case DType::f32: return b_.getFloatTy();
    case DType::f64: return b_.getDoubleTy();
    case DType::i32: return b_.getInt32Ty();
    case DType::i64: return b_.getInt64Ty();
    case DType::bool_: return b_.getInt8Ty();
  }
  return b_.getInt8Ty();
}

void GemmEmitter::set_attributes(Function* f) {
  f->addFnAttr(Attribute::NoUnwind);
  f->addFnAttr(Attribute::NoInline);
  f->addFnAttr(kScheduledAttribute);
  f->addFnAttr("prefer-vector-width", std::to_string(spec_.vector_bits));
  f->addFnAttr("min-legal-vector-width", std::to_string(spec_.vector_bits));
  if (!spec_.target_cpu.empty()) f->addFnAttr("target-cpu", spec_.target_cpu);
  if (!spec_.target_features.empty()) f->addFnAttr("target-features", spec_.target_features);
}

// One task's output block [m0, m1) x [n0, n1); a, b, c, d already point at the
// batch's matrices.
void GemmEmitter::emit_block(Function* f, Value* a, Value* bm, Value* c, Value* bias, Value* d,
                             const std::vector<Value*>& e, Value* scratch, Value* m0, Value* m1,
                             Value* n0, Value* n1) {
  const GemmPlan& p = plan_;
  const int64_t esize = static_cast<int64_t>(dtype_size(spec_.dtype));
  const int64_t a_bytes = p.pack_a ? (p.mc * p.kc * esize + 63) / 64 * 64 : 0;
  Value* ap = scratch;
  Value* bp = b_.CreateInBoundsGEP(b_.getInt8Ty(), scratch, t_.c64(a_bytes));
  // Element offsets of A(m, k) and B(k, n) as stored.
  auto a_off = [&](Value* m, Value* k) {
    return spec_.trans_a ? b_.CreateAdd(b_.CreateMul(k, t_.c64(p.lda)), m)
                         : b_.CreateAdd(b_.CreateMul(m, t_.c64(p.lda)), k);
  };
  auto b_off = [&](Value* k, Value* n) {
    return spec_.trans_b ? b_.CreateAdd(b_.CreateMul(n, t_.c64(p.ldb)), k)
                         : b_.CreateAdd(b_.CreateMul(k, t_.c64(p.ldb)), n);
  };
  Value* k_end = t_.c64(std::max<int64_t>(spec_.K, 1));  // K = 0 still runs the epilogue
  Value* kdim = t_.c64(spec_.K);
  t_.loop(n0, n1, p.nc, [&](Value* jc) {
    Value* nc = t_.min(t_.c64(p.nc), b_.CreateSub(n1, jc));
    t_.loop(t_.c64(0), k_end, p.kc, [&](Value* pc) {
      Value* kc = t_.min(t_.c64(p.kc), b_.CreateSub(kdim, pc));
      Value* first = b_.CreateICmpEQ(pc, t_.c64(0));
      Value* last = b_.CreateICmpSGE(b_.CreateAdd(pc, t_.c64(p.kc)), kdim);
      if (p.pack_b && spec_.pack_b_fn) b_.CreateCall(spec_.pack_b_fn, {bm, bp, pc, jc, kc, nc});
      else if (p.pack_b) b_.CreateCall(pack_b(), {t_.at(bm, b_off(pc, jc)), bp, kc, nc});
      t_.loop(m0, m1, p.mc, [&](Value* ic) {
        Value* mc = t_.min(t_.c64(p.mc), b_.CreateSub(m1, ic));
        if (p.pack_a) b_.CreateCall(pack_a(), {t_.at(a, a_off(ic, pc)), ap, kc, mc});
        auto tile = [&](Value* ir, Value* jr, int64_t mr, int64_t ncols) {
          Value* pa = p.pack_a ? t_.at(ap, b_.CreateMul(b_.CreateUDiv(ir, t_.c64(p.mr)),
                                                        b_.CreateMul(t_.c64(p.mr), kc)))
                               : t_.at(a, a_off(b_.CreateAdd(ic, ir), pc));
          Value* col = b_.CreateAdd(jc, jr);
          Value* pb = p.pack_b ? t_.at(bp, b_.CreateMul(b_.CreateUDiv(jr, t_.c64(p.nr)),
                                                        b_.CreateMul(t_.c64(p.nr), kc)))
                               : t_.at(bm, b_off(pc, col));
          Value* row = b_.CreateAdd(ic, ir);
          Value* pc_ = t_.at(c, b_.CreateAdd(b_.CreateMul(row, t_.c64(p.ldc)), col));
          Value* pbias = spec_.bias ? t_.at(bias, col) : bias;
          Value* pd = spec_.has_d ? t_.at(d, b_.CreateAdd(b_.CreateMul(row, t_.c64(p.ldd)), col))
                                  : d;
          std::vector<Value*> args{pa, pb, pc_, kc, first, last, pbias, pd, t_.c64(p.lda)};
          for (size_t i = 0; i < e.size(); ++i) {
            if (i >= spec_.epilogue.operands.size()) {  // an extra output, laid out as C
              args.push_back(t_.at(e[i], b_.CreateAdd(b_.CreateMul(row, t_.c64(p.ldc)), col)));
              continue;
            }
            const GemmEpilogueOperand& op = spec_.epilogue.operands[i];
            Value* off = b_.CreateAdd(b_.CreateMul(row, t_.c64(op.stride_m)),
                                      b_.CreateMul(col, t_.c64(op.stride_n)));
            args.push_back(b_.CreateInBoundsGEP(memory_type(op.dtype), e[i], off));
          }
          b_.CreateCall(kernel(mr, ncols), args);
        };
        auto row_panel = [&](Value* ir, int64_t mr) {
          Value* nfull = b_.CreateMul(b_.CreateUDiv(nc, t_.c64(p.nr)), t_.c64(p.nr));
          t_.loop(t_.c64(0), nfull, p.nr, [&](Value* jr) { tile(ir, jr, mr, p.nr); }, "jr");
          if (int64_t edge = spec_.N % p.nr)
            t_.when(b_.CreateICmpNE(nfull, nc), [&] { tile(ir, nfull, mr, edge); });
        };
        Value* mfull = b_.CreateMul(b_.CreateUDiv(mc, t_.c64(p.mr)), t_.c64(p.mr));
        t_.loop(t_.c64(0), mfull, p.mr, [&](Value* ir) { row_panel(ir, p.mr); }, "ir");
        if (int64_t edge = spec_.M % p.mr)
          t_.when(b_.CreateICmpNE(mfull, mc), [&] { row_panel(mfull, edge); });
      }, "ic");
    }, "pc");
  }, "jc");
}

Function* GemmEmitter::emit() {
  Type* p = t_.ptr;
  std::vector<Type*> params{p, p, p, p, p, p, t_.i64, t_.i64};
  const size_t num_e = spec_.epilogue.operands.size() + static_cast<size_t>(spec_.epilogue.outputs);
  params.insert(params.end(), num_e, p);
  Function* f = new_function("", FunctionType::get(b_.getVoidTy(), params, false));
  const char* names[] = {"A", "B", "C", "bias", "D", "scratch", "task_begin", "task_end"};
  for (unsigned i = 0; i < gemm_arg::epilogue; ++i) f->getArg(i)->setName(names[i]);
  for (unsigned i = 0; i < num_e; ++i) f->getArg(gemm_arg::epilogue + i)->setName("E" + std::to_string(i));
  b_.SetInsertPoint(BasicBlock::Create(f->getContext(), "entry", f));
  std::vector<Value*> args;
  for (Argument& a : f->args()) args.push_back(&a);
  emit_tasks(args);
  b_.CreateRetVoid();
  return f;
}

void GemmEmitter::emit_into(IRBuilderBase& caller, const std::vector<Value*>& args) {
  Function* f = caller.GetInsertBlock()->getParent();
  set_attributes(f);
  b_.SetInsertPoint(caller.GetInsertBlock(), caller.GetInsertPoint());
  emit_tasks(args);
  caller.SetInsertPoint(b_.GetInsertBlock(), b_.GetInsertPoint());
}

// The tasks [task_begin, task_end) given the arguments by slot (gemm_arg):
// with a constant range of one task, its block without a loop around it.
void GemmEmitter::emit_tasks(const std::vector<Value*>& arg) {
  const size_t num_in = spec_.epilogue.operands.size();
  const size_t num_e = num_in + static_cast<size_t>(spec_.epilogue.outputs);
  const GemmPlan& pl = plan_;
  const int64_t per_batch = pl.tasks_m * pl.tasks_n;
  t_.loop(arg[gemm_arg::task_begin], arg[gemm_arg::task_end], 1, [&](Value* task) {
    Value* batch = b_.CreateUDiv(task, t_.c64(per_batch));
    Value* rest = b_.CreateURem(task, t_.c64(per_batch));
    Value* tm = b_.CreateUDiv(rest, t_.c64(pl.tasks_n));
    Value* tn = b_.CreateURem(rest, t_.c64(pl.tasks_n));
    Value* m0 = b_.CreateMul(tm, t_.c64(pl.task_rows));
    Value* n0 = b_.CreateMul(tn, t_.c64(pl.task_cols));
    Value* m1 = t_.min(b_.CreateAdd(m0, t_.c64(pl.task_rows)), t_.c64(spec_.M));
    Value* n1 = t_.min(b_.CreateAdd(n0, t_.c64(pl.task_cols)), t_.c64(spec_.N));
    auto mat = [&](unsigned i, int64_t stride) { return t_.at(arg[i], b_.CreateMul(batch, t_.c64(stride))); };
    std::vector<Value*> e;
    for (unsigned i = 0; i < num_e; ++i) {
      if (i >= num_in) {  // an extra output: C's batch stride
        e.push_back(mat(gemm_arg::epilogue + i, pl.stride_c));
        continue;
      }
      const GemmEpilogueOperand& op = spec_.epilogue.operands[i];
      e.push_back(b_.CreateInBoundsGEP(memory_type(op.dtype), arg[gemm_arg::epilogue + i],
                                       b_.CreateMul(batch, t_.c64(op.stride_batch))));
    }
    using namespace gemm_arg;
    emit_block(b_.GetInsertBlock()->getParent(), mat(A, pl.stride_a), mat(B, pl.stride_b), mat(C, pl.stride_c),
               arg[bias], spec_.has_d ? mat(D, pl.stride_d) : arg[D], e, arg[scratch], m0, m1, n0, n1);
  }, "task");
}

}  // namespace nabla::gemm_detail

namespace nabla {

llvm::Function* emit_gemm(llvm::Module& module, const GemmSpec& spec, const std::string& name) {
  return gemm_detail::GemmEmitter(module, spec, name).emit();
}

void emit_gemm_into(llvm::IRBuilderBase& b, const GemmSpec& spec, const std::string& name,
                    const std::vector<llvm::Value*>& args) {
  llvm::Module& module = *b.GetInsertBlock()->getModule();
  gemm_detail::GemmEmitter(module, spec, name).emit_into(b, args);
}

}  // namespace nabla
