#include "nabla/ir/printer.h"

#include <cmath>
#include <unordered_set>

#include <fmt/format.h>

#include "nabla/ir/limits.h"
#include "nabla/ir/printer_names.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

template <class T>
std::string float_str(T v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string element_str(const Tensor& t, int64_t i) {
  return visit_dtype(t.dtype(), [&](auto zero) -> std::string {
    using T = decltype(zero);
    T v = t.data_as<T>()[i];
    if constexpr (std::is_floating_point_v<T>) return float_str(v);
    else if constexpr (std::is_same_v<T, uint8_t>) return v ? "true" : "false";
    else return std::to_string(v);
  });
}

// Nested lists for dims [d, rank) starting at flat element `offset`.
void append_nested(std::string& out, const Tensor& t, size_t d, int64_t offset,
                   const std::vector<int64_t>& strides) {
  if (d == t.shape().size()) {
    out += element_str(t, offset);
    return;
  }
  out += '[';
  for (int64_t i = 0; i < t.shape()[d]; ++i) {
    if (i) out += ", ";
    append_nested(out, t, d + 1, offset + i * strides[d], strides);
  }
  out += ']';
}

bool all_axes(const std::vector<int64_t>& axes, const Node& n) {
  if (n.num_operands() < 1 || !n.operand(0)) return false;
  int64_t r = n.operand(0)->type().rank();
  if (static_cast<int64_t>(axes.size()) != r) return false;
  for (int64_t i = 0; i < r; ++i)
    if (axes[i] != i) return false;
  return true;
}

// Optional attributes are left out when they hold their default.
bool omitted(uint32_t bit, const Node& n) {
  const Attrs& a = n.attrs();
  switch (bit) {
    case attr::axes: return all_axes(a.axes, n);
    case attr::keepdims: return !a.keepdims;
    case attr::transpose_a: return !a.transpose_a;
    case attr::transpose_b: return !a.transpose_b;
    case attr::stride: return a.stride == std::vector<int64_t>{1, 1};
    case attr::padding: return a.padding == std::vector<int64_t>{0, 0, 0, 0};
    case attr::dilation: return a.dilation == std::vector<int64_t>{1, 1};
    case attr::groups: return a.groups == 1;
    case attr::reverse: return !a.reverse;
    case attr::num_xs: return a.num_xs == 0;
    case attr::checkpoint: return a.checkpoint == 0;
    case attr::dynamic_length: return a.dynamic_length == 0;
    case attr::max_trip_count: return a.max_trip_count < 0;
    case attr::exclusive: return !a.exclusive;
    case attr::step:
      for (int64_t s : a.step)
        if (s != 1) return false;
      return true;
    case attr::dtype: return n.op() == Op::OneHot && a.dtype == DType::f32;
    case attr::value: return true;  // written after the op name
    default: return false;
  }
}

std::string attr_value_str(const std::vector<int64_t>& v) { return ints_str(v); }
std::string attr_value_str(int64_t v) { return std::to_string(v); }
std::string attr_value_str(bool v) { return v ? "true" : "false"; }
std::string attr_value_str(DType v) { return std::string(dtype_name(v)); }
std::string attr_value_str(Reduction v) { return std::string(reduction_name(v)); }
std::string attr_value_str(const Tensor& v) { return format_literal(v); }

std::string attrs_str(const Node& n) {
  uint32_t mask = op_attr_mask(n.op());
  std::string s;
#define NABLA_ATTR(name, Kind)                                           \
  if ((mask & attr::name) && !omitted(attr::name, n))                    \
    s += fmt::format("{}{} = {}", s.empty() ? "" : ", ", #name,         \
                     attr_value_str(n.attrs().name));
#include "nabla/ir/attrs.def"
  return s.empty() ? s : " {" + s + "}";
}

std::string operands_str(const Node& n, const ValueNames& names) {
  std::string s;
  for (size_t i = 0; i < n.num_operands(); ++i) s += (i ? ", " : " ") + names.ref(n.operand(i));
  return s;
}

// `%g1, %g2 = grad %z wrt %w1, %w2 : T1, T2` for grads [first, last].
std::string grad_line(const std::vector<const Node*>& group, const ValueNames& names) {
  std::string lhs, targets, types;
  for (size_t i = 0; i < group.size(); ++i) {
    const Node& g = *group[i];
    const char* sep = i ? ", " : "";
    lhs += sep + names.ref(&g);
    targets += sep + names.ref(g.num_operands() > 1 ? g.operand(1) : nullptr);
    types += sep + g.type().str();
  }
  const Node& first = *group[0];
  return fmt::format("{} = grad {} wrt {} : {}", lhs,
                     names.ref(first.num_operands() > 0 ? first.operand(0) : nullptr), targets,
                     types);
}

std::string node_line(const Node& n, const ValueNames& names) {
  if (n.op() == Op::Grad) return grad_line({&n}, names);
  std::string s = fmt::format("{} = {}", names.ref(&n), op_name(n.op()));
  if (n.op() == Op::Constant) s += " " + format_literal(n.attrs().value);
  s += operands_str(n, names);
  s += attrs_str(n);
  return s + " : " + n.type().str();
}

// Grad `next` joins the group when it differentiates the same z and its target
// is not defined inside the group (it would be used before its definition).
bool joins_grad_group(const std::vector<const Node*>& group, const Node& next) {
  if (next.op() != Op::Grad || next.num_operands() != 2 || group[0]->num_operands() != 2)
    return false;
  if (next.operand(0) != group[0]->operand(0)) return false;
  for (const Node* g : group)
    if (next.operand(1) == g) return false;
  return true;
}

std::string inputs_text(const Function& f, const ValueNames& names) {
  std::string s;
  for (size_t i = 0; i < f.inputs().size(); ++i) {
    const Node* in = f.inputs()[i];
    s += fmt::format("{}{}: {}", i ? ", " : "", names.ref(in), in->type().str());
  }
  return s;
}

// The levels of bodies body_text is in, on this thread.
thread_local int print_depth = 0;

// The statements of f and its return line, each line indented by `indent`.
std::string body_text(const Function& f, const std::string& indent) {
  ValueNames names(f);
  std::string s;
  for (const Node* n = f.front(); n;) {
    if (n->op() == Op::Grad && n->num_operands() == 2) {
      std::vector<const Node*> group{n};
      const Node* next = n->next();
      while (next && joins_grad_group(group, *next)) {
        group.push_back(next);
        next = next->next();
      }
      s += indent + grad_line(group, names) + "\n";
      n = next;
      continue;
    }
    const Node* next = n->next();
    if (const Function* body = n->body()) {
      DepthGuard level(print_depth, [](const std::string& m) { throw Error("print: " + m); });
      // `%r = fused %a, %b : T (%x: Ta, %y: Tb) {`, the body, `}`; a body of
      // several results: `%r, %s = fused %a, %b : T, U (...) {`.
      std::vector<const Node*> group{n};
      if (body->results().size() > 1 && n->body_result() == 0)
        while (next && next->body() == body && group.size() < body->results().size() &&
               next->body_result() == static_cast<int>(group.size())) {
          group.push_back(next);
          next = next->next();
        }
      std::string lhs, types;
      for (size_t i = 0; i < group.size(); ++i) {
        lhs += (i ? ", " : "") + names.ref(group[i]);
        types += (i ? ", " : "") + group[i]->type().str();
      }
      s += indent + fmt::format("{} = {}{}{} : {}", lhs, op_name(n->op()), operands_str(*n, names),
                                attrs_str(*n), types);
      // A while's condition, then its step (ir/loop.h).
      auto body_block = [&](const Function& b) {
        return " (" + inputs_text(b, ValueNames(b)) + ") {\n" + body_text(b, indent + "  ") + indent + "}";
      };
      if (n->cond()) s += " cond" + body_block(*n->cond()) + " do";
      s += body_block(*body);
    } else {
      s += indent + node_line(*n, names);
    }
    s += "\n";
    n = next;
  }
  s += indent + "return";
  for (size_t i = 0; i < f.results().size(); ++i) s += (i ? ", " : " ") + names.ref(f.results()[i]);
  return s + "\n";
}

std::string function_text(const Function& f, const std::string& name) {
  ValueNames names(f);
  std::string s = "func @" + name + "(" + inputs_text(f, names) + ") -> (";
  for (size_t i = 0; i < f.results().size(); ++i) {
    const Node* r = f.results()[i];
    s += (i ? ", " : "") + (r ? r->type().str() : std::string("<null>"));
  }
  s += ") {\n";
  return s + body_text(f, "  ") + "}\n";
}

std::string function_name(std::string_view name) {
  std::string s = sanitize_name(name);
  return s.empty() ? "_" : s;
}

}  // namespace

