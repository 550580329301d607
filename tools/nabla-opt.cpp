// nabla-opt: parses a .nabla file, verifies it, runs a pass pipeline on it and
// prints it. Documented in docs/cli.md.
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/pass_manager.h"
#include "nabla/passes/registry.h"
#include "nabla/runtime/error.h"
#include "tools/common/cli.h"
#include "tools/common/output_file.h"
#include "tools/common/sparse_option.h"

namespace {

using nabla::Error;

struct Options {
  std::string output;
  bool split_input_file = false;
  bool list_passes = false;
  std::string passes;
  bool pass_stats = false;
  bool unsafe_math = false;
  std::string derivative;  // "hessian" or "jacobian": the first function's sparse derivative
  int opt_level = 0;
  nabla::PassManagerOptions pm;
};

nabla::cli::Program program(Options& o) {
  auto flag = [](bool& field) { return [&field](std::string_view) { field = true; }; };
  return {
      "nabla-opt",
      "[options] FILE.nabla",
      "parses a .nabla file ('-': stdin), verifies it, optionally transforms it, and prints it",
      {
          {"-o", "FILE", "write the module to FILE ('-': stdout, the default)",
           [&](std::string_view v) { o.output = v; }},
          {"--passes", "PIPELINE",
           "run a pass pipeline, e.g. build-grad,cse,simplify,dce or repeat(simplify{unsafe-math},cse); "
           "'default' stands for the default pipeline",
           [&](std::string_view v) { o.passes = v; }},
          {"--split-input-file", "", "treat lines '// -----' as separators between independent inputs",
           flag(o.split_input_file)},
          {"--verify-each", "", "verify after every pass, naming the pass that broke the module",
           flag(o.pm.verify_each)},
          {"--print-after-all", "", "print the module (to stderr) after every pass", flag(o.pm.print_after_all)},
          {"--print-after", "NAME", "print the module (to stderr) after each run of pass NAME (repeatable)",
           [&](std::string_view v) { o.pm.print_after.emplace_back(v); }, true},
          {"--pass-stats", "", "print per pass the nodes removed, added and replaced (to stderr)",
           flag(o.pass_stats)},
          {"--unsafe-math", "", "let simplify assume no NaN/inf and ignore the sign of zero", flag(o.unsafe_math)},
          {"--list-passes", "", "print the registered passes and the default pipeline", flag(o.list_passes)},
          {"--hessian", "",
           "replace the first function's results by the nonzeros of the sparse Hessian of its first result in "
           "its first input (lower triangle, CSR) before the passes; a comment line gives the pattern's size and "
           "colors",
           [&](std::string_view) { o.derivative = "hessian"; }},
          {"--jacobian", "", "the same for the sparse Jacobian (CSR)",
           [&](std::string_view) { o.derivative = "jacobian"; }},
      },
      "-O1 to -O3 run the default pipeline (nabla has one); -O0, the default, runs none",
      &o.opt_level,
  };
}

// Checks the options that go together; -O1..-O3 stand for --passes=default.
void check_options(Options& o) {
  if (o.opt_level > 0) {
    if (!o.passes.empty()) throw Error("-O" + std::to_string(o.opt_level) + " and --passes both choose the pipeline");
    o.passes = "default";
  }
  bool pass_options = o.pass_stats || o.unsafe_math || o.pm.verify_each || o.pm.print_after_all ||
                      !o.pm.print_after.empty();
  if (pass_options && o.passes.empty()) throw Error("pass options need --passes PIPELINE (or -O1..-O3)");
}

// The pass manager for the command line's pipeline; throws nabla::Error for a
// bad pipeline.
nabla::PassManager make_pass_manager(const Options& o) {
  nabla::PassManager pm(o.pm);
  pm.add(o.passes);
  if (o.unsafe_math && pm.set_option_all("unsafe-math", "true") == 0)
    throw Error("--unsafe-math: no pass in '" + o.passes + "' takes it");
  return pm;
}

// --hessian, --jacobian: the first function's grads expanded, its results
// replaced by the sparse derivative's nonzeros; returns the comment line that
// describes the pattern.
std::string make_derivative(nabla::Module& m, const Options& o) {
  if (m.functions().empty()) throw Error("--" + o.derivative + ": the module has no function");
  nabla::Function& f = *m.functions().front();
  nabla::build_grad(f);
  return "// " + nabla::cli::make_sparse_derivative(f, o.derivative) + "\n";
}

// Parses, verifies and transforms one module, and returns its text.
std::string process(std::string_view source, const std::string& filename, int first_line, const Options& o) {
  nabla::Module m = nabla::parse(source, filename, first_line);
  nabla::verify(m);
  std::string header = o.derivative.empty() ? "" : make_derivative(m, o);
  if (!o.passes.empty()) {
    nabla::PassManager pm = make_pass_manager(o);
    pm.run(m);
    nabla::verify(m);
    if (o.pass_stats) pm.print_statistics(std::cerr);
  }
  return header + nabla::print(m);
}

// Each chunk of a split input is processed on its own; every chunk's error is
// reported, and the text of the others is still written. Written to stdout,
// a chunk's text comes out before the next chunk's error.
int process_chunks(std::string_view source, const std::string& filename, const Options& o, std::string& text) {
  bool to_stdout = o.output.empty() || o.output == "-";
  int status = 0;
  std::vector<nabla::SourceChunk> chunks = nabla::split_source(source);
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i) text += "// -----\n";
    try {
      text += process(chunks[i].text, filename, chunks[i].first_line, o);
    } catch (const Error& e) {
      if (to_stdout) nabla::write_output("-", std::exchange(text, ""));
      std::cerr << e.what() << "\n";
      status = 1;
    }
  }
  return status;
}

int run(Options& o, const std::string& file) {
  check_options(o);
  if (!o.passes.empty()) make_pass_manager(o);  // a bad pipeline is reported once, before any input is read
  std::string source = nabla::read_source(file);
  std::string filename = file == "-" ? "<stdin>" : file;
  std::string text;
  int status = 0;
  if (o.split_input_file)
    status = process_chunks(source, filename, o, text);
  else
    text = process(source, filename, 1, o);
  nabla::write_output(o.output, text);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  nabla::cli::Program p = program(o);
  return nabla::cli::run(p, argc, argv, [&](std::vector<std::string>& files) {
    if (o.list_passes) {
      std::string text;
      for (std::string_view name : nabla::registered_passes()) text += std::string(name) + "\n";
      nabla::write_output(o.output, text + "default pipeline: " + std::string(nabla::default_pipeline()) + "\n");
      return 0;
    }
    return run(o, nabla::cli::one_input(p, files));
  });
}
