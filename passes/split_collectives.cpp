// split-collectives{bytes=N}: a large all_reduce becomes one all_reduce per
// block of rows of its operand, and the operand's computation (a matmul and
// the elementwise ops around it) is split with it, so that each block's
// message starts as soon as that block is computed and travels while the
// next block is (docs/distributed.md#the-schedule-overlap).
#include <algorithm>
#include <unordered_set>

#include "nabla/ir/builder.h"
#include "nabla/passes/collectives.h"
#include "nabla/passes/dce.h"
#include "nabla/passes/pass.h"
#include "nabla/passes/rewrite.h"

namespace nabla {
namespace {

int64_t bytes_of(const Node* n) { return n->type().numel() * static_cast<int64_t>(dtype_size(n->dtype())); }

// Rows [a, b) of x along axis 0 (the other axes whole).
Value rows(Value x, int64_t a, int64_t b) {
  std::vector<int64_t> start(x->shape().size(), 0), stop = x->shape();
  start[0] = a;
  stop[0] = b;
  return slice(x, start, stop);
}

// Whether an operand of elementwise node n varies along n's axis 0 (then it
// is split with n; a scalar or a broadcast along axis 0 is read whole).
bool split_with(const Node* operand, const Node* n) {
  const Shape& s = operand->shape();
  return s.size() == n->shape().size() && !s.empty() && s[0] == n->shape()[0] && s[0] > 1;
}

// Whether n's rows can be computed apart: an elementwise op or a rank-2
// matmul used only by the node being split (a node also used elsewhere, or
// returned, would be computed twice: it is computed whole and sliced).
bool splittable(const Node* n, const std::unordered_set<const Node*>& results) {
  if (n->users().size() != 1 || results.count(n)) return false;
  if (is_elementwise(n->op())) return !n->shape().empty();
  return n->op() == Op::MatMul && n->shape().size() == 2;
}

// Rows [a, b) of n, computed from rows of its operands where n is splittable
// (recursively, `depth` levels deep), else a slice of n.
Value split_rows(Node* n, int64_t a, int64_t b, int depth, const std::unordered_set<const Node*>& results) {
  Function& f = *n->function();
  if (depth == 0 || !splittable(n, results)) return rows(n, a, b);
  std::vector<Node*> operands;
  if (n->op() == Op::MatMul) {
    Node* lhs = n->operand(0);
    if (!n->attrs().transpose_a) {
      operands.push_back(split_rows(lhs, a, b, depth - 1, results).node);
    } else {  // the result's rows are the columns of the first operand
      std::vector<int64_t> start{0, a}, stop{lhs->shape()[0], b};
      operands.push_back(slice(lhs, start, stop).node);
    }
    operands.push_back(n->operand(1));
  } else {
    for (Node* o : n->operands())
      operands.push_back(split_with(o, n) ? split_rows(o, a, b, depth - 1, results).node : o);
  }
  return f.make(n->op(), operands, n->attrs());
}

// The row boundaries of `parts` blocks of `count` rows, a multiple of 8 rows
// each where there are enough (the GEMM's row blocks), the last one shorter
// (or fewer blocks).
std::vector<int64_t> boundaries(int64_t count, int64_t parts) {
  int64_t per = (count + parts - 1) / parts;
  if (count >= 8 * parts) per = (per + 7) / 8 * 8;
  std::vector<int64_t> at{0};
  while (at.back() < count) at.push_back(std::min(count, at.back() + per));
  return at;
}

// Replaces all_reduce r by the concatenation of all_reduces of its operand's
// row blocks.
void split(Function& f, Node* r, int64_t max_bytes, const std::unordered_set<const Node*>& results) {
  Node* g = r->operand(0);
  int64_t count = g->shape()[0];
  int64_t parts = std::min(count, bytes_of(g) / max_bytes);
  std::vector<int64_t> at = boundaries(count, parts);
  std::vector<Value> pieces;
  {
    InsertionGuard guard(f, g->next());  // after g: a block may be a slice of it
    for (size_t i = 0; i + 1 < at.size(); ++i) pieces.push_back(split_rows(g, at[i], at[i + 1], 8, results));
  }
  InsertionGuard guard(f, r);
  for (Value& p : pieces) p = all_reduce(p, r->attrs().op);
  Value joined = concat(pieces, 0);
  replace_node(f, r, joined.node, true);
}

}  // namespace

bool split_collectives(Function& f, int64_t max_bytes) {
  if (max_bytes <= 0) return false;
  std::vector<Node*> large;
  for (Node* n : f)
    if (n->op() == Op::AllReduce && bytes_of(n) >= 2 * max_bytes && !n->shape().empty() && n->shape()[0] > 1 &&
        n->operand(0)->op() != Op::Input)
      large.push_back(n);
  std::unordered_set<const Node*> results(f.results().begin(), f.results().end());
  for (Node* r : large) split(f, r, max_bytes, results);
  if (!large.empty()) dce(f);  // the unsplit operands
  return !large.empty();
}

std::unique_ptr<Pass> create_split_collectives_pass() {
  auto pass = make_pass<int64_t>(split_collectives, kDefaultSplitBytes);
  pass->count_option("bytes", &pass->options());
  return pass;
}

}  // namespace nabla
