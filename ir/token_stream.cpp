#include "nabla/ir/token_stream.h"

#include <fmt/format.h>

namespace nabla {

std::string describe(const Token& t) {
  constexpr size_t kMax = 40;  // long tokens are cut short in messages
  std::string text(t.text.substr(0, kMax));
  if (t.text.size() > kMax) text += "...";
  switch (t.kind) {
    case Tok::Eof: return "end of input";
    case Tok::ValueName: return fmt::format("'%{}'", text);
    case Tok::FuncName: return fmt::format("'@{}'", text);
    default: return fmt::format("'{}'", text);
  }
}

TokenStream::TokenStream(std::string_view source, std::string_view filename, int first_line)
    : source_(source),
      filename_(filename.empty() ? std::string(kNoFileName) : std::string(filename)),
      first_line_(first_line),
      lexer_(source, first_line) {
  try {
    cur_ = lexer_.next();
  } catch (const LexError& e) {
    error(e.loc, e.message);
  }
}

Token TokenStream::take() {
  Token t = cur_;
  if (t.kind != Tok::Eof) {
    try {
      cur_ = lexer_.next();
    } catch (const LexError& e) {
      error(e.loc, e.message);
    }
  }
  return t;
}

Token TokenStream::expect(Tok kind, std::string_view what) {
  if (cur_.kind != kind) error_expected(what);
  return take();
}

Token TokenStream::expect_ident(std::string_view word, std::string_view what) {
  if (!at_ident(word)) error_expected(what);
  return take();
}

bool TokenStream::accept(Tok kind) {
  if (cur_.kind != kind) return false;
  take();
  return true;
}

void TokenStream::error(SourceLoc loc, const std::string& message) const {
  throw ParseError(message, format_diagnostic(filename_, source_, loc, message, first_line_), loc);
}

void TokenStream::error_expected(std::string_view what) const {
  error(cur_.loc, fmt::format("expected {}, got {}", what, describe(cur_)));
}

}  // namespace nabla
