#include "nabla/compiler/memory_plan.h"

#include <algorithm>
#include <map>
#include <unordered_set>

#include "nabla/ir/fused.h"
#include "nabla/ir/fused_views.h"
#include "nabla/ir/loop.h"

namespace nabla {
namespace {

// A workspace buffer: its aligned size and the schedule positions where it is
// first written and last read (inclusive).
struct Interval {
  int64_t size;
  int64_t def, last;
  int64_t offset = 0;
};

int64_t align_up(int64_t v) { return (v + kBufferAlign - 1) / kBufferAlign * kBufferAlign; }

// Greedy by size: the largest buffers are placed first, each at the lowest
// offset where it overlaps no already placed buffer that is live at the same
// time. Quadratic in the worst case, so only for moderate counts.
int64_t place_by_size(std::vector<Interval>& items) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return items[a].size > items[b].size; });
  std::vector<size_t> placed;
  int64_t total = 0;
  std::vector<std::pair<int64_t, int64_t>> busy;  // [offset, end) of time-overlapping buffers
  for (size_t i : order) {
    Interval& it = items[i];
    busy.clear();
    for (size_t j : placed) {
      const Interval& o = items[j];
      if (o.def <= it.last && it.def <= o.last) busy.emplace_back(o.offset, o.offset + o.size);
    }
    std::sort(busy.begin(), busy.end());
    int64_t at = 0;
    for (auto [lo, hi] : busy) {
      if (lo - at >= it.size) break;
      at = std::max(at, hi);
    }
    it.offset = at;
    total = std::max(total, at + it.size);
    placed.push_back(i);
  }
  return total;
}

// Linear scan over the schedule with a best-fit free list (for large graphs).
int64_t place_linear(std::vector<Interval>& items) {
  std::vector<size_t> by_def(items.size()), by_last(items.size());
  for (size_t i = 0; i < items.size(); ++i) by_def[i] = by_last[i] = i;
  std::stable_sort(by_def.begin(), by_def.end(), [&](size_t a, size_t b) { return items[a].def < items[b].def; });
  std::stable_sort(by_last.begin(), by_last.end(), [&](size_t a, size_t b) { return items[a].last < items[b].last; });
  std::map<int64_t, int64_t> free_blocks;  // offset -> size
  int64_t top = 0;
  auto release = [&](const Interval& it) {
    int64_t lo = it.offset, size = it.size;
    auto next = free_blocks.lower_bound(lo);
    if (next != free_blocks.end() && next->first == lo + size) {
      size += next->second;
      next = free_blocks.erase(next);
    }
    if (next != free_blocks.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == lo) {
        prev->second += size;
        return;
      }
    }
    free_blocks[lo] = size;
  };
  size_t freed = 0;
  for (size_t i : by_def) {
    Interval& it = items[i];
    // Buffers whose last read comes before this definition are free again.
    while (freed < by_last.size() && items[by_last[freed]].last < it.def) release(items[by_last[freed++]]);
    auto best = free_blocks.end();
    for (auto b = free_blocks.begin(); b != free_blocks.end(); ++b)
      if (b->second >= it.size && (best == free_blocks.end() || b->second < best->second)) best = b;
    if (best != free_blocks.end()) {
      it.offset = best->first;
      int64_t rest = best->second - it.size;
      int64_t rest_at = best->first + it.size;
      free_blocks.erase(best);
      if (rest > 0) free_blocks[rest_at] = rest;
    } else if (!free_blocks.empty() && std::prev(free_blocks.end())->first +
                                               std::prev(free_blocks.end())->second == top) {
      // Grow the arena from the free block at its end.
      auto last = std::prev(free_blocks.end());
      it.offset = last->first;
      top = it.offset + it.size;
      free_blocks.erase(last);
    } else {
      it.offset = top;
      top += it.size;
    }
  }
  return top;
}

// Whether the node's kernel checks values at run time (ops.def's kMayFail),
// itself or in its fused body: it runs even for an empty result.
bool may_fail(const Node* n) {
  if (has_flag(n->op(), kMayFail) || is_loop(n->op())) return true;  // loops: always one kernel
  if (n->body())
    for (const Node* m : *n->body())
      if (has_flag(m->op(), kMayFail)) return true;
  return false;
}

int64_t peak_live(const std::vector<Interval>& items, int64_t positions) {
  std::vector<int64_t> delta(static_cast<size_t>(positions) + 2, 0);
  for (const Interval& it : items) {
    delta[it.def] += it.size;
    delta[it.last + 1] -= it.size;
  }
  int64_t live = 0, peak = 0;
  for (int64_t d : delta) peak = std::max(peak, live += d);
  return peak;
}

