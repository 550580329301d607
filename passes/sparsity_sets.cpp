#include "nabla/passes/sparsity_sets.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>

#include "nabla/runtime/error.h"

namespace nabla::sparsity {

SetId SetPool::add(std::span<const int32_t> items) {
  if (items.empty()) return 0;
  if (start_.size() > static_cast<size_t>(std::numeric_limits<SetId>::max()))
    throw Error("sparsity: more than 2^31 index sets");
  items_.insert(items_.end(), items.begin(), items.end());
  start_.push_back(static_cast<int64_t>(items_.size()));
  return count() - 1;
}

Sets SetPool::singletons(int64_t n) {
  if (n <= 0) return {};
  if (static_cast<int64_t>(start_.size()) + n > std::numeric_limits<SetId>::max())
    throw Error("sparsity: more than 2^31 index sets");
  Sets ids(static_cast<size_t>(n));
  SetId first = count();
  items_.reserve(items_.size() + static_cast<size_t>(n));
  start_.reserve(start_.size() + static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    items_.push_back(static_cast<int32_t>(i));
    start_.push_back(static_cast<int64_t>(items_.size()));
    ids[static_cast<size_t>(i)] = first + static_cast<SetId>(i);
  }
  return ids;
}

bool SetPool::equal(SetId a, SetId b) const {
  if (a == b) return true;
  size_t n = size(a);
  return n == size(b) && std::memcmp((*this)[a].data(), (*this)[b].data(), n * sizeof(int32_t)) == 0;
}

SetId SetPool::unite(SetId a, SetId b, std::vector<int32_t>& scratch) {
  if (b == 0 || a == b) return a;
  if (a == 0) return b;
  std::span<const int32_t> x = (*this)[a], y = (*this)[b];
  if (x.size() >= y.size() && std::includes(x.begin(), x.end(), y.begin(), y.end())) return a;
  if (y.size() > x.size() && std::includes(y.begin(), y.end(), x.begin(), x.end())) return b;
  scratch.clear();
  std::set_union(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(scratch));
  return add(scratch);  // x and y are not read after items_ may move
}

void SetPool::truncate(SetId count) {
  if (count < 1 || count >= this->count()) return;
  start_.resize(static_cast<size_t>(count) + 1);
  items_.resize(static_cast<size_t>(start_.back()));
}

void SetUnion::add(const SetPool& pool, SetId id) {
  if (id == 0 || id == last_ || id == widest_) return;
  last_ = id;
  std::span<const int32_t> s = pool[id];
  if (s.size() == 1) items_.push_back(s[0]);
  else items_.insert(items_.end(), s.begin(), s.end());
  if (s.size() > widest_size_) {
    widest_ = id;
    widest_size_ = s.size();
  }
  if (items_.size() > 2 * clean_ + 64) normalize();  // keep repeated members from piling up
}

void SetUnion::normalize() {
  std::sort(items_.begin(), items_.end());
  items_.erase(std::unique(items_.begin(), items_.end()), items_.end());
  clean_ = items_.size();
}

SetId SetUnion::finish(SetPool& pool) {
  SetId r = widest_;
  if (items_.size() != widest_size_) {  // more than one set added
    normalize();
    if (items_.size() != widest_size_) r = pool.add(items_);
  }
  items_.clear();
  widest_ = last_ = 0;
  widest_size_ = clean_ = 0;
  return r;
}

}  // namespace nabla::sparsity
