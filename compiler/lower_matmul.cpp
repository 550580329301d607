// matmul, plain and batched, with the transpose flags: the one place that
// lowers it. Float products go to the generated GEMM (compiler/gemm.h:
// packing, cache blocking, register-tiled FMA kernels; exact sums, equal to
// the interpreter's, unless fast-math is on), run over thread slots. Integer
// products, and float ones too small to gain from it, use the simple emitter
// below.
//
//   C[b][i, j] = sum_p A'[b][i, p] * B'[b][p, j],  p ascending from 0
//
// Register tiles of kRows rows by kVecs vectors of the target's width
// accumulate over p in explicit vector registers: the broadcast of A'[i, p]
// times the row B'[p, j0 .. j0 + width). Each C element therefore sums its
// products in the interpreter's order (bit-equal results; with fast-math the
// multiply-add becomes one FMA). Column tails use masked loads and stores.
//
// Tasks are column panels of one batch: a task computes all rows of its
// panel. When B is transposed, the task first copies its panel of B' into a
// contiguous [K, panel] slice of the scratch space (its own slice, so tasks
// never share scratch).
#include <algorithm>

#include <llvm/IR/Intrinsics.h>

#include "nabla/compiler/gemm.h"
#include "nabla/compiler/gemm_epilogue.h"
#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower.h"
#include "nabla/ir/fused.h"
#include "nabla/passes/fuse_matmul.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {


constexpr int64_t kRows = 6;        // rows of a register tile
constexpr int64_t kVecs = 2;        // vectors of a register tile
constexpr int64_t kPanelTiles = 4;  // tiles per column panel

struct MatmulShape {
  int64_t batch, m, n, k;
  bool ta, tb;
  int64_t lanes, tile_cols, panel, panels;
};

MatmulShape matmul_shape(const Node& node, int vector_bits) {
  const Shape& a = node.operand(0)->shape();
  int64_t r = static_cast<int64_t>(a.size());
  MatmulShape s;
  s.ta = node.attrs().transpose_a;
  s.tb = node.attrs().transpose_b;
  s.m = node.shape()[r - 2];
  s.n = node.shape()[r - 1];
  s.k = s.ta ? a[r - 2] : a[r - 1];
  s.batch = num_elements(std::span(node.shape()).first(r - 2));
  s.lanes = std::max<int64_t>(1, vector_bits / 8 / static_cast<int64_t>(dtype_size(node.dtype())));
  s.tile_cols = s.lanes * kVecs;
  s.panel = std::min(s.tile_cols * kPanelTiles, std::max<int64_t>(s.n, 1));
  s.panels = (s.n + s.panel - 1) / s.panel;
  return s;
}

class MatmulEmitter {
 public:
  MatmulEmitter(KernelEnv& env, const MatmulShape& s)
      : env_(env), kb_(env.kb), b_(env.kb.b), s_(s), t_(env.node.dtype()),
        elt_(kb_.value_type(t_)), vec_(llvm::FixedVectorType::get(elt_, static_cast<unsigned>(s.lanes))),
        align_(dtype_size(t_)) {}

  void emit() {
    kb_.loop(env_.begin, env_.end, [&](llvm::Value* task) { emit_task(task); }, 1, "task");
  }

 private:
  llvm::Value* c(int64_t v) { return kb_.i64(v); }

