#include "nabla/passes/sparsity.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "nabla/ir/printer_names.h"
#include "nabla/passes/sparsity_edges.h"
#include "nabla/runtime/error.h"

namespace nabla {

bool SparsityPattern::contains(int64_t r, int64_t c) const {
  auto b = col_idx.begin() + row_ptr[r], e = col_idx.begin() + row_ptr[r + 1];
  return std::binary_search(b, e, c);
}

SparsityPattern SparsityPattern::transposed() const {
  SparsityPattern t;
  t.rows = cols;
  t.cols = rows;
  t.row_ptr.assign(cols + 1, 0);
  for (int64_t c : col_idx) ++t.row_ptr[c + 1];
  for (int64_t c = 0; c < cols; ++c) t.row_ptr[c + 1] += t.row_ptr[c];
  t.col_idx.resize(col_idx.size());
  std::vector<int64_t> next(t.row_ptr.begin(), t.row_ptr.end() - 1);
  for (int64_t r = 0; r < rows; ++r)  // rows ascending: each new row's columns stay sorted
    for (int64_t k = row_ptr[r]; k < row_ptr[r + 1]; ++k) t.col_idx[next[col_idx[k]]++] = r;
  return t;
}

SparsityPattern SparsityPattern::lower() const {
  SparsityPattern l;
  l.rows = rows;
  l.cols = cols;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = row_ptr[r]; k < row_ptr[r + 1] && col_idx[k] <= r; ++k) l.col_idx.push_back(col_idx[k]);
    l.row_ptr.push_back(l.nnz());
  }
  return l;
}

SparsityPattern SparsityPattern::from_rows(int64_t cols, const std::vector<std::vector<int32_t>>& rows) {
  SparsityPattern p;
  p.rows = static_cast<int64_t>(rows.size());
  p.cols = cols;
  for (const auto& r : rows) {
    p.col_idx.insert(p.col_idx.end(), r.begin(), r.end());
    p.row_ptr.push_back(p.nnz());
  }
  return p;
}

namespace {

using Set = std::vector<int32_t>;  // sorted, no duplicates
// The set of one element of a value, shared by every element (of any value)
// that has the same set: a slice, a gather or a broadcast copies pointers, and
// a union that adds nothing keeps the pointer it had. Null: the empty set.
using SetRef = std::shared_ptr<Set>;
using Sets = std::vector<SetRef>;  // one per element of a value

void normalize(Set& s) {
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
}

bool includes(const Set& a, const Set& b) { return std::includes(a.begin(), a.end(), b.begin(), b.end()); }

// dst = dst | add (a merge: the sets stay sorted as they grow). A set of the
// value being computed that no other element shares yet (use count 1) is
// changed in place; one shared with an operand is replaced. `merged` is scratch.
void unite(SetRef& dst, const SetRef& add, Set& merged) {
  if (!add || add->empty() || dst == add) return;
  if (!dst || dst->empty()) {
    dst = add;
    return;
  }
  size_t a = add->size(), d = dst->size();
  if (a == d ? *dst == *add : a < d && includes(*dst, *add)) return;
  if (a > d && includes(*add, *dst)) {
    dst = add;
    return;
  }
  merged.clear();
  std::set_union(dst->begin(), dst->end(), add->begin(), add->end(), std::back_inserter(merged));
  if (dst.use_count() == 1) dst->swap(merged);
  else dst = std::make_shared<Set>(merged);
}

bool same(const SetRef& a, const SetRef& b) { return a == b || (a && b && *a == *b); }

std::string name_of(const Node* n) { return ValueNames(*n->function()).ref(n); }

void check_float(const char* what, Value v) {
  if (!is_float(v->dtype()))
    throw Error(std::string(what) + ": " + name_of(v) + " must be float, got " + v->type().str());
}

// The values y is computed from (y included).
std::unordered_set<const Node*> ancestors(const Node* y) {
  std::unordered_set<const Node*> seen{y};
  std::vector<const Node*> stack{y};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (const Node* o : n->operands())
      if (seen.insert(o).second) stack.push_back(o);
  }
  return seen;
}

// gather and scatter_add with an index known only at run time.
bool run_time_index(const Node& n) {
  return (n.op() == Op::Gather || n.op() == Op::ScatterAdd) && n.operand(1)->op() != Op::Constant;
}