// The values the results depend on.
std::unordered_set<const Node*> needed_nodes(const Function& f) {
  std::unordered_set<const Node*> needed(f.results().begin(), f.results().end());
  std::vector<const Node*> work(f.results().begin(), f.results().end());
  while (!work.empty()) {
    const Node* n = work.back();
    work.pop_back();
    // The kernel of a fused group computes all its nodes: all get storage.
    for (const Node* m : fused_group(n))
      if (needed.insert(m).second) work.push_back(m);
    for (const Node* o : n->operands())
      if (needed.insert(o).second) work.push_back(o);
  }
  return needed;
}

const Node* alias_root(const Node* n) {
  while (is_alias_op(n->op())) n = n->operand(0);
  return n;
}

bool computed(const Node* n) { return n->op() != Op::Input && n->op() != Op::Constant && !is_alias_op(n->op()); }

// Inputs are read in place; a computed result is written to its output,
// any other result copied there.
void plan_inputs_and_results(const Function& f, MemoryPlan& plan) {
  for (const Node* in : f.inputs()) plan.storage[in] = {StorageKind::Input, in->input_index(), 0, in, {}};
  for (size_t j = 0; j < f.results().size(); ++j) {
    const Node* r = f.results()[j];
    if (computed(r) && !plan.storage.count(r))
      plan.storage[r] = {StorageKind::Output, static_cast<int64_t>(j), 0, r, {}};
    else
      plan.result_copies.push_back({r, static_cast<int>(j)});
  }
}

// The node whose kernel writes operand o of concat c, when it writes it for
// c alone (o itself or the root of a chain of aliases, each with c's chain as
// its one use) and its kind writes plain elements (elementwise, fused,
// another concat); else null.
const Node* block_writer(const Node* o, const Node* c, const MemoryPlan& plan) {
  const Node* user = c;
  const Node* n = o;
  while (n->users().size() == 1 && n->users()[0] == user) {
    if (!is_alias_op(n->op())) {
      bool plain = is_elementwise(n->op()) || n->op() == Op::Fused || n->op() == Op::Concat;
      return plain && !plan.storage.count(n) && n->type().numel() > 0 ? n : nullptr;
    }
    user = n;
    n = n->operand(0);
  }
  return nullptr;
}

// A writer whose kernel can store its elements at any strides: an
// elementwise op, or a fused region of elementwise ops and gathers (no views,
// reduction, matmul or scatter_add), stored through one result accessor
// (compiler/lower_elementwise.cpp).
bool strided_writer(const Node* w) {
  if (is_elementwise(w->op())) return true;
  if (w->op() != Op::Fused || !w->body()) return false;
  return plain_loop_body(*w->body()) && !fused_matmul(*w) && !body_reduces(*w->body());
}

// The element strides of w, whose value is `block` (a concat operand) up to
// reshapes that only add or drop axes of 1, when written in place into a
// buffer of shape `whole` (row-major); empty when the reshapes do more.
std::vector<int64_t> block_strides(const Shape& block, const Shape& whole, const Shape& w) {
  std::vector<int64_t> outer = row_major_strides(whole), along;
  for (size_t a = 0; a < block.size(); ++a)
    if (block[a] != 1) along.push_back(outer[a]);
  std::vector<int64_t> strides(w.size(), 0);
  size_t k = 0;
  for (size_t a = 0; a < w.size(); ++a) {
    if (w[a] == 1) continue;
    size_t j = 0;  // the k-th axis of more than one element of block
    for (size_t seen = 0; j < block.size(); ++j)
      if (block[j] != 1 && seen++ == k) break;
    if (j == block.size() || block[j] != w[a]) return {};
    strides[a] = along[k++];
  }
  return k == along.size() ? strides : std::vector<int64_t>{};
}

// The writers of concat c's blocks and their storage (at c's own, plus each
// block's offset), or nothing. Blocks of a concat along an axis with only 1s
// before it are contiguous; otherwise each writer must store at strides, and
// the other nodes of its fused group (one result accessor) be writers of c too.
std::vector<std::pair<const Node*, Storage>> concat_blocks(const Node* c, const Storage& at, const MemoryPlan& plan) {
  int64_t axis = c->attrs().axis;
  bool contiguous = true;
  for (int64_t d = 0; d < axis; ++d) contiguous = contiguous && c->shape()[d] == 1;
  int64_t step = row_major_strides(c->shape())[static_cast<size_t>(axis)] * static_cast<int64_t>(dtype_size(c->dtype()));
  std::vector<std::pair<const Node*, Storage>> blocks;
  int64_t start = 0;
  for (const Node* o : c->operands()) {
    const Node* w = block_writer(o, c, plan);
    if (!w) return {};
    Storage s{StorageKind::Output, at.index, at.offset + start * step, w, {}};
    if (!contiguous) {
      s.strides = strided_writer(w) ? block_strides(o->shape(), c->shape(), w->shape()) : std::vector<int64_t>{};
      if (s.strides.empty()) return {};
    }
    blocks.emplace_back(w, std::move(s));
    start += o->shape()[static_cast<size_t>(axis)];
  }
  if (contiguous) return blocks;
  std::unordered_set<const Node*> writers;
  for (auto& [w, s] : blocks) writers.insert(w);
  for (auto& [w, s] : blocks)
    for (const Node* m : fused_group(w))
      if (!writers.count(m)) return {};
  return blocks;
}

