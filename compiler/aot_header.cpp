#include "nabla/compiler/aot_header.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>

#include "nabla/compiler/abi_text.h"
#include "nabla/ir/printer_names.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

std::string ctype(DType t) {
  switch (t) {
    case DType::f32: return "float";
    case DType::f64: return "double";
    case DType::i32: return "int32_t";
    case DType::i64: return "int64_t";
    case DType::bool_: return "uint8_t";
  }
  return "void";
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

struct Arg {
  std::string name;  // C identifier for accessors
  TensorType type;
};

std::string shape_list(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return s.empty() ? "1" : out;  // a scalar's dims array holds a single 1 (C has no empty arrays)
}

std::vector<Arg> inputs_of(const Function& f) {
  std::vector<Arg> out;
  for (const Node* n : f.inputs()) out.push_back({c_identifier(n->name()), n->type()});
  return out;
}

std::vector<Arg> results_of(const Function& f) {
  std::vector<Arg> out;
  for (size_t i = 0; i < f.results().size(); ++i) {
    const Node* r = f.results()[i];
    bool named = !r->name().empty() && !is_numeric_name(r->name()) && r->op() != Op::Input;
    std::string name = named ? c_identifier(r->name()) : fmt::format("result{}", i);
    for (size_t j = 0; j < i; ++j)
      if (out[j].name == name) name = fmt::format("result{}", i);
    out.push_back({name, r->type()});
  }
  return out;
}

std::string dtype_str(DType t) { return std::string(dtype_name(t)); }

// A table describing the function, for generic drivers: SYMBOL_signature().
std::string signature_part(const AotFunction& a, const std::vector<Arg>& ins, const std::vector<Arg>& outs) {
  std::string s = fmt::format("/* The signature of {0}, for code that handles any function. */\n"
                              "static inline const nabla_signature* {0}_signature(void) {{\n", a.symbol);
  auto table = [&](const char* kind, const std::vector<Arg>& args) {
    std::string t;
    for (size_t i = 0; i < args.size(); ++i)
      t += fmt::format("  static const int64_t {}{}_dims[] = {{{}}};\n", kind, i, shape_list(args[i].type.shape));
    t += fmt::format("  static const nabla_tensor_info {}[] = {{\n", kind);
    for (size_t i = 0; i < args.size(); ++i)
      t += fmt::format("    {{\"{}\", \"{}\", {}, {}{}_dims, {}, {}}},\n", args[i].name, dtype_str(args[i].type.dtype),
                       args[i].type.rank(), kind, i, args[i].type.numel(),
                       args[i].type.numel() * static_cast<int64_t>(dtype_size(args[i].type.dtype)));
    if (args.empty()) t += "    {\"\", \"\", 0, 0, 0, 0},\n";
    return t + "  };\n";
  };
  s += table("in", ins) + table("out", outs);
  s += fmt::format("  static const nabla_signature sig = {{\"{}\", {}, {}, in, out, {}, {}}};\n  return &sig;\n}}\n\n",
                   a.function->name(), ins.size(), outs.size(), a.workspace_bytes, a.symbol);
  return s;
}

constexpr const char* kSignatureTypes =
    "#ifndef NABLA_SIGNATURE_TYPES\n#define NABLA_SIGNATURE_TYPES\n"
    "/* One input or output: name, dtype (\"f32\", \"f64\", \"i32\", \"i64\", \"bool\"), rank,\n"
    "   dims (rank entries; one entry 1 for a scalar), elements and bytes. */\n"
    "typedef struct nabla_tensor_info {\n  const char* name;\n  const char* dtype;\n  int32_t rank;\n"
    "  const int64_t* dims;\n  int64_t elements;\n  int64_t bytes;\n} nabla_tensor_info;\n"
    "typedef struct nabla_signature {\n  const char* name;\n  int32_t num_inputs;\n  int32_t num_outputs;\n"
    "  const nabla_tensor_info* inputs;\n  const nabla_tensor_info* outputs;\n  int64_t workspace_bytes;\n"
    "  nabla_entry_fn entry;\n} nabla_signature;\n#endif\n\n";

// #define constants and the prototype, for C and C++.
std::string c_part(const AotFunction& a, const AotTarget& target) {
  const Function& f = *a.function;
  std::string P = upper(a.symbol);
  std::vector<Arg> ins = inputs_of(f), outs = results_of(f);
  std::string s = fmt::format("/* ---- @{} ---- */\n", f.name());
  s += fmt::format("#define {}_TARGET \"{}\"\n#define {}_CPU \"{}\"\n", P, target.triple, P, target.cpu);
  s += fmt::format("#define {}_NUM_INPUTS {}\n#define {}_NUM_OUTPUTS {}\n", P, ins.size(), P, outs.size());
  s += fmt::format("#define {}_WORKSPACE_BYTES {}u\n", P, a.workspace_bytes);
  auto describe = [&](const char* kind, size_t i, const Arg& arg) {
    std::string K = fmt::format("{}_{}{}", P, kind, i);
    std::string d = fmt::format("/* {} {}: {} {} */\n", kind[0] == 'I' ? "input" : "output", i,
                                arg.name, arg.type.str());
    d += fmt::format("#define {}_RANK {}\n", K, arg.type.rank());
    d += fmt::format("#define {}_DIMS {{{}}}\n", K, shape_list(arg.type.shape));
    d += fmt::format("#define {}_ELEMENTS {}\n", K, arg.type.numel());
    d += fmt::format("#define {}_BYTES {}u\n", K, arg.type.numel() * dtype_size(arg.type.dtype));
    d += fmt::format("typedef {} {}_type;\n", ctype(arg.type.dtype), K);
    return d;
  };
  for (size_t i = 0; i < ins.size(); ++i) s += describe("INPUT", i, ins[i]);
  for (size_t i = 0; i < outs.size(); ++i) s += describe("OUTPUT", i, outs[i]);
  s += fmt::format(
      "/* inputs[i] points at input i, outputs[i] at output i (dense, C order); workspace at\n"
      "   {}_WORKSPACE_BYTES bytes aligned to NABLA_WORKSPACE_ALIGN (or NULL when 0);\n"
      "   ctx may be NULL. Returns NABLA_OK or a status; see ctx->error. */\n",
      P);
  s += fmt::format(
      "int32_t {}(const void* const* inputs, void* const* outputs, void* workspace,\n"
      "          nabla_context* ctx);\n",
      a.symbol);
  s += signature_part(a, ins, outs);
  s += fmt::format(
      "/* Defined by the object compiled with this header: linking an object of another compile\n"
      "   (another target, signature or workspace size) fails with an undefined reference to it. */\n"
      "extern const char {0};\n"
      "#if defined(__GNUC__) || defined(__clang__)\n"
      "__attribute__((used)) static const char* const {1}_link_check = &{0};\n"
      "#endif\n\n",
      a.check_symbol, a.symbol);
  return s;
}

// A C array initializer of the values, wrapped (C has no empty arrays: {0}).
std::string c_array(const IndexVector& v) {
  std::string s = "{";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? (i % 16 ? ", " : ",\n  ") : "") + std::to_string(v[i]);
  return s + (v.empty() ? "0}" : "}");
}

