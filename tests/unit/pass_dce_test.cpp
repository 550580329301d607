#include <gtest/gtest.h>

#include "nabla/ir/builder.h"
#include "nabla/passes/dce.h"
#include "tests/support/pass_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

TEST(Dce, RemovesWhatReachesNoResult) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({3}));
  auto unused = f.input("unused", f32({3}));
  auto dead = exp(log(x) * 2.0);  // log, constant, mul, exp: all dead
  (void)dead;
  auto live = sin(x);
  auto also = cos(live);  // a dead user of a live node
  (void)also;
  f.output(live + 1.0);
  EXPECT_EQ(f.size(), 8u);
  EXPECT_TRUE(dce(f));
  EXPECT_EQ(test::op_sequence(f), "sin,constant,add");
  EXPECT_EQ(f.inputs().size(), 2u) << "inputs are the signature; they stay";
  EXPECT_FALSE(dce(f));
  (void)unused;
}

TEST(Dce, KeepsResultsEvenWithoutUsers) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({3}));
  auto a = exp(x);
  f.output(a);
  f.output(a);
  f.output(x);
  EXPECT_FALSE(dce(f));
  EXPECT_EQ(f.size(), 1u);
}

TEST(Dce, RemovesDeadGradAndBarrierNodes) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({3}));
  auto z = sum(x * x);
  grad_op(z, x);
  barrier(x);
  f.output(x);
  EXPECT_TRUE(dce(f));
  EXPECT_EQ(f.size(), 0u);
}

}  // namespace
}  // namespace nabla
