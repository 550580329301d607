#include "nabla/ir/random_inputs.h"

#include <algorithm>
#include <limits>
#include <optional>

namespace nabla {
namespace {

constexpr int64_t kSmallInt = 10;

// splitmix64 (Steele, Lea and Flood): a tiny generator with a fixed output
// sequence for a given state.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Ops through which an operand's values reach the result unchanged (moved,
// copied or selected), for operand slot `slot`.
bool passes_values(const Node& user, size_t slot) {
  switch (user.op()) {
    case Op::Reshape: case Op::Transpose: case Op::BroadcastTo: case Op::Slice:
    case Op::Concat: case Op::Barrier: case Op::StopGradient:
      return true;
    case Op::Select: return slot != 0;
    case Op::Gather: return slot == 0;
    case Op::Cast: return is_int(user.dtype());
    default: return false;
  }
}

// The valid range of the uses the values of `input` reach: [0, n) for labels
// (n the classes or the depth), [-n, n) for indices (n the indexed axis'
// size); with several uses, their intersection. nullopt when none is reached.
std::optional<std::pair<int64_t, int64_t>> valid_range(const Node* input) {
  std::optional<std::pair<int64_t, int64_t>> range;
  auto meet = [&](int64_t lo, int64_t hi) {
    if (!range) range = {lo, hi};
    range = std::pair{std::max(range->first, lo), std::min(range->second, hi)};
  };
  std::vector<const Node*> work = {input}, seen;
  while (!work.empty()) {
    const Node* n = work.back();
    work.pop_back();
    if (std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
    seen.push_back(n);
    for (const Node* user : n->users())
      for (size_t slot = 0; slot < user->num_operands(); ++slot) {
        if (user->operand(slot) != n) continue;
        bool indices = (user->op() == Op::Gather || user->op() == Op::ScatterAdd) && slot == 1;
        if (user->op() == Op::CrossEntropy && slot == 1)
          meet(0, user->operand(0)->shape()[1] - 1);
        else if (user->op() == Op::OneHot)
          meet(0, user->attrs().depth - 1);
        else if (indices)
          meet(-user->operand(0)->shape()[user->attrs().axis], user->operand(0)->shape()[user->attrs().axis] - 1);
        else if (passes_values(*user, slot))
          work.push_back(user);
      }
  }
  return range;
}

}  // namespace

std::pair<int64_t, int64_t> random_int_range(const Function& f, size_t index) {
  auto range = valid_range(f.inputs().at(index));
  if (!range) return {-kSmallInt, kSmallInt};
  // An empty range (an axis of size 0): every value is out of range anyway.
  return {range->first, std::max(range->first, range->second)};
}

std::vector<Tensor> random_inputs(const Function& f, uint64_t seed) {
  std::vector<Tensor> out;
  for (size_t i = 0; i < f.inputs().size(); ++i) {
    const Node* in = f.inputs()[i];
    // One stream per input, so that one input's values do not depend on the
    // sizes of the inputs before it.
    uint64_t state = seed ^ (0xd1b54a32d192ed03ULL * (i + 1));
    Tensor t(in->dtype(), in->shape());
    std::pair<int64_t, int64_t> range{0, 0};
    if (is_int(in->dtype())) range = random_int_range(f, i);
    for (int64_t e = 0; e < t.numel(); ++e) {
      uint64_t bits = splitmix64(state);
      switch (in->dtype()) {
        case DType::f32:
        case DType::f64:
          t.set(e, 2.0 * static_cast<double>(bits >> 11) * 0x1.0p-53 - 1.0);
          break;
        case DType::bool_:
          t.set(e, static_cast<double>(bits >> 63));
          break;
        case DType::i32:
        case DType::i64: {
          uint64_t span = static_cast<uint64_t>(range.second - range.first) + 1;
          t.set(e, static_cast<double>(range.first + static_cast<int64_t>(bits % span)));
          break;
        }
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace nabla