  void emit_task(llvm::Value* task) {
    llvm::Value* batch = b_.CreateSDiv(task, c(s_.panels));
    llvm::Value* col0 = b_.CreateMul(b_.CreateSRem(task, c(s_.panels)), c(s_.panel));
    llvm::Value* cols = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, c(s_.panel), b_.CreateSub(c(s_.n), col0));
    a_ = kb_.element_ptr(t_, env_.operands[0], b_.CreateMul(batch, c(s_.m * s_.k)));
    c_ = kb_.element_ptr(t_, env_.result, b_.CreateAdd(b_.CreateMul(batch, c(s_.m * s_.n)), col0));
    if (s_.tb && s_.k > 0) {
      // Copy B'[:, col0 .. col0 + cols) into this task's scratch slice, rows of `panel`.
      llvm::Value* src = kb_.element_ptr(t_, env_.operands[1], b_.CreateAdd(b_.CreateMul(batch, c(s_.n * s_.k)),
                                                                     b_.CreateMul(col0, c(s_.k))));
      bp_ = kb_.element_ptr(t_, env_.scratch, b_.CreateMul(task, c(s_.k * s_.panel)));
      ldb_ = s_.panel;
      kb_.loop(c(0), cols, [&](llvm::Value* j) {
        kb_.loop(c(0), c(s_.k), [&](llvm::Value* p) {
          llvm::Value* v = kb_.load(t_, src, b_.CreateAdd(b_.CreateMul(j, c(s_.k)), p));
          kb_.store(t_, v, bp_, b_.CreateAdd(b_.CreateMul(p, c(s_.panel)), j));
        }, 1, "p");
      }, 1, "j");
    } else {
      bp_ = kb_.element_ptr(t_, env_.operands[1], b_.CreateAdd(b_.CreateMul(batch, c(s_.k * s_.n)), col0));
      ldb_ = s_.n;
    }
    int64_t full_rows = s_.m / kRows * kRows;
    llvm::Value* full_cols = b_.CreateMul(b_.CreateSDiv(cols, c(s_.tile_cols)), c(s_.tile_cols));
    kb_.loop(c(0), c(full_rows), [&](llvm::Value* i0) { emit_row_block(i0, kRows, cols, full_cols); }, kRows, "i");
    if (full_rows < s_.m) emit_row_block(c(full_rows), s_.m - full_rows, cols, full_cols);
  }

  // Rows [i0, i0 + rows) of the panel: full tiles, then the masked tail.
  void emit_row_block(llvm::Value* i0, int64_t rows, llvm::Value* cols, llvm::Value* full_cols) {
    kb_.loop(c(0), full_cols, [&](llvm::Value* j0) { emit_tile(i0, rows, j0, nullptr); }, s_.tile_cols, "j");
    kb_.when(b_.CreateICmpSLT(full_cols, cols),
             [&] { emit_tile(i0, rows, full_cols, b_.CreateSub(cols, full_cols)); });
  }

  // A'[i, p]
  llvm::Value* a_at(llvm::Value* i, llvm::Value* p) {
    llvm::Value* idx = s_.ta ? b_.CreateAdd(b_.CreateMul(p, c(s_.m)), i) : b_.CreateAdd(b_.CreateMul(i, c(s_.k)), p);
    return kb_.load(t_, a_, idx);
  }

  // Lanes [0, valid - v * lanes) of vector v (all when valid is null).
  llvm::Value* mask(llvm::Value* valid, int64_t v) {
    if (!valid) return nullptr;
    std::vector<llvm::Constant*> lanes;
    for (int64_t l = 0; l < s_.lanes; ++l) lanes.push_back(kb_.i64(v * s_.lanes + l));
    llvm::Value* limit = b_.CreateVectorSplat(static_cast<unsigned>(s_.lanes), valid);
    return b_.CreateICmpSLT(llvm::ConstantVector::get(lanes), limit);
  }

  llvm::Value* load_vec(llvm::Value* ptr, llvm::Value* m) {
    if (!m) return b_.CreateAlignedLoad(vec_, ptr, align_);
    return b_.CreateMaskedLoad(vec_, ptr, align_, m, llvm::Constant::getNullValue(vec_));
  }

  void store_vec(llvm::Value* v, llvm::Value* ptr, llvm::Value* m) {
    if (!m) b_.CreateAlignedStore(v, ptr, align_);
    else b_.CreateMaskedStore(v, ptr, align_, m);
  }

  // One register tile: rows [i0, i0 + rows) x columns [j0, j0 + kVecs * lanes)
  // of the panel, `valid` columns of it when not null.
  void emit_tile(llvm::Value* i0, int64_t rows, llvm::Value* j0, llvm::Value* valid) {
    std::vector<llvm::Value*> masks;
    for (int64_t v = 0; v < kVecs; ++v) masks.push_back(mask(valid, v));
    std::vector<llvm::AllocaInst*> acc;
    for (int64_t r = 0; r < rows * kVecs; ++r) {
      acc.push_back(kb_.local(vec_));
      b_.CreateStore(llvm::Constant::getNullValue(vec_), acc.back());
    }
    kb_.loop(c(0), c(s_.k), [&](llvm::Value* p) {
      std::vector<llvm::Value*> bv;
      llvm::Value* row = b_.CreateAdd(b_.CreateMul(p, c(ldb_)), j0);
      for (int64_t v = 0; v < kVecs; ++v)
        bv.push_back(load_vec(kb_.element_ptr(t_, bp_, b_.CreateAdd(row, c(v * s_.lanes))), masks[v]));
      for (int64_t r = 0; r < rows; ++r) {
        llvm::Value* a = b_.CreateVectorSplat(static_cast<unsigned>(s_.lanes), a_at(b_.CreateAdd(i0, c(r)), p));
        for (int64_t v = 0; v < kVecs; ++v) {
          llvm::AllocaInst* slot = acc[r * kVecs + v];
          llvm::Value* sum = b_.CreateLoad(vec_, slot);
          llvm::Value* next = kb_.options.fast_math && is_float(t_)
                            ? kb_.intrinsic(llvm::Intrinsic::fmuladd, {a, bv[v], sum})
                            : kb_.add(sum, kb_.mul(a, bv[v]));
          b_.CreateStore(next, slot);
        }
      }
    }, 1, "p");
    for (int64_t r = 0; r < rows; ++r) {
      llvm::Value* row = b_.CreateAdd(b_.CreateMul(b_.CreateAdd(i0, c(r)), c(s_.n)), j0);
      for (int64_t v = 0; v < kVecs; ++v)
        store_vec(b_.CreateLoad(vec_, acc[r * kVecs + v]),
                  kb_.element_ptr(t_, c_, b_.CreateAdd(row, c(v * s_.lanes))), masks[v]);
    }
  }

  KernelEnv& env_;
  KernelBuilder& kb_;
  llvm::IRBuilder<>& b_;
  MatmulShape s_;
  DType t_;
  llvm::Type* elt_;
  llvm::FixedVectorType* vec_;
  llvm::Align align_;
  llvm::Value* a_ = nullptr;   // this batch's A
  llvm::Value* bp_ = nullptr;  // this panel's B' (column 0 of the panel)
  llvm::Value* c_ = nullptr;   // this batch's C at the panel's first column
  int64_t ldb_ = 0;
};

