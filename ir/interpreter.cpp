// The reference interpreter's driver: checks, dispatch by op family, and the
// forward propagation over a function body (Algorithm 1 of the lecture).
#include "nabla/ir/interpreter.h"

#include <unordered_map>

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

}  // namespace

Tensor evaluate(Op op, const Attrs& attrs, const TensorType& result,
                std::span<const Tensor> operands, const nabla_communicator* comm) {
  if (op == Op::Grad) throw Error("grad: run the build-grad pass before evaluating");
  if (op == Op::Fused) throw Error("fused: evaluate the node itself, whose body holds the computation");
  if (op == Op::Input) throw Error("input: an input has no value of its own; pass it to interpret");
  std::vector<TensorType> types;
  for (const Tensor& t : operands) {
    if (!t.defined()) throw Error(fmt::format("{}: an operand tensor is undefined", op_name(op)));
    types.push_back(type_of(t));
  }
  // Re-running inference checks the operands and gives the type they imply.
  Attrs normalized = attrs;
  TensorType implied = infer_type(op, types, normalized);
  if (implied != result)
    throw Error(fmt::format("{}: operands {} give {}, not the expected {}", op_name(op),
                            types_str(operands), implied.str(), result.str()));
  return dispatch(interp::Call{op, normalized, result, operands, comm});
}

Tensor evaluate(const Node& n, std::span<const Tensor> operands, const nabla_communicator* comm) {
  if (operands.size() != n.num_operands())
    throw Error(fmt::format("{}: expected {} operand values, got {}", op_name(n.op()),
                            n.num_operands(), operands.size()));
  for (size_t i = 0; i < operands.size(); ++i) {
    if (!operands[i].defined() || type_of(operands[i]) != n.operand(i)->type())
      throw Error(fmt::format("{}: operand {} expects {}, got {}", op_name(n.op()), i,
                              n.operand(i)->type().str(),
                              operands[i].defined() ? type_of(operands[i]).str() : "nothing"));
  }
  if (n.op() == Op::Fused) {  // the body, evaluated on the operands
    if (!n.body()) throw Error("fused: the node has no body");
    DepthGuard level(interpret_depth, [](const std::string& m) { throw Error("fused: " + m); });
    return interpret(*n.body(), operands)[static_cast<size_t>(n.body_result())];
  }
  if (is_loop(n.op())) return evaluate_loop(n, operands, comm)[static_cast<size_t>(n.body_result())];
  return evaluate(n.op(), n.attrs(), n.type(), operands, comm);
}

void check_input(const Function& f, size_t index, const Tensor& t) {
  const Node& in = *f.inputs().at(index);
  if (!t.defined())
    throw Error(fmt::format("@{}: input %{} expects {}, got no tensor", f.name(), in.name(),
                            in.type().str()));
  if (type_of(t) != in.type())
    throw Error(fmt::format("@{}: input %{} expects {}, got {}", f.name(), in.name(),
                            in.type().str(), type_of(t).str()));
}

std::vector<Tensor> interpret(const Function& f, std::span<const Tensor> inputs,
                              const nabla_communicator* comm) {
  if (inputs.size() != f.inputs().size())
    throw Error(fmt::format("@{}: expected {} input{}, got {}", f.name(), f.inputs().size(),
                            f.inputs().size() == 1 ? "" : "s", inputs.size()));
  // u(i) for every node, in the order of the graph (Algorithm 1).
  std::unordered_map<const Node*, Tensor> value;
  for (size_t i = 0; i < inputs.size(); ++i) {
    check_input(f, i, inputs[i]);
    value[f.inputs()[i]] = inputs[i];
  }
  for (const Node* n : f) {
    std::vector<Tensor> args;
    for (const Node* operand : n->operands()) {
      auto it = value.find(operand);
      if (it == value.end())
        throw Error(fmt::format("@{}: {} uses a value that is not defined before it", f.name(),
                                op_name(n->op())));
      args.push_back(it->second);
    }
    try {
      if (!is_loop(n->op())) {
        value[n] = evaluate(*n, args, comm);
      } else if (!value.count(n)) {  // the group's first node runs the loop for all
        std::vector<Tensor> r = evaluate_loop(*n, args, comm);
        std::vector<Node*> group = fused_group(n);
        for (size_t i = 0; i < group.size(); ++i) value[group[i]] = std::move(r[static_cast<size_t>(group[i]->body_result())]);
      }
    } catch (const Error& e) {
      throw EvaluationError(e.what(), n);
    }
  }
  std::vector<Tensor> results;
  for (const Node* r : f.results()) {
    auto it = value.find(r);
    if (it == value.end())
      throw Error(fmt::format("@{}: a result is not defined in the function", f.name()));
    // Owned, unshared copies: a result may be an input the caller still owns,
    // or the same node as another result.
    results.push_back(it->second.clone());
  }
  return results;
}

}  // namespace nabla