// The pattern arrays of a function's output 0.
std::string pattern_part(const AotFunction& a, const HeaderPattern& hp) {
  const SparsityPattern& p = hp.pattern;
  if (p.nnz() > INT32_MAX || p.rows >= INT32_MAX || p.cols >= INT32_MAX)
    throw Error("nablac: the pattern of @" + a.function->name() + " needs 64-bit indices (" +
                std::to_string(p.nnz()) + " nonzeros)");
  std::string P = upper(a.symbol);
  std::string s = fmt::format(
      "/* The sparsity pattern of output 0 of {0} ({1}): CSR, {2} x {3}, {4} nonzeros.\n"
      "   Row r's values are output[{0}_row_ptr[r] .. {0}_row_ptr[r + 1]), in the columns\n"
      "   {0}_col_idx[...] at the same positions (ascending). */\n",
      a.symbol, hp.what, p.rows, p.cols, p.nnz());
  s += fmt::format("#define {}_PATTERN_ROWS {}\n#define {}_PATTERN_COLS {}\n#define {}_PATTERN_NNZ {}\n", P,
                   p.rows, P, p.cols, P, p.nnz());
  s += fmt::format("static const int32_t {}_row_ptr[{}] = {};\n", a.symbol, p.rows + 1, c_array(p.row_ptr));
  s += fmt::format("static const int32_t {}_col_idx[{}] = {};\n\n", a.symbol, std::max<int64_t>(p.nnz(), 1),
                   c_array(p.col_idx));
  return s;
}

