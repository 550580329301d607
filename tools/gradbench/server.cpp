// The GradBench protocol (upstream CONTRIBUTING.md, "Protocol"): start,
// define, evaluate, analysis; every other kind is acknowledged by its id.
#include <chrono>
#include <cmath>
#include <fstream>

#include "tools/gradbench/gradbench.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/printer.h"

namespace nabla::gradbench {
namespace json = llvm::json;

bool has_module(std::string_view module) {
  for (const EvalFunction& f : eval_functions())
    if (f.module == module) return true;
  return false;
}

const EvalFunction* find_function(std::string_view module, std::string_view name) {
  for (const EvalFunction& f : eval_functions())
    if (f.module == module && f.name == name) return &f;
  return nullptr;
}

namespace {

using Clock = std::chrono::steady_clock;

void print_stats(const std::string& key, int64_t build_ns, const CompileStats& s) {
  llvm::errs() << llvm::format(
      "%s: build %.1f ms; compile %.1f ms (passes %.1f, lowering %.1f, LLVM optimization %.1f, "
      "machine code %.1f); %d nodes, %d kernels; %d constants (%lld bytes) outside the code\n",
      key.c_str(), build_ns / 1e6, s.total_ms, s.passes_ms, s.lowering_ms, s.optimize_ms, s.codegen_ms,
      s.num_nodes, s.num_kernels, s.num_external_constants, static_cast<long long>(s.external_constant_bytes));
}

int64_t nanoseconds_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

json::Object timing(std::string_view name, int64_t ns) {
  return json::Object{{"name", std::string(name)}, {"nanoseconds", ns}};
}

std::string text(json::Object response) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << json::Value(std::move(response));
  return out;
}

std::string string_field(const json::Object& o, std::string_view name) {
  if (auto s = o.getString(name)) return s->str();
  throw Error("field \"" + std::string(name) + "\": expected a string");
}

// The sizes as the cache key: "lse.gradient[2500]".
std::string cache_key(const EvalFunction& f, const std::vector<int64_t>& sizes) {
  return std::string(f.module) + "." + std::string(f.name) + shape_to_string(sizes);
}

// JSON has no NaN or infinity: such a result is an error, not an output.
void check_finite(const std::vector<Tensor>& results) {
  for (const Tensor& t : results)
    for (int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(t.get(i))) throw Error("the result is not finite (JSON has no NaN or infinity)");
}

void write_module(const Module& m, const std::string& path) {
  std::ofstream out(path);
  out << print(m);
  if (!out.flush()) throw Error("cannot write " + path);
}

}  // namespace

double number_field(const json::Object& o, std::string_view name) {
  if (auto v = o.getNumber(name)) return *v;
  throw Error("field \"" + std::string(name) + "\": expected a number");
}

int64_t integer_field(const json::Object& o, std::string_view name, int64_t lo, int64_t hi) {
  auto v = o.getInteger(name);
  if (!v || *v < lo || *v > hi)
    throw Error("field \"" + std::string(name) + "\": expected an integer in [" + std::to_string(lo) +
                ", " + std::to_string(hi) + "]");
  return *v;
}

static std::vector<double> numbers(const json::Array* a, const std::string& what, int64_t size) {
  if (!a || (size >= 0 && static_cast<int64_t>(a->size()) != size))
    throw Error(what + ": expected an array of " + (size >= 0 ? std::to_string(size) + " " : "") +
                "numbers");
  std::vector<double> out;
  out.reserve(a->size());
  for (const json::Value& v : *a) {
    auto x = v.getAsNumber();
    if (!x) throw Error(what + ": expected an array of numbers");
    out.push_back(*x);
  }
  return out;
}

std::vector<double> vector_field(const json::Object& o, std::string_view name, int64_t size) {
  return numbers(o.getArray(name), "field \"" + std::string(name) + "\"", size);
}

