#pragma once
// Differential testing of the backend against the reference interpreter:
// compile a function, run both on the same inputs, compare every result.
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "compiler/compile.h"
#include "ir/builder.h"

namespace nabla::test {

// Relative tolerances per float dtype: |got - want| <= rtol * max(|got|, |want|).
// Equal values (infinities, +-0 included) and NaN against NaN always agree;
// integers and bools must be equal.
struct Tolerance {
  double f32 = 0;
  double f64 = 0;
};

// "" when the tensors agree, else a description of the first difference.
std::string compare_tensors(const Tensor& got, const Tensor& want, Tolerance tol);

// Compiles f with `options`, runs it and the interpreter on `inputs` and
// compares the results; "" when all agree. An error thrown by the compiled
// run must equal the interpreter's (same message) to agree.
std::string compare_with_interpreter(const Function& f, std::span<const Tensor> inputs,
                                     const CompileOptions& options = {}, Tolerance tol = {});

// A module with one function "f" whose inputs have the given types and whose
// results `build` makes.
Module make_function(const std::vector<TensorType>& inputs,
                     const std::function<std::vector<Value>(std::vector<Value>&)>& build);

// Options for small tests: one thread, the given pipeline, fusion on.
CompileOptions test_options(int threads = 1);

}  // namespace nabla::test