// The owning C++ wrapper class.
std::string cpp_part(const AotFunction& a) {
  const Function& f = *a.function;
  std::string P = upper(a.symbol);
  std::vector<Arg> ins = inputs_of(f), outs = results_of(f);
  std::string cls = c_identifier(f.name());
  std::string s = fmt::format(
      "// Owns aligned buffers for the inputs, outputs and workspace of @{}.\n"
      "//   {} fn;  fill fn.arg_NAME(); if (fn.run() != NABLA_OK) report(fn.error());  read fn.result_NAME()\n"
      "class {} {{\n public:\n",
      f.name(), cls, cls);
  s += fmt::format("  static constexpr int kNumInputs = {};\n  static constexpr int kNumOutputs = {};\n",
                   ins.size(), outs.size());
  s += fmt::format("  static constexpr size_t kWorkspaceBytes = {};\n\n", a.workspace_bytes);
  s += fmt::format("  {}() {{\n", cls);
  for (size_t i = 0; i < ins.size(); ++i) s += fmt::format("    in_[{}] = nabla_detail_alloc({}_INPUT{}_BYTES);\n", i, P, i);
  for (size_t i = 0; i < outs.size(); ++i) s += fmt::format("    out_[{}] = nabla_detail_alloc({}_OUTPUT{}_BYTES);\n", i, P, i);
  s += "    workspace_ = kWorkspaceBytes ? nabla_detail_alloc(kWorkspaceBytes) : nullptr;\n  }\n";
  s += fmt::format("  ~{}() {{\n", cls);
  s += "    for (void* p : in_) nabla_detail_free(p);\n    for (void* p : out_) nabla_detail_free(p);\n";
  s += "    nabla_detail_free(workspace_);\n  }\n";
  s += fmt::format("  {0}(const {0}&) = delete;\n  {0}& operator=(const {0}&) = delete;\n\n", cls);
  for (size_t i = 0; i < ins.size(); ++i)
    s += fmt::format("  // {}\n  {}* arg_{}() {{ return static_cast<{}*>(in_[{}]); }}\n", ins[i].type.str(),
                     ctype(ins[i].type.dtype), ins[i].name, ctype(ins[i].type.dtype), i);
  for (size_t i = 0; i < outs.size(); ++i)
    s += fmt::format("  // {}\n  const {}* result_{}() const {{ return static_cast<const {}*>(out_[{}]); }}\n",
                     outs[i].type.str(), ctype(outs[i].type.dtype), outs[i].name, ctype(outs[i].type.dtype), i);
  s += fmt::format(
      "\n  // By position, for generic code; the signature describes them.\n"
      "  void* arg(int i) {{ return in_[i]; }}\n"
      "  const void* result(int i) const {{ return out_[i]; }}\n"
      "  static const nabla_signature* signature() {{ return {}_signature(); }}\n",
      a.symbol);
  s += fmt::format(
      "\n  // Runs single-threaded, or through a parallel_for given in ctx.\n"
      "  int32_t run(nabla_context* ctx = nullptr) {{\n"
      "    nabla_context local{{}};\n"
      "    if (!ctx) ctx = &local;\n"
      "    int32_t status = ::{}(in_, out_, workspace_, ctx);\n"
      "    error_ = ctx->error;\n"
      "    return status;\n"
      "  }}\n"
      "  const nabla_error_info& error() const {{ return error_; }}\n\n"
      " private:\n"
      "  void* in_[kNumInputs > 0 ? kNumInputs : 1] = {{}};\n"
      "  void* out_[kNumOutputs] = {{}};\n"
      "  void* workspace_ = nullptr;\n"
      "  nabla_error_info error_{{}};\n}};\n\n",
      a.symbol);
  return s;
}

