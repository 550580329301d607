// nablac: the offline compiler. Compiles the functions of a .nabla file
// through build-grad, the default pipeline and fusion into an object file plus
// a C/C++ header, for this machine or another target, or prints an
// intermediate form. Documented in docs/nablac.md.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "nabla/compiler/aot.h"
#include "nabla/ir/dot.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "nabla/runtime/error.h"
#include "tools/common/cli.h"
#include "tools/common/output_file.h"

namespace {

using nabla::Error;

struct Options {
  std::string input, output, header, cpp_namespace;
  std::vector<std::string> funcs;
  std::string emit = "obj";
  nabla::AotOptions aot;
  bool help = false;
};

const std::vector<std::string_view> kEmitKinds = {"obj", "asm", "llvm", "nabla", "dot"};

std::vector<nabla::cli::Option> option_table(Options& o) {
  auto set = [](std::string& field) { return [&field](std::string_view v) { field = v; }; };
  std::vector<nabla::cli::Option> t = {
      {"-o", "FILE", "the output file (text forms: stdout when absent)", set(o.output)},
      {"--header", "FILE", "also write the C/C++ header for the object", set(o.header)},
      {"--namespace", "NS", "the C++ namespace of the header's classes",
       [&](std::string_view v) {
         if (nabla::c_identifier(v) != v) throw Error("'" + std::string(v) + "' is not a C++ identifier");
         o.cpp_namespace = v;
       }},
      {"--func", "NAME", "compile only this function (repeatable; default: all)",
       [&](std::string_view v) { o.funcs.emplace_back(v.starts_with('@') ? v.substr(1) : v); }},
      {"--target", "TRIPLE", "the LLVM target triple (default: this machine)", set(o.aot.target.triple)},
      {"--cpu", "NAME", "the target CPU (default: this machine's, or generic)", set(o.aot.target.cpu)},
      {"--features", "LIST", "target features, e.g. +avx2,-avx512f", set(o.aot.target.features)},
      {"--emit", "KIND", "obj (default) | asm | llvm | nabla | dot",
       [&](std::string_view v) {
         if (std::find(kEmitKinds.begin(), kEmitKinds.end(), v) == kEmitKinds.end())
           throw Error("unknown kind '" + std::string(v) + "' (obj, asm, llvm, nabla or dot)");
         o.emit = v;
       }},
      {"--passes", "LIST", "the pass pipeline before fusion (default: the default pipeline)",
       set(o.aot.pipeline.pipeline)},
      {"--fast-math", "", "allow LLVM's fast-math rewrites", [&](std::string_view) { o.aot.fast_math = true; }},
      {"--stream-store-bytes", "N",
       "elementwise kernels writing at least N bytes use streaming stores (x86-64; default 16777216; 0: never)",
       [&](std::string_view v) {
         std::optional<int64_t> n = nabla::cli::parse_non_negative(v);
         if (!n) throw Error("expected a number of bytes, got '" + std::string(v) + "'");
         o.aot.stream_store_bytes = *n;
       }},
      {"--print-after-all", "", "print the module to stderr after every pass",
       [&](std::string_view) { o.aot.pipeline.print_after_all = true; }},
      {"--help", "", "print this help", [&](std::string_view) { o.help = true; }},
  };
  for (int level = 0; level <= 3; ++level)
    t.push_back({level == 0 ? "-O0" : level == 1 ? "-O1" : level == 2 ? "-O2" : "-O3", "",
                 level == 3 ? "optimization level (default -O3)" : "",
                 [&o, level](std::string_view) { o.aot.target.opt_level = level; }});
  return t;
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

std::string graph_pictures(nabla::Module& m, const Options& o) {
  // Nodes created from here on (by build-grad and the passes after it) are
  // drawn in the gradient colour.
  std::map<const nabla::Function*, uint64_t> first_new;
  for (nabla::Function* f : m.functions()) first_new[f] = f->next_serial();
  // The picture shows the graph before fusion, op by op, as in the lecture's figures.
  nabla::PipelineSpec spec = o.aot.pipeline;
  spec.fuse = false;
  spec.fuse_matmul = false;
  nabla::run_compile_passes(m, spec);
  std::string text;
  for (nabla::Function* f : m.functions()) {
    nabla::DotOptions d;
    uint64_t mark = first_new[f];
    d.highlight = [mark](const nabla::Node& n) { return n.serial() >= mark; };
    text += nabla::to_dot(*f, d);
  }
  return text;
}

int run(int argc, char** argv) {
  Options o;
  o.aot.pipeline.verify_each = true;
  std::vector<nabla::cli::Option> table = option_table(o);
  std::vector<std::string> files = nabla::cli::parse("nablac", argc, argv, table);
  if (o.help) {
    std::cout << nabla::cli::help("nablac FILE.nabla -o FILE [options]",
                                  "Compiles a .nabla file ahead of time (docs/nablac.md).", table);
    return 0;
  }
  if (files.size() != 1) throw Error("nablac: expected one input file (see nablac --help)");
  o.input = files[0];
  if (o.emit == "obj" && (o.output.empty() || o.output == "-"))
    throw Error("nablac: --emit obj needs -o FILE");
  if (!o.header.empty() && o.emit != "obj") throw Error("nablac: --header goes with --emit obj");

  nabla::Module m = nabla::parse_file(o.input);
  nabla::verify(m);
  select_functions(m, o);
  if (m.functions().empty()) throw Error("nablac: " + o.input + " defines no function");

  if (o.emit == "nabla" || o.emit == "dot") {
    std::string text;
    if (o.emit == "dot") {
      text = graph_pictures(m, o);
    } else {
      nabla::run_compile_passes(m, o.aot.pipeline);
      text = nabla::print(m);
    }
    nabla::write_output(o.output, text);
    return 0;
  }
  nabla::AotModule aot = nabla::compile_ahead_of_time(m, o.aot);
  if (o.emit == "asm") {
    nabla::write_output(o.output, aot.assembly_text());
  } else if (o.emit == "llvm") {
    nabla::write_output(o.output, aot.llvm_ir_text());
  } else {
    // Everything is generated before anything is written.
    std::string object = aot.object_bytes();
    std::string header;
    if (!o.header.empty()) {
      nabla::HeaderOptions h;
      h.cpp_namespace = o.cpp_namespace;
      h.object_name = std::filesystem::path(o.output).filename().string();
      header = nabla::generate_header(aot.functions(), h);
    }
    nabla::write_output(o.output, object);
    if (!o.header.empty()) {
      try {
        nabla::write_output(o.header, header);
      } catch (...) {
        nabla::remove_output(o.output);
        throw;
      }
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return nabla::cli::run_main([&] { return run(argc, argv); });
}
