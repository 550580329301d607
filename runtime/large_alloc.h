#pragma once
// Large buffers on transparent huge pages (Tensor storage, Executable
// workspaces): docs/backend.md (its first section).
#include <cstddef>

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

}  // namespace nabla
