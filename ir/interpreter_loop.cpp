// The interpreter's loops (ir/loop.h): plainly, one body evaluation per step.
#include <cstring>

#include "nabla/ir/interpreter.h"
#include "nabla/ir/interpreter_kernels.h"
#include "nabla/ir/limits.h"
#include "nabla/ir/loop.h"

namespace nabla {
namespace {

thread_local int loop_depth = 0;

size_t slice_bytes(const Tensor& t) { return t.shape()[0] == 0 ? 0 : t.nbytes() / static_cast<size_t>(t.shape()[0]); }

// Slice i of t along its leading axis, as an owned tensor.
Tensor slice_of(const Tensor& t, int64_t i) {
  Tensor s(t.dtype(), Shape(t.shape().begin() + 1, t.shape().end()));
  size_t n = slice_bytes(t);
  if (n) std::memcpy(s.data(), static_cast<const char*>(t.data()) + n * static_cast<size_t>(i), n);
  return s;
}

std::vector<Tensor> run_scan(const Node& n, std::span<const Tensor> operands, const nabla_communicator* comm) {
  LoopLayout l = loop_layout(n);
  const Function& body = *n.body();
  std::vector<Tensor> carry(operands.begin(), operands.begin() + static_cast<std::ptrdiff_t>(l.carry));
  std::vector<Tensor> ys;
  for (size_t j = 0; j < l.ys; ++j) {
    TensorType t = body.results()[l.carry + j]->type();
    t.shape.insert(t.shape.begin(), l.length);
    ys.emplace_back(t.dtype, t.shape);  // zeros: the rows no step writes
  }
  int64_t steps = l.length;
  if (l.count >= 0) {
    steps = static_cast<int64_t>(operands[static_cast<size_t>(l.count)].get(0));
    if (steps < 0 || steps > l.length) interp::fail_status(n.op(), NABLA_TRIP_COUNT_OUT_OF_RANGE, steps, 0, l.length);
  }
  for (int64_t step = 0; step < steps; ++step) {
    int64_t i = n.attrs().reverse ? steps - 1 - step : step;
    std::vector<Tensor> args = carry;
    for (size_t j = 0; j < l.xs; ++j) args.push_back(slice_of(operands[l.carry + j], i));
    args.insert(args.end(), operands.begin() + static_cast<std::ptrdiff_t>(l.carry + l.xs), operands.end());
    std::vector<Tensor> out = interp::interpret_shared(body, args, comm);
    for (size_t j = 0; j < l.carry; ++j) carry[j] = std::move(out[j]);
    for (size_t j = 0; j < l.ys; ++j) {
      size_t bytes = slice_bytes(ys[j]);
      if (bytes) std::memcpy(static_cast<char*>(ys[j].data()) + bytes * static_cast<size_t>(i), out[l.carry + j].data(), bytes);
    }
  }
  for (Tensor& c : carry) c = c.clone();
  carry.insert(carry.end(), ys.begin(), ys.end());
  return carry;
}

std::vector<Tensor> run_while(const Node& n, std::span<const Tensor> operands, const nabla_communicator* comm) {
  LoopLayout l = loop_layout(n);
  std::vector<Tensor> state(operands.begin(), operands.end());  // carries, then invariants
  const int64_t bound = n.attrs().max_trip_count;
  for (int64_t steps = 0;; ++steps) {
    if (!interp::interpret_shared(*n.cond(), state, comm)[0].get(0)) break;
    if (bound >= 0 && steps == bound) interp::fail_status(n.op(), NABLA_TRIP_COUNT_EXCEEDED, 0, steps, bound);
    std::vector<Tensor> next = interp::interpret_shared(*n.body(), state, comm);
    for (size_t j = 0; j < l.carry; ++j) state[j] = std::move(next[j]);
  }
  state.resize(l.carry);
  for (Tensor& c : state) c = c.clone();
  return state;
}

}  // namespace

std::vector<Tensor> evaluate_loop(const Node& n, std::span<const Tensor> operands, const nabla_communicator* comm) {
  if (!is_loop(n.op()) || !n.body()) throw Error(std::string(op_name(n.op())) + ": not a loop node");
  DepthGuard level(loop_depth, [&](const std::string& m) { throw Error(std::string(op_name(n.op())) + ": " + m); });
  return n.op() == Op::Scan ? run_scan(n, operands, comm) : run_while(n, operands, comm);
}

}  // namespace nabla
