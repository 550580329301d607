// The parser's API: results, locations, literal rules, defaults, split input,
// diagnostics (the full set of error messages is in tests/lit/text/errors-*).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "nabla/ir/diagnostic.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "tests/support/error_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

// The diagnostic of a failing parse, or "(no error)".
std::string parse_error(std::string_view text, std::string_view file = "t.nabla") {
  return test::error_of<ParseError>([&] { parse(text, file); });
}

const Node& body_node(const Function& f, size_t i) { return *f.nodes().at(i); }

TEST(TextParser, BuildsTheModule) {
  Module m = parse(
      "// two functions\n"
      "func @logreg(%x: f32[8,3], %w: f32[3,1], %b: f32[]) -> (f32[8,1]) {\n"
      "  %u = matmul %x, %w : f32[8,1]  // typed\n"
      "  %v = add %u, %b\n"
      "  %y = sigmoid %v : f32[8,1]\n"
      "  return %y\n"
      "}\n"
      "func @id(%a: i64[2]) -> i64[2] { return %a }\n",
      "logreg.nabla");
  verify(m);
  EXPECT_EQ(m.source_name(), "logreg.nabla");
  ASSERT_EQ(m.functions().size(), 2u);
  const Function& f = *m.find("logreg");
  ASSERT_EQ(f.inputs().size(), 3u);
  EXPECT_EQ(f.inputs()[1]->name(), "w");
  EXPECT_EQ(f.inputs()[1]->type(), f32({3, 1}));
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(body_node(f, 0).op(), Op::MatMul);
  EXPECT_EQ(body_node(f, 1).operand(0), &body_node(f, 0));
  EXPECT_EQ(body_node(f, 1).operand(1), f.inputs()[2]);
  ASSERT_EQ(f.results().size(), 1u);
  EXPECT_EQ(f.results()[0], &body_node(f, 2));
  EXPECT_EQ(m.find("id")->results()[0], m.find("id")->inputs()[0]);
}

TEST(TextParser, SetsLocationsAndNames) {
  Module m = parse(
      "func @f(%a: f32[4],\n"
      "        %b: f32[4]) -> (f32[4]) {\n"
      "  %0 = add %a, %b\n"
      "    %s = neg %0\n"
      "  return %s\n"
      "}\n",
      "t.nabla");
  const Function& f = *m.find("f");
  EXPECT_EQ(f.inputs()[0]->loc().line, 1);
  EXPECT_EQ(f.inputs()[0]->loc().col, 9);
  EXPECT_EQ(f.inputs()[1]->loc().line, 2);
  EXPECT_EQ(f.inputs()[1]->loc().col, 9);
  EXPECT_EQ(body_node(f, 0).loc().line, 3);
  EXPECT_EQ(body_node(f, 0).loc().col, 3);
  EXPECT_EQ(body_node(f, 0).name(), "");  // numeric names are unnamed
  EXPECT_EQ(body_node(f, 1).loc().line, 4);
  EXPECT_EQ(body_node(f, 1).loc().col, 5);
  EXPECT_EQ(body_node(f, 1).name(), "s");
}

TEST(TextParser, GradGroupsMakeOneNodePerTarget) {
  Module m = parse(
      "func @f(%w1: f32[3,1], %w2: f32[]) -> (f32[3,1], f32[]) {\n"
      "  %y = mul %w1, %w2\n"
      "  %z = sum %y\n"
      "  %g1, %g2 = grad %z wrt %w1, %w2 : f32[3,1], f32[]\n"
      "  return %g1, %g2\n"
      "}\n",
      "g.nabla");
  const Function& f = *m.find("f");
  ASSERT_EQ(f.size(), 4u);
  const Node &g1 = body_node(f, 2), &g2 = body_node(f, 3);
  EXPECT_EQ(g1.op(), Op::Grad);
  EXPECT_EQ(g1.operand(0), &body_node(f, 1));
  EXPECT_EQ(g1.operand(1), f.inputs()[0]);
  EXPECT_EQ(g2.operand(1), f.inputs()[1]);
  EXPECT_EQ(g1.type(), f32({3, 1}));
  EXPECT_EQ(g2.type(), f32());
  EXPECT_EQ(g2.name(), "g2");
  EXPECT_EQ(g2.loc().col, 8);
}

