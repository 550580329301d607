#pragma once
// Large buffers on transparent huge pages (Tensor storage, Executable
// workspaces): docs/backend.md (its first section).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

namespace nabla {

// From this size on, a buffer is 2 MiB-aligned and advised to huge pages.
inline constexpr size_t kLargeAllocFrom = size_t{4} << 20;

// `bytes` bytes aligned to `align` (a power of two that divides 2 MiB, or
// 2 MiB), freed with std::free; null when out of memory. From kLargeAllocFrom
// on (Linux), the buffer is 2 MiB-aligned, its size rounded up to 2 MiB, and
// advised to be backed by transparent huge pages (MADV_HUGEPAGE; many systems
// set THP to "madvise"). Two reasons: an operand read at random rows, an
// embedding table for instance, otherwise misses the TLB on most rows (a
// 25.6 MB table spans 6,250 pages of 4 KiB, twice the entries of Zen 4's L2
// TLB); and the first touch of fresh memory costs a page fault per page,
// 10 us per 4 KiB page in a virtual machine (docs/performance.md, "ba
// jacobian prepare", session 7), 2 to 3 times less per byte with 2 MiB pages.
// Where the advice is refused the pages stay small.
void* aligned_alloc_large(size_t align, size_t bytes);

// A standard allocator whose buffers of kLargeAllocFrom bytes or more come
// from aligned_alloc_large (so 2 MiB pages), the smaller ones from
// std::allocator. For the large index buffers of compile-time work, e.g. the
// sparsity patterns and index sets of a sparse Jacobian (ba10: 60-150 MB
// each, a page fault per 4 KiB otherwise; docs/performance.md, "ba jacobian
// prepare, session 8").
template <class T>
struct LargeAllocator {
  using value_type = T;
  LargeAllocator() = default;
  template <class U>
  LargeAllocator(const LargeAllocator<U>&) noexcept {}  // NOLINT: converting, as std::allocator's
  static bool large(size_t n) { return n >= kLargeAllocFrom / sizeof(T); }
  T* allocate(size_t n) {
    if (!large(n)) return std::allocator<T>().allocate(n);
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    void* p = aligned_alloc_large(alignof(T) < 64 ? 64 : alignof(T), n * sizeof(T));
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) noexcept {
    if (large(n)) return std::free(p);
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  bool operator==(const LargeAllocator<U>&) const noexcept {
    return true;
  }
};

// A std::vector whose large buffers are on huge pages (LargeAllocator).
template <class T>
using LargeVector = std::vector<T, LargeAllocator<T>>;

}  // namespace nabla
