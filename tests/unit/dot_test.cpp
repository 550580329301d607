#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "nabla/ir/builder.h"
#include "nabla/ir/dot.h"

namespace nabla {
namespace NABLA_UNITY_ID {

TEST(Dot, ColoursNodesCreatedAfterAMark) {
  Module m;
  Function& f = m.function("xy");
  Value x = f.input("x", f32());
  Value y = f.input("y", f32());
  Value z = x * y;
  z->set_name("z");
  f.output(z);
  uint64_t mark = f.next_serial();
  Value dz = z * 2.0;  // stands in for an appended gradient node
  f.output(dz);
  DotOptions opts;
  opts.highlight = [&](const Node& n) { return n.serial() >= mark; };
  std::string dot = to_dot(f, opts);
  EXPECT_NE(dot.find("digraph \"@xy\" {"), std::string::npos) << dot;
  EXPECT_NE(dot.find("n0 [shape=ellipse, style=filled, fillcolor=\"#d9e8f5\", label=\"%x\\nf32[]\"];"),
            std::string::npos) << dot;
  EXPECT_NE(dot.find("n2 [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", peripheries=2, "
                     "label=\"%z = mul\\nf32[]\"];"),
            std::string::npos) << dot;
  EXPECT_NE(dot.find("fillcolor=\"#f9c98b\", peripheries=2, label=\"%1 = mul\\nf32[]\""),
            std::string::npos) << dot;
  EXPECT_NE(dot.find("n0 -> n2"), std::string::npos);
  EXPECT_NE(dot.find("legend_grad"), std::string::npos);
}

// The output must be valid Graphviz: the set-up script installs graphviz.
TEST(Dot, GraphvizParsesIt) {
  Module m;
  Function& f = m.function("we\"ird");
  Value a = f.input("a", f32({2, 3}));
  f.output(sum(relu(a) * a, std::vector<int64_t>{1}));
  std::string path = std::string(NABLA_BINARY_DIR) + "/dot_test.dot";
  std::ofstream(path) << to_dot(f);
  std::string cmd = "dot -Tsvg " + path + " -o " + path + ".svg 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream svg(path + ".svg");
  std::string text((std::istreambuf_iterator<char>(svg)), {});
  EXPECT_NE(text.find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace nabla
