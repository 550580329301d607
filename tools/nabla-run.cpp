// nabla-run: evaluates a function of a .nabla file on .npy or random inputs,
// prints a summary of each result and optionally writes the results as .npy.
// grad nodes are expanded (the build-grad pass) before the function runs. By
// default the function is JIT-compiled (compiler/compile.h). Documented in
// docs/cli.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "nabla/compiler/compile.h"
#include "nabla/ir/diagnostic.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/printer_names.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/ir/verifier.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/check_grad.h"
#include "nabla/runtime/error.h"
#include "nabla/runtime/npy.h"
#include "tools/common/cli.h"
#include "tools/common/sparse_option.h"
#include "tools/common/output_file.h"

namespace {

using nabla::Error;
using nabla::Function;
using nabla::Tensor;

struct Options {
  std::string file;                                        // "-": stdin
  std::string name;                                        // of the file in messages ("<stdin>" for "-")
  std::string output;                                      // the summary's file ("" or "-": stdout)
  std::string func;                                        // empty: the first function
  std::vector<std::pair<std::string, std::string>> inputs;  // NAME, FILE.npy
  std::optional<uint64_t> seed;
  std::string output_dir;
  std::string engine = "jit";
  bool check_grad = false;
  std::string derivative;  // "hessian" or "jacobian": run the sparse derivative instead
  double tolerance = nabla::CheckGradOptions().tolerance;
  int benchmark = 0;  // runs to time (0: none)
  nabla::CompileOptions compile;
  bool compile_stats = false;
};

// An engine prepares a function (compiling it, for the JIT) and returns what
// computes its results from its inputs; the runner keeps what it prepared.
using Runner = std::function<std::vector<Tensor>(std::span<const Tensor>)>;
using Engine = std::function<Runner(const Function&, const Options&, std::ostream&)>;
const std::map<std::string, Engine>& engines() {
  static const std::map<std::string, Engine> table = {
      {"interpret", [](const Function& f, const Options&, std::ostream&) -> Runner {
         return [&f](std::span<const Tensor> in) { return nabla::interpret(f, in); };
       }},
      {"jit", [](const Function& f, const Options& o, std::ostream& out) -> Runner {
         auto exe = std::make_shared<nabla::Executable>(nabla::compile(f, o.compile));
         if (o.compile_stats) {
           const nabla::CompileStats& s = exe->stats();
           out << fmt::format(
               "compile: {:.1f} ms (passes {:.1f}, lowering {:.1f}, LLVM optimization {:.1f}, "
               "machine code {:.1f}); {} nodes, {} fused regions, {} kernels ({} parallel); "
               "workspace {} bytes (intermediates {} bytes, peak live {} bytes)\n",
               s.total_ms, s.passes_ms, s.lowering_ms, s.optimize_ms, s.codegen_ms, s.num_nodes,
               s.num_fused_regions, s.num_kernels, s.num_parallel_kernels, exe->workspace_bytes(),
               exe->intermediate_bytes(), exe->peak_live_bytes());
           // The collectives' schedule (docs/distributed.md): the kernels in
           // between run while the message is in flight.
           for (const nabla::CollectiveSchedule& c : s.collectives)
             std::cout << fmt::format("collective %{}: {} bytes, started after kernel {}, waited for before "
                                      "kernel {} ({} kernels overlap it)\n",
                                      c.name, c.bytes, c.start, c.wait, c.wait - c.start);
           // Serial kernels run side by side (one parallel loop; ' | ' between its tasks).
           for (const nabla::SideBySide& side : s.side_by_side) {
             std::vector<std::string> tasks;
             for (const auto& t : side.tasks) tasks.push_back(fmt::format("{}", fmt::join(t, " ")));
             std::cout << fmt::format("side by side: {}\n", fmt::join(tasks, " | "));
           }
         }
         return [exe](std::span<const Tensor> in) { return exe->run(in); };
       }},
  };
  return table;
}

int count(std::string_view v) { return static_cast<int>(nabla::cli::parse_int(v, 1, 1 << 20)); }

nabla::cli::Program program(Options& o) {
  auto flag = [](bool& field) { return [&field](std::string_view) { field = true; }; };
  auto path = [](std::string& field) { return [&field](std::string_view v) { field = v; }; };
  return {
      "nabla-run",
      "[options] FILE.nabla",
      "evaluates a function of a .nabla file ('-': stdin) and prints a summary of its results",
      {
          {"-o", "FILE", "write the summary to FILE ('-': stdout, the default)", path(o.output)},
          {"--func", "NAME", "the function to run (default: the first one in the file)",
           [&](std::string_view v) { o.func = std::string(v.starts_with('@') ? v.substr(1) : v); }},
          {"--input", "NAME=FILE.npy", "the value of input NAME (repeat for each input)",
           [&](std::string_view v) {
             size_t eq = v.find('=');
             if (eq == std::string_view::npos || eq == 0 || eq + 1 == v.size())
               throw Error("expected NAME=FILE.npy, got '" + std::string(v) + "'");
             std::string_view name = v.substr(0, eq);
             if (name.starts_with('%')) name.remove_prefix(1);
             o.inputs.emplace_back(std::string(name), std::string(v.substr(eq + 1)));
           },
           true},
          {"--random-inputs", "SEED", "random values for the inputs not given by --input (see docs/cli.md)",
           [&](std::string_view v) { o.seed = static_cast<uint64_t>(nabla::cli::parse_int(v, 0, INT64_MAX)); }},
          {"--output-dir", "DIR", "write each result as DIR/NAME.npy (DIR is created if needed)",
           [&](std::string_view v) {
             if (v == "-") throw Error("expected a directory, got '-' (the summary goes to stdout)");
             o.output_dir = v;
           }},
          {"--interpret", "", "evaluate with the reference interpreter instead of the JIT",
           [&](std::string_view) { o.engine = "interpret"; }},
          {"--check-grad", "", "check every grad against central differences in f64 instead of running",
           flag(o.check_grad)},
          {"--hessian", "",
           "run the sparse Hessian of the first result in the first input instead (lower triangle, CSR); "
           "print its size and colors",
           [&](std::string_view) { o.derivative = "hessian"; }},
          {"--jacobian", "", "run the sparse Jacobian of the first result in the first input instead (CSR)",
           [&](std::string_view) { o.derivative = "jacobian"; }},
          {"--tolerance", "TOL", "the largest error --check-grad accepts (default 1e-06)",
           [&](std::string_view v) { o.tolerance = nabla::cli::parse_real(v, 0); }},
          {"--benchmark", "N", "time N runs after a warm-up run and print the median",
           [&](std::string_view v) { o.benchmark = count(v); }},
          {"--threads", "N", "JIT: threads for large loops (default: the machine's)",
           [&](std::string_view v) { o.compile.num_threads = count(v); }},
          {"--compile-threads", "N", "JIT: threads that optimize and generate code (default: the machine's)",
           [&](std::string_view v) { o.compile.compile_threads = count(v); }},
          {"--fast-math", "", "JIT: fast-math flags, reassociated sums, fused multiply-adds", flag(o.compile.fast_math)},
          {"--stream-store-bytes", "N",
           "JIT: elementwise kernels writing at least N bytes use streaming stores (default 16777216; 0: never)",
           [&](std::string_view v) { o.compile.stream_store_bytes = nabla::cli::parse_int(v, 0, INT64_MAX); }},
          {"--passes", "PIPELINE", "JIT: the pass pipeline before lowering (default: the default pipeline)",
           [&](std::string_view v) { o.compile.pipeline = std::string(v); }},
          {"--no-fuse", "", "JIT: do not fuse elementwise ops", [&](std::string_view) { o.compile.fuse = false; }},
          {"--no-fuse-matmul", "", "JIT: no GEMM epilogues (the fuse-matmul pass off)",
           [&](std::string_view) { o.compile.fuse_matmul = false; }},
          {"--print-after-all", "", "JIT: print the module after every pass (to stderr)",
           flag(o.compile.print_after_all)},
          {"--emit-llvm", "FILE", "JIT: write the optimized LLVM IR to FILE ('-': stdout)",
           path(o.compile.dump_llvm_ir)},
          {"--emit-asm", "FILE", "JIT: write the assembly to FILE ('-': stdout)", path(o.compile.dump_asm)},
          {"--compile-stats", "", "JIT: print compile times, kernel counts and memory sizes", flag(o.compile_stats)},
      },
      "JIT: the LLVM optimization level (default -O3)",
      &o.compile.opt_level,
  };
}

void check_options(Options& o) {
  o.name = o.file == "-" ? "<stdin>" : o.file;
  if (o.tolerance != nabla::CheckGradOptions().tolerance && !o.check_grad)
    throw Error("--tolerance applies only to --check-grad");
  if (o.check_grad && !o.output_dir.empty()) throw Error("--check-grad writes no results (drop --output-dir)");
  if (o.check_grad && !o.derivative.empty()) throw Error("--check-grad does not go with --" + o.derivative);
}

Function& pick_function(const nabla::Module& m, const Options& o) {
  std::vector<Function*> fs = m.functions();
  if (fs.empty()) throw Error(o.name + " defines no function");
  if (o.func.empty()) return *fs.front();
  if (Function* f = m.find(o.func)) return *f;
  std::string names;
  for (Function* f : fs) names += (names.empty() ? "@" : ", @") + f->name();
  throw Error(o.name + " has no function @" + o.func + " (it has " + names + ")");
}

std::vector<Tensor> gather_inputs(const Function& f, const Options& o) {
  std::vector<Tensor> values(f.inputs().size());
  if (o.seed) values = nabla::random_inputs(f, *o.seed);
  std::vector<bool> given(f.inputs().size(), false);
  for (const auto& [name, path] : o.inputs) {
    const nabla::Node* in = f.find_input(name);
    if (!in) {
      std::string names;
      for (const nabla::Node* n : f.inputs()) names += (names.empty() ? "%" : ", %") + n->name();
      throw Error("@" + f.name() + " has no input %" + name + " (its inputs: " + names + ")");
    }
    size_t i = static_cast<size_t>(in->input_index());
    if (given[i]) throw Error("input %" + name + " is given twice");
    given[i] = true;
    values[i] = nabla::read_npy(path);
    nabla::check_npy_type(path, values[i], "input %" + name + " of @" + f.name(), in->dtype(), in->shape());
  }
  for (size_t i = 0; i < values.size(); ++i)
    if (!given[i] && !o.seed)
      throw Error("no value for input %" + f.inputs()[i]->name() + " of @" + f.name() +
                  " (give --input " + f.inputs()[i]->name() + "=FILE.npy or --random-inputs SEED)");
  return values;
}

std::string format_value(const Tensor& t, int64_t i) {
  double v = t.get(i);
  if (nabla::is_float(t.dtype())) return fmt::format("{:.6g}", v);
  if (t.dtype() == nabla::DType::bool_) return v != 0 ? "true" : "false";
  return fmt::format("{}", static_cast<int64_t>(v));
}

// "%y: f32[8,1]", then the first values, then sum, min and max (NaN propagates).
void print_summary(std::ostream& os, const std::string& name, const Tensor& t) {
  constexpr int64_t kShown = 6;
  os << name << ": " << nabla::type_of(t).str() << "\n  values:";
  for (int64_t i = 0; i < std::min(t.numel(), kShown); ++i) os << " " << format_value(t, i);
  if (t.numel() == 0) os << " (none)";
  if (t.numel() > kShown) os << " ... (" << t.numel() << " in all)";
  double sum = 0, lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = t.get(i);
    sum += v;
    lo = std::isnan(v) || std::isnan(lo) ? NAN : std::min(lo, v);
    hi = std::isnan(v) || std::isnan(hi) ? NAN : std::max(hi, v);
  }
  os << "\n  sum: " << fmt::format("{:.6g}", sum);
  if (t.numel() > 0) os << "  min: " << fmt::format("{:.6g}", lo) << "  max: " << fmt::format("{:.6g}", hi);
  os << "\n";
}

