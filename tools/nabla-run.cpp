// nabla-run: evaluates a function of a .nabla file on .npy or random inputs,
// prints a summary of each result and optionally writes the results as .npy.
//   nabla-run FILE.nabla [--func NAME] [--input NAME=FILE.npy ...]
//             [--random-inputs SEED] [--output-dir DIR] [--interpret]
//             [--benchmark N] [--threads N] [--fast-math] [--emit-llvm FILE] ...
//             [--check-grad [--tolerance TOL]]
// grad nodes are expanded (the build-grad pass) before the function runs. By
// default the function is JIT-compiled (compiler/compile.h).
// Errors go to stderr and the exit code is 1. Documented in docs/cli.md.
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

namespace {

using nabla::Error;
using nabla::Function;
using nabla::Tensor;

struct Options {
  std::string file;
  std::string func;                                        // empty: the first function
  std::vector<std::pair<std::string, std::string>> inputs;  // NAME, FILE.npy
  std::optional<uint64_t> seed;
  std::string output_dir;
  std::string engine = "jit";
  bool check_grad = false;
  double tolerance = nabla::CheckGradOptions().tolerance;
  int benchmark = 0;  // runs to time (0: none)
  nabla::CompileOptions compile;
  bool compile_stats = false;
  bool help = false;
};

// An engine prepares a function (compiling it, for the JIT) and returns what
// computes its results from its inputs; the runner keeps what it prepared.
using Runner = std::function<std::vector<Tensor>(std::span<const Tensor>)>;
using Engine = std::function<Runner(const Function&, const Options&)>;
const std::map<std::string, Engine>& engines() {
  static const std::map<std::string, Engine> table = {
      {"interpret", [](const Function& f, const Options&) -> Runner {
         return [&f](std::span<const Tensor> in) { return nabla::interpret(f, in); };
       }},
      {"jit", [](const Function& f, const Options& o) -> Runner {
         auto exe = std::make_shared<nabla::Executable>(nabla::compile(f, o.compile));
         if (o.compile_stats) {
           const nabla::CompileStats& s = exe->stats();
           std::cout << fmt::format(
               "compile: {:.1f} ms (passes {:.1f}, lowering {:.1f}, LLVM optimization {:.1f}, "
               "machine code {:.1f}); {} nodes, {} fused regions, {} kernels ({} parallel); "
               "workspace {} bytes (intermediates {} bytes, peak live {} bytes)\n",
               s.total_ms, s.passes_ms, s.lowering_ms, s.optimize_ms, s.codegen_ms, s.num_nodes,
               s.num_fused_regions, s.num_kernels, s.num_parallel_kernels, exe->workspace_bytes(),
               exe->intermediate_bytes(), exe->peak_live_bytes());
         }
         return [exe](std::span<const Tensor> in) { return exe->run(in); };
       }},
  };
  return table;
}

int parse_count(std::string_view option, std::string_view v, int min) {
  std::optional<int64_t> n = v.size() <= 9 ? nabla::cli::parse_non_negative(v) : std::nullopt;  // fits an int
  if (!n || *n < min)
    throw Error("nabla-run: " + std::string(option) + " expects an integer of at least " + std::to_string(min) +
                ", got '" + std::string(v) + "'");
  return static_cast<int>(*n);
}

uint64_t parse_seed(std::string_view v) {
  uint64_t seed = 0;
  if (v.empty() || v.size() > 19 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw Error("nabla-run: --random-inputs expects a non-negative integer seed, got '" + std::string(v) + "'");
  for (char c : v) seed = seed * 10 + static_cast<uint64_t>(c - '0');
  return seed;
}

double parse_tolerance(std::string_view v) {
  std::string text(v);
  char* end = nullptr;
  double t = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(t >= 0) || std::isinf(t))
    throw Error("nabla-run: --tolerance expects a non-negative number, got '" + text + "'");
  return t;
}

// The command-line options: one row each. A row with a metavar takes a value
// ("--opt VALUE" or "--opt=VALUE"); a row without one is a flag.
struct OptionSpec {
  std::string_view name, metavar, help;
  std::function<void(Options&, std::string_view)> apply;
};
const std::vector<OptionSpec>& option_table() {
  static const std::vector<OptionSpec> table = {
      {"--func", "NAME", "the function to run (default: the first one in the file)",
       [](Options& o, std::string_view v) { o.func = std::string(v.starts_with('@') ? v.substr(1) : v); }},
      {"--input", "NAME=FILE.npy", "the value of input NAME (repeat for each input)",
       [](Options& o, std::string_view v) {
         size_t eq = v.find('=');
         if (eq == std::string_view::npos || eq == 0 || eq + 1 == v.size())
           throw Error("nabla-run: --input expects NAME=FILE.npy, got '" + std::string(v) + "'");
         std::string_view name = v.substr(0, eq);
         if (name.starts_with('%')) name.remove_prefix(1);
         o.inputs.emplace_back(std::string(name), std::string(v.substr(eq + 1)));
       }},
      {"--random-inputs", "SEED", "random values for the inputs not given by --input (see docs/cli.md)",
       [](Options& o, std::string_view v) { o.seed = parse_seed(v); }},
      {"--output-dir", "DIR", "write each result as DIR/NAME.npy (DIR is created if needed)",
       [](Options& o, std::string_view v) { o.output_dir = std::string(v); }},
      {"--interpret", "", "evaluate with the reference interpreter instead of the JIT",
       [](Options& o, std::string_view) { o.engine = "interpret"; }},
      {"--check-grad", "", "check every grad against central differences in f64 instead of running",
       [](Options& o, std::string_view) { o.check_grad = true; }},
      {"--tolerance", "TOL", "the largest error --check-grad accepts (default 1e-06)",
       [](Options& o, std::string_view v) { o.tolerance = parse_tolerance(v); }},
      {"--benchmark", "N", "time N runs after a warm-up run and print the median",
       [](Options& o, std::string_view v) { o.benchmark = parse_count("--benchmark", v, 1); }},
      {"--threads", "N", "JIT: threads for large loops (default: the machine's)",
       [](Options& o, std::string_view v) { o.compile.num_threads = parse_count("--threads", v, 1); }},
      {"--compile-threads", "N", "JIT: threads that optimize and generate code (default: the machine's)",
       [](Options& o, std::string_view v) { o.compile.compile_threads = parse_count("--compile-threads", v, 1); }},
      {"--fast-math", "", "JIT: fast-math flags, reassociated sums, fused multiply-adds",
       [](Options& o, std::string_view) { o.compile.fast_math = true; }},
      {"--stream-store-bytes", "N",
       "JIT: elementwise kernels writing at least N bytes use streaming stores (default 16777216; 0: never)",
       [](Options& o, std::string_view v) {
         std::optional<int64_t> n = nabla::cli::parse_non_negative(v);
         if (!n) throw Error("nabla-run: --stream-store-bytes expects a number of bytes, got '" + std::string(v) + "'");
         o.compile.stream_store_bytes = *n;
       }},
      {"--opt-level", "N", "JIT: LLVM optimization level 0..3 (default 3)",
       [](Options& o, std::string_view v) {
         o.compile.opt_level = parse_count("--opt-level", v, 0);
         if (o.compile.opt_level > 3)
           throw Error("nabla-run: --opt-level expects 0, 1, 2 or 3, got '" + std::string(v) + "'");
       }},
      {"--passes", "PIPELINE", "JIT: the pass pipeline before lowering (default: the default pipeline)",
       [](Options& o, std::string_view v) { o.compile.pipeline = std::string(v); }},
      {"--no-fuse", "", "JIT: do not fuse elementwise ops",
       [](Options& o, std::string_view) { o.compile.fuse = false; }},
      {"--no-fuse-matmul", "", "JIT: no GEMM epilogues (the fuse-matmul pass off)",
       [](Options& o, std::string_view) { o.compile.fuse_matmul = false; }},
      {"--print-after-all", "", "JIT: print the module after every pass (to stderr)",
       [](Options& o, std::string_view) { o.compile.print_after_all = true; }},
      {"--emit-llvm", "FILE", "JIT: write the optimized LLVM IR to FILE",
       [](Options& o, std::string_view v) { o.compile.dump_llvm_ir = std::string(v); }},
      {"--emit-asm", "FILE", "JIT: write the assembly to FILE",
       [](Options& o, std::string_view v) { o.compile.dump_asm = std::string(v); }},
      {"--compile-stats", "", "JIT: print compile times, kernel counts and memory sizes",
       [](Options& o, std::string_view) { o.compile_stats = true; }},
      {"--help", "", "print this help", [](Options& o, std::string_view) { o.help = true; }},
  };
  return table;
}

std::string usage() {
  std::string s = "usage: nabla-run FILE.nabla [options]\nEvaluates a function and prints its results.\noptions:\n";
  for (const OptionSpec& spec : option_table()) {
    std::string left = std::string(spec.name) + (spec.metavar.empty() ? "" : " " + std::string(spec.metavar));
    s += fmt::format("  {:<30} {}\n", left, spec.help);
  }
  return s;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (!arg.starts_with("-") || arg == "-") {
      if (!o.file.empty())
        throw Error("nabla-run: more than one input file ('" + o.file + "', '" + std::string(arg) + "')");
      o.file = arg;
      continue;
    }
    std::string_view name = arg.substr(0, arg.find('='));
    auto spec = std::find_if(option_table().begin(), option_table().end(),
                             [&](const OptionSpec& s) { return s.name == name; });
    if (spec == option_table().end()) throw Error("nabla-run: unknown option '" + std::string(arg) + "'");
    std::string_view value;
    if (name.size() < arg.size()) {
      if (spec->metavar.empty()) throw Error("nabla-run: " + std::string(name) + " takes no value");
      value = arg.substr(name.size() + 1);
    } else if (!spec->metavar.empty()) {
      if (i + 1 == argc)
        throw Error("nabla-run: " + std::string(name) + " expects " + std::string(spec->metavar));
      value = argv[++i];
    }
    spec->apply(o, value);
  }
  if (o.file.empty() && !o.help) throw Error("nabla-run: no input file (see nabla-run --help)");
  if (o.tolerance != nabla::CheckGradOptions().tolerance && !o.check_grad)
    throw Error("nabla-run: --tolerance applies only to --check-grad");
  if (o.check_grad && !o.output_dir.empty())
    throw Error("nabla-run: --check-grad writes no results (drop --output-dir)");
  return o;
}