// Their every line along the axis reads every element of the other's line
// (gather: result [o, p, r] reads x [o, k, r] for all k; scatter_add: result
// [o, k, r] reads updates [o, p, r] for all p, and x [o, k, r]): the union of
// a line once, shared by the line it goes to, instead of one edge per pair
// (ht gathers C points from V vertices: C V edges before).
void along_any_index(const Node& n, const std::vector<const Sets*>& in, Sets& s, Set& merged) {
  bool gather = n.op() == Op::Gather;
  const Shape& data = gather ? n.operand(0)->shape() : n.shape();  // the indexed one
  int64_t axis = n.attrs().axis, outer = 1, inner = 1, np = n.operand(1)->type().numel();
  for (int64_t i = 0; i < static_cast<int64_t>(data.size()); ++i)
    if (i != axis) (i < axis ? outer : inner) *= data[i];
  int64_t from_len = gather ? data[axis] : np, to_len = gather ? np : data[axis];
  const Sets* from = gather ? in[0] : in[2];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t r = 0; r < inner; ++r) {
      SetRef line;
      for (int64_t k = 0; from && k < from_len; ++k) unite(line, (*from)[(o * from_len + k) * inner + r], merged);
      for (int64_t p = 0; p < to_len; ++p) {
        int64_t at = (o * to_len + p) * inner + r;
        if (!gather && in[0]) s[at] = (*in[0])[at];
        unite(s[at], line, merged);
      }
    }
}

// Ops whose derivative is zero wherever it exists: their results carry nothing.
bool zero_derivative(Op op) { return op == Op::Sign || op == Op::Floor || op == Op::StopGradient; }

// The index sets of every value between x and y that depends on x.
class Propagation {
 public:
  // keep_all false: the sets of a value are dropped once its last user is
  // visited (only y's are read afterwards), so memory follows the live values.
  Propagation(Value y, Value x, bool keep_all = true) {
    Sets& sx = sets_[x.node];
    sx.resize(x->type().numel());
    for (size_t i = 0; i < sx.size(); ++i) sx[i] = std::make_shared<Set>(Set{static_cast<int32_t>(i)});
    std::unordered_set<const Node*> up = ancestors(y);
    std::unordered_map<const Node*, int64_t> uses;
    if (!keep_all)
      for (const Node* n : up)
        for (const Node* o : n->operands()) ++uses[o];
    for (Node* n : *y->function()) {
      if (!up.count(n)) continue;
      if (n != x.node) visit(n);
      if (keep_all) continue;
      for (const Node* o : n->operands())
        if (--uses[o] == 0 && o != y.node) sets_.erase(o);
    }
  }
  // The sets of n, or null when n does not depend on x.
  const Sets* find(const Node* n) const {
    auto it = sets_.find(n);
    return it == sets_.end() ? nullptr : &it->second;
  }
  const std::vector<const Node*>& order() const { return order_; }

 private:
  void visit(const Node* n) {
    bool reached = false;
    for (const Node* o : n->operands()) reached |= find(o) != nullptr;
    if (!reached || !is_float(n->dtype()) || zero_derivative(n->op())) return;
    Sets s(n->type().numel());
    Set merged;
    std::vector<const Sets*> in;  // per operand slot
    for (const Node* o : n->operands()) in.push_back(find(o));
    bool known = run_time_index(*n) ? (along_any_index(*n, in, s, merged), true)
                                    : sparsity::for_each_edge(*n, [&](int64_t out, size_t slot, int64_t i) {
                                        if (const Sets* o = in[slot]) unite(s[out], (*o)[i], merged);
                                      });
    if (!known) {  // every result element reads every operand element
      Set all;
      for (const Sets* os : in)
        for (size_t i = 0; os && i < os->size(); ++i)
          if ((*os)[i] && (i == 0 || (*os)[i] != (*os)[i - 1])) all.insert(all.end(), (*os)[i]->begin(), (*os)[i]->end());
      normalize(all);
      std::fill(s.begin(), s.end(), std::make_shared<Set>(std::move(all)));
    }
    sets_[n] = std::move(s);
    order_.push_back(n);
  }

  std::unordered_map<const Node*, Sets> sets_;
  std::vector<const Node*> order_;
};

