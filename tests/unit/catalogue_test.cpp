// The op catalogue is complete: every op of ir/ops.def has each place that
// docs/adding-an-op.md lists. One test per op; a failure names the op and the
// missing place:
//   its entry in docs/ops.md, with its derivative rule (the Derivative
//   column of its row, or the "Derivative:" sentence of its section);
//   a case in test::build_every_op (the text round trip), and, when it is
//   differentiable, in test::grad_cases (first and second derivatives);
//   an interpreter kernel and a lowering: a function of the op alone, on
//   random operands, interpreted, compiled and compared;
//   a derivative rule (passes/bprop.cpp) when differentiable: a float result
//   of a float operand, outside the leaves, grad and fused regions.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string_view>

#include "nabla/ir/fused.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/passes/build_grad.h"
#include "tests/support/backend_testing.h"
#include "tests/unit/op_cases.h"

namespace nabla {
namespace NABLA_UNITY_ID {

std::string read_doc(const std::string& name) {
  std::ifstream in(std::string(NABLA_SOURCE_DIR) + "/docs/" + name);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The cells of a markdown table row ("| a | b |" -> {"a", "b"}), trimmed;
// none for another line. (No op's cell holds an escaped "\|" before the
// Derivative column's.)
std::vector<std::string> cells(std::string_view line) {
  std::vector<std::string> out;
  if (!line.starts_with("|")) return out;
  size_t at = 1;
  while (at < line.size()) {
    size_t end = line.find('|', at);
    while (end != std::string_view::npos && line[end - 1] == '\\') end = line.find('|', end + 1);
    if (end == std::string_view::npos) break;
    std::string_view cell = line.substr(at, end - at);
    size_t first = cell.find_first_not_of(' '), last = cell.find_last_not_of(' ');
    out.emplace_back(first == std::string_view::npos ? "" : cell.substr(first, last - first + 1));
    at = end + 1;
  }
  return out;
}

bool names_op(const std::string& first_cell, std::string_view op) {
  std::string code = "`" + std::string(op);
  return first_cell.find(code + "`") != std::string::npos || first_cell.starts_with(code + " ");
}

// The op's row of a docs table (its first cell names the op in backticks,
// or starts with its text form "`op %x ..."), as its column header -> cell;
// empty when there is none.
std::map<std::string, std::string> row_of(const std::string& text, std::string_view op) {
  std::vector<std::string> header;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = std::min(text.find('\n', start), text.size());
    std::vector<std::string> row = cells(std::string_view(text).substr(start, end - start));
    start = end + 1;
    if (row.empty()) {
      header.clear();
      continue;
    }
    if (header.empty()) {
      header = row;
      continue;
    }
    if (!names_op(row[0], op)) continue;
    std::map<std::string, std::string> out;
    for (size_t i = 0; i < row.size() && i < header.size(); ++i) out[header[i]] = row[i];
    return out;
  }
  return {};
}

// The op's section "## op" of a doc, up to the next "## "; "" when there is none.
std::string section_of(const std::string& text, std::string_view op) {
  size_t at = text.find("\n## " + std::string(op) + "\n");
  if (at == std::string::npos) return "";
  return text.substr(at, text.find("\n## ", at + 1) - at);
}

// An entry of docs/ops.md: a table row, a heading "## op", or the text form "`op %x ...".
bool has_entry(const std::string& text, std::string_view op) {
  return !row_of(text, op).empty() || !section_of(text, op).empty() ||
         text.find("`" + std::string(op) + " %") != std::string::npos;
}

// The op's derivative rule in docs/ops.md: the Derivative cell of its row,
// or the "Derivative: ..." sentence of its section; "" when it has neither.
std::string derivative_of(const std::string& text, std::string_view op) {
  std::map<std::string, std::string> row = row_of(text, op);
  if (auto it = row.find("Derivative"); it != row.end()) return it->second;
  std::string section = section_of(text, op);
  size_t at = section.find("Derivative: ");
  return at == std::string::npos ? "" : section.substr(at + 12, section.find('.', at) - at - 12);
}

// The ops of the cases a builder makes.
std::set<Op> ops_of(const std::function<void(Module&)>& build) {
  Module m;
  build(m);
  std::set<Op> ops;
  for (const Function* f : m.functions()) {
    for (const Node* n : *f) ops.insert(n->op());
    for (const Node* n : f->inputs()) ops.insert(n->op());
  }
  return ops;
}

// A function of the op alone: one input per operand of n (of its type), the
// node made again on them, one result.
Module sample_of(const Node& n) {
  Module m;
  Function& f = m.function("sample");
  std::vector<Node*> operands;
  for (size_t i = 0; i < n.num_operands(); ++i)
    operands.push_back(f.input("x" + std::to_string(i), n.operand(i)->type()));
  Node* node = n.op() == Op::Fused ? make_fused_group(f, operands, n.shared_body())[0]
               : is_loop(n.op())  ? make_loop(f, n.op(), operands, n.attrs(), n.shared_body(), n.shared_cond())[0]
                                  : f.make(n.op(), operands, n.attrs()).node;
  f.output(node);
  return m;
}

bool differentiable(const Node& n) {
  OpKind k = op_kind(n.op());
  if (k == OpKind::Leaf || k == OpKind::Deriv || k == OpKind::Region || !is_float(n.dtype())) return false;
  for (const Node* o : n.operands())
    if (is_float(o->dtype())) return true;
  return false;
}

// Interpreted and compiled on random operands (labels and indices in range).
void check_kernels(const Function& f, std::string_view name) {
  std::vector<Tensor> in = random_inputs(f, 1);
  try {
    interpret(f, in);
  } catch (const Error& e) {
    ADD_FAILURE() << "`" << name << "`: no interpreter kernel (ir/interpreter_*.cpp) for its sample: " << e.what();
    return;
  }
  CompileOptions o = test::test_options(1);
  o.pipeline = "";
  o.fuse = o.fuse_matmul = false;
  try {
    std::string d = test::compare_with_interpreter(f, in, o);
    EXPECT_EQ(d, "") << "`" << name << "`: its lowering (compiler/lower_*.cpp) disagrees with the interpreter";
  } catch (const Error& e) {
    ADD_FAILURE() << "`" << name << "`: no lowering (compiler/lower_*.cpp) for its sample: " << e.what();
  }
}

void check_rule(Function& f, std::string_view name) {
  std::vector<Value> targets;
  for (Node* in : f.inputs())
    if (is_float(in->dtype())) targets.push_back(in);
  try {
    grad(sum(f.results()[0]), targets, {.allow_disconnected = true});
  } catch (const Error& e) {
    ADD_FAILURE() << "`" << name << "`: no derivative rule (passes/bprop.cpp): " << e.what();
  }
}

class Catalogue : public ::testing::TestWithParam<int> {};

TEST_P(Catalogue, EveryOpHasEveryPlace) {
  Op op = static_cast<Op>(GetParam());
  std::string_view name = op_name(op);
  static const std::string ops_md = read_doc("ops.md");
  EXPECT_TRUE(has_entry(ops_md, name)) << "`" << name << "`: no entry in docs/ops.md";
  EXPECT_NE(derivative_of(ops_md, name), "")
      << "`" << name << "`: no derivative rule in docs/ops.md (the Derivative column of its row, or a "
      << "\"Derivative:\" sentence in its section)";
  static const std::set<Op> round_trip = ops_of(test::build_every_op);
  static const std::set<Op> grad_tested = ops_of([](Module& m) {
    for (const test::GradCase& c : test::grad_cases()) c.build(m.function(c.name));
  });
  EXPECT_TRUE(round_trip.count(op)) << "`" << name << "`: no case in test::build_every_op (tests/unit/op_cases.cpp)";
  if (op == Op::Input || op == Op::Grad) return;  // no node of its own to run
  Module every;
  test::build_every_op(every);
  const Node* n = nullptr;
  for (const Node* m : *every.find("every_op"))
    if (m->op() == op && !n) n = m;
  if (!n) return;
  Module sample = sample_of(*n);
  Function& f = *sample.find("sample");
  check_kernels(f, name);
  if (!differentiable(*n)) return;
  EXPECT_TRUE(grad_tested.count(op)) << "`" << name << "`: no case in test::grad_cases (tests/unit/op_cases.cpp)";
  check_rule(f, name);
}

INSTANTIATE_TEST_SUITE_P(Ops, Catalogue, ::testing::Range(0, kNumOps),
                         [](const auto& info) { return std::string(op_name(static_cast<Op>(info.param))); });

}  // namespace
}  // namespace nabla
