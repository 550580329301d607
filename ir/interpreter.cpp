// The reference interpreter's driver: checks, dispatch by op family, and the
// forward propagation over a function body (Algorithm 1 of the lecture).
#include "nabla/ir/interpreter.h"

#include <cstdint>
#include <optional>

#include <fmt/format.h>

#include "nabla/ir/fused.h"
#include "nabla/ir/interpreter_kernels.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/limits.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace interp {

StridedWalk::StridedWalk(Shape shape, std::vector<std::vector<int64_t>> strides,
                         std::vector<int64_t> base)
    : shape_(std::move(shape)), strides_(std::move(strides)),
      offsets_(base.empty() ? std::vector<int64_t>(strides_.size(), 0) : std::move(base)),
      index_(shape_.size(), 0), remaining_(num_elements(shape_)) {}

void StridedWalk::next() {
  --remaining_;
  // Increment the multi-index like an odometer, last axis fastest.
  for (size_t axis = shape_.size(); axis-- > 0;) {
    ++index_[axis];
    for (size_t k = 0; k < strides_.size(); ++k) offsets_[k] += strides_[k][axis];
    if (index_[axis] < shape_[axis]) return;
    for (size_t k = 0; k < strides_.size(); ++k) offsets_[k] -= strides_[k][axis] * shape_[axis];
    index_[axis] = 0;
  }
}

void fail_status(Op op, int32_t status, int64_t value, int64_t index, int64_t bound) {
  nabla_error_info e{status, -1, op_name(op).data(), value, index, bound};
  char message[256];
  nabla_error_message(&e, message, sizeof message);
  throw Error(message);
}

void unsupported_dtype(Op op, DType t) {
  throw Error(fmt::format("{}: the interpreter has no {} kernel", op_name(op), dtype_name(t)));
}

}  // namespace interp

namespace {

// The levels of bodies the evaluation is in, on this thread.
thread_local int interpret_depth = 0;

Tensor dispatch(const interp::Call& c) {
  // One case per op family; a new family (or op needing its own kernel) adds a case.
  switch (op_kind(c.op)) {
    case OpKind::Leaf:
      if (c.op == Op::Constant) return c.attrs.value.clone();
      throw Error("input: an input has no value of its own; pass it to interpret");
    case OpKind::Unary: return interp::eval_unary(c);
    case OpKind::Binary:
    case OpKind::Compare: return interp::eval_binary(c);
    case OpKind::Select: return interp::eval_select(c);
    case OpKind::Reduce: return interp::eval_reduce(c);
    case OpKind::Layout: return interp::eval_layout(c);
    case OpKind::Contract: return interp::eval_matmul(c);
    case OpKind::Neural: return interp::eval_neural(c);
    case OpKind::Convert: return interp::eval_cast(c);
    case OpKind::Axis: return interp::eval_axis(c);
    case OpKind::Conv: return interp::eval_conv(c);
    case OpKind::Deriv: throw Error("grad: run the build-grad pass before evaluating");
    case OpKind::Region: throw Error("fused: evaluate the node itself, whose body holds the computation");
    case OpKind::Collective: return interp::eval_collective(c);
    case OpKind::Loop: throw Error(fmt::format("{}: evaluate the node itself, whose bodies hold the computation", op_name(c.op)));
  }
  throw Error(fmt::format("{}: the interpreter does not know this op", op_name(c.op)));
}

std::string types_str(std::span<const Tensor> ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) s += (i ? ", " : "") + type_of(ts[i]).str();
  return s;
}

// Whether t is a tensor of the given type, without building its TensorType
// (a copy of its shape): this runs for every operand of every node.
bool has_type(const Tensor& t, const TensorType& type) {
  return t.defined() && t.dtype() == type.dtype && t.shape() == type.shape;
}

// The operand types and the attributes that evaluate hands to inference,
// kept from one evaluation to the next on this thread so that they reuse
// their vectors' storage: allocations were most of the interpreter's cost
// under AddressSanitizer (docs/testing.md "Budget"). `busy` guards against a
// nested evaluation, which gets scratch of its own.
struct Scratch {
  std::vector<TensorType> types;
  Attrs attrs;
  bool busy = false;
};
thread_local Scratch scratch;

