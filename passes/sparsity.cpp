#include "nabla/passes/sparsity.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "nabla/ir/fused.h"
#include "nabla/ir/interpreter_kernels.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/printer_names.h"
#include "nabla/ir/reach.h"
#include "nabla/passes/sparsity_edges.h"
#include "nabla/passes/sparsity_sets.h"
#include "nabla/ir/limits.h"
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
  IndexVector next(t.row_ptr.begin(), t.row_ptr.end() - 1);
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

using sparsity::SetId;
using sparsity::SetPool;
using sparsity::Sets;
using sparsity::SetUnion;

std::string name_of(const Node* n) { return ValueNames(*n->function()).ref(n); }

void check_float(const char* what, Value v) {
  if (!is_float(v->dtype()))
    throw Error(std::string(what) + ": " + name_of(v) + " must be float, got " + v->type().str());
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
void along_any_index(const Node& n, const std::vector<const Sets*>& in, Sets& s, SetPool& pool) {
  bool gather = n.op() == Op::Gather;
  const Shape& data = gather ? n.operand(0)->shape() : n.shape();  // the indexed one
  int64_t axis = n.attrs().axis, outer = 1, inner = 1, np = n.operand(1)->type().numel();
  for (int64_t i = 0; i < static_cast<int64_t>(data.size()); ++i)
    if (i != axis) (i < axis ? outer : inner) *= data[i];
  int64_t from_len = gather ? data[axis] : np, to_len = gather ? np : data[axis];
  const Sets* from = gather ? in[0] : in[2];
  SetUnion u;
  std::vector<int32_t> scratch;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t r = 0; r < inner; ++r) {
      for (int64_t k = 0; from && k < from_len; ++k) u.add(pool, (*from)[(o * from_len + k) * inner + r]);
      SetId line = u.finish(pool);
      for (int64_t p = 0; p < to_len; ++p) {
        int64_t at = (o * to_len + p) * inner + r;
        s[at] = !gather && in[0] ? pool.unite((*in[0])[at], line, scratch) : line;
      }
    }
}

// Ops each of whose result elements is a copy of at most one operand element.
bool copies_elements(const Node& n) {
  switch (n.op()) {
    case Op::Reshape: case Op::Slice: case Op::BroadcastTo: case Op::Transpose: case Op::Concat: return true;
    case Op::Gather: return !run_time_index(n);
    default: return false;
  }
}

// Ops whose derivative is zero wherever it exists: their results carry nothing.
bool zero_derivative(Op op) { return op == Op::Sign || op == Op::Floor || op == Op::StopGradient; }

bool any_set(const Sets& s) {
  return std::any_of(s.begin(), s.end(), [](SetId e) { return e != 0; });
}

bool same_sets(const SetPool& pool, const Sets& a, const Sets& b) {
  for (size_t e = 0; e < a.size(); ++e)
    if (!pool.equal(a[e], b[e])) return false;
  return true;
}

// A budget of set-element visits for the steps of loops (per pattern): past
// it, a loop is taken conservatively.
constexpr int64_t kLoopBudget = int64_t{1} << 26;

// The index sets of every value between the seeded values and the outputs
// that depends on a seed.
class Propagation {
 public:
  using Seeds = std::vector<std::pair<const Node*, Sets>>;
  // keep_all false: the sets of a value are dropped once its last user is
  // visited (only the outputs' are read afterwards), so memory follows the
  // live values. `budget` is shared with the propagations of loop bodies.
  Propagation(const Function& f, Seeds seeds, std::span<const Value> outputs, bool keep_all, int64_t* budget,
              SetPool& pool)
      : pool_(pool), budget_(budget), regions_(!keep_all) {
    for (auto& [n, s] : seeds) sets_[n] = std::move(s);
    NodeSet up = ancestors(outputs);
    if (!keep_all)
      for (const Node* n : up)
        for (const Node* o : n->operands()) ++uses_[o];
    for (Value o : outputs) ++uses_[o.node];  // kept to the end
    for (Node* n : f) {
      if (!up.count(n)) continue;
      if (!sets_.count(n) && !leaves_.count(n)) visit(n);
      if (keep_all) continue;
      for (const Node* o : n->operands()) release(o);
    }
    for (Value o : outputs) operand_sets(o.node);
  }
  // The sets of n, or null when n does not depend on x.
  const Sets* find(const Node* n) const {
    auto it = sets_.find(n);
    return it == sets_.end() ? nullptr : &it->second;
  }
  const std::vector<const Node*>& order() const { return order_; }
  const SetPool& pool() const { return pool_; }