// The generated GEMM, when it applies: the spec for the node, run in `slots`
// thread slots (one per thread when the product is worth splitting).
struct GemmChoice {
  bool use = false;
  int64_t slots = 1;
  GemmSpec spec;
  GemmPlan plan;
};

// `fused`: the product of a fused node (passes/fuse_matmul.h), which only
// the GEMM computes (with its elementwise part as the epilogue).
GemmChoice choose_gemm(const Node& n, const LowerOptions& o, bool fused = false) {
  GemmChoice g;
  MatmulShape s = matmul_shape(n, o.vector_bits);
  int64_t work = s.batch * s.m * s.n * std::max<int64_t>(s.k, 1);
  bool widths = o.vector_bits == 128 || o.vector_bits == 256 || o.vector_bits == 512;
  if (fused && (!is_float(n.dtype()) || !widths))
    throw Error("fused: a matmul region needs a float product and vectors of 128, 256 or 512 bits");
  // Below a few thousand multiply-adds the simple kernel's lack of set-up wins.
  if (!fused && (!is_float(n.dtype()) || !widths || work < kGemmMinWork)) return g;
  g.use = true;
  g.slots = o.num_threads > 1 && work >= o.min_parallel_work ? o.num_threads : 1;
  g.spec = gemm_spec_for_matmul(n, static_cast<int>(g.slots));
  g.spec.vector_bits = o.vector_bits;
  g.spec.exact = !o.fast_math;
  g.plan = plan_gemm(g.spec);
  return g;
}

}  // namespace

