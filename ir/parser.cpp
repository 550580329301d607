#include "nabla/ir/parser.h"

#include <cerrno>
#include <bit>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <numeric>
#include <optional>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "nabla/ir/fused.h"
#include "nabla/ir/loop.h"
#include "nabla/ir/limits.h"
#include "nabla/ir/literal.h"
#include "nabla/ir/printer_names.h"
#include "nabla/ir/token_stream.h"

namespace nabla {
namespace {

class Parser {
 public:
  Parser(std::string_view source, std::string_view filename, int first_line)
      : ts_(source, filename, first_line) {}

  Module run(std::string_view filename) {
    module_.set_source_name(std::string(filename));
    while (!ts_.at(Tok::Eof)) {
      ts_.expect_ident("func", "'func'");
      parse_function();
    }
    return std::move(module_);
  }

 private:
  void parse_function();
  std::vector<TensorType> parse_result_types();
  void parse_statement(Function& f);
  void parse_return(Function& f, const std::vector<TensorType>& signature);
  void parse_grad(Function& f, const std::vector<Token>& results, const Token& op_token);
  void parse_op(Function& f, Op op, const Token& result, const Token& op_token);
  void parse_region(Function& f, Op op, const std::vector<Token>& results, const Token& op_token);
  std::shared_ptr<Function> parse_body(std::string_view name, std::string_view which);
  uint32_t parse_attrs(Op op, Attrs& attrs);
  void parse_attr_value(std::vector<int64_t>& v);
  void parse_attr_value(int64_t& v);
  void parse_attr_value(bool& v);
  void parse_attr_value(DType& v);
  void parse_attr_value(Reduction& v);
  void parse_attr_value(Tensor& v);
  TensorType parse_type();
  int64_t parse_int(const Token& t);
  Node* lookup(const Token& t);
  void define(const Token& name, Node* n);
  Node* make(Function& f, Op op, std::vector<Node*> operands, Attrs attrs, const Token& at);
  void check_annotation(const std::optional<TensorType>& annot, SourceLoc loc, const Node& n);

