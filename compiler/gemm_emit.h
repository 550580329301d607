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
  llvm::Value* broadcast_load(llvm::Value* p);
  // A vector of `lanes` elements of type `element` at p, `valid` of them
  // loaded (masked), the rest zero.
  llvm::Value* load_of(llvm::Type* element, llvm::Value* p, int64_t valid, unsigned align);
  // A read prefetch of the line at p into all cache levels (never faults).
  void prefetch(llvm::Value* p);
  llvm::Value* fma(llvm::Value* a, llvm::Value* x, llvm::Value* y);  // a * x + y
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

class GemmEmitter {
 public:
  GemmEmitter(llvm::Module& m, const GemmSpec& spec, std::string name);
  llvm::Function* emit();

 private:
  llvm::Function* new_function(const std::string& suffix, llvm::FunctionType* type);
  void set_attributes(llvm::Function* f);
  llvm::Function* transpose_block();
  // void kernel(a, b, c, kc, first, last, bias, d, e...): one mr x ncols
  // output tile (e: the general epilogue's operands at the tile's corner).
  llvm::Function* kernel(int64_t mr, int64_t ncols);
  void kernel_store(llvm::Function* f, int64_t mr, int64_t ncols,
                    std::vector<llvm::Value*>& acc);
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