KernelInfo describe_matmul(const Node& node, const LowerOptions& o) {
  const Node* product = fused_matmul(node);
  const Node& n = product ? *product : node;
  MatmulShape s = matmul_shape(n, o.vector_bits);
  KernelInfo info;
  info.kind = "matmul";
  info.work = s.batch * s.m * s.n * std::max<int64_t>(s.k, 1);
  if (GemmChoice g = choose_gemm(n, o, product != nullptr); g.use) {
    info.tasks = g.slots;
    info.scratch_bytes = g.slots * g.plan.scratch_bytes;
    return info;
  }
  info.tasks = s.batch * s.panels;
  if (s.tb) info.scratch_bytes = info.tasks * s.k * s.panel * static_cast<int64_t>(dtype_size(n.dtype()));
  return info;
}

bool gemm_one_k_block(const Node& fused, const LowerOptions& o) {
  const Node* product = fused_matmul(fused);
  if (!product) return false;
  GemmChoice g = choose_gemm(*product, o, true);
  return g.use && g.plan.kc >= matmul_shape(*product, o.vector_bits).k;
}

void emit_matmul(KernelEnv& env) {
  const LowerOptions& o = env.kb.options;
  const Node* product = fused_matmul(env.node);
  if (GemmChoice g = choose_gemm(product ? *product : env.node, o, product != nullptr); g.use) {
    llvm::Value* a = env.operands[0];
    llvm::Value* b = env.operands[1];
    llvm::Value* c = env.result;
    FusedGemmEpilogue epilogue;
    if (product) {  // A and B are body inputs; the rest of the body is the epilogue
      a = env.operands.at(static_cast<size_t>(product->operand(0)->input_index()));
      b = env.operands.at(static_cast<size_t>(product->operand(1)->input_index()));
      // The stored body values (a group: the product itself and what it
      // feeds); C takes the product when it is stored, O0... the others.
      const Function* body = env.node.body();
      std::vector<const Node*> values;
      std::vector<llvm::Value*> ptrs;
      if (env.group.empty()) {
        values.push_back(body->results()[static_cast<size_t>(env.node.body_result())]);
        ptrs.push_back(env.result);
      }
      for (size_t i = 0; i < env.group.size(); ++i) {
        values.push_back(body->results()[static_cast<size_t>(env.group[i]->body_result())]);
        ptrs.push_back(env.group_results[i]);
      }
      for (size_t i = 1; i < values.size(); ++i)
        if (values[i] == product) std::swap(values[i], values[0]), std::swap(ptrs[i], ptrs[0]);
      c = ptrs[0];
      epilogue = fused_gemm_epilogue(env, *product, values);
      epilogue.operands.insert(epilogue.operands.end(), ptrs.begin() + 1, ptrs.end());
      g.spec.epilogue = epilogue.epilogue;
    }
    const std::string name = "gemm.node" + std::to_string(env.node_id);
    llvm::Value* null = llvm::ConstantPointerNull::get(env.kb.ptr_type());
    llvm::Value* scratch = env.scratch ? env.scratch : null;
    if (g.slots == 1 && llvm::isa<llvm::ConstantInt>(env.begin) && llvm::isa<llvm::ConstantInt>(env.end)) {
      // A serial kernel runs all the tasks: the GEMM's body is the kernel's
      // (one function fewer, its loops over constant bounds).
      std::vector<llvm::Value*> args{a, b, c, null, null, scratch, env.kb.i64(0), env.kb.i64(g.plan.num_tasks)};
      args.insert(args.end(), epilogue.operands.begin(), epilogue.operands.end());
      emit_gemm_into(env.kb.b, g.spec, name, args);
      return;
    }
    llvm::Function* gemm = emit_gemm(env.kb.module, g.spec, name);
    emit_gemm_slots(env.kb.b, gemm, g.plan, {a, b, c, null, null},
                    scratch, env.begin, env.end, g.slots, epilogue.operands);
    return;
  }
  MatmulShape s = matmul_shape(env.node, o.vector_bits);
  MatmulEmitter(env, s).emit();
}

}  // namespace nabla