  TokenStream ts_;
  Module module_;
  std::unordered_map<std::string_view, Node*> values_;  // of the current function
  int depth_ = 0;                                       // of the body being parsed
};

void Parser::parse_function() {
  Token name = ts_.expect(Tok::FuncName, "a function name after 'func'");
  if (module_.find(name.text))
    ts_.error(name.loc, fmt::format("redefinition of function @{}", name.text));
  Function& f = module_.add_function(name.text);
  values_.clear();
  ts_.expect(Tok::LParen, "'(' after the function name");
  if (!ts_.accept(Tok::RParen)) {
    do {
      Token in = ts_.expect(Tok::ValueName, "an input name");
      if (values_.count(in.text)) ts_.error(in.loc, fmt::format("redefinition of %{}", in.text));
      ts_.expect(Tok::Colon, "':' after the input name");
      Node* n = f.input(std::string(in.text), parse_type());
      n->set_loc(in.loc);
      values_[in.text] = n;
    } while (ts_.accept(Tok::Comma));
    ts_.expect(Tok::RParen, "',' or ')' after the input");
  }
  ts_.expect(Tok::Arrow, "'->' after the inputs");
  std::vector<TensorType> signature = parse_result_types();
  ts_.expect(Tok::LBrace, "'{' before the function body");
  while (!ts_.at_ident("return")) parse_statement(f);
  parse_return(f, signature);
}

std::vector<TensorType> Parser::parse_result_types() {
  std::vector<TensorType> types;
  if (!ts_.accept(Tok::LParen)) {
    types.push_back(parse_type());
    return types;
  }
  if (ts_.accept(Tok::RParen)) return types;
  do types.push_back(parse_type());
  while (ts_.accept(Tok::Comma));
  ts_.expect(Tok::RParen, "',' or ')' after the result type");
  return types;
}

void Parser::parse_statement(Function& f) {
  if (!ts_.at(Tok::ValueName)) ts_.error_expected("a value name or 'return'");
  std::vector<Token> results;
  do results.push_back(ts_.expect(Tok::ValueName, "a value name"));
  while (ts_.accept(Tok::Comma));
  for (size_t i = 0; i < results.size(); ++i) {
    bool repeated = false;
    for (size_t j = 0; j < i; ++j) repeated |= results[j].text == results[i].text;
    if (repeated || values_.count(results[i].text))
      ts_.error(results[i].loc, fmt::format("redefinition of %{}", results[i].text));
  }
  ts_.expect(Tok::Equal, "'=' after the result names");
  Token op_token = ts_.expect(Tok::Ident, "an op name");
  std::optional<Op> op = op_from_name(op_token.text);
  if (!op) ts_.error(op_token.loc, fmt::format("unknown op '{}'", op_token.text));
  if (*op == Op::Input)
    ts_.error(op_token.loc, "'input' is not an op: inputs are declared in the function signature");
  if (*op == Op::Grad) return parse_grad(f, results, op_token);
  if (*op == Op::Fused || is_loop(*op)) return parse_region(f, *op, results, op_token);
  if (results.size() != 1)
    ts_.error(results[1].loc, fmt::format("'{}' has one result, but {} names are given",
                                          op_token.text, results.size()));
  parse_op(f, *op, results[0], op_token);
}

// The defaults of the convolution attributes left out (ir/builder.h's Conv2DOptions).
void set_conv_defaults(uint32_t absent, Attrs& a) {
  if (absent & attr::stride) a.stride = {1, 1};
  if (absent & attr::padding) a.padding = {0, 0, 0, 0};
  if (absent & attr::dilation) a.dilation = {1, 1};
  if (absent & attr::groups) a.groups = 1;
}

void Parser::parse_return(Function& f, const std::vector<TensorType>& signature) {
  Token ret = ts_.take();
  std::vector<Token> values;
  if (ts_.at(Tok::ValueName)) {
    do values.push_back(ts_.expect(Tok::ValueName, "a value name"));
    while (ts_.accept(Tok::Comma));
  }
  ts_.expect(Tok::RBrace, "'}' after the return");
  if (values.empty())
    ts_.error(ret.loc, fmt::format("function @{} must return at least one value", f.name()));
  if (values.size() != signature.size())
    ts_.error(ret.loc, fmt::format("function @{} returns {} value{}, but its signature declares {}",
                                   f.name(), values.size(), values.size() == 1 ? "" : "s",
                                   signature.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    Node* n = lookup(values[i]);
    if (n->type() != signature[i])
      ts_.error(values[i].loc,
                fmt::format("return value %{} has type {}, but the signature declares {}",
                            values[i].text, n->type().str(), signature[i].str()));
    f.output(n);
  }
}

void Parser::parse_grad(Function& f, const std::vector<Token>& results, const Token& op_token) {
  Node* z = lookup(ts_.expect(Tok::ValueName, "the value to differentiate after 'grad'"));
  ts_.expect_ident("wrt", "'wrt' after the differentiated value");
  std::vector<Token> targets;
  do targets.push_back(ts_.expect(Tok::ValueName, "a value name after 'wrt'"));
  while (ts_.accept(Tok::Comma));
  std::vector<Node*> target_nodes;
  for (const Token& t : targets) target_nodes.push_back(lookup(t));
  if (targets.size() != results.size())
    ts_.error(op_token.loc, fmt::format("grad has {} result name{} but {} target{}", results.size(),
                                        results.size() == 1 ? "" : "s", targets.size(),
                                        targets.size() == 1 ? "" : "s"));
  std::vector<std::pair<TensorType, SourceLoc>> annots;
  if (ts_.at(Tok::Colon)) {
    Token colon = ts_.take();
    do {
      SourceLoc at = ts_.peek().loc;
      annots.push_back({parse_type(), at});
    } while (ts_.accept(Tok::Comma));
    if (annots.size() != results.size())
      ts_.error(colon.loc, fmt::format("grad has {} result{} but {} type{}", results.size(),
                                       results.size() == 1 ? "" : "s", annots.size(),
                                       annots.size() == 1 ? "" : "s"));
  }
  for (size_t i = 0; i < results.size(); ++i) {
    Node* n = make(f, Op::Grad, {z, target_nodes[i]}, {}, op_token);
    if (!annots.empty()) check_annotation(annots[i].first, annots[i].second, *n);
    define(results[i], n);
  }
}

void Parser::parse_op(Function& f, Op op, const Token& result, const Token& op_token) {
  std::optional<Literal> literal;
  std::vector<Node*> operands;
  if (op == Op::Constant) {
    literal = parse_literal(ts_);
  } else if (ts_.at(Tok::ValueName)) {
    do operands.push_back(lookup(ts_.expect(Tok::ValueName, "an operand")));
    while (ts_.accept(Tok::Comma));
  }
  Attrs attrs;
  uint32_t given = ts_.at(Tok::LBrace) ? parse_attrs(op, attrs) : 0;
  std::optional<TensorType> annot;
  SourceLoc annot_loc;
  if (ts_.accept(Tok::Colon)) {
    annot_loc = ts_.peek().loc;
    annot = parse_type();
  }

  // Attributes: the optional ones get their defaults, the others must be given.
  uint32_t optional = attr::axes | attr::keepdims | attr::step | attr::transpose_a |
                      attr::transpose_b | attr::value | (op == Op::OneHot ? attr::dtype : 0) |
                      attr::reverse | attr::exclusive | attr::stride | attr::padding | attr::dilation |
                      attr::groups;
  uint32_t missing = op_attr_mask(op) & ~given & ~optional;
  for (uint32_t i = 0; i < attr::kNumAttrs; ++i)
    if (missing & (1u << i))
      ts_.error(op_token.loc, fmt::format("'{}' needs the attribute '{}'", op_name(op), attr_name(i)));
  if ((op_attr_mask(op) & attr::axes) && !(given & attr::axes) && operands.size() == 1) {
    attrs.axes.resize(operands[0]->shape().size());
    std::iota(attrs.axes.begin(), attrs.axes.end(), 0);
  }
  set_conv_defaults(op_attr_mask(op) & ~given, attrs);
  if (literal) attrs.value = literal_to_tensor(*literal, annot, ts_);

  Node* n = make(f, op, std::move(operands), std::move(attrs), op_token);
  check_annotation(annot, annot_loc, *n);
  define(result, n);
}

// A region: `%r = fused %a, %b [: T] (%x: Ta, %y: Tb) { statements return %v }`;
// the body is a function of its own inputs, with its own names. A body of
// several results makes a group: `%r, %s = fused ... [: T, U] (...) { ... return %v, %w }`.
// Loops (ir/loop.h) take attributes before the types, and a while two bodies:
//   `%c, %ys = scan %c0, %xs, %w {length = 4, num_carry = 1, num_xs = 1} : T, U (...) { ... }`
//   `%c = while %c0, %w {max_trip_count = 50} : T cond (...) { ... } do (...) { ... }`
void Parser::parse_region(Function& f, Op op, const std::vector<Token>& results, const Token& op_token) {
  const std::string_view name = op_name(op);
  std::vector<Node*> operands;
  if (ts_.at(Tok::ValueName)) {
    do operands.push_back(lookup(ts_.expect(Tok::ValueName, "an operand")));
    while (ts_.accept(Tok::Comma));
  }
  Attrs attrs;
  attrs.max_trip_count = -1;
  uint32_t given = op != Op::Fused && ts_.at(Tok::LBrace) ? parse_attrs(op, attrs) : 0;
  if (op == Op::Scan)
    for (uint32_t required : {attr::length, attr::num_carry})
      if (!(given & required))
        ts_.error(op_token.loc, fmt::format("'scan' needs the attribute '{}'", attr_name(std::countr_zero(required))));
  std::vector<std::optional<TensorType>> annots(results.size());
  std::vector<SourceLoc> annot_locs(results.size());
  if (ts_.accept(Tok::Colon)) {
    size_t i = 0;
    do {
      SourceLoc at = ts_.peek().loc;
      TensorType t = parse_type();
      if (i >= results.size())
        ts_.error(at, fmt::format("{} has {} result name{} but more types", name, results.size(),
                                  results.size() == 1 ? "" : "s"));
      annot_locs[i] = at;
      annots[i++] = t;
    } while (ts_.accept(Tok::Comma));
    if (i != results.size())
      ts_.error(annot_locs[0], fmt::format("{} has {} result names but {} type{}", name, results.size(), i,
                                           i == 1 ? "" : "s"));
  }
  DepthGuard level(depth_, [&](const std::string& m) { ts_.error(op_token.loc, m); });
  std::shared_ptr<const Function> cond;
  if (op == Op::While) {
    ts_.expect_ident("cond", "'cond' before the while's condition body");
    cond = parse_body(name, "condition");
    ts_.expect_ident("do", "'do' before the while's body");
  }
  std::shared_ptr<Function> body = parse_body(name, "body");
  if (body->results().size() != results.size())
    ts_.error(op_token.loc, fmt::format("{} has {} result name{} but its body returns {} value{}", name,
                                        results.size(), results.size() == 1 ? "" : "s", body->results().size(),
                                        body->results().size() == 1 ? "" : "s"));
  std::vector<Node*> nodes;
  try {
    nodes = op == Op::Fused ? make_fused_group(f, std::move(operands), std::move(body))
                            : make_loop(f, op, std::move(operands), attrs, std::move(body), std::move(cond));
  } catch (const Error& e) {
    ts_.error(op_token.loc, e.what());
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    check_annotation(annots[i], annot_locs[i], *nodes[i]);
    define(results[i], nodes[i]);
  }
}

// `(%x: Ta, %y: Tb) { statements return %v, ... }`, a body of op `name`.
std::shared_ptr<Function> Parser::parse_body(std::string_view name, std::string_view which) {
  auto body = std::make_shared<Function>(fmt::format("{}.{}", name, which));
  auto outer = std::move(values_);
  values_.clear();
  ts_.expect(Tok::LParen, fmt::format("'(' before the {}'s inputs", which));
  if (!ts_.accept(Tok::RParen)) {
    do {
      Token in = ts_.expect(Tok::ValueName, "an input name");
      if (values_.count(in.text)) ts_.error(in.loc, fmt::format("redefinition of %{}", in.text));
      ts_.expect(Tok::Colon, "':' after the input name");
      Node* n = body->input(std::string(in.text), parse_type());
      n->set_loc(in.loc);
      values_[in.text] = n;
    } while (ts_.accept(Tok::Comma));
    ts_.expect(Tok::RParen, "',' or ')' after the input");
  }
  ts_.expect(Tok::LBrace, fmt::format("'{{' before the {} {}", name, which));
  while (!ts_.at_ident("return")) parse_statement(*body);
  ts_.take();  // return
  do body->output(lookup(ts_.expect(Tok::ValueName, fmt::format("the {}'s result after 'return'", which))));
  while (ts_.accept(Tok::Comma));
  ts_.expect(Tok::RBrace, fmt::format("'}}' after the {}'s return", which));
  values_ = std::move(outer);
  return body;
}

uint32_t Parser::parse_attrs(Op op, Attrs& attrs) {
  ts_.expect(Tok::LBrace, "'{'");
  if (ts_.accept(Tok::RBrace)) return 0;
  uint32_t given = 0;
  do {
    Token key = ts_.expect(Tok::Ident, "an attribute name");
    uint32_t index = 0;
    while (index < attr::kNumAttrs && attr_name(index) != key.text) ++index;
    if (index == attr::kNumAttrs) ts_.error(key.loc, fmt::format("unknown attribute '{}'", key.text));
    uint32_t bit = 1u << index;
    if (!(op_attr_mask(op) & bit) || attr_kind(index) == AttrKind::Tensor)
      ts_.error(key.loc, fmt::format("'{}' has no attribute '{}'", op_name(op), key.text));
    if (given & bit) ts_.error(key.loc, fmt::format("duplicate attribute '{}'", key.text));
    given |= bit;
    ts_.expect(Tok::Equal, "'=' after the attribute name");
    switch (index) {
#define NABLA_ATTR(name, Kind) \
  case attr::name##_index: parse_attr_value(attrs.name); break;
#include "nabla/ir/attrs.def"
    }
  } while (ts_.accept(Tok::Comma));
  ts_.expect(Tok::RBrace, "',' or '}' after the attribute");
  return given;
}

void Parser::parse_attr_value(std::vector<int64_t>& v) {
  ts_.expect(Tok::LBracket, "'[' (a list of integers)");
  if (ts_.accept(Tok::RBracket)) return;
  do v.push_back(parse_int(ts_.expect(Tok::Integer, "an integer")));
  while (ts_.accept(Tok::Comma));
  ts_.expect(Tok::RBracket, "',' or ']' in the list");
}

void Parser::parse_attr_value(int64_t& v) { v = parse_int(ts_.expect(Tok::Integer, "an integer")); }

void Parser::parse_attr_value(bool& v) {
  if (!ts_.at_ident("true") && !ts_.at_ident("false")) ts_.error_expected("true or false");
  v = ts_.take().text == "true";
}

void Parser::parse_attr_value(DType& v) {
  Token t = ts_.expect(Tok::Ident, "a dtype");
  std::optional<DType> d = dtype_from_name(t.text);
  if (!d) ts_.error(t.loc, fmt::format("unknown dtype '{}'", t.text));
  v = *d;
}

void Parser::parse_attr_value(Reduction& v) {
  Token t = ts_.expect(Tok::Ident, "a reduction (sum, mean, max or min)");
  std::optional<Reduction> r = reduction_from_name(t.text);
  if (!r) ts_.error(t.loc, fmt::format("unknown reduction '{}' (sum, mean, max or min)", t.text));
  v = *r;
}

void Parser::parse_attr_value(Tensor&) { ts_.error_expected("an attribute value"); }

TensorType Parser::parse_type() {
  Token d = ts_.expect(Tok::Ident, "a type");
  std::optional<DType> dtype = dtype_from_name(d.text);
  if (!dtype) ts_.error(d.loc, fmt::format("unknown dtype '{}'", d.text));
  ts_.expect(Tok::LBracket, "'[' after the dtype");
  TensorType t{*dtype, {}};
  if (!ts_.accept(Tok::RBracket)) {
    do {
      Token dim = ts_.expect(Tok::Integer, "a dimension");
      int64_t v = parse_int(dim);
      if (v < 0) ts_.error(dim.loc, fmt::format("negative dimension {}", v));
      t.shape.push_back(v);
    } while (ts_.accept(Tok::Comma));
    ts_.expect(Tok::RBracket, "',' or ']' in the type");
  }
  int64_t elements = 1;
  for (int64_t v : t.shape)
    if (v > 0 && (__builtin_mul_overflow(elements, v, &elements) || elements > kMaxTypeElements))
      ts_.error(d.loc, fmt::format("type {} has more than 2^62 elements", t.str()));
  return t;
}

int64_t Parser::parse_int(const Token& t) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
  if (ec != std::errc() || end != t.text.data() + t.text.size())
    ts_.error(t.loc, fmt::format("integer {} does not fit in 64 bits", t.text));
  return v;
}

Node* Parser::lookup(const Token& t) {
  auto it = values_.find(t.text);
  if (it == values_.end()) ts_.error(t.loc, fmt::format("use of undefined value %{}", t.text));
  return it->second;
}

void Parser::define(const Token& name, Node* n) {
  if (!is_numeric_name(name.text)) n->set_name(std::string(name.text));
  n->set_loc(name.loc);
  values_[name.text] = n;
}

Node* Parser::make(Function& f, Op op, std::vector<Node*> operands, Attrs attrs, const Token& at) {
  try {
    return f.make(op, std::move(operands), std::move(attrs));
  } catch (const ParseError&) {
    throw;
  } catch (const Error& e) {
    ts_.error(at.loc, e.what());
  }
}

void Parser::check_annotation(const std::optional<TensorType>& annot, SourceLoc loc, const Node& n) {
  if (annot && *annot != n.type())
    ts_.error(loc, fmt::format("type annotation {} does not match inferred type {}", annot->str(),
                               n.type().str()));
}

}  // namespace

Module parse(std::string_view source, std::string_view filename, int first_line) {
  return Parser(source, filename, first_line).run(filename);
}

std::string read_source(const std::string& path) {
  if (path == "-") {
    std::ostringstream s;
    s << std::cin.rdbuf();
    return s.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(diagnostic_header(path, {}, fmt::format("cannot open file: {}", std::strerror(errno))));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(diagnostic_header(path, {}, "cannot read file"));
  return text;
}

Module parse_file(const std::string& path) {
  std::string source = read_source(path);
  return parse(source, path == "-" ? "<stdin>" : path);
}

std::vector<SourceChunk> split_source(std::string_view source) {
  std::vector<SourceChunk> chunks;
  size_t chunk_begin = 0, pos = 0;
  int line = 1, chunk_line = 1;
  while (pos <= source.size()) {
    size_t nl = source.find('\n', pos);
    size_t end = nl == std::string_view::npos ? source.size() : nl;
    std::string_view text = source.substr(pos, end - pos);
    size_t a = text.find_first_not_of(" \t\r"), b = text.find_last_not_of(" \t\r");
    if (a != std::string_view::npos && text.substr(a, b - a + 1) == "// -----") {
      chunks.push_back({source.substr(chunk_begin, pos - chunk_begin), chunk_line});
      chunk_begin = end == source.size() ? end : end + 1;
      chunk_line = line + 1;
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
    ++line;
  }
  chunks.push_back({source.substr(chunk_begin), chunk_line});
  return chunks;
}

}  // namespace nabla