Function& pick_function(const nabla::Module& m, const Options& o) {
  std::vector<Function*> fs = m.functions();
  if (fs.empty()) throw Error("nabla-run: " + o.file + " defines no function");
  if (o.func.empty()) return *fs.front();
  if (Function* f = m.find(o.func)) return *f;
  std::string names;
  for (Function* f : fs) names += (names.empty() ? "@" : ", @") + f->name();
  throw Error("nabla-run: " + o.file + " has no function @" + o.func + " (it has " + names + ")");
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
      throw Error("nabla-run: @" + f.name() + " has no input %" + name + " (its inputs: " + names + ")");
    }
    size_t i = static_cast<size_t>(in->input_index());
    if (given[i]) throw Error("nabla-run: input %" + name + " is given twice");
    given[i] = true;
    values[i] = nabla::read_npy(path);
    nabla::check_npy_type(path, values[i], "input %" + name + " of @" + f.name(), in->dtype(), in->shape());
  }
  for (size_t i = 0; i < values.size(); ++i)
    if (!given[i] && !o.seed)
      throw Error("nabla-run: no value for input %" + f.inputs()[i]->name() + " of @" + f.name() +
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
  if (ec) throw Error("nabla-run: cannot create the output directory " + dir + ": " + ec.message());
}

// Times n runs (after one warm-up run) and prints the median and the range.
void print_benchmark(const Runner& runner, std::span<const Tensor> inputs, int n) {
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
  std::cout << fmt::format("benchmark: {} runs, median {:.4f} ms (min {:.4f}, max {:.4f})\n", n, median,
                           ms.front(), ms.back());
}

