#pragma once
// Views in fused bodies: a `slice` or `concat` whose operands are body
// inputs, constants or other views is read in place by the region's loop (no
// copy kernel). Its elements come from one source (an input or a constant)
// through an affine index map that changes only where a concat switches
// operands: its *cuts*. The backend splits the region's iteration space at
// the cuts of all its views into *cells* (boxes) and runs one loop nest per
// cell, in which each view is a strided read of one source. The fuse pass
// (passes/fuse.h) limits a region to kMaxViewCells cells.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla {

inline constexpr int64_t kMaxViewCells = 16;

inline bool is_view_op(Op op) { return op == Op::Slice || op == Op::Concat; }

// Per axis, the sorted indices in (0, extent) at which the source of the
// element changes. `inside(n)` says whether the view operand n is read
// through (a view of the region); other operands are sources.
using ViewCuts = std::vector<std::vector<int64_t>>;
using ViewInside = std::function<bool(const Node&)>;
ViewCuts view_cuts(const Node& view, const ViewInside& inside);

// Where the elements of `view` in the cell that holds the index `at` are:
// element i is source element offset + sum_a strides[a] * i[a]. A node that
// is no view (or not inside) reads itself, row-major.
struct ViewRead {
  const Node* source = nullptr;
  std::vector<int64_t> strides;
  int64_t offset = 0;
};
ViewRead read_view(const Node& view, std::span<const int64_t> at, const ViewInside& inside);

// The cuts of an iteration space `shape` over which each of `views` is read
// broadcast (trailing axes aligned, size-1 axes repeated).
ViewCuts iteration_cuts(const Shape& shape, std::span<const Node* const> views, const ViewInside& inside);

// The number of cells the cuts make (the product of cuts + 1 over the axes).
int64_t cell_count(const ViewCuts& cuts);

}  // namespace nabla
