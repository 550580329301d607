#include <gtest/gtest.h>

#include <fmt/format.h>

#include <sstream>

#include "nabla/ir/builder.h"
#include "nabla/passes/pass_manager.h"
#include "nabla/passes/registry.h"
#include "nabla/runtime/error.h"
#include "tests/support/pass_testing.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::error_of;

TEST(PassManager, ParsesPipelines) {
  PassManager pm;
  pm.add("cse,repeat(simplify{unsafe-math},transpose-fold),dce");
  EXPECT_EQ(pm.str(), "cse,repeat(simplify{unsafe-math},transpose-fold),dce");
  pm.add("simplify{finite-math=true no-signed-zeros=false}");
  EXPECT_EQ(pm.str(), "cse,repeat(simplify{unsafe-math},transpose-fold),dce,"
                      "simplify{finite-math=true no-signed-zeros=false}");
}

TEST(PassManager, PipelineErrors) {
  std::string registered;
  for (std::string_view n : registered_passes()) registered += (registered.empty() ? "" : ", ") + std::string(n);
  auto err = [](std::string_view text) { return error_of([&] { PassManager().add(text); }); };
  EXPECT_EQ(err("cse,foo"), "pipeline: unknown pass 'foo' (registered: " + registered +
                                ") at column 5 of 'cse,foo'");
  EXPECT_EQ(err("cse{x}"), "pipeline: pass 'cse' has no option 'x' (it takes none) at column 5 of 'cse{x}'");
  EXPECT_EQ(err("fold{max=3}"), "pipeline: pass 'fold' has no option 'max' (options: max-elements) at column 6 of "
                                "'fold{max=3}'");
  EXPECT_EQ(err("simplify{finite-math=maybe}"),
            "simplify: option finite-math takes true or false, got 'maybe'");
  EXPECT_EQ(err("cse,"), "pipeline: expected a pass name at column 5 of 'cse,'");
  EXPECT_EQ(err(""), "pipeline: expected a pass name at column 1 of ''");
  EXPECT_EQ(err("repeat(cse"), "pipeline: expected ')' at column 11 of 'repeat(cse'");
  EXPECT_EQ(err("cse dce"), "pipeline: unexpected ' ' at column 4 of 'cse dce'");
  EXPECT_EQ(err("cse{finite-math="),
            "pipeline: expected an option value at column 17 of 'cse{finite-math='");
}

// Every registered pass carries the name of its passes.def entry, round-trips
// through a pipeline string with each of its options, and rejects a bad option
// value with the one shared message of its kind.
TEST(PassManager, EveryRegisteredPassRoundTripsItsNameAndOptions) {
  for (std::string_view name : registered_passes()) {
    SCOPED_TRACE(std::string(name));
    std::unique_ptr<Pass> pass = create_pass(name);
    ASSERT_TRUE(pass);
    EXPECT_EQ(pass->name(), name);
    EXPECT_EQ(PassManager().add(name).str(), name);
    for (std::string_view key : pass->option_names()) {
      bool is_flag = error_of([&] { create_pass(name)->set_option(key, "true"); }) == "(no error)";
      std::string pipeline = fmt::format("{}{{{}={}}}", name, key, is_flag ? "false" : "7");
      EXPECT_EQ(PassManager().add(pipeline).str(), pipeline);
      EXPECT_EQ(error_of([&] { PassManager().add(fmt::format("{}{{{}=maybe}}", name, key)); }),
                fmt::format("{}: option {} takes {}, got 'maybe'", name, key,
                            is_flag ? "true or false" : "a non-negative integer"));
    }
    EXPECT_FALSE(pass->set_option("no-such-option", "true"));
  }
  EXPECT_EQ(create_pass("no-such-pass"), nullptr);
}

TEST(PassManager, DefaultPipelineIsRegistered) {
  PassManager pm;
  pm.add(default_pipeline());
  EXPECT_EQ(pm.str(), default_pipeline());
}

// Two equal exps under a select: cse merges them, and only then can simplify
// turn select(c, e, e) into e, so a repeat group needs two rounds plus one to
// see that nothing changes any more.
TEST(PassManager, RepeatRunsToAFixedPoint) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({3}));
  auto c = f.input("c", boolean({3}));
  f.output(select(c, exp(x), exp(x)));
  PassManager pm;
  pm.add("repeat(simplify,cse,dce)");
  EXPECT_TRUE(pm.run(m));
  EXPECT_EQ(test::op_sequence(f), "exp");
  std::vector<PassStatistics> s = pm.statistics();
  ASSERT_EQ(s.size(), 4u);
  EXPECT_TRUE(s[0].is_repeat);
  EXPECT_EQ(s[0].runs, 3u);
  EXPECT_EQ(s[0].changed, 2u);
  EXPECT_EQ(s[1].name, "simplify");
  EXPECT_EQ(s[1].depth, 1);
  EXPECT_EQ(s[1].runs, 3u);
  EXPECT_EQ(s[1].changed, 1u);
  EXPECT_EQ(s[1].removed, 1u);   // the select
  EXPECT_EQ(s[1].replaced, 1u);
  EXPECT_EQ(s[2].name, "cse");
  EXPECT_EQ(s[2].removed, 1u);   // the second exp
  EXPECT_EQ(s[2].replaced, 1u);
  EXPECT_EQ(s[3].name, "dce");
  EXPECT_EQ(s[3].changed, 0u);
  EXPECT_FALSE(pm.run(m));
}

