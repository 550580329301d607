#pragma once
// An element program: the per-element computation of an elementwise kernel,
// of a fused region (several elementwise ops in one loop), or of the input of
// a reduction. Leaves are read from memory, broadcast to the iteration space;
// gathers are read from memory through their index (compiler/lower_indexed.h);
// the other nodes are computed in registers (compiler/lower_scalar.h).
//
// Accessors (the loop nest's offsets a program reads at): one per leaf, then
// two per gather (its index, and its table's offset without the axis).
#include <span>
#include <vector>

#include "nabla/ir/function.h"

namespace llvm {
class Value;
}

namespace nabla {

class KernelBuilder;
struct KernelEnv;

struct ElementProgram {
  std::vector<const Node*> leaves;  // read from memory, each once per element
  std::vector<const Node*> gathers;  // indexed reads of body gathers, after the leaves
  std::vector<const Node*> nodes;   // computed in this order
  const Node* value = nullptr;      // the node whose element the program yields
  std::vector<const Node*> values;  // all of them, for a program of several values
  // Whether a leaf is a view of a fused body (a slice or concat read in
  // place, ir/fused_views.h): its pointer and strides then depend on the cell.
  bool reads_views = false;

  size_t accessors() const { return leaves.size() + 2 * gathers.size(); }
};

// The program that yields `value`, a node of the kernel's own node (for a
// fused node, a node of its body; otherwise the node itself or an operand).
ElementProgram element_program(const Node& kernel_node, const Node* value);
// The program that yields several values of one fused body (a fused group),
// computing what they share once.
ElementProgram element_program(const Node& kernel_node, const std::vector<const Node*>& values);

// The element strides of each accessor over the loop shape `loop` (which the
// program's values have, up to leading or size-1 axes), and the memory pointer
// of each (an operand pointer or a constant's global; a gather's two: its
// index and its table; for a view, of the source that read_view names).
std::vector<std::vector<int64_t>> accessor_strides(const ElementProgram& p, const Shape& loop);
std::vector<llvm::Value*> leaf_pointers(KernelEnv& env, const ElementProgram& p);
// The pointer of one leaf: an operand of the kernel's node, or a body
// input's operand or a body constant's data.
llvm::Value* leaf_pointer(KernelEnv& env, const Node* leaf);

// Emits the loads of the leaves and gathers at the given accessor offsets and
// the computation; returns the value (register type).
llvm::Value* emit_program(KernelBuilder& kb, const ElementProgram& p,
                          std::span<llvm::Value* const> leaf_ptrs,
                          std::span<llvm::Value* const> leaf_offsets);
// The same for a program of several values: one register value per entry of p.values.
std::vector<llvm::Value*> emit_program_values(KernelBuilder& kb, const ElementProgram& p,
                                              std::span<llvm::Value* const> leaf_ptrs,
                                              std::span<llvm::Value* const> leaf_offsets);

// Computes the program's nodes from its leaves' values (then its gathers'),
// for several independent copies at once (one list of values per copy; scalars, or
// vectors of one width), node by node across the copies so that their
// chains interleave. Returns, per copy, one value per entry of p.values.
std::vector<std::vector<llvm::Value*>> compute_program(
    KernelBuilder& kb, const ElementProgram& p, const std::vector<std::vector<llvm::Value*>>& leaf_values);

// True when computing the program calls libm (exp, log, tanh, pow, ...):
// its loops are then kept scalar (KernelBuilder::scalar_loops).
bool calls_libm(const ElementProgram& p);

// Sets kb.scalar_loops for the life of the guard.
class ScalarLoops {
 public:
  ScalarLoops(KernelBuilder& kb, bool on);
  ~ScalarLoops();

 private:
  KernelBuilder& kb_;
  bool saved_;
};

// The body of a fused node, or null.
const Function* fused_body(const Node& n);
// The reduction among the results of a fused node's body, or null.
const Node* fused_reduction(const Node& n);

}  // namespace nabla
