#include "tests/support/backend_testing.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "nabla/compiler/pipeline.h"
#include "nabla/ir/clone.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/interpreter.h"
#include "nabla/passes/pass_manager.h"
#include "tests/support/random_graph.h"
#include "nabla/runtime/error.h"

namespace nabla::test {

std::string compare_tensors(const Tensor& got, const Tensor& want, Tolerance tol) {
  if (type_of(got) != type_of(want))
    return fmt::format("type {} differs from the expected {}", type_of(got).str(), type_of(want).str());
  double rtol = got.dtype() == DType::f32 ? tol.f32 : got.dtype() == DType::f64 ? tol.f64 : 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double a = got.get(i), b = want.get(i);
    if (a == b || (std::isnan(a) && std::isnan(b))) continue;
    if (std::isfinite(a) && std::isfinite(b) && std::abs(a - b) <= rtol * std::max(std::abs(a), std::abs(b)))
      continue;
    return fmt::format("element {} is {:.17g}, expected {:.17g} ({})", i, a, b, type_of(got).str());
  }
  return "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string compare_bits(const Tensor& got, const Tensor& want) {
  if (type_of(got) != type_of(want))
    return fmt::format("type {} differs from the expected {}", type_of(got).str(), type_of(want).str());
  size_t size = dtype_size(got.dtype());
  const char* g = static_cast<const char*>(got.data());
  const char* w = static_cast<const char*>(want.data());
  for (int64_t i = 0; i < got.numel(); ++i) {
    if (std::isnan(got.get(i)) && std::isnan(want.get(i))) continue;
    if (std::memcmp(g + i * size, w + i * size, size) != 0)
      return fmt::format("element {} is {:.17g}, expected {:.17g} ({})", i, got.get(i), want.get(i),
                         type_of(got).str());
  }
  return "";
}

std::vector<Tensor> reference_results(const Function& f, std::span<const Tensor> inputs) {
  bool has_grad = false;
  for (const Node* n : f) has_grad |= n->op() == Op::Grad;
  if (!has_grad) return interpret(f, inputs);
  Module m;
  Function& copy = clone_function(f, m);
  PassManager pm;
  pm.add("build-grad{allow-disconnected}");
  pm.run(m);
  return interpret(copy, inputs);
}

std::string compare_with_interpreter(const Function& f, std::span<const Tensor> inputs,
                                     const CompileOptions& options, Tolerance tol) {
  std::vector<Tensor> want;
  std::string want_error;
  try {
    want = reference_results(f, inputs);
  } catch (const Error& e) {
    want_error = e.what();
  }
  Executable exe = compile(f, options);
  std::vector<Tensor> got;
  try {
    got = exe.run(inputs);
  } catch (const Error& e) {
    if (want_error == e.what()) return "";
    return fmt::format("compiled run failed: {} (interpreter: {})", e.what(),
                       want_error.empty() ? "no error" : want_error);
  }
  if (!want_error.empty()) return "the interpreter failed (" + want_error + ") but the compiled run did not";
  for (size_t i = 0; i < want.size(); ++i) {
    std::string d = compare_tensors(got[i], want[i], tol);
    if (!d.empty()) return fmt::format("result {}: {}", i, d);
  }
  return "";
}

Module make_function(const std::vector<TensorType>& inputs,
                     const std::function<std::vector<Value>(std::vector<Value>&)>& build) {
  Module m;
  Function& f = m.function("f");
  std::vector<Value> ins;
  for (size_t i = 0; i < inputs.size(); ++i) ins.push_back(f.input("x" + std::to_string(i), inputs[i]));
  for (Value v : build(ins)) f.output(v);
  return m;
}

DiffBatch::DiffBatch() : f_(&module_.function("batch")) {}

Value DiffBatch::input(TensorType t) { return f_->input("x" + std::to_string(f_->inputs().size()), std::move(t)); }

void DiffBatch::result(Value v, std::string label) {
  f_->output(v);
  labels_.push_back(std::move(label));
}

std::vector<Tensor> DiffBatch::random_inputs(uint64_t seed, double special_rate, double scale) const {
  std::vector<Tensor> in = test::random_inputs(*f_, seed, special_rate);
  if (scale != 1)
    for (Tensor& t : in)
      if (is_float(t.dtype()))
        for (int64_t i = 0; i < t.numel(); ++i) t.set(i, t.get(i) * scale);
  return in;
}

void DiffBatch::check(std::span<const Tensor> inputs, const CompileOptions& options, Tolerance tol) const {
  std::vector<Tensor> want = reference_results(*f_, inputs);
  Executable exe = compile(*f_, options);
  std::vector<Tensor> got = exe.run(inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    std::string d = compare_tensors(got[i], want[i], tol);
    if (!d.empty()) ADD_FAILURE() << labels_[i] << ": " << d;
  }
}

int fused_products(const Function& f) {
  Module copy;
  clone_function(f, copy);
  run_compile_passes(copy, PipelineSpec{});
  std::set<const Function*> bodies;
  for (const Node* n : *copy.find(f.name()))
    if (fused_matmul(*n)) bodies.insert(n->body());
  return static_cast<int>(bodies.size());
}

int32_t call_entry(const Executable& exe, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                   nabla_context* ctx) {
  std::vector<const void*> ins;
  std::vector<void*> outs;
  for (const Tensor& t : inputs) ins.push_back(t.data());
  for (Tensor& t : outputs) outs.push_back(t.data());
  std::vector<std::byte> ws(static_cast<size_t>(exe.workspace_bytes()) + 64);
  void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
  return exe.entry()(ins.data(), outs.data(), aligned, ctx);
}

CompileOptions test_options(int threads) {
  CompileOptions o;
  o.num_threads = threads;
  return o;
}

CompileOptions split_everything(int threads) {
  CompileOptions o = test_options(threads);
  o.min_parallel_work = 1;
  return o;
}

}  // namespace nabla::test
