#pragma once
// Loop nests over a static index space with several strided accessors: the
// shape of elementwise, reduction and copy kernels. Adjacent axes that every
// accessor walks contiguously are merged first, so that the innermost loop is
// as long as possible and unit-stride (or invariant) for each accessor, which
// is what LLVM's loop vectorizer wants.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "nabla/runtime/tensor.h"

namespace llvm {
class Value;
}

namespace nabla {

class KernelBuilder;

struct LoopNest {
  Shape shape;                                // after merging; size-1 axes dropped
  std::vector<std::vector<int64_t>> strides;  // per accessor, per axis (elements)
  std::vector<int64_t> offsets;               // per accessor: the element offset of index 0

  int64_t numel() const { return num_elements(shape); }
};

// Builds the merged nest over `shape` for accessors with the given strides
// (one entry per axis of shape) and offsets.
LoopNest make_loop_nest(const Shape& shape, std::vector<std::vector<int64_t>> strides,
                        std::vector<int64_t> offsets = {});

using NestBody = std::function<void(std::span<llvm::Value* const>)>;

// Emits the loops. body gets, for each accessor, its element offset (i64) at
// the current index. When begin/end are given, the outermost axis runs over
// [begin, end) instead of all of it (a task of a parallel loop). A nest of
// two or more axes calls `row` (when given) before each run of the innermost
// loop, with the offsets where that run starts.
void emit_loop_nest(KernelBuilder& kb, const LoopNest& nest, const NestBody& body, llvm::Value* begin = nullptr,
                    llvm::Value* end = nullptr, const NestBody& row = {});

}  // namespace nabla