 private:
  void visit(const Node* n) {
    bool reached = false;
    for (const Node* o : n->operands()) reached |= find(o) != nullptr || leaves_.count(o);
    if (!reached || !is_float(n->dtype()) || zero_derivative(n->op())) return;
    if (regions_ && is_elementwise(n->op())) return note_leaves(n);
    if (is_loop(n->op())) {  // every result's sets at once, at the first one reached
      std::vector<Node*> group = fused_group(n);
      if (loops_done_.insert(group[0]).second && !visit_loop(*group[0])) all_to_all(group);
      return;
    }
    Sets s(n->type().numel());
    std::vector<const Sets*> in;  // per operand slot
    for (const Node* o : n->operands()) in.push_back(operand_sets(o));
    if (copies_elements(*n)) return copy_sets(n, in, std::move(s));
    if (run_time_index(*n)) {
      along_any_index(*n, in, s, pool_);
    } else {
      std::vector<SetUnion> u(s.size());  // per result element, its operand elements' sets
      if (!sparsity::for_each_edge(*n, [&](int64_t out, size_t slot, int64_t i) {
            if (const Sets* o = in[slot]) u[out].add(pool_, (*o)[i]);
          }))
        return all_to_all({const_cast<Node*>(n)});
      for (size_t e = 0; e < s.size(); ++e) s[e] = u[e].finish(pool_);
    }
    sets_[n] = std::move(s);
    order_.push_back(n);
  }

  // Each result element of a copy op is one operand element: its set is that
  // element's, shared, without a union. A reshape that is its operand's last
  // user takes the operand's sets as they are (ba: the columns of the
  // residuals, [P] each).
  void copy_sets(const Node* n, const std::vector<const Sets*>& in, Sets s) {
    const Node* o = n->operand(0);
    if (n->op() == Op::Reshape && regions_ && uses_[o] == 1 && sets_.count(o)) {
      s = std::move(sets_.at(o));
    } else if (n->op() == Op::Reshape) {
      if (in[0]) s = *in[0];
    } else {
      sparsity::for_each_edge(*n, [&](int64_t out, size_t slot, int64_t i) {
        if (const Sets* from = in[slot]) s[out] = (*from)[i];
      });
    }
    sets_[n] = std::move(s);
    order_.push_back(n);
  }

  // Elementwise regions (jacobian patterns only): element e of an elementwise
  // node's result reads element e of each operand (broadcast), so its set is
  // the union of the sets of the nodes with sets that feed it through
  // elementwise nodes (its leaves), read through the composed broadcast. The
  // node keeps only that list; its sets are built when a node of another kind
  // or an output reads them: one union per element of a region's outputs
  // instead of one per element of every node (ba: ~100 nodes of [P] between
  // the gathered columns and the residuals).
  void note_leaves(const Node* n) {
    std::vector<const Node*> leaves;
    for (const Node* o : n->operands()) {
      auto it = leaves_.find(o);
      if (it != leaves_.end()) leaves.insert(leaves.end(), it->second.begin(), it->second.end());
      else if (find(o)) leaves.push_back(o);
    }
    std::sort(leaves.begin(), leaves.end());
    leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
    for (const Node* l : leaves) ++uses_[l];  // kept while n may still be read
    leaves_[n] = std::move(leaves);
  }

