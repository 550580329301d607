#include "nabla/compiler/loop_nest.h"

#include "nabla/compiler/kernel_builder.h"

namespace nabla {

LoopNest make_loop_nest(const Shape& shape, std::vector<std::vector<int64_t>> strides,
                        std::vector<int64_t> offsets) {
  LoopNest nest;
  size_t k = strides.size();
  nest.offsets = offsets.empty() ? std::vector<int64_t>(k, 0) : std::move(offsets);
  nest.strides.assign(k, {});
  for (size_t axis = 0; axis < shape.size(); ++axis) {
    if (shape[axis] == 1) continue;
    if (shape[axis] == 0) {  // nothing to iterate
      nest.shape = {0};
      for (auto& s : nest.strides) s = {0};
      return nest;
    }
    // Merge with the previous kept axis when every accessor walks both as one.
    bool merge = !nest.shape.empty();
    for (size_t a = 0; merge && a < k; ++a)
      merge = nest.strides[a].back() == strides[a][axis] * shape[axis];
    if (merge) {
      nest.shape.back() *= shape[axis];
      for (size_t a = 0; a < k; ++a) nest.strides[a].back() = strides[a][axis];
      continue;
    }
    nest.shape.push_back(shape[axis]);
    for (size_t a = 0; a < k; ++a) nest.strides[a].push_back(strides[a][axis]);
  }
  return nest;
}

namespace {

void emit_level(KernelBuilder& kb, const LoopNest& nest, size_t axis, std::vector<llvm::Value*>& at,
                const NestBody& body, llvm::Value* begin, llvm::Value* end, const NestBody& row) {
  if (axis == nest.shape.size()) {
    body(at);
    return;
  }
  if (row && axis > 0 && axis + 1 == nest.shape.size()) row(at);
  llvm::Value* lo = begin ? begin : kb.i64(0);
  llvm::Value* hi = end ? end : kb.i64(nest.shape[axis]);
  std::vector<llvm::Value*> outer = at;
  kb.loop(lo, hi, [&](llvm::Value* i) {
    std::vector<llvm::Value*> inner(outer.size());
    for (size_t a = 0; a < outer.size(); ++a) {
      int64_t s = nest.strides[a][axis];
      inner[a] = s == 0 ? outer[a] : kb.b.CreateAdd(outer[a], kb.b.CreateMul(i, kb.i64(s)), "", false, true);
    }
    emit_level(kb, nest, axis + 1, inner, body, nullptr, nullptr, row);
  }, 1, axis + 1 == nest.shape.size() ? "j" : "i");
}

}  // namespace

void emit_loop_nest(KernelBuilder& kb, const LoopNest& nest, const NestBody& body, llvm::Value* begin,
                    llvm::Value* end, const NestBody& row) {
  if (nest.numel() == 0) return;
  std::vector<llvm::Value*> at;
  for (int64_t o : nest.offsets) at.push_back(kb.i64(o));
  emit_level(kb, nest, 0, at, body, begin, end, row);
}

}  // namespace nabla
