#pragma once
// The .nabla lexer: turns source text into tokens with 1-based line/column
// positions. `//` starts a comment that runs to the end of the line.
#include <string>
#include <string_view>
#include <vector>

#include "nabla/ir/node.h"

namespace nabla {

enum class Tok : uint8_t {
  Eof,
  Ident,      // func, return, wrt, add, f32, true, inf, ...
  ValueName,  // %x, %0 (text holds the name without '%')
  FuncName,   // @f (text holds the name without '@')
  Integer,    // 12, -3
  Float,      // 1.5, -2e-3, -inf (a number with '.' or an exponent, or +-inf/nan)
  LParen, RParen, LBracket, RBracket, LBrace, RBrace,
  Comma, Colon, Equal, Arrow,
};

// "'('", "an integer", ... for messages.
std::string_view token_kind_name(Tok kind);

struct Token {
  Tok kind = Tok::Eof;
  std::string_view text;  // points into the source
  SourceLoc loc;
};

class Lexer {
 public:
  // `first_line` numbers the first line of `source` (for split input files).
  explicit Lexer(std::string_view source, int first_line = 1);
  // The next token; throws LexError on a character that starts no token.
  Token next();

 private:
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0';
  }
  void advance();
  void skip_space_and_comments();
  Token lex_number(SourceLoc loc, size_t begin);
  Token lex_name(Tok kind, SourceLoc loc);

  std::string_view src_;
  size_t pos_ = 0;
  int line_;
  int col_ = 1;
};

// A lexical error: the bare message and where it happened (the parser turns
// it into a ParseError with the full diagnostic).
struct LexError {
  std::string message;
  SourceLoc loc;
};

}  // namespace nabla
