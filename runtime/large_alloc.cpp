#include "nabla/runtime/large_alloc.h"

#include <cstdlib>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace nabla {

void* aligned_alloc_large(size_t align, size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= kLargeAllocFrom) {
    size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p) madvise(p, rounded, MADV_HUGEPAGE);
    return p;
  }
#endif
  size_t rounded = (bytes + align - 1) / align * align;  // aligned_alloc wants a multiple
  return std::aligned_alloc(align, rounded ? rounded : align);
}

}  // namespace nabla