Tensor constant_of(std::string_view literal_and_type) {
  std::string text = "func @f() -> (f32[]) {\n  %c = constant " + std::string(literal_and_type) +
                     "\n  %r = constant 0.0\n  return %r\n}\n";
  Module m = parse(text, "c.nabla");
  return m.find("f")->front()->attrs().value;
}

TEST(TextParser, UntypedConstantLiterals) {
  Tensor a = constant_of("[[1, 2, 3], [4, 5, 6]]");
  EXPECT_EQ(type_of(a), i32({2, 3}));
  EXPECT_EQ(a.get(5), 6);
  Tensor b = constant_of("[1, 2.5]");
  EXPECT_EQ(type_of(b), f32({2}));
  EXPECT_EQ(b.get(0), 1.0);
  EXPECT_EQ(b.get(1), 2.5);
  EXPECT_EQ(type_of(constant_of("[1, inf]")), f32({2}));
  EXPECT_EQ(type_of(constant_of("[[true], [false]]")), boolean({2, 1}));
  EXPECT_EQ(type_of(constant_of("-7")), i32());
  EXPECT_EQ(type_of(constant_of("1e3")), f32());
  EXPECT_EQ(type_of(constant_of("[]")), i32({0}));
  EXPECT_EQ(type_of(constant_of("[[], []]")), i32({2, 0}));
}

TEST(TextParser, TypedConstantLiterals) {
  Tensor splat = constant_of("2 : f64[2,3]");
  EXPECT_EQ(type_of(splat), f64({2, 3}));
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(splat.get(i), 2.0);
  Tensor l = constant_of("[[1, 2], [3, 4]] : i64[2,2]");
  EXPECT_EQ(type_of(l), i64({2, 2}));
  EXPECT_EQ(l.get(3), 4);
  // f32 elements are read as floats, not rounded twice through double.
  Tensor f = constant_of("[0.1, 16777217, 1e-45] : f32[3]");
  EXPECT_EQ(f.data_as<float>()[0], 0.1f);
  EXPECT_EQ(f.data_as<float>()[1], 16777216.0f);
  EXPECT_EQ(f.data_as<float>()[2], std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(constant_of("1e-60 : f32[]").get(0), 0.0);  // underflow rounds like C
  EXPECT_EQ(type_of(constant_of("[] : f32[2,0,3]")), f32({2, 0, 3}));
  EXPECT_EQ(type_of(constant_of("true : bool[3]")), boolean({3}));
  // A scalar splat to a shape without elements (once an out-of-bounds write).
  EXPECT_EQ(type_of(constant_of("0.0 : f32[0]")), f32({0}));
  EXPECT_THROW(constant_of("1.5 : i32[2,0]"), ParseError);
}

TEST(TextParser, AttributeDefaults) {
  Module m = parse(
      "func @f(%a: f32[2,3], %i: i32[2]) -> (f32[]) {\n"
      "  %s = sum %a\n"
      "  %t = slice %a {start = [0, 0], stop = [2, 3]}\n"
      "  %o = one_hot %i {depth = 2}\n"
      "  %m = matmul %a, %a {transpose_b = true}\n"
      "  return %s\n"
      "}\n",
      "d.nabla");
  const Function& f = *m.find("f");
  EXPECT_EQ(body_node(f, 0).attrs().axes, (std::vector<int64_t>{0, 1}));
  EXPECT_FALSE(body_node(f, 0).attrs().keepdims);
  EXPECT_EQ(body_node(f, 1).attrs().step, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(body_node(f, 2).attrs().dtype, DType::f32);
  EXPECT_FALSE(body_node(f, 3).attrs().transpose_a);
  EXPECT_TRUE(body_node(f, 3).attrs().transpose_b);
}

TEST(TextParser, ErrorsCarryTheFullDiagnostic) {
  std::string text =
      "func @f(%a: f32[4], %b: f32[3]) -> (f32[4]) {\n"
      "\t%c = add %a, %b\n"
      "  return %c\n"
      "}\n";
  try {
    parse(text, "bad.nabla");
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_EQ(std::string(e.what()),
              "bad.nabla:2:7: error: add: cannot broadcast f32[4] with f32[3]\n"
              "\t%c = add %a, %b\n"
              "\t     ^");
    EXPECT_EQ(e.message(), "add: cannot broadcast f32[4] with f32[3]");
    EXPECT_EQ(e.loc().line, 2);
    EXPECT_EQ(e.loc().col, 7);
  }
  // ParseError is a nabla::Error.
  EXPECT_THROW(parse("func", "x"), Error);
  EXPECT_EQ(parse_error("func", ""),
            "<input>:1:5: error: expected a function name after 'func', got end of input\n"
            "func\n"
            "    ^");
}

TEST(TextParser, EmptyInputIsAnEmptyModule) {
  EXPECT_TRUE(parse("", "e.nabla").functions().empty());
  EXPECT_TRUE(parse("// only a comment\n\n", "e.nabla").functions().empty());
}

TEST(TextParser, SplitSourceKeepsLineNumbers) {
  std::string text =
      "func @a() -> (i32[]) {\n"          // 1
      "  %c = constant 1\n"               // 2
      "  return %c\n"                     // 3
      "}\n"                               // 4
      "  // -----  \n"                    // 5
      "// more\n"                         // 6
      "func @b() -> (i32[]) {\n"          // 7
      "  %c = constant 1.5\n"             // 8
      "  return %c\n"                     // 9
      "}\n"                               // 10
      "// -----\n";                       // 11
  std::vector<SourceChunk> chunks = split_source(text);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].first_line, 1);
  EXPECT_EQ(chunks[1].first_line, 6);
  EXPECT_EQ(chunks[2].first_line, 12);
  EXPECT_EQ(chunks[2].text, "");
  EXPECT_NO_THROW(parse(chunks[0].text, "s.nabla", chunks[0].first_line));
  try {
    parse(chunks[1].text, "s.nabla", chunks[1].first_line);
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_EQ(std::string(e.what()),
              "s.nabla:9:10: error: return value %c has type f32[], but the signature declares "
              "i32[]\n"
              "  return %c\n"
              "         ^");
  }
  EXPECT_EQ(split_source("no separator").size(), 1u);
}

