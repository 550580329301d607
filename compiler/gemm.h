#pragma once
// Generated GEMM: emits one LLVM function computing a (batched) matrix product
// specialized for a static shape, in the way fast BLAS libraries are built:
// operands packed into contiguous panels (transposes folded into the packing),
// cache blocking for L1/L2/L3 and a register-tiled broadcast-FMA micro-kernel
// over explicit vectors of the target's width. docs/performance.md has the
// design and the blocking parameters.
//
// The emitted function (internal linkage) has the signature
//   void NAME(const T* A, const T* B, T* C, const T* bias, const T* D,
//             void* scratch, int64_t task_begin, int64_t task_end)
// and computes, for every batch b and every (m, n) of the tasks in
// [task_begin, task_end):
//   C[b][m,n] = act(alpha * sum_k opA[b][m,k] * opB[b][k,n] + beta * C[b][m,n]
//                   + bias[n] + d_scale * D[b][m,n])
// where opA is A or its transpose (trans_a), opB likewise, the bias and D terms
// are present only when the spec asks for them (otherwise pass null) and act is
// relu or the identity. With d_relu_mask, D is instead the mask of relu's
// derivative: C[b][m,n] = D[b][m,n] > 0 ? act(...) : 0 (backprop through relu).
// A general epilogue (spec.epilogue, applied after those) adds one pointer
// argument E0, E1, ... after task_end per operand it reads, then O0, O1, ...
// per extra output it writes. The tasks are disjoint output blocks: calling the
// function on a partition of [0, plan.num_tasks) from several threads at once
// computes the whole product, each concurrent call with its own scratch of
// plan.scratch_bytes bytes (64-byte aligned; null when that is 0). D must not
// alias C (use beta for C = alpha*A*B + beta*C); A and B must not alias C.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nabla/runtime/dtype.h"

namespace llvm {
class Function;
class Module;
class Value;
class IRBuilderBase;
}  // namespace llvm