// A computed result that is a concat is assembled in place when every
// operand's kernel writes it for the concat alone (ba's residuals: 13.5 MB
// not copied at ba10), and so is a concat assembled into another one (ba's
// x, y interleaving: its two writers store every other element).
void assemble_concats(const Function& f, MemoryPlan& plan) {
  std::vector<const Node*> work(f.results().rbegin(), f.results().rend());
  while (!work.empty()) {
    const Node* c = work.back();
    work.pop_back();
    if (c->op() != Op::Concat || plan.assembled.count(c)) continue;
    const Storage& at = plan.storage.at(c);
    if (at.kind != StorageKind::Output || at.owner != c || !at.strides.empty()) continue;
    if (std::any_of(c->users().begin(), c->users().end(), [](const Node* u) { return is_collective(u->op()); }))
      continue;  // they wait for c's kernel
    std::vector<std::pair<const Node*, Storage>> blocks = concat_blocks(c, at, plan);
    if (blocks.empty()) continue;
    for (auto& [w, s] : blocks) {
      plan.storage[w] = s;
      work.push_back(w);
    }
    plan.assembled.insert(c);
  }
}

// The workspace buffers: one interval per computed value kept in the
// workspace (interval_of) and per kernel's scratch (scratch_items).
struct Buffers {
  std::unordered_map<const Node*, size_t> interval_of;
  std::vector<Interval> items;
  std::vector<std::pair<const Node*, size_t>> scratch_items;
};

// Kernels in body order, and workspace buffers for the other computed values.
Buffers plan_kernels(const Function& f, const std::unordered_set<const Node*>& needed,
                     const std::function<int64_t(const Node&)>& scratch, MemoryPlan& plan) {
  Buffers b;
  // The nodes of a fused group (ir/fused.h) are all written by one kernel, at
  // the position of the group's first kernel.
  std::unordered_map<const Function*, int64_t> group_def;
  for (const Node* n : f) {
    if (!needed.count(n)) continue;
    if (n->op() == Op::Constant) {
      plan.storage[n] = {StorageKind::Constant, 0, 0, n, {}};
      continue;
    }
    if (!computed(n) || plan.assembled.count(n)) continue;
    int64_t pos = static_cast<int64_t>(plan.kernels.size());
    int64_t def = pos;
    if (n->body() && n->body()->results().size() > 1) def = group_def.emplace(n->body(), pos).first->second;
    if (n->type().numel() > 0 || may_fail(n)) plan.kernels.push_back(n);
    if (!plan.storage.count(n)) {
      plan.storage[n] = {StorageKind::Workspace, 0, 0, n, {}};
      int64_t bytes = n->type().numel() * static_cast<int64_t>(dtype_size(n->dtype()));
      if (bytes > 0) {
        b.interval_of[n] = b.items.size();
        b.items.push_back({align_up(bytes), def, pos});
      }
    }
    if (n->type().numel() > 0 || is_loop(n->op())) {
      if (int64_t s = scratch(*n); s > 0) {
        b.scratch_items.emplace_back(n, b.items.size());
        b.items.push_back({align_up(s), pos, pos});
      }
    }
  }
  return b;
}

// Lifetimes: a buffer lives until its last reader (through aliases), or to
// the end when a result copy reads it.
void set_lifetimes(const MemoryPlan& plan, Buffers& b) {
  int64_t end = static_cast<int64_t>(plan.kernels.size());
  for (int64_t pos = 0; pos < end; ++pos)
    for (const Node* o : plan.kernels[pos]->operands())
      if (auto it = b.interval_of.find(alias_root(o)); it != b.interval_of.end())
        b.items[it->second].last = std::max(b.items[it->second].last, pos);
  for (const MemoryPlan::Copy& c : plan.result_copies)
    if (auto it = b.interval_of.find(alias_root(c.from)); it != b.interval_of.end()) b.items[it->second].last = end;
}