TEST(TextParser, ParseFile) {
  std::string path = std::string(NABLA_BINARY_DIR) + "/text_parser_test.nabla";
  {
    std::ofstream out(path);
    out << "func @f(%a: f32[2]) -> (f32[2]) {\n  return %a\n}\n";
  }
  Module m = parse_file(path);
  EXPECT_EQ(m.source_name(), path);
  EXPECT_NE(m.find("f"), nullptr);
  std::remove(path.c_str());
  try {
    parse_file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": error: cannot open file: No such file or directory");
  }
}

TEST(TextDiagnostic, Format) {
  EXPECT_EQ(format_diagnostic("f.nabla", "ab\ncd\n", {2, 2}, "bad"),
            "f.nabla:2:2: error: bad\ncd\n ^");
  // A chunk that starts at line 10.
  EXPECT_EQ(format_diagnostic("f.nabla", "ab\ncd\n", {11, 1}, "bad", 10),
            "f.nabla:11:1: error: bad\ncd\n^");
  // No location, or a line the source does not have: the header only.
  EXPECT_EQ(format_diagnostic("f.nabla", "ab", {}, "bad"), "f.nabla: error: bad");
  EXPECT_EQ(format_diagnostic("f.nabla", "ab", {5, 1}, "bad"), "f.nabla:5:1: error: bad");
  // Control bytes are shown as '?', CR LF line ends are cut.
  EXPECT_EQ(format_diagnostic("", "a\x01" "b\r\n", {1, 3}, "bad"),
            "<input>:1:3: error: bad\na?b\n  ^");
}

}  // namespace
}  // namespace nabla
