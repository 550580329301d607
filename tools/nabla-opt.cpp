// nabla-opt: parses a .nabla file, verifies it, runs a pass pipeline on it and
// prints it.
//   nabla-opt [options] FILE.nabla      (FILE "-" reads stdin)
// Errors go to stderr and the exit code is 1.
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "nabla/passes/pass_manager.h"
#include "nabla/passes/registry.h"
#include "nabla/runtime/error.h"

namespace {

constexpr std::string_view kUsage =
    "usage: nabla-opt [options] FILE.nabla   (FILE '-' reads stdin)\n"
    "Parses, verifies, optionally transforms, and prints a module.\n"
    "options:\n"
    "  --split-input-file  treat lines '// -----' as separators between independent inputs\n"
    "  --passes=PIPELINE   run a pass pipeline, e.g. build-grad,cse,simplify,dce or\n"
    "                      repeat(simplify{unsafe-math},cse); 'default' stands for the default pipeline\n"
    "  --verify-each       verify after every pass, naming the pass that broke the module\n"
    "  --print-after-all   print the module (to stderr) after every pass\n"
    "  --print-after=NAME  print the module (to stderr) after each run of pass NAME\n"
    "  --pass-stats        print per pass the nodes removed, added and replaced (to stderr)\n"
    "  --unsafe-math       let simplify assume no NaN/inf and ignore the sign of zero\n"
    "  --list-passes       print the registered passes and the default pipeline\n"
    "  -h, --help          print this help\n";

struct Options {
  std::string input;
  bool split_input_file = false;
  bool help = false;
  bool list_passes = false;
  std::string passes;
  bool pass_stats = false;
  bool unsafe_math = false;
  nabla::PassManagerOptions pm;
};

// Parses the command line; throws nabla::Error on a bad option.
Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--split-input-file") {
      o.split_input_file = true;
    } else if (arg.starts_with("--passes=")) {
      o.passes = arg.substr(9);
    } else if (arg == "--verify-each") {
      o.pm.verify_each = true;
    } else if (arg == "--print-after-all") {
      o.pm.print_after_all = true;
    } else if (arg.starts_with("--print-after=")) {
      o.pm.print_after.emplace_back(arg.substr(14));
    } else if (arg == "--pass-stats") {
      o.pass_stats = true;
    } else if (arg == "--unsafe-math") {
      o.unsafe_math = true;
    } else if (arg == "--list-passes") {
      o.list_passes = true;
    } else if (arg == "-h" || arg == "--help") {
      o.help = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw nabla::Error("nabla-opt: unknown option '" + std::string(arg) + "'");
    } else if (!o.input.empty()) {
      throw nabla::Error("nabla-opt: more than one input file ('" + o.input + "', '" +
                         std::string(arg) + "')");
    } else {
      o.input = arg;
    }
  }
  if (o.input.empty() && !o.help && !o.list_passes) throw nabla::Error("nabla-opt: no input file");
  bool pass_options = o.pass_stats || o.unsafe_math || o.pm.verify_each ||
                      o.pm.print_after_all || !o.pm.print_after.empty();
  if (pass_options && o.passes.empty())
    throw nabla::Error("nabla-opt: pass options need --passes=PIPELINE");
  return o;
}

// The pass manager for the command line's pipeline; throws nabla::Error for a
// bad pipeline.
nabla::PassManager make_pass_manager(const Options& o) {
  nabla::PassManager pm(o.pm);
  pm.add(o.passes);
  if (o.unsafe_math && pm.set_option_all("unsafe-math", "true") == 0)
    throw nabla::Error("nabla-opt: --unsafe-math: no pass in '" + o.passes + "' takes it");
  return pm;
}

// Parses, verifies and transforms one module, and returns its text.
std::string process(std::string_view source, const std::string& filename, int first_line,
                    const Options& o) {
  nabla::Module m = nabla::parse(source, filename, first_line);
  nabla::verify(m);
  if (!o.passes.empty()) {
    nabla::PassManager pm = make_pass_manager(o);
    pm.run(m);
    nabla::verify(m);
    if (o.pass_stats) pm.print_statistics(std::cerr);
  }
  return nabla::print(m);
}

int run(const Options& o) {
  // A bad pipeline is reported once, before any input is read.
  if (!o.passes.empty()) make_pass_manager(o);
  std::string source = nabla::read_source(o.input);
  std::string filename = o.input == "-" ? "<stdin>" : o.input;
  if (!o.split_input_file) {
    std::cout << process(source, filename, 1, o);
    return 0;
  }
  // Each chunk is processed on its own; every chunk's error is reported.
  int status = 0;
  std::vector<nabla::SourceChunk> chunks = nabla::split_source(source);
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i) std::cout << "// -----\n";
    try {
      std::cout << process(chunks[i].text, filename, chunks[i].first_line, o);
    } catch (const nabla::Error& e) {
      std::cout.flush();
      std::cerr << e.what() << "\n";
      status = 1;
    }
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse_options(argc, argv);
    if (o.help) {
      std::cout << kUsage;
      return 0;
    }
    if (o.list_passes) {
      for (std::string_view name : nabla::registered_passes()) std::cout << name << "\n";
      std::cout << "default pipeline: " << nabla::default_pipeline() << "\n";
      return 0;
    }
    return run(o);
  } catch (const nabla::Error& e) {
    std::cout.flush();
    std::cerr << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "nabla-opt: " << e.what() << "\n";
    return 1;
  }
}
