// Colorings of sparse derivative patterns (passes/coloring.h): checked by
// validators written here from the definitions, the color counts on the named
// patterns against their optimum, and the direct recovery of star coloring.
#include <gtest/gtest.h>

#include "nabla/passes/coloring.h"
#include "tests/support/sparse_cases.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace sparsetest;

// Distance-2 column coloring: the columns of any row have distinct colors.
std::string column_coloring_error(const SparsityPattern& j, const Coloring& c) {
  if (static_cast<int64_t>(c.color.size()) != j.cols) return "one color per column expected";
  for (int64_t r = 0; r < j.rows; ++r)
    for (int64_t a = j.row_ptr[r]; a < j.row_ptr[r + 1]; ++a)
      for (int64_t b = a + 1; b < j.row_ptr[r + 1]; ++b)
        if (c.color[j.col_idx[a]] == c.color[j.col_idx[b]])
          return "columns " + std::to_string(j.col_idx[a]) + " and " + std::to_string(j.col_idx[b]) +
                 " share row " + std::to_string(r) + " and a color";
  return "";
}

// Star coloring of a symmetric pattern: adjacent vertices differ, and no path
// a-b-c-d on four vertices has color(a) = color(c) and color(b) = color(d).
std::string star_coloring_error(const SparsityPattern& h, const Coloring& c) {
  auto nbrs = [&](int64_t v) {
    std::vector<int64_t> out;
    for (int64_t k = h.row_ptr[v]; k < h.row_ptr[v + 1]; ++k)
      if (h.col_idx[k] != v) out.push_back(h.col_idx[k]);
    return out;
  };
  for (int64_t b = 0; b < h.rows; ++b)
    for (int64_t cc : nbrs(b)) {
      if (c.color[b] == c.color[cc]) return "adjacent " + std::to_string(b) + ", " + std::to_string(cc);
      for (int64_t a : nbrs(b))
        for (int64_t d : nbrs(cc))
          if (a != cc && d != b && a != d && c.color[a] == c.color[cc] && c.color[b] == c.color[d])
            return "two-colored path " + std::to_string(a) + "-" + std::to_string(b) + "-" +
                   std::to_string(cc) + "-" + std::to_string(d);
    }
  return "";
}

// The band |i - j| <= b of an n x n matrix.
SparsityPattern banded(int64_t n, int64_t b) {
  std::vector<std::vector<int32_t>> rows(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = std::max<int64_t>(0, i - b); j <= std::min(n - 1, i + b); ++j)
      rows[i].push_back(static_cast<int32_t>(j));
  return SparsityPattern::from_rows(n, rows);
}

// The 5-point stencil on an m x m grid.
SparsityPattern five_point(int64_t m) {
  std::vector<std::vector<int32_t>> rows(m * m);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < m; ++c) {
      auto& row = rows[r * m + c];
      for (auto [dr, dc] : {std::pair{-1, 0}, {0, -1}, {0, 0}, {0, 1}, {1, 0}})
        if (r + dr >= 0 && r + dr < m && c + dc >= 0 && c + dc < m)
          row.push_back(static_cast<int32_t>((r + dr) * m + c + dc));
    }
  return SparsityPattern::from_rows(m * m, rows);
}

struct Named {
  const char* name;
  SparsityPattern p;
  int32_t colors;  // the optimum (2b + 1 for a band of half-width b)
};

TEST(Coloring, OptimaOnNamedPatterns) {
  std::vector<std::vector<int32_t>> arrow(50);
  for (int32_t i = 1; i < 50; ++i) {
    arrow[0].push_back(i - 1);
    arrow[i] = {0, i};
  }
  arrow[0].push_back(49);
  std::vector<Named> columns = {{"diagonal", banded(100, 0), 1},
                                {"tridiagonal", banded(100, 1), 3},
                                {"banded5", banded(100, 5), 11},
                                {"laplacian 20x20", five_point(20), 5}};
  std::vector<Named> stars = columns;
  stars.push_back({"arrowhead", SparsityPattern::from_rows(50, arrow), 2});
  for (const Named& c : columns) {
    Coloring col = color_columns(c.p);
    EXPECT_EQ(column_coloring_error(c.p, col), "") << c.name;
    EXPECT_EQ(col.count, c.colors) << c.name;
  }
  for (const Named& c : stars) {
    Coloring s = star_color(c.p);
    EXPECT_EQ(star_coloring_error(c.p, s), "") << c.name;
    EXPECT_EQ(s.count, c.colors) << c.name << " (star)";
  }
}

