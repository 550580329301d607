// The default pipeline preserves semantics: the interpreter's results before
// and after agree bit for bit (every default rewrite is exact; NaNs match any
// NaN, since payloads are not part of nabla's semantics), on seeded random
// graphs over every op and on every example.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>

#include "nabla/ir/builder.h"
#include "nabla/ir/interpreter.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/random_inputs.h"
#include "nabla/passes/pass_manager.h"
#include "nabla/passes/registry.h"
#include "nabla/runtime/error.h"
#include "tests/support/random_graph.h"

namespace nabla {
namespace NABLA_UNITY_ID {

constexpr uint64_t kRandomGraphs = 400;

// Empty when a and b hold the same values, else what differs.
std::string difference(const Tensor& a, const Tensor& b) {
  if (type_of(a) != type_of(b)) return type_of(a).str() + " vs " + type_of(b).str();
  for (int64_t i = 0; i < a.numel(); ++i) {
    double x = a.get(i), y = b.get(i);
    if (std::isnan(x) && std::isnan(y)) continue;
    if (x == y && std::signbit(x) == std::signbit(y)) continue;
    return "element " + std::to_string(i) + ": " + format_float(x) + " vs " + format_float(y);
  }
  return "";
}

// The results of f on `inputs`, or the run-time error's message.
struct Outcome {
  std::vector<Tensor> results;
  std::string error;
};
Outcome run(const Function& f, const std::vector<Tensor>& inputs) {
  Outcome o;
  try {
    o.results = interpret(f, inputs);
  } catch (const Error& e) {
    o.error = e.what();
  }
  return o;
}

void expect_same(const Outcome& before, const Outcome& after, const std::string& what) {
  EXPECT_EQ(before.error, after.error) << what;
  ASSERT_EQ(before.results.size(), after.results.size()) << what;
  for (size_t i = 0; i < before.results.size(); ++i)
    EXPECT_EQ(difference(before.results[i], after.results[i]), "") << what << ", result " << i;
}

PassManagerOptions verifying() {
  PassManagerOptions o;
  o.verify_each = true;
  return o;
}

// The exactness of neg(neg x) -> x, abs(-x) -> abs(x) and of the "cannot be
// -0" analysis rests on IEEE negate and abs: sign bit flipped / cleared.
TEST(PassSemantics, NegFlipsAndAbsClearsTheSignBit) {
  Module m;
  Function& f = m.function("f");
  Value x = f.input("x", f32({2}));
  f.output(neg(x));
  f.output(abs(x));
  std::vector<Tensor> in = {Tensor::from_doubles(DType::f32, {2}, std::vector<double>{0.0, -0.0})};
  std::vector<Tensor> out = interpret(f, in);
  EXPECT_TRUE(std::signbit(out[0].get(0)));
  EXPECT_FALSE(std::signbit(out[0].get(1)));
  EXPECT_FALSE(std::signbit(out[1].get(0)));
  EXPECT_FALSE(std::signbit(out[1].get(1)));
}

TEST(PassSemantics, DefaultPipelineOnRandomGraphs) {
  size_t before_nodes = 0, after_nodes = 0, errors = 0;
  for (uint64_t seed = 0; seed < kRandomGraphs; ++seed) {
    Module m = test::random_graph(seed);
    Function& f = *m.find("random");
    std::vector<Tensor> inputs = test::random_inputs(f, seed);
    std::string text = print(f);
    Outcome before = run(f, inputs);
    errors += !before.error.empty();
    before_nodes += f.size();
    ASSERT_NO_THROW(run_default_pipeline(m, verifying())) << text;
    after_nodes += f.size();
    expect_same(before, run(f, inputs), "seed " + std::to_string(seed) + "\n" + text + "\nafter:\n" + print(f));
    if (HasFailure()) break;
  }
  std::cout << kRandomGraphs << " random graphs: " << before_nodes << " nodes before the default pipeline, "
            << after_nodes << " after; " << errors << " stopped by a run-time error\n";
}

// Random graphs with grad nodes: build-grad first (allow-disconnected: the
// generator may ask for a target z does not reach), then before/after the
// default pipeline.
TEST(PassSemantics, DefaultPipelineOnRandomGraphsWithGrads) {
  test::RandomGraphOptions o;
  o.grad_rate = 1.0;
  size_t expanded = 0, after_nodes = 0, graphs = 0;
  for (uint64_t seed = 0; seed < kRandomGraphs / 2; ++seed) {
    Module m = test::random_graph(seed, o);
    Function& f = *m.find("random");
    if (f.front() == nullptr) continue;
    bool has_grad = false;
    for (Node* n : f) has_grad |= n->op() == Op::Grad;
    graphs += has_grad;
    std::string text = print(f);
    ASSERT_NO_THROW(PassManager(verifying()).add("build-grad{allow-disconnected}").run(m)) << text;
    expanded += f.size();
    std::vector<Tensor> inputs = test::random_inputs(f, seed);
    Outcome before = run(f, inputs);
    ASSERT_NO_THROW(run_default_pipeline(m, verifying())) << text;
    after_nodes += f.size();
    expect_same(before, run(f, inputs), "seed " + std::to_string(seed) + "\n" + text + "\nafter:\n" + print(f));
    if (HasFailure()) break;
  }
  EXPECT_GT(graphs, kRandomGraphs / 4);
  std::cout << graphs << " random graphs with grad nodes: " << expanded
            << " nodes after build-grad, " << after_nodes << " after the default pipeline\n";
}

// Every .nabla file under examples/: each function, before and after the
// default pipeline (build-grad first when the function holds grad nodes).
TEST(PassSemantics, DefaultPipelineOnExamples) {
  std::filesystem::path dir = std::filesystem::path(NABLA_SOURCE_DIR) / "examples";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().extension() == ".nabla") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) GTEST_SKIP() << "no examples/*.nabla yet";
  bool have_build_grad = create_pass("build-grad") != nullptr;
  for (const auto& file : files) {
    Module m = parse_file(file.string());
    bool has_grad = false;
    for (Function* f : m.functions())
      for (Node* n : *f) has_grad |= n->op() == Op::Grad;
    if (has_grad) {
      if (!have_build_grad) continue;
      PassManager(verifying()).add("build-grad").run(m);
    }
    std::vector<std::vector<Tensor>> inputs;
    std::vector<Outcome> before;
    for (Function* f : m.functions()) {
      inputs.push_back(random_inputs(*f, 7));
      before.push_back(run(*f, inputs.back()));
    }
    size_t nodes_before = 0, nodes_after = 0;
    for (Function* f : m.functions()) nodes_before += f->size();
    ASSERT_NO_THROW(run_default_pipeline(m, verifying())) << file;
    std::vector<Function*> fs = m.functions();
    for (size_t i = 0; i < fs.size(); ++i) {
      nodes_after += fs[i]->size();
      expect_same(before[i], run(*fs[i], inputs[i]), file.filename().string() + " @" + fs[i]->name());
    }
    std::cout << file.filename().string() << ": " << nodes_before << " nodes before the default pipeline, "
              << nodes_after << " after\n";
  }
}

}  // namespace
}  // namespace nabla
