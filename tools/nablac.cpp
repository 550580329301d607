// nablac: the offline compiler. Compiles the functions of a .nabla file
// through build-grad and the default pipeline into an object file plus a C/C++
// header, or prints an intermediate form. Documented in docs/nablac.md.
#include <algorithm>
#include <map>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "ir/dot.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/pass_manager.h"
#include "runtime/error.h"
#include "tools/common/cli.h"
#include "tools/common/output_file.h"

namespace {

using nabla::Error;

struct Options {
  std::string input;
  std::string output;
  std::string header;
  std::vector<std::string> funcs;
  std::string emit = "obj";
  std::string passes{nabla::default_pipeline()};
  bool print_after_all = false;
  bool help = false;
};

std::vector<nabla::cli::Option> option_table(Options& o) {
  auto set = [](std::string& field) { return [&field](std::string_view v) { field = v; }; };
  return {
      {"-o", "FILE", "the output file (default: stdout for text forms)", set(o.output)},
      {"--header", "FILE", "also write the C/C++ header for the object", set(o.header)},
      {"--func", "NAME", "compile only this function (repeatable; default: all)",
       [&](std::string_view v) { o.funcs.emplace_back(v.starts_with('@') ? v.substr(1) : v); }},
      {"--emit", "KIND", "nabla | dot (more with the backend)",
       [&](std::string_view v) {
         if (v != "nabla" && v != "dot") throw Error("unknown kind '" + std::string(v) + "'");
         o.emit = v;
       }},
      {"--passes", "LIST", "the pass pipeline (default: the default pipeline)", set(o.passes)},
      {"--print-after-all", "", "print the module to stderr after every pass",
       [&](std::string_view) { o.print_after_all = true; }},
      {"--help", "", "print this help", [&](std::string_view) { o.help = true; }},
  };
}

// Keeps only the requested functions; throws for an unknown name.
void select_functions(nabla::Module& m, const Options& o) {
  if (o.funcs.empty()) return;
  for (const std::string& name : o.funcs)
    if (!m.find(name)) {
      std::string names;
      for (nabla::Function* f : m.functions()) names += (names.empty() ? "@" : ", @") + f->name();
      throw Error("nablac: " + o.input + " has no function @" + name + " (it has " + names + ")");
    }
  for (nabla::Function* f : m.functions())
    if (std::find(o.funcs.begin(), o.funcs.end(), f->name()) == o.funcs.end()) m.remove(f->name());
}

int run(int argc, char** argv) {
  Options o;
  std::vector<nabla::cli::Option> table = option_table(o);
  std::vector<std::string> files = nabla::cli::parse("nablac", argc, argv, table);
  if (o.help) {
    std::cout << nabla::cli::help("nablac FILE.nabla [options]",
                                  "Compiles a .nabla file ahead of time.", table);
    return 0;
  }
  if (files.size() != 1) throw Error("nablac: expected one input file (see nablac --help)");
  o.input = files[0];
  nabla::Module m = nabla::parse_file(o.input);
  nabla::verify(m);
  select_functions(m, o);

  // Nodes created from here on (by build-grad and the passes after it) are
  // drawn in the gradient colour by --emit dot.
  std::map<const nabla::Function*, uint64_t> first_new;
  for (nabla::Function* f : m.functions()) first_new[f] = f->next_serial();
  nabla::PassManagerOptions pmo;
  pmo.verify_each = true;
  pmo.print_after_all = o.print_after_all;
  nabla::PassManager pm(pmo);
  pm.add(o.passes);
  pm.run(m);

  std::string text;
  if (o.emit == "nabla") {
    text = nabla::print(m);
  } else {
    for (nabla::Function* f : m.functions()) {
      nabla::DotOptions d;
      uint64_t mark = first_new[f];
      d.highlight = [mark](const nabla::Node& n) { return n.serial() >= mark; };
      text += nabla::to_dot(*f, d);
    }
  }
  nabla::write_output(o.output, text);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return nabla::cli::run_main([&] { return run(argc, argv); });
}
