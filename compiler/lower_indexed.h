#pragma once
// Indexed reads and writes inside loop nests: a gather of a fused body read
// through its index where its table is (no gathered buffer), and a fused
// scatter_add whose updates its own loop computes (no updates buffer). The
// one place that says how an index addresses a table in a loop; the
// standalone gather and scatter_add kernels (compiler/lower_axis.cpp) use
// the same index arithmetic and checks.
//
// A gather of x [X0..Xa..Xr] along axis a by idx [I...] has the shape
// X[:a] + I + X[a+1:]; its element at (o, p, i) is x at (o, idx[p], i). Over
// that shape the index is read with strides (0.., I's row-major strides, ..0)
// and the table at offset (X's strides with 0 over I) + idx[p] * X's stride a.
// A scatter_add writes its result the same way its updates would be gathered.
#include <cstdint>
#include <string_view>
#include <vector>

#include "nabla/compiler/loop_nest.h"
#include "nabla/compiler/lower.h"

namespace llvm {
class Value;
}

namespace nabla {

class KernelBuilder;
struct ElementProgram;

struct IndexedAccess {
  std::vector<int64_t> index;  // strides of the index over the gathered shape
  std::vector<int64_t> table;  // strides of the table (or result) over it, 0 over the index's axes
  int64_t axis_stride = 0;     // table elements from one entry along the axis to the next
  int64_t bound = 0;           // the table's size along the axis
};

// For a gather or scatter_add node.
IndexedAccess indexed_access(const Node& n);

// Strides given over the axes of `from`, for a loop over `to`, which has the
// same elements up to leading axes and size-1 axes (0 where from has 1).
std::vector<int64_t> aligned_strides(const Shape& from, const std::vector<int64_t>& strides, const Shape& to);

// The index at element `at` of idx (i32 or i64) as an i64, and a checked
// index v made non-negative: v < 0 ? v + bound : v.
llvm::Value* load_index(KernelBuilder& kb, DType t, llvm::Value* ptr, llvm::Value* at);
llvm::Value* index_position(KernelBuilder& kb, llvm::Value* v, int64_t bound);

// The element of gather g at index offset `index_at` of `index` and table
// offset `table_at` (without the axis) of `table`.
llvm::Value* emit_indexed_read(KernelBuilder& kb, const Node& g, llvm::Value* index, llvm::Value* index_at,
                               llvm::Value* table, llvm::Value* table_at);

// A `row` for emit_loop_nest over p's accessors (then any others): for each
// gather of p whose index is constant along the nest's innermost axis and
// whose table row is contiguous there (an embedding bag: one row per index),
// prefetches the row the gather reads 16 runs of the innermost loop later
// (its first 512 bytes); empty when no gather is such. Without it, random
// rows arrive one out-of-order window at a time.
NestBody gather_prefetches(KernelBuilder& kb, const ElementProgram& p, const LoopNest& nest,
                           std::vector<llvm::Value*> ptrs);

// Fails (NABLA_INDEX_OUT_OF_RANGE, naming `op`) unless every index of idx is
// in [-bound, bound).
void check_indices(KernelEnv& env, const Node& idx, llvm::Value* ptr, int64_t bound, std::string_view op);

// Whether a fused node's body reads or writes through indices (its kernel's
// checks run first, KernelInfo::checks), and those checks.
bool indexes(const Node& fused);
void emit_fused_checks(KernelEnv& env);

// The scatter_add that ends a fused node's body, or null; its kernel.
const Node* fused_scatter(const Node& n);
KernelInfo describe_fused_scatter(const Node& n, const LowerOptions& o);
void emit_fused_scatter(KernelEnv& env);

}  // namespace nabla
