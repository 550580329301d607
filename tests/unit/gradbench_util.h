#pragma once
// Helpers for the tests of nabla-gradbench's evals (gradbench_*test.cpp):
// asking the server, flattening its JSON answers, and f64 central
// differences of an eval's primal graph by the interpreter.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "llvm/Support/raw_ostream.h"
#include "nabla/ir/interpreter.h"
#include "tools/gradbench/gradbench.h"

namespace nabla::gradbench {
namespace json = llvm::json;

inline json::Object ask(Server& server, json::Value message) {
  std::string line;
  llvm::raw_string_ostream(line) << message;
  llvm::Expected<json::Value> response = json::parse(server.handle(line));
  EXPECT_TRUE(static_cast<bool>(response));
  return *response->getAsObject();
}

// The output of a successful evaluate of module.function at input.
inline json::Value evaluate(Server& server, const std::string& module, const std::string& function,
                            json::Object input) {
  input["min_runs"] = 1;
  input["min_seconds"] = 0.0;
  json::Object r = ask(server, json::Object{{"id", 7}, {"kind", "evaluate"}, {"module", module},
                                            {"function", function}, {"input", std::move(input)}});
  EXPECT_EQ(r.getBoolean("success"), true) << (r.getString("error") ? r.getString("error")->str() : "");
  return r.get("output") ? *r.get("output") : json::Value(nullptr);
}

inline std::vector<double> flat(const json::Value& v) {
  std::vector<double> out;
  if (auto x = v.getAsNumber()) return {*x};
  for (const json::Value& e : *v.getAsArray()) {
    std::vector<double> part = flat(e);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

// d primal / d input[target], element by element, by f64 central differences
// of the primal graph of `module` run by the interpreter; the primal's value
// is element `element` of its first result (negative: from the end).
inline std::vector<double> central_differences(std::string_view module, std::string_view primal,
                                               const json::Object& input, size_t target,
                                               int64_t element = 0) {
  const EvalFunction* fn = find_function(module, primal);
  Parsed p = fn->read(input);
  Module m;
  Function& f = m.add_function("primal");
  fn->build(f, p.sizes);
  std::vector<double> out;
  Tensor& w = p.inputs[target];
  for (int64_t i = 0; i < w.numel(); ++i) {
    double x = w.get(i), h = 1e-6 * std::max(1.0, std::abs(x));
    w.set(i, x + h);
    Tensor up = interpret(f, p.inputs)[0];
    w.set(i, x - h);
    Tensor down = interpret(f, p.inputs)[0];
    int64_t e = element < 0 ? up.numel() + element : element;
    w.set(i, x);
    out.push_back((up.get(e) - down.get(e)) / (2 * h));
  }
  return out;
}

inline void expect_near_all(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::abs(want[i]))) << "element " << i;
}

inline json::Array numbers(std::initializer_list<double> v) { return json::Array(std::vector<json::Value>(v.begin(), v.end())); }

inline json::Array rows(const std::vector<double>& v, int r, int c) {
  json::Array out;
  for (int i = 0; i < r; ++i) out.push_back(json::Array(std::vector<json::Value>(v.begin() + i * c, v.begin() + (i + 1) * c)));
  return out;
}

// The error string of a reply that must be `"success": false`.
inline std::string error_of(Server& server, std::string_view line) {
  llvm::Expected<json::Value> r = json::parse(server.handle(line));
  EXPECT_TRUE(static_cast<bool>(r));
  const json::Object& o = *r->getAsObject();
  EXPECT_EQ(o.getBoolean("success"), false);
  return o.getString("error") ? o.getString("error")->str() : "(no error)";
}

}  // namespace nabla::gradbench