void make_output_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec && !std::filesystem::is_directory(dir, ec)) ec = std::make_error_code(std::errc::not_a_directory);
  if (ec) throw Error("cannot create the output directory " + dir + ": " + ec.message());
}

// Times n runs (after one warm-up run) and prints the median and the range.
void print_benchmark(std::ostream& out, const Runner& runner, std::span<const Tensor> inputs, int n) {
  using Clock = std::chrono::steady_clock;
  runner(inputs);
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    auto t = Clock::now();
    runner(inputs);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  std::sort(ms.begin(), ms.end());
  double median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
  out << fmt::format("benchmark: {} runs, median {:.4f} ms (min {:.4f}, max {:.4f})\n", n, median, ms.front(),
                     ms.back());
}

// The summary of each result, and with --output-dir its .npy file.
void report_results(std::ostream& out, const Function& f, const std::vector<Tensor>& results, const Options& o) {
  nabla::ValueNames names(f);
  std::map<std::string, int> uses;
  for (size_t i = 0; i < results.size(); ++i) {
    std::string name = names.ref(f.results()[i]);
    print_summary(out, name, results[i]);
    if (o.output_dir.empty()) continue;
    // %y -> DIR/y.npy; a value returned twice gets y_2.npy, ...
    std::string stem = name.substr(1);
    if (++uses[stem] > 1) stem += "_" + std::to_string(uses[stem]);
    std::string path = (std::filesystem::path(o.output_dir) / (stem + ".npy")).string();
    nabla::write_npy(path, results[i]);
    out << "  written to " << path << "\n";
  }
}