namespace nabla {

// Overrides of the automatic choices, for tests and tuning (0 / -1 = automatic).
struct GemmTuning {
  int64_t mr = 0;      // rows of the register tile (broadcast operand A)
  int64_t nr = 0;      // columns of the register tile, a multiple of the vector width
  int64_t mc = 0;      // rows of A per packed block
  int64_t nc = 0;      // columns of B per packed block
  int64_t kc = 0;      // depth of a packed block
  int pack_a = -1;     // 0: read A in place, 1: pack it
  int pack_b = -1;     // 0: read B in place (only without trans_b), 1: pack it
  int64_t tasks_m = 0; // split of M (and N) into tasks per batch
  int64_t tasks_n = 0;
};

// A general epilogue: on the last K block, after the fixed epilogue terms,
// every output vector v (lanes n .. n + W of row m of batch b, masked at the
// right edge) becomes apply(builder, v, e)[0], where e holds the vector of each
// operand at the same (b, m, n), in register form (bool as i1 lanes); the
// vectors apply returns after it go to the extra outputs O0, O1, ... (laid
// out as C, of C's dtype), so C may keep the product while O0 gets, say,
// relu(product + bias). Operand
// i is the function's argument E_i; its element (b, m, n) is at
// E_i[b * stride_batch + m * stride_m + n * stride_n] with stride_n 1 (a row
// is read as a vector) or 0 (one element per row, broadcast). apply must
// emit straight-line code at the builder's position (no new blocks).
struct GemmEpilogueOperand {
  DType dtype = DType::f32;
  int64_t stride_batch = 0, stride_m = 0, stride_n = 1;
};

struct GemmEpilogue {
  std::vector<GemmEpilogueOperand> operands;
  int64_t outputs = 0;  // extra outputs O0, O1, ...
  std::function<std::vector<llvm::Value*>(llvm::IRBuilderBase& b, llvm::Value* v,
                                          const std::vector<llvm::Value*>& e)>
      apply;  // empty: no general epilogue
};

struct GemmSpec {
  DType dtype = DType::f32;  // f32 or f64
  int64_t batch = 1;
  int64_t M = 0, N = 0, K = 0;
  bool trans_a = false;  // A is stored K x M (else M x K)
  bool trans_b = false;  // B is stored N x K (else K x N)
  // Leading dimensions (elements between rows as stored); 0 means dense.
  int64_t lda = 0, ldb = 0, ldc = 0, ldd = 0;
  // Elements between consecutive batch matrices; -1 means dense, 0 broadcasts.
  int64_t stride_a = -1, stride_b = -1, stride_c = -1, stride_d = -1;
  double alpha = 1.0;
  double beta = 0.0;     // 0: C is overwritten (its old value is never read)
  bool bias = false;     // add bias[n] (one vector of N, shared by all batches)
  bool has_d = false;    // add d_scale * D[m,n]
  double d_scale = 1.0;
  bool d_relu_mask = false;  // with has_d: keep C where D > 0, else 0 (no add)
  bool relu = false;     // relu(x) = x > 0 ? x : 0, NaN stays NaN
  // Exact: every element sums its products one k after the other, ascending,
  // from +0, each product rounded before it is added (no FMA), and each
  // epilogue term likewise (alpha * sum, + beta * C, + bias, + d_scale * D):
  // the results equal those of the plain loops (and of nabla's interpreter)
  // bit for bit. On Zen 4 this costs little: multiplies and adds issue on
  // separate pipes. Otherwise the products are fused multiply-adds and K is
  // summed block by block.
  bool exact = false;
  GemmEpilogue epilogue;
  // B packed by the caller's function instead of read (trans_b false; implies
  // packing B): void pack_b_fn(const T* B, T* dst, int64_t pc, int64_t jc,
  // int64_t kc, int64_t nc) writes the kc x nc block of B at (pc, jc) as the
  // kernels read it, dst[(j / nr) * nr * kc + k * nr + j % nr] = B(pc + k,
  // jc + j), and 0 for j from nc to nc rounded up to nr. The B argument is
  // passed to it as given: e.g. an image whose im2col is B (an implicit
  // im2col, compiler/lower_conv_pack.cpp). It must be in the GEMM's module.
  llvm::Function* pack_b_fn = nullptr;
  int vector_bits = 512;
  int threads = 1;       // concurrent callers the task split is made for
  // Attached to every emitted function when not empty.
  std::string target_cpu, target_features;
  GemmTuning tuning;
};

// The choices made for a spec, and what a caller must provide.
struct GemmPlan {
  int64_t num_tasks = 0;
  int64_t scratch_bytes = 0;  // per concurrent call
  int64_t lanes = 0;          // elements per vector
  int64_t mr = 0, nr = 0, mc = 0, nc = 0, kc = 0;
  bool pack_a = false, pack_b = false;
  int64_t tasks_m = 1, tasks_n = 1;  // tasks per batch = tasks_m * tasks_n
  int64_t task_rows = 0, task_cols = 0;
  // Resolved layout.
  int64_t lda = 0, ldb = 0, ldc = 0, ldd = 0;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0, stride_d = 0;
};

// Checks the spec (throws nabla::Error naming what is wrong) and chooses the
// blocking, the register tile and the task split.
GemmPlan plan_gemm(const GemmSpec& spec);

// Emits the function NAME (and its internal helpers, named NAME.*) into `module`.
llvm::Function* emit_gemm(llvm::Module& module, const GemmSpec& spec, const std::string& name);

// The same GEMM's body emitted at the builder's position in its function
// (which gets the GEMM's attributes: scheduled, not inlined), its kernels and
// packing as functions NAME.*; `args` as emit_gemm's function takes them: A,
// B, C, bias, D, scratch, task_begin, task_end, then the epilogue's operands
// and outputs. A constant range of one task has no loop around it, and every
// loop of constant bounds that runs once is emitted without its loop. The
// builder ends after it.
void emit_gemm_into(llvm::IRBuilderBase& b, const GemmSpec& spec, const std::string& name,
                    const std::vector<llvm::Value*>& args);

class Node;

// The spec of a matmul node's product (f32/f64; batch dimensions flattened),
// for `threads` concurrent callers. Throws nabla::Error for another op or dtype.
GemmSpec gemm_spec_for_matmul(const Node& matmul, int threads);

// For callers that run a GEMM through a parallel loop over thread slots: emits
// at the builder's position the calls that run slots [slot_begin, slot_end)
// of `slots`: slot s runs the tasks [s * n / slots, (s + 1) * n / slots) with
// the scratch at scratch + s * plan.scratch_bytes (so the caller provides
// slots * plan.scratch_bytes bytes). `operands` are A, B, C, bias, D (null
// pointers where unused); `epilogue_operands` are E0, E1, ..., O0, O1, ...
void emit_gemm_slots(llvm::IRBuilderBase& b, llvm::Function* gemm, const GemmPlan& plan,
                     const std::vector<llvm::Value*>& operands, llvm::Value* scratch,
                     llvm::Value* slot_begin, llvm::Value* slot_end, int64_t slots,
                     const std::vector<llvm::Value*>& epilogue_operands = {});

}  // namespace nabla