// The values of the nodes evaluated so far, keyed by node: open addressing
// (linear probing) in two arrays sized once per interpretation, where an
// unordered_map allocated and freed a node per value.
class Values {
 public:
  explicit Values(size_t count) { resize(count); }
  // n's value, or null when it has none yet.
  const Tensor* find(const Node* n) const {
    for (size_t i = slot(n);; i = (i + 1) & (keys_.size() - 1)) {
      if (keys_[i] == n) return &tensors_[i];
      if (!keys_[i]) return nullptr;
    }
  }
  void set(const Node* n, Tensor t) {
    if (2 * (used_ + 1) > keys_.size()) resize(keys_.size());  // at most half full
    size_t i = slot(n);
    while (keys_[i] && keys_[i] != n) i = (i + 1) & (keys_.size() - 1);
    if (!keys_[i]) ++used_;
    keys_[i] = n;
    tensors_[i] = std::move(t);
  }

 private:
  // Room for `count` values at most half full, keeping the ones held.
  void resize(size_t count) {
    size_t capacity = 16;
    while (capacity < 2 * count) capacity *= 2;
    std::vector<const Node*> keys = std::move(keys_);
    std::vector<Tensor> tensors = std::move(tensors_);
    keys_.assign(capacity, nullptr);
    tensors_.assign(capacity, Tensor());
    used_ = 0;
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i]) set(keys[i], std::move(tensors[i]));
  }
  size_t slot(const Node* n) const {  // Fibonacci hashing of the address
    uint64_t h = (reinterpret_cast<uintptr_t>(n) >> 4) * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(h >> 32) & (keys_.size() - 1);
  }

  std::vector<const Node*> keys_;
  std::vector<Tensor> tensors_;
  size_t used_ = 0;
};

class ScratchUse {
 public:
  explicit ScratchUse(Scratch& s) : s_(s) { s_.busy = true; }
  ~ScratchUse() { s_.busy = false; }
  ScratchUse(const ScratchUse&) = delete;
  ScratchUse& operator=(const ScratchUse&) = delete;

 private:
  Scratch& s_;
};

}  // namespace

Tensor evaluate(Op op, const Attrs& attrs, const TensorType& result,
                std::span<const Tensor> operands, const nabla_communicator* comm) {
  if (op == Op::Grad) throw Error("grad: run the build-grad pass before evaluating");
  if (op == Op::Fused) throw Error("fused: evaluate the node itself, whose body holds the computation");
  if (op == Op::Input) throw Error("input: an input has no value of its own; pass it to interpret");
  std::optional<Scratch> own;
  Scratch& s = scratch.busy ? own.emplace() : scratch;
  ScratchUse use(s);
  s.types.resize(operands.size());
  for (size_t i = 0; i < operands.size(); ++i) {
    const Tensor& t = operands[i];
    if (!t.defined()) throw Error(fmt::format("{}: an operand tensor is undefined", op_name(op)));
    s.types[i].dtype = t.dtype();
    s.types[i].shape = t.shape();
  }
  // Re-running inference checks the operands and gives the type they imply.
  // It keeps only the op's own attributes (infer_type), so only those are
  // copied; the others left in the scratch from an earlier op are dropped there.
  const uint32_t mask = op_attr_mask(op);
#define NABLA_ATTR(name, Kind) \
  if (mask & attr::name) s.attrs.name = attrs.name;
#include "nabla/ir/attrs.def"
  TensorType implied = infer_type(op, s.types, s.attrs);
  if (implied != result)
    throw Error(fmt::format("{}: operands {} give {}, not the expected {}", op_name(op),
                            types_str(operands), implied.str(), result.str()));
  return dispatch(interp::Call{op, s.attrs, result, operands, comm});
}

