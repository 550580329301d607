#include "nabla/ir/attrs.h"

#include <array>
#include <cstring>
#include <functional>

#include "nabla/ir/hash.h"
#include "nabla/runtime/abi.h"

namespace nabla {
namespace {

bool same(const std::vector<int64_t>& a, const std::vector<int64_t>& b) { return a == b; }
bool same(int64_t a, int64_t b) { return a == b; }
bool same(bool a, bool b) { return a == b; }
bool same(DType a, DType b) { return a == b; }
bool same(Reduction a, Reduction b) { return a == b; }
bool same(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined();
  return a.same_as(b);
}

size_t hash_of(const std::vector<int64_t>& v) {
  size_t h = v.size();
  for (int64_t x : v) h = hash_mix(h, std::hash<int64_t>{}(x));
  return h;
}
size_t hash_of(int64_t v) { return std::hash<int64_t>{}(v); }
size_t hash_of(bool v) { return v ? 1 : 2; }
size_t hash_of(DType v) { return static_cast<size_t>(v) + 3; }
size_t hash_of(Reduction v) { return static_cast<size_t>(v) + 11; }
size_t hash_of(const Tensor& t) {
  if (!t.defined()) return 0;
  size_t h = hash_mix(static_cast<size_t>(t.dtype()), hash_of(t.shape()));
  // Eight bytes at a time, and past kFullHashBytes only a sample of 2^16
  // words spread evenly (the same places for tensors of one size, so equal
  // tensors hash equal; equal() still compares every byte): large constants
  // (ba10's sparse Jacobian index, 140 MB) are hashed by every cse run.
  constexpr size_t kFullHashBytes = size_t{1} << 20, kSampleWords = size_t{1} << 16;
  const auto* bytes = static_cast<const unsigned char*>(t.data());
  size_t n = t.nbytes(), step = n > kFullHashBytes ? n / 8 / kSampleWords * 8 : 8, i = 0;
  for (; i + 8 <= n; i += step) {
    uint64_t w;
    std::memcpy(&w, bytes + i, 8);
    h = hash_mix(h, static_cast<size_t>(w));
  }
  for (i = n - n % 8; i < n; ++i) h = hash_mix(h, bytes[i]);
  return h;
}

struct AttrInfo {
  std::string_view name;
  AttrKind kind;
};
constexpr std::array<AttrInfo, attr::kNumAttrs> kAttrs = {{
#define NABLA_ATTR(name, Kind) {#name, AttrKind::Kind},
#include "nabla/ir/attrs.def"
}};

}  // namespace

bool Attrs::equal(const Attrs& o, uint32_t mask) const {
#define NABLA_ATTR(name, Kind) \
  if ((mask & attr::name) && !same(name, o.name)) return false;
#include "nabla/ir/attrs.def"
  return true;
}

size_t Attrs::hash(uint32_t mask) const {
  size_t h = mask;
#define NABLA_ATTR(name, Kind) \
  if (mask & attr::name) h = hash_mix(h, hash_of(name));
#include "nabla/ir/attrs.def"
  return h;
}

constexpr std::string_view kReductionNames[] = {"sum", "mean", "max", "min"};

std::string_view reduction_name(Reduction r) { return kReductionNames[static_cast<size_t>(r)]; }

std::optional<Reduction> reduction_from_name(std::string_view name) {
  for (size_t i = 0; i < std::size(kReductionNames); ++i)
    if (kReductionNames[i] == name) return static_cast<Reduction>(i);
  return std::nullopt;
}

int32_t collective_reduction(Reduction r) {
  switch (r) {
    case Reduction::mean: return NABLA_REDUCE_MEAN;
    case Reduction::max: return NABLA_REDUCE_MAX;
    case Reduction::min: return NABLA_REDUCE_MIN;
    case Reduction::sum: break;
  }
  return NABLA_REDUCE_SUM;
}

std::string_view attr_name(uint32_t index) { return kAttrs[index].name; }
AttrKind attr_kind(uint32_t index) { return kAttrs[index].kind; }

}  // namespace nabla
