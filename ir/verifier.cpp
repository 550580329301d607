#include "nabla/ir/verifier.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "nabla/ir/diagnostic.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/limits.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/printer.h"

namespace nabla {
namespace {

// The level of bodies of the verify() this thread is in: verifying a body
// (check_fused_body, check_loop) verifies its function, so verify recurses
// once per level of bodies. The function verified first is level 0 (its own
// bodies are level 1, ir/limits.h), so the count starts at -1.
thread_local int verify_depth = -1;

// The deepest level of bodies in f, whose own level is `level`; stops one
// level beyond kMaxBodyDepth (so that a cycle of bodies ends too).
int nesting(const Function& f, int level) {
  int deepest = level;
  for (const Node* n : f) {
    if (!n->body()) continue;
    if (level == kMaxBodyDepth) return level + 1;
    deepest = std::max(deepest, nesting(*n->body(), level + 1));
  }
  return deepest;
}

class Verifier {
 public:
  explicit Verifier(const Function& f) : f_(f) {}
  void run();

 private:
  [[noreturn]] void fail(const Node* n, const std::string& message) const;
  void check_nesting();
  void check_inputs();
  void check_body();
  void check_group(const Node& n);
  void check_loop_node(const Node& n, std::span<const TensorType> types);
  void check_node(const Node& n);
  void check_users();
  void check_results();