// Prints the worst error of each grad; exit code 1 when one is too large.
int check_grads(std::ostream& out, const Function& f, const std::vector<Tensor>& inputs, const Options& o) {
  nabla::CheckGradOptions cg;
  cg.seed = o.seed.value_or(0);
  cg.tolerance = o.tolerance;
  nabla::CheckGradReport report = nabla::check_grad(f, inputs, cg);
  nabla::print_report(out, report);
  return report.ok() ? 0 : 1;
}

// Evaluates f with the chosen engine; an evaluation error points at the node
// that failed when it came from the file.
int evaluate(std::ostream& out, Function& f, const std::vector<Tensor>& inputs, const std::string& source,
             const Options& o) {
  nabla::build_grad(f);
  if (!o.derivative.empty()) out << nabla::cli::make_sparse_derivative(f, o.derivative) << "\n";
  if (!o.output_dir.empty()) make_output_dir(o.output_dir);
  std::vector<Tensor> results;
  Runner runner;  // outlives the catch: an EvaluationError points into what it compiled
  try {
    runner = engines().at(o.engine)(f, o, out);
    results = runner(inputs);
    if (o.benchmark > 0) print_benchmark(out, runner, inputs, o.benchmark);
  } catch (const nabla::EvaluationError& e) {
    if (e.node() && e.node()->loc().valid())
      throw Error(nabla::format_diagnostic(o.name, source, e.node()->loc(), e.what()));
    throw;
  }
  report_results(out, f, results, o);
  return 0;
}

int run(Options& o) {
  check_options(o);
  std::string source = nabla::read_source(o.file);
  nabla::Module m = nabla::parse(source, o.name);
  nabla::verify(m);
  Function& f = pick_function(m, o);
  std::vector<Tensor> inputs = gather_inputs(f, o);
  std::ostringstream out;
  int status = o.check_grad ? check_grads(out, f, inputs, o) : evaluate(out, f, inputs, source, o);
  nabla::write_output(o.output, out.str());
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  nabla::cli::Program p = program(o);
  return nabla::cli::run(p, argc, argv, [&](std::vector<std::string>& files) {
    o.file = nabla::cli::one_input(p, files);
    return run(o);
  });
}
