#pragma once
// Differential testing of the backend against the reference interpreter:
// compile a function, run both on the same inputs, compare every result.
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "nabla/runtime/abi.h"

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

// The whole contents of a text file (a compiler dump such as
// CompileOptions::dump_llvm_ir or dump_asm); "" when it cannot be read.
std::string read_file(const std::string& path);

// "" when the tensors hold the same bits in every element (any NaN matching
// any NaN; +0 and -0 differ), else a description of the first difference.
std::string compare_bits(const Tensor& got, const Tensor& want);

// The interpreter's results for f: of f itself, or, when f has grad nodes, of
// a copy where only the build-grad pass (with allow-disconnected: a target z
// does not reach gets a zero gradient) expanded them.
std::vector<Tensor> reference_results(const Function& f, std::span<const Tensor> inputs);

// Compiles f with `options`, runs it and the interpreter on `inputs` and
// compares the results; "" when all agree. An error thrown by the compiled
// run must equal the interpreter's (same message) to agree.
std::string compare_with_interpreter(const Function& f, std::span<const Tensor> inputs,
                                     const CompileOptions& options = {}, Tolerance tol = {});

// A module with one function "f" whose inputs have the given types and whose
// results `build` makes.
Module make_function(const std::vector<TensorType>& inputs,
                     const std::function<std::vector<Value>(std::vector<Value>&)>& build);

// Many small checks in one compiled function (one compile is the costly
// part): inputs and labelled results are added one by one, then check()
// compiles the function, runs it and the interpreter on the same random
// inputs and reports every result that differs, by its label.
class DiffBatch {
 public:
  DiffBatch();
  Function& f() { return *f_; }
  Value input(TensorType t);
  void result(Value v, std::string label);
  size_t size() const { return labels_.size(); }

  // Floats uniform in [-2, 2] with a share `special_rate` of 0, -0, 1, inf
  // and NaN; integers in [-4, 4] (tests/support/random_graph.h). `scale`
  // multiplies every float input.
  std::vector<Tensor> random_inputs(uint64_t seed, double special_rate = 0.05, double scale = 1) const;
  // GoogleTest failures for each differing result.
  void check(std::span<const Tensor> inputs, const CompileOptions& options, Tolerance tol = {}) const;
  void check(uint64_t seed, const CompileOptions& options, Tolerance tol = {}) const {
    check(random_inputs(seed), options, tol);
  }

 private:
  Module module_;
  Function* f_;
  std::vector<std::string> labels_;
};

// Calls exe's raw entry (runtime/abi.h) on the tensors' data, with a
// 64-byte-aligned workspace and `ctx` (may be null); returns its status.
int32_t call_entry(const Executable& exe, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                   nabla_context* ctx);

// Options for small tests: one thread, the given pipeline, fusion on.
CompileOptions test_options(int threads = 1);
// test_options with min_parallel_work 1: every kernel that can split does.
CompileOptions split_everything(int threads);

// Fused bodies holding a matmul (GEMM epilogues) after the compile pipeline
// (fusion included) runs on a copy of f.
int fused_products(const Function& f);

}  // namespace nabla::test
