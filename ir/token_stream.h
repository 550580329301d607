#pragma once
// The parser's view of the lexer: one token of lookahead and error reporting
// as ParseError with the full diagnostic.
#include <string>
#include <string_view>

#include "nabla/ir/diagnostic.h"
#include "nabla/ir/lexer.h"

namespace nabla {

class TokenStream {
 public:
  TokenStream(std::string_view source, std::string_view filename, int first_line);

  const Token& peek() const { return cur_; }
  bool at(Tok kind) const { return cur_.kind == kind; }
  bool at_ident(std::string_view word) const { return cur_.kind == Tok::Ident && cur_.text == word; }
  // Returns the current token and moves to the next one.
  Token take();
  // Takes a token of `kind`, or fails with "expected WHAT, got ...".
  Token expect(Tok kind, std::string_view what);
  // Takes the identifier `word`, or fails.
  Token expect_ident(std::string_view word, std::string_view what);
  // Takes the token if it is `kind`.
  bool accept(Tok kind);

  [[noreturn]] void error(SourceLoc loc, const std::string& message) const;
  // "expected WHAT, got <description of the current token>".
  [[noreturn]] void error_expected(std::string_view what) const;

  const std::string& filename() const { return filename_; }

 private:
  std::string_view source_;
  std::string filename_;
  int first_line_;
  Lexer lexer_;
  Token cur_;
};

// "'foo'", "'%x'", "end of input", ... for messages.
std::string describe(const Token& t);

}  // namespace nabla
