#pragma once
// Memory planning: where every value of a function lives when it runs. Inputs
// and results are the caller's buffers, constants are read-only data, and
// every intermediate gets a slice of one workspace arena. Intermediates whose
// lifetimes (over the schedule, the body order) do not overlap share bytes.
// reshape, stop_gradient and barrier produce no code: they alias their
// operand's storage. A concat result with contiguous blocks whose operands
// are computed for it alone is assembled in place (MemoryPlan::assembled).
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla {

enum class StorageKind : uint8_t { Input, Output, Workspace, Constant };

struct Storage {
  StorageKind kind = StorageKind::Workspace;
  int64_t index = 0;            // Input / Output: the argument position
  int64_t offset = 0;           // Workspace: byte offset in the arena; Output: in the output
  const Node* owner = nullptr;  // the node whose kernel (or literal) fills it
  // Output: the element strides of a block that is not contiguous in the
  // output (a concat's operand along an inner axis, MemoryPlan::assembled);
  // empty: row-major.
  std::vector<int64_t> strides;
};

struct MemoryPlan {
  // Every value a kernel reads or writes, or a result copies.
  std::unordered_map<const Node*, Storage> storage;
  // The nodes that need a kernel, in schedule order (dead and empty ones left
  // out). The nodes of a fused group are listed each, but one kernel, at the
  // first of them, writes them all.
  std::vector<const Node*> kernels;
  // Scratch space of a kernel (only for kernels that asked for some).
  std::unordered_map<const Node*, int64_t> scratch_offset;
  // Results that no kernel writes in place (an input, a constant, an alias,
  // a value returned twice): copied into output `output` at the end.
  struct Copy {
    const Node* from;
    int output;
  };
  std::vector<Copy> result_copies;
  // Concats assembled in place: each operand's kernel writes its block of
  // the output (an Output storage with a byte offset, and strides when the
  // block is not contiguous), so the concat has no kernel.
  std::unordered_set<const Node*> assembled;

  int64_t workspace_bytes = 0;     // the arena's size
  int64_t intermediate_bytes = 0;  // the sum of all workspace buffers' sizes (no sharing)
  int64_t peak_live_bytes = 0;     // the most bytes live at one point of the schedule
};

inline constexpr int64_t kBufferAlign = 64;

// Plans f. scratch(n) gives the scratch bytes the kernel of n needs.
MemoryPlan plan_memory(const Function& f, const std::function<int64_t(const Node&)>& scratch);

}  // namespace nabla