TEST(PassManager, CountsAddedNodesAndRunsEveryFunction) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({3}));
  f.output(x * broadcast_to(constant(f, 1.0), {2, 3}));  // becomes broadcast_to(x)
  Function& g = m.function("g");
  auto y = g.input("y", f32({2}));
  f.output(x);
  g.output(neg(neg(y)));
  PassManager pm;
  pm.add("simplify,dce");
  EXPECT_TRUE(pm.run(m));
  std::vector<PassStatistics> s = pm.statistics();
  EXPECT_EQ(s[0].runs, 2u);
  EXPECT_EQ(s[0].changed, 2u);
  EXPECT_EQ(s[0].added, 1u);     // broadcast_to(x)
  EXPECT_EQ(s[0].removed, 2u);   // the mul and the outer neg
  EXPECT_EQ(s[0].replaced, 2u);
  EXPECT_EQ(s[1].removed, 3u);   // the old broadcast_to, its constant, the inner neg
  std::ostringstream os;
  pm.print_statistics(os);
  EXPECT_EQ(os.str(),
            "pass statistics (runs: once per function, or rounds of a repeat group):\n"
            "  pass        runs  changed  removed    added  replaced\n"
            "  simplify       2        2        2        1         2\n"
            "  dce            2        2        3        0         0\n");
}

class ExternalPass : public Pass {
 public:
  ExternalPass() : Pass("external") {}
  bool run(Function& f) override {
    ++calls;
    return false;
  }
  int calls = 0;
};

TEST(PassManager, AcceptsPassObjects) {
  Module m;
  m.function("a");
  m.function("b");
  auto p = std::make_unique<ExternalPass>();
  ExternalPass* raw = p.get();
  PassManager pm;
  pm.add(std::move(p)).add("dce");
  EXPECT_EQ(pm.str(), "external,dce");
  EXPECT_FALSE(pm.run(m));
  EXPECT_EQ(raw->calls, 2);
}

// Breaks an invariant: gives the first node a type inference disagrees with.
class BreakingPass : public Pass {
 public:
  BreakingPass() : Pass("breaker") {}
  bool run(Function& f) override {
    if (f.front()) f.front()->set_type(f64({7}));
    return true;
  }
};

// Changes the function but says it did not.
class SilentPass : public Pass {
 public:
  SilentPass() : Pass("silent") {}
  bool run(Function& f) override {
    f.erase(f.back());
    return false;
  }
};

TEST(PassManager, VerifyEachNamesThePassThatBrokeAnInvariant) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({3}));
  f.output(exp(x));
  exp(exp(x));
  PassManagerOptions o;
  o.verify_each = true;
  PassManager pm(o);
  pm.add("cse,dce").add(std::make_unique<BreakingPass>());
  std::string err = error_of([&] { pm.run(m); });
  EXPECT_EQ(err,
            "verify-each: after pass 'breaker' on @f: function @f, node `%0 = exp %x : f64[7]`: "
            "recorded type f64[7] does not match inferred type f32[3]");
  // Without verify-each the broken module goes through unnoticed.
  Module m2;
  m2.function("g").output(m2.function("g").input("y", f32({})));
  PassManager quiet;
  quiet.add(std::make_unique<BreakingPass>());
  EXPECT_NO_THROW(quiet.run(m2));
}

TEST(PassManager, VerifyEachCatchesAnUnreportedChange) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({3}));
  f.output(x);
  exp(x);
  PassManagerOptions o;
  o.verify_each = true;
  PassManager pm(o);
  pm.add(std::make_unique<SilentPass>());
  EXPECT_EQ(error_of([&] { pm.run(m); }),
            "verify-each: pass 'silent' reported no change to @f but edited it");
}

TEST(PassManager, PrintAfter) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({2}));
  f.output(neg(neg(x)));
  std::ostringstream os;
  PassManagerOptions o;
  o.print_after = {"dce"};
  o.print_stream = &os;
  PassManager pm(o);
  pm.add("simplify,repeat(dce)");
  pm.run(m);
  EXPECT_EQ(os.str(),
            "// -----// IR Dump After dce (repeat round 1) //----- //\n"
            "func @f(%x: f32[2]) -> (f32[2]) {\n"
            "  return %x\n"
            "}\n"
            "// -----// IR Dump After dce (repeat round 2) //----- //\n"
            "func @f(%x: f32[2]) -> (f32[2]) {\n"
            "  return %x\n"
            "}\n");
  o.print_after = {"cse"};
  PassManager missing(o);
  missing.add("simplify,dce");
  EXPECT_EQ(error_of([&] { missing.run(m); }),
            "print-after: no pass 'cse' in the pipeline 'simplify,dce'");
}

TEST(PassManager, PrintAfterAll) {
  Module m;
  Function& f = m.function("f");
  auto x = f.input("x", f32({2}));
  f.output(neg(neg(x)));
  std::ostringstream os;
  PassManagerOptions o;
  o.print_after_all = true;
  o.print_stream = &os;
  PassManager pm(o);
  pm.add("simplify,dce");
  pm.run(m);
  EXPECT_EQ(os.str(),
            "// -----// IR Dump After simplify //----- //\n"
            "func @f(%x: f32[2]) -> (f32[2]) {\n"
            "  %0 = neg %x : f32[2]\n"
            "  return %x\n"
            "}\n"
            "// -----// IR Dump After dce //----- //\n"
            "func @f(%x: f32[2]) -> (f32[2]) {\n"
            "  return %x\n"
            "}\n");
}

}  // namespace
}  // namespace nabla
