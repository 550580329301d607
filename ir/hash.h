#pragma once
// Combining hashes: attributes (attrs.cpp), cse's value numbering and the
// test generator's structure hash use this one step.
#include <cstddef>

namespace nabla {

// h with v mixed in (the golden-ratio step of boost's hash_combine).
inline size_t hash_mix(size_t h, size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)); }

}  // namespace nabla
