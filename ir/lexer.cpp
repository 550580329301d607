#include "nabla/ir/lexer.h"

#include <algorithm>

#include <fmt/format.h>

#include "nabla/ir/printer_names.h"

namespace nabla {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", u);
}

}  // namespace

std::string_view token_kind_name(Tok kind) {
  switch (kind) {
    case Tok::Eof: return "end of input";
    case Tok::Ident: return "an identifier";
    case Tok::ValueName: return "a value name";
    case Tok::FuncName: return "a function name";
    case Tok::Integer: return "an integer";
    case Tok::Float: return "a float";
    case Tok::LParen: return "'('";
    case Tok::RParen: return "')'";
    case Tok::LBracket: return "'['";
    case Tok::RBracket: return "']'";
    case Tok::LBrace: return "'{'";
    case Tok::RBrace: return "'}'";
    case Tok::Comma: return "','";
    case Tok::Colon: return "':'";
    case Tok::Equal: return "'='";
    case Tok::Arrow: return "'->'";
  }
  return "a token";
}

Lexer::Lexer(std::string_view source, int first_line) : src_(source), line_(first_line) {}

void Lexer::advance() {
  if (pos_ >= src_.size()) return;
  if (src_[pos_] == '\n') {
    ++line_;
    col_ = 1;
  } else {
    ++col_;
  }
  ++pos_;
}

void Lexer::skip_space_and_comments() {
  for (;;) {
    char c = peek();
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      advance();
    } else if (c == '/' && peek(1) == '/') {
      while (pos_ < src_.size() && peek() != '\n') advance();
    } else {
      return;
    }
  }
}

Token Lexer::lex_number(SourceLoc loc, size_t begin) {
  // -? digits ('.' digits)? ([eE] [+-]? digits)?   or   -? (inf | nan)
  bool is_float = false;
  if (peek() == '-') advance();
  if (!is_digit(peek())) {
    size_t word = pos_;
    while (is_ident_char(peek())) advance();
    std::string_view w = src_.substr(word, pos_ - word);
    if (w == "inf" || w == "nan") return {Tok::Float, src_.substr(begin, pos_ - begin), loc};
    throw LexError{"expected a number after '-'", loc};
  }
  while (is_digit(peek())) advance();
  if (peek() == '.' && is_digit(peek(1))) {
    is_float = true;
    advance();
    while (is_digit(peek())) advance();
  }
  if ((peek() == 'e' || peek() == 'E') &&
      (is_digit(peek(1)) || ((peek(1) == '+' || peek(1) == '-') && is_digit(peek(2))))) {
    is_float = true;
    advance();
    if (peek() == '+' || peek() == '-') advance();
    while (is_digit(peek())) advance();
  }
  if (is_ident_char(peek()) || peek() == '.') {
    while (is_ident_char(peek()) || peek() == '.') advance();
    throw LexError{fmt::format("malformed number '{}'", src_.substr(begin, std::min<size_t>(pos_ - begin, 40))),
                   loc};
  }
  return {is_float ? Tok::Float : Tok::Integer, src_.substr(begin, pos_ - begin), loc};
}

Token Lexer::lex_name(Tok kind, SourceLoc loc) {
  char sigil = peek();
  advance();
  size_t begin = pos_;
  while (is_name_char(peek())) advance();
  if (pos_ == begin)
    throw LexError{fmt::format("expected a name after '{}'", sigil), loc};
  return {kind, src_.substr(begin, pos_ - begin), loc};
}

Token Lexer::next() {
  skip_space_and_comments();
  SourceLoc loc{line_, col_};
  size_t begin = pos_;
  if (pos_ >= src_.size()) return {Tok::Eof, src_.substr(pos_, 0), loc};
  char c = peek();
  auto single = [&](Tok kind) {
    advance();
    return Token{kind, src_.substr(begin, 1), loc};
  };
  switch (c) {
    case '(': return single(Tok::LParen);
    case ')': return single(Tok::RParen);
    case '[': return single(Tok::LBracket);
    case ']': return single(Tok::RBracket);
    case '{': return single(Tok::LBrace);
    case '}': return single(Tok::RBrace);
    case ',': return single(Tok::Comma);
    case ':': return single(Tok::Colon);
    case '=': return single(Tok::Equal);
    case '%': return lex_name(Tok::ValueName, loc);
    case '@': return lex_name(Tok::FuncName, loc);
    default: break;
  }
  if (c == '-' && peek(1) == '>') {
    advance();
    advance();
    return {Tok::Arrow, src_.substr(begin, 2), loc};
  }
  if (c == '-' || is_digit(c)) return lex_number(loc, begin);
  if (is_ident_start(c)) {
    while (is_ident_char(peek())) advance();
    return {Tok::Ident, src_.substr(begin, pos_ - begin), loc};
  }
  throw LexError{fmt::format("unexpected character {}", describe_char(c)), loc};
}

}  // namespace nabla