std::string format_float(double v) { return float_str(v); }
std::string format_float(float v) { return float_str(v); }

std::string format_literal(const Tensor& t) {
  if (!t.defined()) return "<undefined>";
  if (t.numel() > 0 && t.is_splat()) return element_str(t, 0);
  // Any tensor without elements is `[]`; its type gives the shape.
  if (t.numel() == 0) return "[]";
  std::string s;
  std::vector<int64_t> strides = row_major_strides(t.shape());
  append_nested(s, t, 0, 0, strides);
  return s;
}

std::string print(const Function& f) { return function_text(f, function_name(f.name())); }

std::string print(const Module& m) {
  std::string s;
  std::unordered_set<std::string> used;
  for (const Function* f : m.functions()) {
    std::string name = function_name(f->name());
    std::string base = name;
    for (int i = 1; used.count(name); ++i) name = base + "." + std::to_string(i);
    used.insert(name);
    if (!s.empty()) s += "\n";
    s += function_text(*f, name);
  }
  return s;
}

std::string print_node(const Node& n) {
  if (!n.function()) {
    return node_line(n, ValueNames());
  }
  return node_line(n, ValueNames(*n.function()));
}

std::string print_node(const Node& n, const ValueNames& names) { return node_line(n, names); }

}  // namespace nabla