constexpr const char* kCppHelpers =
    "inline void* nabla_detail_alloc(size_t bytes) {\n"
    "  size_t rounded = (bytes + NABLA_WORKSPACE_ALIGN - 1) / NABLA_WORKSPACE_ALIGN * NABLA_WORKSPACE_ALIGN;\n"
    "  void* p = std::aligned_alloc(NABLA_WORKSPACE_ALIGN, rounded ? rounded : NABLA_WORKSPACE_ALIGN);\n"
    "  if (!p) throw std::bad_alloc();\n"
    "  std::memset(p, 0, rounded ? rounded : NABLA_WORKSPACE_ALIGN);\n"
    "  return p;\n"
    "}\n"
    "inline void nabla_detail_free(void* p) { std::free(p); }\n\n";

}  // namespace

std::string c_identifier(std::string_view name) {
  std::string s;
  for (char c : name) s += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "_" + s;
  return s;
}

std::string link_check_symbol(const AotFunction& a, const std::string& triple) {
  std::string facts = fmt::format("ws {};", a.workspace_bytes);
  for (const Node* n : a.function->inputs()) facts += " in " + n->type().str();
  for (const Node* n : a.function->results()) facts += " out " + n->type().str();
  uint32_t hash = 2166136261u;  // FNV-1a
  for (unsigned char c : facts) hash = (hash ^ c) * 16777619u;
  return fmt::format("{}__abi{}_{}_{:08x}", a.symbol, NABLA_ABI_VERSION, c_identifier(triple), hash);
}

std::string generate_header(const std::vector<AotFunction>& functions, const AotTarget& target,
                            const HeaderOptions& options) {
  std::string guard = "NABLA_GENERATED_";
  for (const AotFunction& a : functions) guard += upper(c_identifier(a.symbol)) + "_";
  guard += "H";
  std::string s = fmt::format(
      "/* Generated by nablac. Functions compiled into {}:\n", options.object_name.empty() ? "the object" : options.object_name);
  for (const AotFunction& a : functions)
    s += fmt::format(" *   @{} -> {} (workspace {} bytes)\n", a.function->name(), a.symbol, a.workspace_bytes);
  s += fmt::format(" * for {}, CPU {}{}.\n", target.triple, target.cpu,
                   target.features.empty() ? "" : ", features " + target.features);
  s += fmt::format(
      " *\n * C usage (single-threaded; link the object alone, plus libm):\n"
      " *   void* in[N_INPUTS] = {{...}}; void* out[N_OUTPUTS] = {{...}};\n"
      " *   void* ws = aligned_alloc(NABLA_WORKSPACE_ALIGN, <WORKSPACE_BYTES rounded up>);\n"
      " *   nabla_context ctx = {{0}};\n"
      " *   if (NAME((const void* const*)in, out, ws, &ctx) != NABLA_OK) ... ctx.error ...\n"
      " */\n#ifndef {0}\n#define {0}\n\n",
      guard);
  s += "#include <stddef.h>\n#include <stdint.h>\n\n";
  s += abi_header_text();
  s += "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  s += kSignatureTypes;
  for (const AotFunction& a : functions) {
    s += c_part(a, target);
    for (const HeaderPattern& hp : options.patterns)
      if (hp.function == a.function->name()) s += pattern_part(a, hp);
  }
  s += "#ifdef __cplusplus\n}  /* extern \"C\" */\n\n#include <cstdlib>\n#include <cstring>\n#include <new>\n\n";
  if (!options.cpp_namespace.empty()) s += fmt::format("namespace {} {{\n\n", options.cpp_namespace);
  s += kCppHelpers;
  for (const AotFunction& a : functions) s += cpp_part(a);
  if (!options.cpp_namespace.empty()) s += fmt::format("}}  // namespace {}\n", options.cpp_namespace);
  s += fmt::format("#endif  /* __cplusplus */\n\n#endif  /* {} */\n", guard);
  return s;
}

}  // namespace nabla