  const Function& f_;
  std::unordered_set<const Node*> defined_;
  std::unordered_map<std::string, const Node*> names_;
};

void Verifier::fail(const Node* n, const std::string& message) const {
  std::string where = "function @" + f_.name();
  if (n) where += fmt::format(", node `{}`", print_node(*n));
  std::string text = where + ": " + message;
  if (n && n->loc().valid()) {
    std::string file = f_.parent() ? f_.parent()->source_name() : std::string();
    text = diagnostic_header(file, n->loc(), text);
  }
  throw Error(text);
}

void Verifier::run() {
  DepthGuard level(verify_depth, [&](const std::string& m) { fail(nullptr, m); });
  if (verify_depth == 0) check_nesting();  // the levels below are then bounded
  check_inputs();
  check_body();
  check_users();
  check_results();
}

// Bodies nest at most kMaxBodyDepth deep (reported at the outermost node).
void Verifier::check_nesting() {
  for (const Node* n : f_)
    if (n->body() && nesting(*n->body(), 1) > kMaxBodyDepth) fail(n, body_depth_message());
}

void Verifier::check_inputs() {
  const auto& inputs = f_.inputs();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Node* in = inputs[i];
    if (!in) fail(nullptr, fmt::format("input {} is null", i));
    if (in->op() != Op::Input) fail(in, fmt::format("input {} is not an input node", i));
    if (in->function() != &f_) fail(in, "input belongs to another function");
    if (in->input_index() != static_cast<int>(i))
      fail(in, fmt::format("input {} records index {}", i, in->input_index()));
    if (in->num_operands() != 0) fail(in, "input has operands");
    if (in->name().empty()) fail(in, fmt::format("input {} has no name", i));
    for (int64_t d : in->shape())
      if (d < 0) fail(in, fmt::format("negative dimension in {}", in->type().str()));
    if (!names_.emplace(in->name(), in).second) fail(in, fmt::format("duplicate name %{}", in->name()));
    defined_.insert(in);
  }
}

void Verifier::check_body() {
  size_t count = 0;
  const Node* prev = nullptr;
  for (const Node* n : f_) {
    if (++count > f_.size()) fail(nullptr, "the body list is longer than its recorded size");
    if (n->prev() != prev) fail(n, "the body list is inconsistent (prev link)");
    prev = n;
    check_node(*n);
    if (!n->name().empty() && !names_.emplace(n->name(), n).second)
      fail(n, fmt::format("duplicate name %{}", n->name()));
    defined_.insert(n);
  }
  if (count != f_.size())
    fail(nullptr, fmt::format("the body has {} nodes but records {}", count, f_.size()));
  if (prev != f_.back()) fail(nullptr, "the body list is inconsistent (tail)");
}

// The nodes of a body of k results stand consecutively as results 0..k-1,
// over the same operands.
void Verifier::check_group(const Node& n) {
  const Function* body = n.body();
  int k = static_cast<int>(body->results().size());
  int i = n.body_result();
  if (i < 0 || i >= k) fail(&n, fmt::format("body result {} is out of range: the body has {} result(s)", i, k));
  if (i > 0) {
    const Node* p = n.prev();
    if (!p || p->body() != body || p->body_result() != i - 1)
      fail(&n, fmt::format("{} result {} does not follow result {} of the same body", op_name(n.op()), i, i - 1));
    if (!std::equal(p->operands().begin(), p->operands().end(), n.operands().begin(), n.operands().end()))
      fail(&n, fmt::format("the {} nodes of one body have different operands", op_name(n.op())));
  }
  if (i + 1 < k) {
    const Node* x = n.next();
    if (!x || x->body() != body || x->body_result() != i + 1)
      fail(&n, fmt::format("{} result {} is not followed by result {} of the same body", op_name(n.op()), i, i + 1));
  }
}

void Verifier::check_loop_node(const Node& n, std::span<const TensorType> types) {
  if (!n.body()) fail(&n, fmt::format("{} node without a body", op_name(n.op())));
  std::vector<TensorType> results;
  try {
    results = check_loop(n.op(), types, n.attrs(), *n.body(), n.cond());
  } catch (const Error& e) {
    fail(&n, e.what());
  }
  check_group(n);
  const TensorType& t = results[static_cast<size_t>(n.body_result())];
  if (t != n.type())
    fail(&n, fmt::format("recorded type {} does not match the loop's result type {}", n.type().str(), t.str()));
}

void Verifier::check_node(const Node& n) {
  if (n.function() != &f_) fail(&n, "node belongs to another function");
  if (n.op() == Op::Input) fail(&n, "input node in the body");
  std::vector<TensorType> types;
  for (size_t i = 0; i < n.num_operands(); ++i) {
    const Node* o = n.operand(i);
    if (!o) fail(&n, fmt::format("operand {} is null", i));
    if (o->function() != &f_)
      fail(&n, fmt::format("operand {} belongs to function @{}", i,
                           o->function() ? o->function()->name() : "<none>"));
    if (!defined_.count(o)) fail(&n, fmt::format("operand {} is used before its definition", i));
    types.push_back(o->type());
  }
  if (is_loop(n.op())) return check_loop_node(n, types);
  if (n.cond()) fail(&n, "only while nodes have a condition body");
  if (n.op() == Op::Fused || n.body()) {
    if (n.op() != Op::Fused) fail(&n, "only fused and loop nodes have a body");
    if (!n.body()) fail(&n, "fused node without a body");
    try {
      check_fused_body(types, *n.body());
    } catch (const Error& e) {
      fail(&n, e.what());
    }
    check_group(n);
    const TensorType& body_type = n.body()->results()[static_cast<size_t>(n.body_result())]->type();
    if (body_type != n.type())
      fail(&n, fmt::format("recorded type {} does not match the body's result type {}", n.type().str(),
                           body_type.str()));
    return;
  }
  Attrs attrs = n.attrs();
  TensorType inferred;
  try {
    inferred = infer_type(n.op(), types, attrs);
  } catch (const Error& e) {
    fail(&n, e.what());
  }
  if (inferred != n.type())
    fail(&n, fmt::format("recorded type {} does not match inferred type {}", n.type().str(),
                         inferred.str()));
  if (!attrs.equal(n.attrs(), ~0u)) fail(&n, "attributes are not normalized");
}

void Verifier::check_users() {
  // Expected uses, once per operand slot, against each value's user list.
  std::unordered_map<const Node*, std::vector<const Node*>> expected;
  for (const Node* n : f_)
    for (const Node* o : n->operands()) expected[o].push_back(n);
  auto check = [&](const Node* v) {
    std::vector<const Node*> want = expected[v];
    std::vector<const Node*> have(v->users().begin(), v->users().end());
    std::sort(want.begin(), want.end());
    std::sort(have.begin(), have.end());
    if (want != have)
      fail(v, fmt::format("user list has {} entries, but {} operand slots use it", have.size(),
                          want.size()));
  };
  for (const Node* in : f_.inputs()) check(in);
  for (const Node* n : f_) check(n);
}

void Verifier::check_results() {
  if (f_.results().empty()) fail(nullptr, "has no results");
  for (size_t i = 0; i < f_.results().size(); ++i) {
    const Node* r = f_.results()[i];
    if (!r) fail(nullptr, fmt::format("result {} is null", i));
    if (!defined_.count(r)) fail(r, fmt::format("result {} is not a value of this function", i));
  }
}

}  // namespace

void verify(const Function& f) { Verifier(f).run(); }

void verify(const Module& m) {
  std::unordered_set<std::string> names;
  for (const Function* f : m.functions()) {
    if (!names.insert(f->name()).second) throw Error(fmt::format("module: duplicate function @{}", f->name()));
    verify(*f);
  }
}

}  // namespace nabla