  // The sets of operand o, built from its leaves when o is an elementwise
  // node of a region; null when o does not depend on x.
  const Sets* operand_sets(const Node* o) {
    if (const Sets* s = find(o)) return s;
    auto it = leaves_.find(o);
    if (it == leaves_.end()) return nullptr;
    std::vector<const Sets*> leaves;
    std::vector<std::vector<int64_t>> strides;
    bool broadcast = false;
    for (const Node* l : it->second) {
      leaves.push_back(&sets_.at(l));
      strides.push_back(broadcast_strides(l->shape(), o->shape()));
      broadcast |= l->shape() != o->shape();
    }
    Sets s(static_cast<size_t>(o->type().numel()));
    size_t first = 0;  // the members of element 0's leaves, times the elements: room for the unions
    for (const Sets* ls : leaves) first += ls->empty() ? 0 : pool_.size((*ls)[0]);
    if (first * s.size() < (size_t{1} << 28)) pool_.reserve(s.size(), first * s.size());
    SetUnion u;  // element by element: each element's union added to the pool once
    if (!broadcast) {
      for (size_t e = 0; e < s.size(); ++e) {
        for (const Sets* ls : leaves) u.add(pool_, (*ls)[e]);
        s[e] = u.finish(pool_);
      }
    } else {
      size_t e = 0;
      for (interp::StridedWalk w(o->shape(), strides); !w.done(); w.next(), ++e) {
        for (size_t k = 0; k < leaves.size(); ++k) u.add(pool_, (*leaves[k])[w.offset(k)]);
        s[e] = u.finish(pool_);
      }
    }
    order_.push_back(o);
    return &(sets_[o] = std::move(s));
  }

  // One use of n fewer: past the last, its sets (and its hold on its leaves)
  // are dropped.
  void release(const Node* n) {
    if (--uses_[n] != 0) return;
    sets_.erase(n);
    auto it = leaves_.find(n);
    if (it == leaves_.end()) return;
    std::vector<const Node*> leaves = std::move(it->second);
    leaves_.erase(it);
    for (const Node* l : leaves) release(l);
  }

  // Each float node of `group` (one node, or a loop's results) reads every
  // element of every operand.
  void all_to_all(const std::vector<Node*>& group) {
    SetUnion all;
    for (const Node* o : group[0]->operands())
      if (const Sets* os = operand_sets(o))
        for (SetId e : *os) all.add(pool_, e);
    SetId shared = all.finish(pool_);
    for (const Node* m : group)
      if (is_float(m->dtype())) {
        sets_[m] = Sets(static_cast<size_t>(m->type().numel()), shared);
        order_.push_back(m);
      }
  }

  // The sets of a loop's results from its body, step by step; false when past
  // the budget. A loop whose trip count is open (a while, a scan with
  // dynamic_length) feeds each step the union of the carries so far (a
  // superset of each step's, so its results hold for every trip count) until
  // the union stops growing.
  bool visit_loop(const Node& n) {
    LoopLayout l = loop_layout(n);
    std::vector<Sets> in(n.num_operands());
    for (size_t k = 0; k < in.size(); ++k)
      in[k] = operand_sets(n.operand(k)) ? *find(n.operand(k)) : Sets(static_cast<size_t>(n.operand(k)->type().numel()));
    bool any_xs = false, open_count = n.op() == Op::While || l.count >= 0;
    for (size_t j = 0; j < l.xs; ++j) any_xs |= any_set(in[l.carry + j]);
    std::vector<Sets> ys(l.ys), carry(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(l.carry));
    for (size_t j = 0; j < l.ys; ++j)
      ys[j].resize(static_cast<size_t>(n.body()->results()[l.carry + j]->type().numel() * l.length));
    std::vector<Sets> all = carry;
    int64_t steps = n.op() == Op::While ? std::numeric_limits<int64_t>::max() : l.length;
    for (int64_t step = 0; step < steps; ++step) {
      int64_t i = n.attrs().reverse ? l.length - 1 - step : step;
      std::vector<Sets> args = open_count ? all : carry;
      for (size_t j = 0; j < l.xs; ++j) args.push_back(row(in[l.carry + j], i, l.length));
      args.insert(args.end(), in.begin() + static_cast<std::ptrdiff_t>(l.carry + l.xs), in.end());
      std::optional<std::vector<Sets>> out = step_sets(*n.body(), std::move(args), l.carry);
      if (!out) return false;
      for (size_t j = 0; j < l.ys; ++j) place_row(ys[j], (*out)[l.carry + j], i);
      int64_t grew = 0;
      bool equal = true;
      for (size_t j = 0; j < l.carry; ++j) {
        grew += widen(all[j], (*out)[j]);
        equal = equal && same_sets(pool_, (*out)[j], carry[j]);
        carry[j] = std::move((*out)[j]);
      }
      if ((open_count ? grew > 0 : !equal) || any_xs) continue;
      for (int64_t later = step + 1; later < l.length; ++later)  // every later step gives the same sets
        for (size_t j = 0; j < l.ys; ++j)
          place_row(ys[j], row(ys[j], i, l.length), n.attrs().reverse ? l.length - 1 - later : later);
      break;
    }
    for (const Node* m : fused_group(&n)) {
      size_t r = static_cast<size_t>(m->body_result());
      if (!is_float(m->dtype())) continue;
      sets_[m] = r < l.carry ? (open_count ? all[r] : carry[r]) : ys[r - l.carry];
      order_.push_back(m);
    }
    return true;
  }

