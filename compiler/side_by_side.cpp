#include "nabla/compiler/side_by_side.h"

#include <algorithm>
#include <limits>

namespace nabla {
namespace {

// Where n's value lives, rounded up to the plan's alignment (buffers do not
// share their padding, but this errs on the safe side); false for inputs,
// constants and empty values, which no kernel writes.
bool span_of(const MemoryPlan& plan, const Node* n, ByteSpan& span) {
  const Storage& s = plan.storage.at(n);
  if (s.kind == StorageKind::Input || s.kind == StorageKind::Constant) return false;
  int64_t bytes = n->type().numel() * static_cast<int64_t>(dtype_size(n->dtype()));
  if (bytes <= 0) return false;
  span.kind = s.kind;
  span.index = s.kind == StorageKind::Output ? s.index : 0;
  if (!s.strides.empty()) {  // a strided block of an assembled concat: all of the output
    span.begin = 0;
    span.end = std::numeric_limits<int64_t>::max();
    return true;
  }
  span.begin = s.offset;
  span.end = s.offset + (bytes + kBufferAlign - 1) / kBufferAlign * kBufferAlign;
  return true;
}

bool overlap(const ByteSpan& a, const ByteSpan& b) {
  return a.kind == b.kind && a.index == b.index && a.begin < b.end && b.begin < a.end;
}

bool any_overlap(const std::vector<ByteSpan>& a, const std::vector<ByteSpan>& b) {
  for (const ByteSpan& x : a)
    for (const ByteSpan& y : b)
      if (overlap(x, y)) return true;
  return false;
}

}  // namespace

KernelAccess kernel_access(const MemoryPlan& plan, const std::vector<const Node*>& outs, int64_t scratch_bytes) {
  KernelAccess access;
  ByteSpan span;
  for (const Node* o : outs) {
    if (span_of(plan, o, span)) access.writes.push_back(span);
    for (const Node* op : o->operands())
      if (span_of(plan, op, span)) access.reads.push_back(span);
  }
  if (scratch_bytes > 0) {
    int64_t at = plan.scratch_offset.at(outs[0]);
    access.writes.push_back({StorageKind::Workspace, 0, at, at + scratch_bytes});
  }
  return access;
}

bool independent(const KernelAccess& a, const KernelAccess& b) {
  return !any_overlap(a.writes, b.writes) && !any_overlap(a.writes, b.reads) && !any_overlap(b.writes, a.reads);
}

std::vector<std::vector<size_t>> deal_to_tasks(const std::vector<int64_t>& work, int tasks) {
  std::vector<size_t> order(work.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return work[a] > work[b]; });
  size_t n = std::min(work.size(), static_cast<size_t>(std::max(tasks, 1)));
  std::vector<std::vector<size_t>> dealt(n);
  std::vector<int64_t> load(n, 0);
  for (size_t k : order) {
    size_t least = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    dealt[least].push_back(k);
    load[least] += work[k];
  }
  for (auto& t : dealt) std::sort(t.begin(), t.end());
  return dealt;
}

}  // namespace nabla
