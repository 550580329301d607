// Interpreter: reshape, transpose, broadcast_to, slice, concat on every dtype
// family, against hand-computed values.
#include "tests/unit/interp_util.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using namespace nabla::testing;

Tensor iota(DType t, Shape s) {
  std::vector<double> v(num_elements(s));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return tensor(t, std::move(s), v);
}

TEST(InterpLayout, Reshape) {
  Tensor x = iota(DType::i32, {2, 3});
  Tensor r = run({x}, [](std::vector<Value>& in) { return reshape(in[0], {3, -1}); });
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_EQ(values(r), values(x));
  Tensor s = run({f32t({1, 1}, {7})}, [](std::vector<Value>& in) { return reshape(in[0], {}); });
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(values(s), std::vector<double>{7});
}

TEST(InterpLayout, Transpose) {
  // [[0,1,2],[3,4,5]] transposed is [[0,3],[1,4],[2,5]].
  Tensor t = run({iota(DType::f32, {2, 3})}, [](std::vector<Value>& in) { return transpose(in[0]); });
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(values(t), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  // x[i,j,k] = 12i + 4j + k, perm [2,0,1]: out[a,b,c] = x[b,c,a] = 12b + 4c + a.
  Tensor x = iota(DType::i64, {2, 3, 4});
  Tensor p = run({x}, [](std::vector<Value>& in) { return transpose(in[0], {2, 0, 1}); });
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  std::vector<double> want;
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 3; ++c) want.push_back(12 * b + 4 * c + a);
  EXPECT_EQ(values(p), want);
  Tensor b = run({boolt({2, 2}, {1, 1, 0, 0})}, [](std::vector<Value>& in) { return transpose(in[0], {1, 0}); });
  EXPECT_EQ(values(b), (std::vector<double>{1, 0, 1, 0}));
}

TEST(InterpLayout, BroadcastTo) {
  Tensor r = run({f32t({3}, {1, 2, 3})}, [](std::vector<Value>& in) { return broadcast_to(in[0], {2, 3}); });
  EXPECT_EQ(values(r), (std::vector<double>{1, 2, 3, 1, 2, 3}));
  Tensor c = run({i32t({2, 1}, {4, 5})}, [](std::vector<Value>& in) { return broadcast_to(in[0], {2, 2, 3}); });
  EXPECT_EQ(c.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(values(c), (std::vector<double>{4, 4, 4, 5, 5, 5, 4, 4, 4, 5, 5, 5}));
  Tensor s = run({boolt({}, {1})}, [](std::vector<Value>& in) { return broadcast_to(in[0], {2}); });
  EXPECT_EQ(values(s), (std::vector<double>{1, 1}));
  EXPECT_EQ(run({f64t({1}, {2})}, [](std::vector<Value>& in) { return broadcast_to(in[0], {0}); })
                .numel(), 0);
}

TEST(InterpLayout, Slice) {
  // x[i,j] = 5i + j on [4,5]; rows 1,3 and columns 0,2,4.
  Tensor x = iota(DType::f64, {4, 5});
  Tensor s = run({x}, [](std::vector<Value>& in) { return slice(in[0], {1, 0}, {4, 5}, {2, 2}); });
  EXPECT_EQ(s.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(s), (std::vector<double>{5, 7, 9, 15, 17, 19}));
  Tensor t = run({x}, [](std::vector<Value>& in) { return slice(in[0], {2, 3}, {3, 5}); });
  EXPECT_EQ(values(t), (std::vector<double>{13, 14}));
  Tensor e = run({x}, [](std::vector<Value>& in) { return slice(in[0], {4, 0}, {4, 5}); });
  EXPECT_EQ(e.shape(), (Shape{0, 5}));
}

TEST(InterpLayout, Concat) {
  Tensor a = f32t({2, 1}, {1, 2});
  Tensor b = f32t({2, 2}, {3, 4, 5, 6});
  Tensor e = f32t({2, 0}, {});
  Tensor c = run({a, b, e}, [](std::vector<Value>& in) {
    return concat(std::vector<Value>{in[0], in[1], in[2]}, 1);
  });
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(values(c), (std::vector<double>{1, 3, 4, 2, 5, 6}));
  Tensor d = run({b, f32t({1, 2}, {7, 8})}, [](std::vector<Value>& in) {
    return concat(std::vector<Value>{in[0], in[1]}, -2);
  });
  EXPECT_EQ(values(d), (std::vector<double>{3, 4, 5, 6, 7, 8}));
  Tensor k = run({boolt({1}, {1}), boolt({2}, {0, 1})}, [](std::vector<Value>& in) {
    return concat(std::vector<Value>{in[0], in[1], in[0]}, 0);
  });
  EXPECT_EQ(values(k), (std::vector<double>{1, 0, 1, 1}));
}

}  // namespace
}  // namespace nabla
