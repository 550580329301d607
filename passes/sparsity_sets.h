#pragma once
// Internals of passes/sparsity.cpp: the index sets of the propagation, kept
// in one pool and named by number. Not a public interface.
//
// Every element of every value has a set (the elements of x it depends on);
// an element holds the number of its set, so a slice, a gather or a broadcast
// copies numbers (4 bytes, no reference counts), and a union that adds
// nothing keeps the number it had. Sets are never changed once added; a
// propagation drops whole values, and a loop's step drops the sets its body
// made (truncate) once the results it keeps are moved down.
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "nabla/runtime/large_alloc.h"

namespace nabla::sparsity {

using SetId = int32_t;  // 0: the empty set
// One per element of a value; the pool's buffers and large values' sets on
// 2 MiB pages (runtime/large_alloc.h: ba10's pool is 0.1 GB).
using Sets = LargeVector<SetId>;

class SetPool {
 public:
  SetPool() : start_{0, 0} {}
  std::span<const int32_t> operator[](SetId id) const {
    return {items_.data() + start_[id], items_.data() + start_[id + 1]};
  }
  size_t size(SetId id) const { return static_cast<size_t>(start_[id + 1] - start_[id]); }
  // The sets made so far (ids below count() exist).
  SetId count() const { return static_cast<SetId>(start_.size() - 1); }
  // A new set from sorted, duplicate-free items; 0 when they are none.
  SetId add(std::span<const int32_t> items);
  // The n singletons {0}, ..., {n - 1}, in order.
  Sets singletons(int64_t n);
  bool equal(SetId a, SetId b) const;
  // a | b: a or b itself when one includes the other. `scratch` is reused.
  SetId unite(SetId a, SetId b, std::vector<int32_t>& scratch);
  // Room for `sets` more sets of `items` members in all. Grows by at least
  // half (an exact reserve per region moved the whole pool at every region:
  // ba10's pool is 0.2 GB and fresh pages cost a page fault each).
  void reserve(size_t sets, size_t items) {
    grow(start_, sets);
    grow(items_, items);
  }
  // Drops the sets from id `count` on.
  void truncate(SetId count);

 private:
  template <class V>
  static void grow(V& v, size_t more) {
    size_t need = v.size() + more;
    if (need > v.capacity()) v.reserve(std::max(need, v.capacity() + v.capacity() / 2));
  }

  LargeVector<int32_t> items_;
  LargeVector<int64_t> start_;  // set k is items_[start_[k], start_[k + 1])
};

// The union of many sets, collected and added to the pool once (a union
// made one operand at a time would add every partial set to the pool).
class SetUnion {
 public:
  void add(const SetPool& pool, SetId id);
  // The union of the sets added since the last finish: the widest of them
  // when it holds all the others, else a new set.
  SetId finish(SetPool& pool);

 private:
  void normalize();
  std::vector<int32_t> items_;  // the members, repeated and unsorted until normalized
  SetId widest_ = 0, last_ = 0;
  size_t widest_size_ = 0, clean_ = 0;
};

}  // namespace nabla::sparsity
