#pragma once
// Serial kernels side by side: when several kernels that each run on one
// thread (a sequential sum, a kernel too small to split) follow each other in
// the schedule and none touches bytes another writes, the entry runs them as
// one parallel loop whose tasks each run some of them (compiler/lower.cpp).
// Each kernel still runs whole on one thread, with the same code: results do
// not change. Internal to compiler/; docs/backend.md describes it.
#include <cstdint>
#include <vector>

#include "nabla/compiler/memory_plan.h"

namespace nabla {

// Bytes [begin, end) of one buffer: an output (`index`), or the workspace.
// Inputs and constants are never written, so they are left out.
struct ByteSpan {
  StorageKind kind = StorageKind::Workspace;
  int64_t index = 0;
  int64_t begin = 0, end = 0;
};

// What a kernel reads and writes, by the memory plan.
struct KernelAccess {
  std::vector<ByteSpan> reads, writes;
};

// The kernel that stores `outs` (a node, or the stored nodes of a fused
// group) with `scratch_bytes` of scratch at plan.scratch_offset[outs[0]]:
// it writes outs' buffers and its scratch, and reads every operand of outs.
KernelAccess kernel_access(const MemoryPlan& plan, const std::vector<const Node*>& outs, int64_t scratch_bytes);

// Neither kernel writes bytes the other reads or writes: they may run in
// either order, or at the same time.
bool independent(const KernelAccess& a, const KernelAccess& b);

// The kernels (by their work) dealt to at most `tasks` tasks, largest first
// to the task with the least work so far; each task's kernels in their
// original order. Tasks that would be empty are left out.
std::vector<std::vector<size_t>> deal_to_tasks(const std::vector<int64_t>& work, int tasks);

}  // namespace nabla