// The Hessian's rows as they are collected: pairs added both ways.
class Interactions {
 public:
  explicit Interactions(int64_t n) : rows_(n), clean_(n, 0) {}
  void add(const Set& a, const Set& b) {
    for (int32_t i : a)
      for (int32_t j : b) {
        push(i, j);
        push(j, i);
      }
  }
  std::vector<Set> finish() {
    for (Set& r : rows_) normalize(r);
    return std::move(rows_);
  }

 private:
  void push(int32_t i, int32_t j) {
    Set& r = rows_[i];
    r.push_back(j);
    if (r.size() > 2 * clean_[i] + 64) {  // keep repeated pairs from piling up
      normalize(r);
      clean_[i] = r.size();
    }
  }
  std::vector<Set> rows_;
  std::vector<size_t> clean_;
};

// The nonlinear interactions of one node (Walther's rules, element by element).
void interactions(const Node& n, const Propagation& p, Interactions& h) {
  const Sets* y = p.find(&n);
  auto at = [&](size_t slot, int64_t i) -> const Set* {
    const Sets* s = p.find(n.operand(slot));
    return s ? (*s)[i].get() : nullptr;
  };
  switch (n.op()) {
    case Op::Mul:
    case Op::Div:  // a*b couples a with b; a/b also b with itself
      sparsity::for_each_edge(n, [&, a = static_cast<const Set*>(nullptr)](int64_t, size_t slot,
                                                                          int64_t in) mutable {
        if (slot == 0) { a = at(0, in); return; }
        const Set* b = at(1, in);
        if (a && b) h.add(*a, *b);
        if (b && n.op() == Op::Div) h.add(*b, *b);
      });
      return;
    case Op::MatMul:
      sparsity::for_each_matmul_term(n, [&](int64_t, int64_t a, int64_t b) {
        const Set *sa = at(0, a), *sb = at(1, b);
        if (sa && sb) h.add(*sa, *sb);
      });
      return;
    case Op::Neg: case Op::Abs: case Op::Relu: case Op::Barrier:
    case Op::Add: case Op::Sub: case Op::Maximum: case Op::Minimum: case Op::Select:
    case Op::Sum: case Op::Mean: case Op::Max: case Op::Min: case Op::Cast:
    case Op::Reshape: case Op::Transpose: case Op::BroadcastTo: case Op::Slice: case Op::Concat:
    case Op::CumSum: case Op::Gather: case Op::ScatterAdd: case Op::AllReduce:
      return;  // linear or piecewise linear: no second derivative
    default:  // nonlinear (exp, pow, softmax, ...) or unknown: all of its elements' pairs
      for (size_t i = 0; i < y->size(); ++i)  // equal neighbours (a broadcast) add nothing new
        if ((*y)[i] && (i == 0 || !same((*y)[i], (*y)[i - 1]))) h.add(*(*y)[i], *(*y)[i]);
  }
}

}  // namespace

SparsityPattern jacobian_pattern(Value y, Value x) {
  check_float("jacobian_pattern", y);
  check_float("jacobian_pattern", x);
  if (y->function() != x->function())
    throw Error("jacobian_pattern: " + name_of(x) + " belongs to function @" + x->function()->name() +
                ", not @" + y->function()->name());
  Propagation p(y, x, /*keep_all=*/false);
  SparsityPattern pattern;
  pattern.rows = y->type().numel();
  pattern.cols = x->type().numel();
  pattern.row_ptr.reserve(static_cast<size_t>(pattern.rows) + 1);
  const Sets* s = p.find(y);
  for (int64_t r = 0; r < pattern.rows; ++r) {
    if (const Set* e = s ? (*s)[r].get() : nullptr) pattern.col_idx.insert(pattern.col_idx.end(), e->begin(), e->end());
    pattern.row_ptr.push_back(pattern.nnz());
  }
  return pattern;
}

SparsityPattern hessian_pattern(Value z, Value x) {
  check_float("hessian_pattern", x);
  if (!z.node || !z->type().is_scalar() || !is_float(z->dtype()))
    throw Error("hessian_pattern: " + (z.node ? name_of(z) + " must be a float scalar, got " + z->type().str()
                                              : std::string("null value")));
  if (z->function() != x->function())
    throw Error("hessian_pattern: " + name_of(x) + " belongs to function @" + x->function()->name() +
                ", not @" + z->function()->name());
  Propagation p(z, x);
  Interactions h(x->type().numel());
  for (const Node* n : p.order()) interactions(*n, p, h);
  return SparsityPattern::from_rows(x->type().numel(), h.finish());
}

}  // namespace nabla
