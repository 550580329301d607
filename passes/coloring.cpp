#include "nabla/passes/coloring.h"

#include <algorithm>
#include <bit>
#include <optional>
#include <numeric>
#include <climits>
#include <set>
#include <tuple>

namespace nabla {
namespace {

using Graph = std::vector<std::vector<int32_t>>;  // sorted neighbour lists, no self loops

// Columns are adjacent when they have a nonzero in a common row.
// A column seen through many rows (a camera's in bundle adjustment) meets the
// same neighbours again and again: `seen` keeps each once, before the sort.
Graph column_intersection(const SparsityPattern& j) {
  SparsityPattern t = j.transposed();
  Graph g(j.cols);
  IndexVector seen(j.cols, -1);  // seen[d] == c: d is already a neighbour of c
  for (int64_t c = 0; c < j.cols; ++c) {
    seen[c] = c;
    for (int64_t k = t.row_ptr[c]; k < t.row_ptr[c + 1]; ++k) {
      int64_t r = t.col_idx[k];
      for (int64_t q = j.row_ptr[r]; q < j.row_ptr[r + 1]; ++q) {
        int64_t d = j.col_idx[q];
        if (seen[d] == c) continue;
        seen[d] = c;
        g[c].push_back(static_cast<int32_t>(d));
      }
    }
    std::sort(g[c].begin(), g[c].end());
  }
  return g;
}

// greedy() on column_intersection(j) in the natural order, without the graph:
// the colors a column may not take are those already in its rows, kept as
// one bit mask per row (nullopt past 64 colors). A camera of bundle
// adjustment meets thousands of columns, each through several rows: building,
// deduplicating and sorting those lists cost more than the coloring; the
// masks cost two passes over the nonzeros.
std::optional<Coloring> natural_greedy(const SparsityPattern& j) {
  if (j.rows > INT32_MAX) return std::nullopt;
  // The rows of each column (the transpose, with 4-byte row numbers: ba10's
  // 17.5M nonzeros are scattered to their columns once).
  IndexVector start(static_cast<size_t>(j.cols) + 1, 0);
  for (int64_t c : j.col_idx) ++start[static_cast<size_t>(c) + 1];
  for (int64_t c = 0; c < j.cols; ++c) start[c + 1] += start[c];
  LargeVector<int32_t> rows(j.col_idx.size());
  IndexVector next(start.begin(), start.end() - 1);
  for (int64_t r = 0; r < j.rows; ++r)
    for (int64_t k = j.row_ptr[r]; k < j.row_ptr[r + 1]; ++k) rows[next[j.col_idx[k]]++] = static_cast<int32_t>(r);
  Coloring c;
  c.color.assign(j.cols, -1);
  LargeVector<uint64_t> used(j.rows, 0);  // bit k: a column of the row has color k
  for (int64_t v = 0; v < j.cols; ++v) {
    uint64_t taken = 0;
    for (int64_t k = start[v]; k < start[v + 1]; ++k) taken |= used[rows[k]];
    if (~taken == 0) return std::nullopt;
    int32_t k = std::countr_one(taken);
    for (int64_t q = start[v]; q < start[v + 1]; ++q) used[rows[q]] |= uint64_t{1} << k;
    c.color[v] = k;
    c.count = std::max(c.count, k + 1);
  }
  return c;
}

// The off-diagonal nonzeros of a symmetric pattern.
Graph adjacency(const SparsityPattern& h) {
  Graph g(h.rows);
  for (int64_t r = 0; r < h.rows; ++r)
    for (int64_t k = h.row_ptr[r]; k < h.row_ptr[r + 1]; ++k)
      if (h.col_idx[k] != r) g[r].push_back(static_cast<int32_t>(h.col_idx[k]));
  return g;
}

// Takes out, one at a time, a vertex of least key among those left (ties:
// the lower number); taking out v adds `step` to each remaining neighbour's key.
std::vector<int32_t> peel(const Graph& g, std::vector<int64_t> key, int64_t step) {
  std::set<std::pair<int64_t, int32_t>> queue;
  for (size_t v = 0; v < g.size(); ++v) queue.insert({key[v], static_cast<int32_t>(v)});
  std::vector<int32_t> order;
  std::vector<bool> gone(g.size());
  while (!queue.empty()) {
    int32_t v = queue.begin()->second;
    queue.erase(queue.begin());
    gone[v] = true;
    order.push_back(v);
    for (int32_t w : g[v])
      if (!gone[w]) {
        queue.erase({key[w], w});
        queue.insert({key[w] += step, w});
      }
  }
  return order;
}

// Smallest-last: repeatedly take out a vertex of least degree among those
// left; color in the reverse order of removal.
std::vector<int32_t> smallest_last(const Graph& g) {
  std::vector<int64_t> degree(g.size());
  for (size_t v = 0; v < g.size(); ++v) degree[v] = static_cast<int64_t>(g[v].size());
  std::vector<int32_t> order = peel(g, degree, -1);
  std::reverse(order.begin(), order.end());
  return order;
}

// Incidence degree: next, a vertex with the most neighbours already ordered.
std::vector<int32_t> incidence_degree(const Graph& g) {
  return peel(g, std::vector<int64_t>(g.size(), 0), -1);
}

// Greedy coloring in `order`: each vertex takes the least color that
// forbid(v, color, mark) does not mark.
template <class Forbid>
Coloring greedy(const Graph& g, const std::vector<int32_t>& order, Forbid forbid) {
  Coloring c;
  c.color.assign(g.size(), -1);
  std::vector<int32_t> marked(g.size() + 1, -1);  // marked[k] == v: color k is forbidden for v
  for (int32_t v : order) {
    forbid(v, c.color, [&](int32_t k) { marked[k] = v; });
    int32_t k = 0;
    while (marked[k] == v) ++k;
    c.color[v] = k;
    c.count = std::max(c.count, k + 1);
  }
  return c;
}

// DSATUR (Brélaz): color next the uncolored vertex whose neighbours have the
// most distinct colors (ties: most uncolored neighbours), with forbid's rule.
template <class Forbid>
Coloring dsatur(const Graph& g, Forbid forbid) {
  Coloring c;
  c.color.assign(g.size(), -1);
  std::vector<std::vector<bool>> seen(g.size());
  std::vector<int32_t> sat(g.size(), 0), free(g.size());
  std::set<std::tuple<int32_t, int32_t, int32_t>> queue;  // (-saturation, -uncolored degree, v)
  for (size_t v = 0; v < g.size(); ++v) {
    free[v] = static_cast<int32_t>(g[v].size());
    queue.insert({0, -free[v], static_cast<int32_t>(v)});
  }
  std::vector<int32_t> marked(g.size() + 1, -1);
  while (!queue.empty()) {
    int32_t v = std::get<2>(*queue.begin());
    queue.erase(queue.begin());
    forbid(v, c.color, [&](int32_t k) { marked[k] = v; });
    int32_t k = 0;
    while (marked[k] == v) ++k;
    c.color[v] = k;
    c.count = std::max(c.count, k + 1);
    for (int32_t w : g[v]) {
      if (c.color[w] >= 0) continue;
      queue.erase({-sat[w], -free[w], w});
      --free[w];
      if (seen[w].size() <= static_cast<size_t>(k)) seen[w].resize(k + 1);
      if (!seen[w][k]) { seen[w][k] = true; ++sat[w]; }
      queue.insert({-sat[w], -free[w], w});
    }
  }
  return c;
}

// The best of the four orders, stopping at the first that reaches
// `lower_bound` colors (no order can do better).
template <class Forbid>
Coloring best_greedy(const Graph& g, int32_t lower_bound, Forbid forbid) {
  std::vector<int32_t> natural(g.size());
  std::iota(natural.begin(), natural.end(), 0);
  Coloring best = greedy(g, natural, forbid);
  for (auto order : {smallest_last, incidence_degree}) {
    if (best.count <= lower_bound) return best;
    Coloring c = greedy(g, order(g), forbid);
    if (c.count < best.count) best = std::move(c);
  }
  if (best.count <= lower_bound) return best;
  Coloring d = dsatur(g, forbid);
  return d.count < best.count ? d : best;
}

// Distance-1 in g: no neighbour's color.
void forbid_neighbours(const Graph& g, int32_t v, const std::vector<int32_t>& color, auto mark) {
  for (int32_t w : g[v])
    if (color[w] >= 0) mark(color[w]);
}

// Star coloring: besides the neighbours' colors, v may not take color(x) for
// x at distance 2 through a colored w when that would make a two-colored path
// on four vertices: u-v-w-x (another neighbour u of v has w's color) or
// v-w-x-y (a neighbour y != w of x has w's color).
void forbid_star(const Graph& g, int32_t v, const std::vector<int32_t>& color, std::vector<int32_t>& count,
                 auto mark) {
  forbid_neighbours(g, v, color, mark);
  for (int32_t w : g[v])
    if (color[w] >= 0) ++count[color[w]];
  for (int32_t w : g[v]) {
    int32_t d = color[w];
    if (d < 0) continue;
    for (int32_t x : g[w]) {
      if (x == v || color[x] < 0) continue;
      bool bad = count[d] >= 2;
      for (size_t k = 0; !bad && k < g[x].size(); ++k) bad = g[x][k] != w && color[g[x][k]] == d;
      if (bad) mark(color[x]);
    }
  }
  for (int32_t w : g[v])
    if (color[w] >= 0) count[color[w]] = 0;
}

}  // namespace

Coloring color_columns(const SparsityPattern& jacobian) {
  int32_t widest_row = 0;  // the columns of a row need distinct colors
  for (int64_t r = 0; r < jacobian.rows; ++r)
    widest_row = std::max(widest_row, static_cast<int32_t>(jacobian.row_ptr[r + 1] - jacobian.row_ptr[r]));
  std::optional<Coloring> natural = natural_greedy(jacobian);
  if (natural && natural->count <= widest_row) return *natural;  // best_greedy's first order; none does better
  Graph g = column_intersection(jacobian);
  return best_greedy(g, widest_row, [&](int32_t v, const std::vector<int32_t>& color, auto mark) {
    forbid_neighbours(g, v, color, mark);
  });
}

Coloring star_color(const SparsityPattern& hessian) {
  Graph g = adjacency(hessian);
  std::vector<int32_t> count(g.size() + 1, 0);
  return best_greedy(g, 0, [&](int32_t v, const std::vector<int32_t>& color, auto mark) {
    forbid_star(g, v, color, count, mark);
  });
}

std::pair<int64_t, int64_t> star_recovery_entry(const SparsityPattern& h, const Coloring& c, int64_t i,
                                                int64_t j) {
  if (i == j) return {i, c.color[i]};
  for (int64_t k = h.row_ptr[i]; k < h.row_ptr[i + 1]; ++k) {
    int64_t o = h.col_idx[k];
    if (o != i && o != j && c.color[o] == c.color[j]) return {j, c.color[i]};
  }
  return {i, c.color[j]};
}

}  // namespace nabla
