#pragma once
// Internal to the GEMM emitter (compiler/gemm*.cpp): the state shared by the
// pieces that build the micro-kernels, the packing routines and the driver.
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include "nabla/compiler/gemm.h"

namespace nabla::gemm_detail {

// Loops and vector helpers over one IRBuilder.
class IrTools {
 public:
  IrTools(llvm::IRBuilder<>& b, llvm::Type* elt, int64_t lanes);

  llvm::IRBuilder<>& b;
  llvm::Type* elt;
  int64_t lanes;
  llvm::FixedVectorType* vec;
  llvm::Type* i64;
  llvm::PointerType* ptr;

  llvm::Value* c64(int64_t v) const;
  llvm::Value* splat(double v) const;
  llvm::Value* zero_vec() const;
  // ptr + i elements (i an i64 value or a constant).
  llvm::Value* at(llvm::Value* base, llvm::Value* i);
  llvm::Value* at(llvm::Value* base, int64_t i);
  // A vector of `valid` leading elements at p (the rest zero); masked when
  // valid < lanes. `align` is in bytes (1 when unknown).
  llvm::Value* load(llvm::Value* p, int64_t valid, unsigned align = 1);
  void store(llvm::Value* v, llvm::Value* p, int64_t valid, unsigned align = 1);
  // `is_volatile` keeps one load per use: x86 then folds each into its
  // multiply as an embedded broadcast ({1to16}) instead of one vbroadcastss.
  llvm::Value* broadcast_load(llvm::Value* p, bool is_volatile = false);
  // A vector of `lanes` elements of type `element` at p, `valid` of them
  // loaded (masked), the rest zero.
  llvm::Value* load_of(llvm::Type* element, llvm::Value* p, int64_t valid, unsigned align);
  // A read prefetch of the line at p into all cache levels (never faults).
  void prefetch(llvm::Value* p);
  // a * x + y as llvm.fmuladd: one fused instruction where the CPU has FMA,
  // a multiply and an add where it has not (never a libm call). Only where
  // contraction is allowed (fast-math): exact sums multiply and add apart.
  llvm::Value* fmuladd(llvm::Value* a, llvm::Value* x, llvm::Value* y);
  llvm::Value* relu(llvm::Value* v);
  // Transposes a lanes x lanes block given as `lanes` row vectors.
  std::vector<llvm::Value*> transpose(std::vector<llvm::Value*> rows);

  // for (i = begin; i < end; i += step) body(i); the builder ends after the loop.
  void loop(llvm::Value* begin, llvm::Value* end, int64_t step,
            const std::function<void(llvm::Value*)>& body, const char* name = "i");
  // Marks the loop whose latch branch this is as not to be unrolled.
  void keep_rolled(llvm::BranchInst* latch);
  // if (cond) then(); the builder ends after it.
  void when(llvm::Value* cond, const std::function<void()>& then);
  llvm::Value* min(llvm::Value* a, llvm::Value* b);

 private:
  llvm::Constant* mask(int64_t valid) const;
  std::vector<llvm::Value*> transpose_512(std::vector<llvm::Value*> rows);
};

// The arguments of the GEMM function (GemmEmitter::emit) by slot: A, B, C,
// bias, D, scratch, the range of tasks [task_begin, task_end), then the
// general epilogue's operands and its extra outputs from `epilogue` on.
namespace gemm_arg {
enum : unsigned { A, B, C, bias, D, scratch, task_begin, task_end, epilogue };
}  // namespace gemm_arg

// The arguments of a micro-kernel (GemmEmitter::kernel) by slot: a, b, c, kc,
// first, last, bias, d, lda (A's leading dimension, read where A is not
// packed), then the general epilogue's operands at the tile's corner and its
// extra outputs from `epilogue` on.
namespace kernel_arg {
enum : unsigned { a, b, c, kc, first, last, bias, d, lda, epilogue };
}  // namespace kernel_arg

class GemmEmitter {
 public:
  GemmEmitter(llvm::Module& m, const GemmSpec& spec, std::string name);
  llvm::Function* emit();
  // The same body at `caller`'s position in its function (which becomes a
  // scheduled one); `args` by slot as emit()'s arguments. The builder ends
  // after it.
  void emit_into(llvm::IRBuilderBase& caller, const std::vector<llvm::Value*>& args);