  // The result sets of one step of `body` given its inputs' sets (the first
  // `carries` of each the loop's carries); nullopt past the budget.
  std::optional<std::vector<Sets>> step_sets(const Function& body, std::vector<Sets> args, size_t carries) {
    thread_local int depth = 0;  // the body's loops propagate through their bodies
    DepthGuard level(depth, [](const std::string& m) { throw Error("sparsity: " + m); });
    int64_t cost = 0;
    for (const Node* b : body) cost += b->type().numel();
    if ((*budget_ -= cost) < 0) return std::nullopt;
    std::vector<Sets> before(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(carries));
    SetId mark = pool_.count();
    Seeds seeds;
    for (size_t k = 0; k < args.size(); ++k)
      if (any_set(args[k])) seeds.emplace_back(body.inputs()[k], std::move(args[k]));
    std::vector<Value> outs(body.results().begin(), body.results().end());
    std::vector<Sets> r;
    {
      Propagation p(body, std::move(seeds), outs, /*keep_all=*/false, budget_, pool_);
      for (Value o : outs) r.push_back(p.find(o.node) ? *p.find(o.node) : Sets(static_cast<size_t>(o->type().numel())));
    }
    for (size_t j = 0; j < carries; ++j)  // a carry that did not change keeps its set
      for (size_t e = 0; e < r[j].size(); ++e)
        if (r[j][e] >= mark && pool_.equal(r[j][e], before[j][e])) r[j][e] = before[j][e];
    keep_only(r, mark);
    return r;
  }

  // Drops the sets made from id `mark` on but those of `r`, which move down.
  void keep_only(std::vector<Sets>& r, SetId mark) {
    std::unordered_map<SetId, SetId> moved;  // old id -> position in `kept`
    std::vector<int32_t> items;
    std::vector<size_t> bounds{0};
    for (Sets& s : r)
      for (SetId id : s)
        if (id >= mark && moved.try_emplace(id, static_cast<SetId>(bounds.size() - 1)).second) {
          std::span<const int32_t> c = pool_[id];
          items.insert(items.end(), c.begin(), c.end());
          bounds.push_back(items.size());
        }
    pool_.truncate(mark);
    std::vector<SetId> now(bounds.size() - 1);
    for (size_t k = 0; k < now.size(); ++k)
      now[k] = pool_.add(std::span<const int32_t>(items.data() + bounds[k], items.data() + bounds[k + 1]));
    for (Sets& s : r)
      for (SetId& id : s)
        if (id >= mark) id = now[static_cast<size_t>(moved.at(id))];
  }

  // Row i of a stacked value's sets ([N] ++ shape), and its placement.
  static Sets row(const Sets& s, int64_t i, int64_t n) {
    size_t w = n ? s.size() / static_cast<size_t>(n) : 0;
    return Sets(s.begin() + static_cast<std::ptrdiff_t>(w * i), s.begin() + static_cast<std::ptrdiff_t>(w * (i + 1)));
  }
  static void place_row(Sets& s, const Sets& r, int64_t i) {
    std::copy(r.begin(), r.end(), s.begin() + static_cast<std::ptrdiff_t>(r.size() * static_cast<size_t>(i)));
  }
  // acc |= s element by element; the number of elements that grew.
  int64_t widen(Sets& acc, const Sets& s) {
    int64_t grew = 0;
    std::vector<int32_t> scratch;
    for (size_t e = 0; e < acc.size(); ++e) {
      SetId before = acc[e];
      acc[e] = pool_.unite(acc[e], s[e], scratch);
      grew += acc[e] != before;
    }
    return grew;
  }

