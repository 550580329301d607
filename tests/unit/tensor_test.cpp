#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

#include "nabla/runtime/error.h"
#include "nabla/runtime/large_alloc.h"
#include "nabla/runtime/tensor.h"

namespace nabla {
namespace NABLA_UNITY_ID {

TEST(Tensor, OwnedZeroFilledAndViews) {
  Tensor t(DType::f64, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 48u);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(t.get(i), 0.0);
  t.set(4, 2.5);
  Tensor u = t.clone();
  t.set(4, 1.0);
  EXPECT_EQ(u.get(4), 2.5);
  float buf[3] = {1, 2, 3};
  Tensor v = Tensor::view(buf, DType::f32, {3});
  EXPECT_FALSE(v.owns_data());
  v.set(1, 7);
  EXPECT_EQ(buf[1], 7.0f);
  EXPECT_EQ(row_major_strides(Shape{2, 3, 4}), (std::vector<int64_t>{12, 4, 1}));
  EXPECT_EQ(shape_to_string(Shape{}), "[]");
}

// From 4 MiB on, storage is 2 MiB-aligned (for huge pages, on Linux) and
// still zeroed to the last byte; a copy shares it, a clone does not.
TEST(Tensor, LargeStorageIsAlignedAndZeroed) {
  Tensor t(DType::f32, {1000001, 5});  // 20,000,020 bytes: not a multiple of 2 MiB
#if defined(__linux__)
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % (uintptr_t{2} << 20), 0u);
#endif
  const auto* bytes = static_cast<const unsigned char*>(t.data());
  int64_t nonzero = 0;
  for (size_t i = 0; i < t.nbytes(); ++i) nonzero += bytes[i] != 0;
  EXPECT_EQ(nonzero, 0);
  t.set(5000004, -3.5);
  Tensor shared = t, copy = t.clone();
  t.set(5000004, 1.0);
  EXPECT_EQ(shared.get(5000004), 1.0);
  EXPECT_EQ(copy.get(5000004), -3.5);
  Tensor small(DType::f32, {3});
  EXPECT_EQ(small.get(2), 0.0);
}

// The allocation behind large Tensor storage and Executable workspaces:
// 2 MiB-aligned from 4 MiB on (Linux), the asked alignment below, any size.
TEST(Tensor, LargeAllocationsAreHugePageAligned) {
  for (size_t bytes : {size_t{0}, size_t{100}, size_t{64 * 1000 + 8}, kLargeAllocFrom - 64, kLargeAllocFrom + 8}) {
    void* p = aligned_alloc_large(64, bytes);
    ASSERT_NE(p, nullptr) << bytes;
    uintptr_t at = reinterpret_cast<uintptr_t>(p);
    EXPECT_EQ(at % 64, 0u) << bytes;
#if defined(__linux__)
    if (bytes >= kLargeAllocFrom) {
      EXPECT_EQ(at % (uintptr_t{2} << 20), 0u) << bytes;
    }
#endif
    if (bytes) static_cast<unsigned char*>(p)[bytes - 1] = 1;  // the whole size is writable
    std::free(p);
  }
}

// LargeAllocator: a std::vector's buffers of 4 MiB or more on 2 MiB
// boundaries (aligned_alloc_large), smaller ones from std::allocator; the
// elements survive the moves of growth and a copy.
TEST(Tensor, LargeAllocatorPlacesLargeVectorsOnHugePages) {
  LargeVector<int64_t> v;
  for (int64_t i = 0; i < 1 << 20; ++i) v.push_back(3 * i);  // 8 MiB at the end
  ASSERT_GE(v.capacity() * sizeof(int64_t), kLargeAllocFrom);
#if defined(__linux__)
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % (uintptr_t{2} << 20), 0u);
#endif
  LargeVector<int64_t> copy = v, small(100, 7);
  for (int64_t i : {int64_t{0}, int64_t{12345}, (int64_t{1} << 20) - 1}) EXPECT_EQ(copy[i], 3 * i);
  EXPECT_EQ(small[99], 7);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.data()) % alignof(int64_t), 0u);
}

TEST(Tensor, CastSemantics) {
  Tensor t(DType::i32, {4});
  t.set(0, 1e20);
  t.set(1, -1e20);
  t.set(2, std::nan(""));
  t.set(3, -2.7);
  EXPECT_EQ(t.data_as<int32_t>()[0], std::numeric_limits<int32_t>::max());
  EXPECT_EQ(t.data_as<int32_t>()[1], std::numeric_limits<int32_t>::min());
  EXPECT_EQ(t.data_as<int32_t>()[2], 0);
  EXPECT_EQ(t.data_as<int32_t>()[3], -2);
  Tensor b = Tensor::from_doubles(DType::bool_, {3}, std::vector<double>{0, -3, 0.5});
  EXPECT_EQ(b.get(0), 0);
  EXPECT_EQ(b.get(1), 1);
  EXPECT_EQ(b.get(2), 1);
}

TEST(Tensor, SplatAndSameAs) {
  Tensor a = Tensor::from_doubles(DType::f32, {2, 2}, std::vector<double>{1, 1, 1, 1});
  EXPECT_TRUE(a.is_splat());
  Tensor b = a.clone();
  EXPECT_TRUE(a.same_as(b));
  b.set(3, 2);
  EXPECT_FALSE(a.same_as(b));
  EXPECT_FALSE(b.is_splat());
  EXPECT_EQ(a.reshaped({4}).shape(), (Shape{4}));
}

TEST(Tensor, Errors) {
  EXPECT_THROW(Tensor(DType::f32, {2, -1}), Error);
  try {
    Tensor(DType::f32, {2, -1});
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tensor: negative dimension in shape [2,-1]");
  }
}

}  // namespace
}  // namespace nabla