int run(const Options& o) {
  std::string source = nabla::read_source(o.file);
  nabla::Module m = nabla::parse(source, o.file);
  nabla::verify(m);
  Function& f = pick_function(m, o);
  std::vector<Tensor> inputs = gather_inputs(f, o);
  if (o.check_grad) {
    // Prints the worst error of each grad; exit code 1 when one is too large.
    nabla::CheckGradOptions cg;
    cg.seed = o.seed.value_or(0);
    cg.tolerance = o.tolerance;
    nabla::CheckGradReport report = nabla::check_grad(f, inputs, cg);
    nabla::print_report(std::cout, report);
    return report.ok() ? 0 : 1;
  }
  nabla::build_grad(f);
  if (!o.output_dir.empty()) make_output_dir(o.output_dir);
  std::vector<Tensor> results;
  Runner runner;  // outlives the catch: an EvaluationError points into what it compiled
  try {
    runner = engines().at(o.engine)(f, o);
    results = runner(inputs);
    if (o.benchmark > 0) print_benchmark(runner, inputs, o.benchmark);
  } catch (const nabla::EvaluationError& e) {
    // Point at the node that failed when it came from the file.
    if (e.node() && e.node()->loc().valid())
      throw Error(nabla::format_diagnostic(o.file, source, e.node()->loc(), e.what()));
    throw;
  }
  nabla::ValueNames names(f);
  std::map<std::string, int> uses;
  for (size_t i = 0; i < results.size(); ++i) {
    std::string name = names.ref(f.results()[i]);
    print_summary(std::cout, name, results[i]);
    if (o.output_dir.empty()) continue;
    // %y -> DIR/y.npy; a value returned twice gets y_2.npy, ...
    std::string stem = name.substr(1);
    if (++uses[stem] > 1) stem += "_" + std::to_string(uses[stem]);
    std::string path = (std::filesystem::path(o.output_dir) / (stem + ".npy")).string();
    nabla::write_npy(path, results[i]);
    std::cout << "  written to " << path << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse_options(argc, argv);
    if (o.help) {
      std::cout << usage();
      return 0;
    }
    return run(o);
  } catch (const nabla::Error& e) {
    std::cout.flush();
    std::cerr << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "nabla-run: " << e.what() << "\n";
    return 1;
  }
}
