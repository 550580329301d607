// nablac: the offline compiler. Compiles the functions of a .nabla file
// through build-grad, the default pipeline and fusion into an object file plus
// a C/C++ header, for this machine or another target, or prints an
// intermediate form. Documented in docs/nablac.md.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "nabla/compiler/aot.h"
#include "nabla/ir/clone.h"
#include "nabla/ir/dot.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/sparse_derivatives.h"
#include "nabla/runtime/error.h"
#include "tools/common/cli.h"
#include "tools/common/output_file.h"

namespace {

using nabla::Error;

struct Options {
  std::string input, output, header, cpp_namespace;
  std::vector<std::string> funcs;
  std::vector<std::pair<std::string, std::string>> sparse;  // ("hessian" or "jacobian", function)
  std::vector<nabla::HeaderPattern> patterns;
  std::string emit = "obj";
  nabla::AotOptions aot;
};

constexpr std::string_view kEmitKinds[] = {"obj", "asm", "llvm", "nabla", "dot"};

nabla::cli::Program program(Options& o) {
  auto set = [](std::string& field) { return [&field](std::string_view v) { field = v; }; };
  o.aot.pipeline.verify_each = true;
  return {
      "nablac",
      "[options] FILE.nabla",
      "compiles the functions of a .nabla file ('-': stdin) ahead of time into an object file and a C/C++ "
      "header (docs/nablac.md)",
      {
          {"-o", "FILE", "the output file ('-': stdout; the text forms go to stdout without -o)", set(o.output)},
          {"--header", "FILE", "also write the C/C++ header for the object ('-': stdout)", set(o.header)},
          {"--namespace", "NS", "the C++ namespace of the header's classes",
           [&](std::string_view v) {
             if (nabla::c_identifier(v) != v) throw Error("'" + std::string(v) + "' is not a C++ identifier");
             o.cpp_namespace = v;
           }},
          {"--func", "NAME", "compile only this function (repeatable; default: all)",
           [&](std::string_view v) { o.funcs.emplace_back(v.starts_with('@') ? v.substr(1) : v); }, true},
          {"--sparse-hessian", "NAME",
           "also compile NAME_hessian: the nonzeros of the Hessian of @NAME's first result in its first input "
           "(lower triangle, CSR; the pattern goes into the header; repeatable)",
           [&](std::string_view v) { o.sparse.emplace_back("hessian", v.starts_with('@') ? v.substr(1) : v); }, true},
          {"--sparse-jacobian", "NAME",
           "also compile NAME_jacobian: the nonzeros of the Jacobian of @NAME's first result in its first input "
           "(CSR; the pattern goes into the header; repeatable)",
           [&](std::string_view v) { o.sparse.emplace_back("jacobian", v.starts_with('@') ? v.substr(1) : v); }, true},
          {"--target", "TRIPLE", "the LLVM target triple (default: this machine's)", set(o.aot.target.triple)},
          {"--cpu", "NAME",
           "the target CPU (default: the target's generic CPU; native: this machine's; help: the list)",
           set(o.aot.target.cpu)},
          {"--features", "LIST", "target features to add or remove, e.g. +avx2,-avx512f (help: the list)",
           set(o.aot.target.features)},
          {"--emit", "KIND", "obj (default), asm, llvm, nabla or dot",
           [&](std::string_view v) { o.emit = nabla::cli::one_of(v, kEmitKinds); }},
          {"--passes", "PIPELINE", "the pass pipeline before fusion (default: the default pipeline)",
           set(o.aot.pipeline.pipeline)},
          {"--fast-math", "", "allow LLVM's fast-math rewrites", [&](std::string_view) { o.aot.fast_math = true; }},
          {"--stream-store-bytes", "N",
           "elementwise kernels writing at least N bytes use streaming stores (x86-64; default 16777216; 0: never)",
           [&](std::string_view v) { o.aot.stream_store_bytes = nabla::cli::parse_int(v, 0, INT64_MAX); }},
          {"--print-after-all", "", "print the module to stderr after every pass",
           [&](std::string_view) { o.aot.pipeline.print_after_all = true; }},
      },
      "the LLVM optimization level (default -O3)",
      &o.aot.target.opt_level,
  };
}

// Keeps only the requested functions; throws for an unknown name.
void check_function(const nabla::Module& m, const Options& o, const std::string& name) {
  if (m.find(name)) return;
  std::string names;
  for (nabla::Function* f : m.functions()) names += (names.empty() ? "@" : ", @") + f->name();
  throw Error(o.input + " has no function @" + name + " (it has " + names + ")");
}

void select_functions(nabla::Module& m, const Options& o) {
  if (o.funcs.empty()) return;
  for (const std::string& name : o.funcs) check_function(m, o, name);
  for (nabla::Function* f : m.functions())
    if (std::find(o.funcs.begin(), o.funcs.end(), f->name()) == o.funcs.end()) m.remove(f->name());
}

// For each --sparse-hessian/--sparse-jacobian NAME: adds NAME_hessian (or
// NAME_jacobian), a copy of @NAME (its grads expanded) whose only result is
// the nonzeros of the derivative of its first result in its first input,
// and keeps the pattern for the header.
void add_sparse_functions(nabla::Module& m, Options& o) {
  for (const auto& [kind, name] : o.sparse) {
    check_function(m, o, name);
    nabla::Function& g = nabla::clone_function(*m.find(name), m, name + "_" + kind);
    nabla::build_grad(g);
    if (g.inputs().empty() || g.results().empty())
      throw Error("--sparse-" + kind + ": @" + name + " needs an input and a result");
    nabla::Value y = g.results()[0], x = g.inputs()[0];
    bool hessian = kind == "hessian";
    nabla::SparseDerivative d = hessian ? nabla::sparse_hessian(y, x) : nabla::sparse_jacobian(y, x);
    g.clear_results();
    g.output(d.values);
    std::string what = "the " + std::string(hessian ? "Hessian" : "Jacobian") + " of @" + name +
                       "'s first result in %" + x->name() + (hessian ? ", lower triangle" : "") + ", " +
                       std::to_string(d.coloring.count) + " colors";
    o.patterns.push_back({g.name(), what, std::move(d.pattern)});
  }
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

void check_outputs(const Options& o) {
  if (o.emit == "obj" && o.output.empty()) throw Error("--emit obj needs -o FILE (or -o - for stdout)");
  if (!o.header.empty() && o.emit != "obj") throw Error("--header goes with --emit obj");
  if (o.header == "-" && o.output == "-") throw Error("the object and the header cannot both go to stdout");
}

// The object and its header: everything is generated before anything is
// written, and the object is removed again when the header cannot be written.
void write_object(nabla::AotModule& aot, const Options& o) {
  std::string object = aot.object_bytes();
  std::string header;
  if (!o.header.empty()) {
    nabla::HeaderOptions h;
    h.cpp_namespace = o.cpp_namespace;
    h.object_name = o.output == "-" ? "the object" : std::filesystem::path(o.output).filename().string();
    h.patterns = o.patterns;
    header = aot.header(h);
  }
  nabla::write_output(o.output, object);
  if (o.header.empty()) return;
  try {
    nabla::write_output(o.header, header);
  } catch (...) {
    nabla::remove_output(o.output);
    throw;
  }
}

int compile(Options& o) {
  check_outputs(o);
  nabla::Module m = nabla::parse_file(o.input);
  nabla::verify(m);
  select_functions(m, o);
  if (m.functions().empty()) throw Error(o.input + " defines no function");
  add_sparse_functions(m, o);

  if (o.emit == "nabla" || o.emit == "dot") {
    if (o.emit == "nabla") nabla::run_compile_passes(m, o.aot.pipeline);
    nabla::write_output(o.output, o.emit == "dot" ? graph_pictures(m, o) : nabla::print(m));
    return 0;
  }
  nabla::AotModule aot = nabla::compile_ahead_of_time(m, o.aot);
  for (const std::string& w : aot.warnings()) std::fprintf(stderr, "nablac: warning: %s\n", w.c_str());
  if (o.emit == "asm")
    nabla::write_output(o.output, aot.assembly_text());
  else if (o.emit == "llvm")
    nabla::write_output(o.output, aot.llvm_ir_text());
  else
    write_object(aot, o);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  nabla::cli::Program p = program(o);
  return nabla::cli::run(p, argc, argv, [&](std::vector<std::string>& files) {
    if (o.aot.target.cpu == "help" || o.aot.target.features == "help") {
      nabla::TargetSpec target = o.aot.target;
      nabla::write_output("-", target.cpu == "help" ? nabla::target_cpus_text(target)
                                                    : nabla::target_features_text(target));
      return 0;
    }
    o.input = nabla::cli::one_input(p, files);
    return compile(o);
  });
}
