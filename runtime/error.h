#pragma once
// Two exception types, as Halide's user_error and internal_error:
//
// - nabla::Error: bad user input, a wrong shape, a malformed file, a bad
//   argument. Messages are sentence fragments of the form "op: what is
//   wrong", never codes; tests check them verbatim.
// - nabla::InternalError: a broken invariant of nabla itself (a bug, not the
//   input's fault), thrown where the code finds it. Its message reads
//   "internal error: WHAT (at FILE:LINE)", FILE relative to the source tree.
//
// InternalError derives from Error on purpose: every place that reports an
// Error (the tools, the demos, nabla-opt's per-chunk errors) reports an
// internal one too, instead of letting it end the program. Code that must
// tell them apart catches InternalError first. The tools print an internal
// error as "TOOL: internal error: ..." with a request to report it, and exit
// with code 1, as for any other error (docs/cli.md).
#include <source_location>
#include <stdexcept>
#include <string>

namespace nabla {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message, std::source_location where = std::source_location::current());
  // The message without the "internal error: " prefix and the location.
  const std::string& message() const { return message_; }
  // Where it was thrown: the file relative to nabla's source tree, and the line.
  const std::string& file() const { return file_; }
  unsigned line() const { return line_; }

 private:
  InternalError(const std::string& message, std::string file, unsigned line);
  std::string message_;
  std::string file_;
  unsigned line_;
};

}  // namespace nabla