std::vector<double> matrix_field(const json::Object& o, std::string_view name, int64_t rows,
                                 int64_t cols) {
  std::string what = "field \"" + std::string(name) + "\"";
  const json::Array* a = o.getArray(name);
  if (!a || static_cast<int64_t>(a->size()) != rows)
    throw Error(what + ": expected an array of " + std::to_string(rows) + " arrays");
  std::vector<double> out;
  out.reserve(rows * cols);
  for (size_t i = 0; i < a->size(); ++i) {
    std::vector<double> row = numbers((*a)[i].getAsArray(), what + " row " + std::to_string(i), cols);
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

json::Value to_json_array(const Tensor& t) {
  json::Array a;
  a.reserve(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) a.push_back(t.get(i));
  return a;
}

json::Value write_scalar(const std::vector<Tensor>& results, const std::vector<int64_t>&) { return results[0].get(0); }

json::Value write_array(const std::vector<Tensor>& results, const std::vector<int64_t>&) {
  return to_json_array(results[0]);
}

json::Value to_json_matrix(const Tensor& t, int64_t rows, int64_t cols) {
  json::Array a;
  for (int64_t r = 0; r < rows; ++r) {
    json::Array row;
    for (int64_t c = 0; c < cols; ++c) row.push_back(t.get(r * cols + c));
    a.push_back(std::move(row));
  }
  return a;
}

// Runs the function min_runs times and at least min_seconds in all (once
// when the input has neither), one `evaluate` timing per run.
json::Object Server::evaluate(const json::Object& message) {
  std::string module = string_field(message, "module"), name = string_field(message, "function");
  const EvalFunction* fn = find_function(module, name);
  if (!fn) throw Error("unknown function '" + name + "' of module '" + module + "'");
  const json::Object* input = message.getObject("input");
  json::Object wrapped;  // hello's input is a bare number
  if (!input) {
    if (!message.get("input")) throw Error("field \"input\": missing");
    wrapped["input"] = *message.get("input");
    input = &wrapped;
  }
  Parsed parsed = fn->read(*input);
  int64_t min_runs = input->get("min_runs") ? integer_field(*input, "min_runs", 1, 1'000'000) : 1;
  double min_seconds = input->get("min_seconds") ? number_field(*input, "min_seconds") : 0;

  json::Array timings;
  std::string key = cache_key(*fn, parsed.sizes);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    Clock::time_point start = Clock::now();
    Module m;
    fn->build(m.add_function(std::string(fn->name)), parsed.sizes);
    int64_t build_ns = nanoseconds_since(start);
    if (!module_dir_.empty()) write_module(m, module_dir_ + "/" + key + ".nabla");
    it = cache_.emplace(key, compile(m, fn->name, options_)).first;
    if (compile_stats_) print_stats(key, build_ns, it->second.stats());
    timings.push_back(timing("prepare", nanoseconds_since(start)));
  }
  Executable& exe = it->second;
  std::vector<Tensor> results;
  for (const TensorType& t : exe.output_types()) results.emplace_back(t.dtype, t.shape);
  int64_t total = 0;
  for (int64_t run = 0; run < min_runs || total < min_seconds * 1e9; ++run) {
    Clock::time_point start = Clock::now();
    exe.run(parsed.inputs, results);
    int64_t ns = nanoseconds_since(start);
    total += ns;
    timings.push_back(timing("evaluate", ns));
  }
  check_finite(results);
  return json::Object{{"success", true}, {"output", fn->write(results, parsed.sizes)},
                      {"timings", std::move(timings)}};
}

std::string Server::handle(std::string_view line) {
  json::Value id = nullptr;
  try {
    llvm::Expected<json::Value> parsed = json::parse(line);
    if (!parsed) throw Error("malformed JSON: " + llvm::toString(parsed.takeError()));
    const json::Object* message = parsed->getAsObject();
    if (!message) throw Error("a message must be a JSON object");
    if (const json::Value* v = message->get("id")) id = *v;
    std::string kind = string_field(*message, "kind");
    json::Object response;
    if (kind == "start") {
      response = json::Object{{"tool", "nabla"}};
    } else if (kind == "define") {
      std::string module = string_field(*message, "module");
      response = json::Object{{"success", has_module(module)}};
      if (!has_module(module)) response["error"] = "unknown module '" + module + "'";
    } else if (kind == "evaluate") {
      response = evaluate(*message);
    }
    response["id"] = id;
    return text(std::move(response));
  } catch (const std::exception& e) {  // nabla::Error, and a failed allocation
    return text(json::Object{{"id", id}, {"success", false}, {"error", e.what()}});
  }
}

}  // namespace nabla::gradbench
