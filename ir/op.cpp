#include "nabla/ir/op.h"

#include <array>

namespace nabla {
namespace {

struct OpInfo {
  std::string_view name;
  int arity;
  OpKind kind;
  uint32_t flags;
  uint32_t attrs;
};

constexpr std::array<OpInfo, kNumOps> kOps = {{
#define NABLA_OP(Enum, name, arity, Kind, flags, attrs) \
  {#name, arity, OpKind::Kind, flags, attrs},
#include "nabla/ir/ops.def"
}};

}  // namespace

std::string_view op_name(Op op) { return kOps[static_cast<size_t>(op)].name; }
int op_arity(Op op) { return kOps[static_cast<size_t>(op)].arity; }
OpKind op_kind(Op op) { return kOps[static_cast<size_t>(op)].kind; }
uint32_t op_flags(Op op) { return kOps[static_cast<size_t>(op)].flags; }
uint32_t op_attr_mask(Op op) { return kOps[static_cast<size_t>(op)].attrs; }

std::optional<Op> op_from_name(std::string_view name) {
  for (size_t i = 0; i < kOps.size(); ++i)
    if (kOps[i].name == name) return static_cast<Op>(i);
  return std::nullopt;
}

}  // namespace nabla
