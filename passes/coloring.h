#pragma once
// Graph colorings that compress sparse derivative matrices (Gebremedhin,
// Manne and Pothen, "What color is your Jacobian?", SIAM Review 2005):
// columns of one color are computed together by one directional derivative.
#include <cstdint>
#include <utility>
#include <vector>

#include "nabla/passes/sparsity.h"

namespace nabla {

struct Coloring {
  std::vector<int32_t> color;  // one per column (vertex), 0 .. count-1
  int32_t count = 0;
};

// A distance-2 coloring of the columns of a Jacobian pattern (no two columns
// with a nonzero in the same row share a color): a greedy coloring of the
// column intersection graph, the best of four orders (natural, smallest-last,
// incidence-degree, and DSATUR's dynamic one; the later ones are skipped once
// an order needs no more colors than the widest row has nonzeros). J S, with S[j][c] = [color(j) = c], holds every nonzero:
// J[i][j] = (J S)[i][color(j)].
Coloring color_columns(const SparsityPattern& jacobian);

// A star coloring of a symmetric pattern's adjacency graph (a distance-1
// coloring in which every path on four vertices uses at least three colors),
// greedy in the same four orders. Direct
// recovery from B = H S: H[i][j] = B[i][color(j)] when no other neighbour of
// i has color(j), else B[j][color(i)] (one of the two always holds).
Coloring star_color(const SparsityPattern& hessian);

// Where the nonzero (i, j) of a star-colored symmetric matrix is read from
// B = H S: entry (i, color(j)), or (j, color(i)). Returns {row, color}.
std::pair<int64_t, int64_t> star_recovery_entry(const SparsityPattern& hessian, const Coloring& c, int64_t i,
                                                int64_t j);

}  // namespace nabla
