// saddle: min_x max_y f(x, y), f = (x1^2 + x2^2) - (y1^2 + y2^2) (upstream
// evals/saddle/README.md), by the gradient descent of descent.h nested in
// itself: the outer descent over x evaluates max_y f(x, y) by an inner
// descent over y (from the start) and differentiates through that inner
// while loop; then y = argmax_y f(x, y). Functions rr, ff, fr, rf: reverse
// (nabla::grad) or forward (jacfwd, jvp per element) mode for the outer and
// the inner derivative; the final argmax uses the outer mode. The whole
// computation is one compiled function of the start point.
#include "nabla/ir/builder.h"
#include "tools/gradbench/descent.h"
#include "tools/gradbench/evals.h"

namespace nabla::gradbench {
namespace {

// The inner descent's trip count is 170 from the eval's start (1, 1); its
// derivative runs this many masked steps.
constexpr int64_t kInnerTrips = 256;

Parsed read(const llvm::json::Object& input) {
  return {{Tensor::from_doubles(DType::f64, {2}, vector_field(input, "start", 2))}, {}};
}

Value f(Value x, Value y) { return sum(x * x) - sum(y * y); }

// argmax_y f(x, y) from start: the descent of -f.
Value argmax_y(Value x, Value start, Mode mode, int64_t max_trip_count) {
  auto fg = [mode](Value y, std::span<const Value> w) {
    Value z = -f(w[0], y);
    return std::pair{z, gradient(z, y, mode)};
  };
  return argmin(fg, start, {x}, max_trip_count);
}

template <Mode outer, Mode inner>
void build(Function& fn, const std::vector<int64_t>&) {
  Value start = fn.input("start", f64({2}));
  auto max_over_y = [](Value x, std::span<const Value> w) {
    Value z = f(x, argmax_y(x, w[0], inner, kInnerTrips));
    return std::pair{z, gradient(z, x, outer)};
  };
  Value x = argmin(max_over_y, start, {start});
  fn.output(concat(std::vector<Value>{x, argmax_y(x, start, outer, -1)}, 0));
}

llvm::json::Value write(const std::vector<Tensor>& r, const std::vector<int64_t>&) { return to_json_array(r[0]); }

}  // namespace

std::vector<EvalFunction> saddle_functions() {
  return {{"saddle", "rr", read, build<Mode::reverse, Mode::reverse>, write},
          {"saddle", "ff", read, build<Mode::forward, Mode::forward>, write},
          {"saddle", "fr", read, build<Mode::forward, Mode::reverse>, write},
          {"saddle", "rf", read, build<Mode::reverse, Mode::forward>, write}};
}

}  // namespace nabla::gradbench