// n's result takes the buffer of interval `root` (its operand's, which n
// reads last): n's interval merges into root's, or, when n is the caller's
// output, root's buffer (with all merged into it) becomes that output. False
// when the sizes differ.
bool take_operand_buffer(MemoryPlan& plan, Buffers& b, std::vector<bool>& merged, const Node* n, size_t root) {
  auto im = b.interval_of.find(n);
  if (im != b.interval_of.end()) {
    if (b.items[im->second].size != b.items[root].size) return false;
    b.items[root].last = std::max(b.items[root].last, b.items[im->second].last);
    merged[im->second] = true;
    im->second = root;
    return true;
  }
  if (plan.storage.at(n).kind != StorageKind::Output) return false;
  for (auto it = b.interval_of.begin(); it != b.interval_of.end();)
    if (it->second == root) {
      plan.storage[it->first] = {StorageKind::Output, plan.storage.at(n).index, plan.storage.at(n).offset, it->first, {}};
      it = b.interval_of.erase(it);
    } else {
      ++it;
    }
  merged[root] = true;
  return true;
}

// A loop's carry result takes the buffer of its initial value when the loop
// is that value's last reader and reads it only as that carry: the loop
// copies its initial carries into its results before the first step
// (compiler/lower_loop.cpp), so the copy becomes a no-op and an accumulator
// passed from loop to loop (the weight gradient of nested backward scans)
// keeps one buffer.
void share_carry_buffers(MemoryPlan& plan, Buffers& b, std::vector<bool>& merged) {
  for (size_t pos = 0; pos < plan.kernels.size(); ++pos) {
    const Node* n = plan.kernels[pos];
    if (!is_loop(n->op()) || static_cast<size_t>(n->body_result()) >= loop_layout(*n).carry) continue;
    const Node* o = alias_root(n->operand(static_cast<size_t>(n->body_result())));
    size_t reads = 0;
    for (const Node* x : n->operands()) reads += alias_root(x) == o;
    std::vector<Node*> group = fused_group(n);
    auto first = static_cast<int64_t>(pos) - (std::find(group.begin(), group.end(), n) - group.begin());
    auto io = b.interval_of.find(o);
    if (reads != 1 || io == b.interval_of.end() || b.items[io->second].last >= first + static_cast<int64_t>(group.size()))
      continue;
    take_operand_buffer(plan, b, merged, n, io->second);
  }
}

// An all-reduce reduces in place in its result's buffer
// (compiler/lower_collective.cpp): when it is its operand's last reader, the
// result takes the operand's buffer, and the copy of the operand into the
// result before the start (2.68 MB per step of the data-parallel MLP) is gone.
// The operand then stays live until the all-reduce's last reader.
void share_collective_buffers(MemoryPlan& plan, Buffers& b, std::vector<bool>& merged) {
  for (size_t pos = 0; pos < plan.kernels.size(); ++pos) {
    const Node* n = plan.kernels[pos];
    if (!is_collective(n->op())) continue;
    auto io = b.interval_of.find(alias_root(n->operand(0)));
    if (io == b.interval_of.end() || b.items[io->second].last > static_cast<int64_t>(pos)) continue;
    take_operand_buffer(plan, b, merged, n, io->second);
  }
}

}  // namespace

MemoryPlan plan_memory(const Function& f, const std::function<int64_t(const Node&)>& scratch) {
  MemoryPlan plan;
  std::unordered_set<const Node*> needed = needed_nodes(f);
  plan_inputs_and_results(f, plan);
  assemble_concats(f, plan);
  Buffers b = plan_kernels(f, needed, scratch, plan);
  set_lifetimes(plan, b);
  std::vector<bool> merged(b.items.size());
  share_carry_buffers(plan, b, merged);
  share_collective_buffers(plan, b, merged);
  std::vector<Interval> kept;
  for (size_t i = 0; i < b.items.size(); ++i)
    if (!merged[i]) kept.push_back(b.items[i]);

  int64_t end = static_cast<int64_t>(plan.kernels.size());
  for (const Interval& it : kept) plan.intermediate_bytes += it.size;
  plan.peak_live_bytes = peak_live(kept, end + 1);
  if (kept.size() <= 4096) {
    plan.workspace_bytes = place_by_size(kept);
  } else {
    plan.workspace_bytes = place_linear(kept);
  }
  for (size_t i = 0, k = 0; i < b.items.size(); ++i)
    if (!merged[i]) b.items[i].offset = kept[k++].offset;

  for (auto& [n, i] : b.interval_of) plan.storage[n].offset = b.items[i].offset;
  // Aliases share their root's storage.
  for (const Node* n : f)
    if (needed.count(n) && is_alias_op(n->op())) plan.storage[n] = plan.storage.at(alias_root(n));
  for (auto [n, i] : b.scratch_items) plan.scratch_offset[n] = b.items[i].offset;
  return plan;
}

}  // namespace nabla