 private:
  void emit_tasks(const std::vector<llvm::Value*>& args);
  llvm::Function* new_function(const std::string& suffix, llvm::FunctionType* type);
  void set_attributes(llvm::Function* f);
  llvm::Function* transpose_block();
  // void kernel(a, b, c, kc, first, last, bias, d, lda, e...): one mr x
  // ncols output tile (e: the general epilogue's operands at the tile's
  // corner).
  llvm::Function* kernel(int64_t mr, int64_t ncols);
  // A kernel's output tile: mr rows of nv vectors of `lanes`, the last vector
  // of a row with last_lanes valid lanes.
  struct Tile {
    llvm::Function* f;
    int64_t mr, nv, lanes, last_lanes;
    int64_t lanes_of(int64_t j) const { return j < nv - 1 ? lanes : last_lanes; }
  };
  // The steps of kernel(), in order (compiler/gemm_kernel.cpp).
  llvm::Function* declare_kernel(int64_t mr, int64_t ncols);
  Tile tile_of(llvm::Function* f, int64_t mr, int64_t ncols) const;
  llvm::Value* c_at(const Tile& t, int64_t r, int64_t j);
  std::vector<llvm::Value*> kernel_k_loop(const Tile& t);
  std::vector<llvm::Value*> kernel_init(const Tile& t, llvm::BasicBlock* entry);
  std::vector<llvm::Value*> a_row_offsets(const Tile& t, llvm::BasicBlock* entry);
  std::vector<llvm::Value*> kernel_step(const Tile& t, llvm::Value* k, const std::vector<llvm::Value*>& a_rows,
                                        const std::vector<llvm::PHINode*>& acc);
  void kernel_store(const Tile& t, const std::vector<llvm::Value*>& acc);
  std::vector<llvm::Value*> store_first_block(const Tile& t, const std::vector<llvm::Value*>& acc);
  std::vector<llvm::Value*> store_later_block(const Tile& t, const std::vector<llvm::Value*>& acc);
  std::vector<llvm::Value*> kernel_epilogue(const Tile& t, const std::vector<llvm::Value*>& v);
  std::vector<llvm::Value*> branch(llvm::Function* f, llvm::Value* cond,
                                   const std::function<std::vector<llvm::Value*>()>& on_true,
                                   const std::function<std::vector<llvm::Value*>()>& on_false);
  llvm::Value* mul_add(llvm::Value* s, llvm::Value* x, llvm::Value* y);  // s * x + y, fused unless exact
  // void pack_a(src, dst, kc, mc) / pack_b(src, dst, kc, nc).
  llvm::Function* pack_a();
  llvm::Function* pack_b();
  void pack_a_panel(llvm::Value* src, llvm::Value* dst, llvm::Value* kc, int64_t rows);
  void pack_b_panel(llvm::Value* src, llvm::Value* dst, llvm::Value* kc, int64_t cols);
  // Emits the packing of `rows` rows of a row-major source into lanes-wide
  // groups transposed: dst[k * dst_stride + r] = src[r * ld + k].
  void pack_transposed(llvm::Value* src, int64_t ld, llvm::Value* dst, int64_t dst_stride,
                       llvm::Value* kc, int64_t rows);
  void emit_block(llvm::Function* f, llvm::Value* a, llvm::Value* b, llvm::Value* c,
                  llvm::Value* bias, llvm::Value* d, const std::vector<llvm::Value*>& e,
                  llvm::Value* scratch, llvm::Value* m0, llvm::Value* m1, llvm::Value* n0,
                  llvm::Value* n1);
  // The general epilogue (spec.epilogue) on the vector x of tile element (r, j).
  llvm::Value* apply_epilogue(llvm::Function* kernel, llvm::Value* x, int64_t r, int64_t j,
                              int64_t valid);
  // The stored element type of a general epilogue operand.
  llvm::Type* memory_type(DType t);

  llvm::Module& mod_;
  const GemmSpec& spec_;
  GemmPlan plan_;
  std::string name_;
  llvm::IRBuilder<> b_;
  IrTools t_;
  std::map<std::pair<int64_t, int64_t>, llvm::Function*> kernels_;
  llvm::Function* pack_a_fn_ = nullptr;
  llvm::Function* pack_b_fn_ = nullptr;
};

}  // namespace nabla::gemm_detail