Tensor evaluate(const Node& n, std::span<const Tensor> operands, const nabla_communicator* comm) {
  if (operands.size() != n.num_operands())
    throw Error(fmt::format("{}: expected {} operand values, got {}", op_name(n.op()),
                            n.num_operands(), operands.size()));
  for (size_t i = 0; i < operands.size(); ++i) {
    if (!has_type(operands[i], n.operand(i)->type()))
      throw Error(fmt::format("{}: operand {} expects {}, got {}", op_name(n.op()), i,
                              n.operand(i)->type().str(),
                              operands[i].defined() ? type_of(operands[i]).str() : "nothing"));
  }
  if (n.op() == Op::Fused) {  // the body, evaluated on the operands
    if (!n.body()) throw Error("fused: the node has no body");
    DepthGuard level(interpret_depth, [](const std::string& m) { throw Error("fused: " + m); });
    return interp::interpret_shared(*n.body(), operands, nullptr)[static_cast<size_t>(n.body_result())].clone();
  }
  if (is_loop(n.op())) return evaluate_loop(n, operands, comm)[static_cast<size_t>(n.body_result())];
  return evaluate(n.op(), n.attrs(), n.type(), operands, comm);
}

void check_input(const Function& f, size_t index, const Tensor& t) {
  const Node& in = *f.inputs().at(index);
  if (!t.defined())
    throw Error(fmt::format("@{}: input %{} expects {}, got no tensor", f.name(), in.name(),
                            in.type().str()));
  if (!has_type(t, in.type()))
    throw Error(fmt::format("@{}: input %{} expects {}, got {}", f.name(), in.name(),
                            in.type().str(), type_of(t).str()));
}

namespace interp {

std::vector<Tensor> interpret_shared(const Function& f, std::span<const Tensor> inputs,
                                     const nabla_communicator* comm) {
  if (inputs.size() != f.inputs().size())
    throw Error(fmt::format("@{}: expected {} input{}, got {}", f.name(), f.inputs().size(),
                            f.inputs().size() == 1 ? "" : "s", inputs.size()));
  // u(i) for every node, in the order of the graph (Algorithm 1).
  Values value(inputs.size() + f.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    check_input(f, i, inputs[i]);
    value.set(f.inputs()[i], inputs[i]);
  }
  // The operand values of the node at hand: its first num_operands() slots,
  // assigned (not rebuilt) node after node, so that their shapes reuse storage.
  std::vector<Tensor> slots;
  for (const Node* n : f) {
    if (slots.size() < n->num_operands()) slots.resize(n->num_operands());
    for (size_t i = 0; i < n->num_operands(); ++i) {
      const Tensor* v = value.find(n->operand(i));
      if (!v)
        throw Error(fmt::format("@{}: {} uses a value that is not defined before it", f.name(),
                                op_name(n->op())));
      slots[i] = *v;
    }
    std::span<const Tensor> args(slots.data(), n->num_operands());
    try {
      if (!is_loop(n->op())) {
        value.set(n, evaluate(*n, args, comm));
      } else if (!value.find(n)) {  // the group's first node runs the loop for all
        std::vector<Tensor> r = evaluate_loop(*n, args, comm);
        std::vector<Node*> group = fused_group(n);
        for (size_t i = 0; i < group.size(); ++i) value.set(group[i], std::move(r[static_cast<size_t>(group[i]->body_result())]));
      }
    } catch (const Error& e) {
      throw EvaluationError(e.what(), n);
    }
  }
  std::vector<Tensor> results;
  for (const Node* r : f.results()) {
    const Tensor* v = value.find(r);
    if (!v) throw Error(fmt::format("@{}: a result is not defined in the function", f.name()));
    results.push_back(*v);
  }
  return results;
}

}  // namespace interp

std::vector<Tensor> interpret(const Function& f, std::span<const Tensor> inputs,
                              const nabla_communicator* comm) {
  std::vector<Tensor> results = interp::interpret_shared(f, inputs, comm);
  // Owned, unshared copies: a result may be an input the caller still owns,
  // or the same node as another result.
  for (Tensor& r : results) r = r.clone();
  return results;
}

}  // namespace nabla