  std::unordered_map<const Node*, Sets> sets_;
  std::unordered_map<const Node*, std::vector<const Node*>> leaves_;  // elementwise nodes of regions
  std::unordered_map<const Node*, int64_t> uses_;
  std::vector<const Node*> order_;
  std::unordered_set<const Node*> loops_done_;  // by first result
  SetPool& pool_;  // shared with the propagations of loop bodies
  int64_t* budget_;
  bool regions_;  // elementwise regions (note_leaves) on: not for Hessian patterns, which read every node's sets
};

// The Hessian's rows as they are collected: pairs added both ways.
class Interactions {
  using Set = std::vector<int32_t>;  // sorted, no duplicates once normalized

 public:
  explicit Interactions(int64_t n) : rows_(n), clean_(n, 0) {}
  void add(std::span<const int32_t> a, std::span<const int32_t> b) {
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
  static void normalize(Set& s) {
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
  }
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
  const SetPool& pool = p.pool();
  auto at = [&](size_t slot, int64_t i) -> SetId {
    const Sets* s = p.find(n.operand(slot));
    return s ? (*s)[i] : 0;
  };
  switch (n.op()) {
    case Op::Mul:
    case Op::Div:  // a*b couples a with b; a/b also b with itself
      sparsity::for_each_edge(n, [&, a = SetId{0}](int64_t, size_t slot, int64_t in) mutable {
        if (slot == 0) { a = at(0, in); return; }
        SetId b = at(1, in);
        if (a && b) h.add(pool[a], pool[b]);
        if (b && n.op() == Op::Div) h.add(pool[b], pool[b]);
      });
      return;
    case Op::MatMul:
      sparsity::for_each_matmul_term(n, [&](int64_t, int64_t a, int64_t b) {
        SetId sa = at(0, a), sb = at(1, b);
        if (sa && sb) h.add(pool[sa], pool[sb]);
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
        if ((*y)[i] && (i == 0 || !pool.equal((*y)[i], (*y)[i - 1]))) h.add(pool[(*y)[i]], pool[(*y)[i]]);
  }
}

}  // namespace

SparsityPattern jacobian_pattern(Value y, Value x) {
  check_float("jacobian_pattern", y);
  check_float("jacobian_pattern", x);
  if (y->function() != x->function())
    throw Error("jacobian_pattern: " + name_of(x) + " belongs to function @" + x->function()->name() +
                ", not @" + y->function()->name());
  int64_t budget = kLoopBudget;
  SetPool pool;
  Propagation p(*y->function(), {{x.node, pool.singletons(x->type().numel())}}, std::span<const Value>(&y, 1),
                /*keep_all=*/false, &budget, pool);
  SparsityPattern pattern;
  pattern.rows = y->type().numel();
  pattern.cols = x->type().numel();
  pattern.row_ptr.resize(static_cast<size_t>(pattern.rows) + 1, 0);
  const Sets* s = p.find(y);
  if (!s) return pattern;
  for (int64_t r = 0; r < pattern.rows; ++r)
    pattern.row_ptr[r + 1] = pattern.row_ptr[r] + static_cast<int64_t>(pool.size((*s)[r]));
  pattern.col_idx.resize(static_cast<size_t>(pattern.row_ptr.back()));
  for (int64_t r = 0; r < pattern.rows; ++r) {
    std::span<const int32_t> e = pool[(*s)[r]];
    std::copy(e.begin(), e.end(), pattern.col_idx.begin() + pattern.row_ptr[r]);
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
  int64_t budget = kLoopBudget;
  SetPool pool;
  Propagation p(*z->function(), {{x.node, pool.singletons(x->type().numel())}}, std::span<const Value>(&z, 1),
                /*keep_all=*/true, &budget, pool);
  Interactions h(x->type().numel());
  for (const Node* n : p.order()) interactions(*n, p, h);
  return SparsityPattern::from_rows(x->type().numel(), h.finish());
}

}  // namespace nabla