// Column coloring first tries the natural order with one mask of colors per
// row (up to 64 colors), without the column graph: a bundle-adjustment-like
// pattern (2 of 3 cameras x 4 columns, 1 of 5 points x 3, per observation)
// takes as many colors as its widest row; a row of 70 columns needs the
// graph's path (more than 64 colors).
TEST(Coloring, ColumnsWithoutTheGraphAndPastSixtyFourColors) {
  std::vector<std::vector<int32_t>> rows;
  for (int32_t i = 0; i < 30; ++i) {
    std::vector<int32_t> r;
    for (int32_t k = 0; k < 4; ++k) r.push_back(4 * (i % 3) + k);
    for (int32_t k = 0; k < 3; ++k) r.push_back(12 + 3 * (i % 5) + k);
    rows.push_back(r);
  }
  SparsityPattern ba = SparsityPattern::from_rows(27, rows);
  Coloring c = color_columns(ba);
  EXPECT_EQ(column_coloring_error(ba, c), "");
  EXPECT_EQ(c.count, 7);
  std::vector<int32_t> wide(70);
  for (int32_t k = 0; k < 70; ++k) wide[k] = k;
  SparsityPattern dense = SparsityPattern::from_rows(70, {wide, {0, 69}});
  Coloring d = color_columns(dense);
  EXPECT_EQ(column_coloring_error(dense, d), "");
  EXPECT_EQ(d.count, 70);
}

// Random sparse symmetric patterns: every coloring valid, and each nonzero
// recovered from H S exactly (H with distinct random values).
TEST(Coloring, RandomPatternsAreValidAndRecoverDirectly) {
  uint64_t s = 12345;
  auto next = [&] { return (s = s * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
  for (int trial = 0; trial < 60; ++trial) {
    int64_t n = 5 + static_cast<int64_t>(next() % 40);
    std::vector<std::vector<int32_t>> rows(n);
    int64_t edges = static_cast<int64_t>(next() % (3 * n));
    for (int64_t i = 0; i < n; ++i) rows[i].push_back(static_cast<int32_t>(i));
    for (int64_t e = 0; e < edges; ++e) {
      auto a = static_cast<int32_t>(next() % n), b = static_cast<int32_t>(next() % n);
      rows[a].push_back(b);
      rows[b].push_back(a);
    }
    for (auto& r : rows) {
      std::sort(r.begin(), r.end());
      r.erase(std::unique(r.begin(), r.end()), r.end());
    }
    SparsityPattern h = SparsityPattern::from_rows(n, rows);
    Coloring star = star_color(h);
    ASSERT_EQ(star_coloring_error(h, star), "") << "trial " << trial;
    EXPECT_EQ(column_coloring_error(h, color_columns(h)), "") << "trial " << trial;
    // H[i][j] = H[j][i] = a distinct value; B = H S.
    auto value = [](int64_t i, int64_t j) { return 1.0 + static_cast<double>(std::min(i, j) * 1000 + std::max(i, j)); };
    std::vector<double> b(n * star.count, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = h.row_ptr[i]; k < h.row_ptr[i + 1]; ++k) b[i * star.count + star.color[h.col_idx[k]]] += value(i, h.col_idx[k]);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = h.row_ptr[i]; k < h.row_ptr[i + 1]; ++k) {
        int64_t j = h.col_idx[k];
        auto [row, color] = star_recovery_entry(h, star, i, j);
        EXPECT_EQ(b[row * star.count + color], value(i, j)) << "trial " << trial << " (" << i << "," << j << ")";
      }
  }
}

TEST(Coloring, ValidatorsCatchBadColorings) {
  SparsityPattern tri = banded(6, 1);
  Coloring two{{0, 1, 0, 1, 0, 1}, 2};  // distance-1 but columns 0, 2 share row 1; path 0-1-2-3 two-colored
  EXPECT_EQ(column_coloring_error(tri, two), "columns 0 and 2 share row 1 and a color");
  EXPECT_EQ(star_coloring_error(tri, two), "two-colored path 0-1-2-3");
}

}  // namespace
}  // namespace nabla
