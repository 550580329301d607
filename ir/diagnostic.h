#pragma once
// Diagnostics for .nabla text: `FILE:LINE:COL: error: MESSAGE`, then the source
// line and a caret under the column (docs/ir.md, "Diagnostics").
#include <string>
#include <string_view>

#include "nabla/ir/node.h"
#include "nabla/runtime/error.h"

namespace nabla {

// A malformed .nabla input. what() is the full diagnostic, ready to print.
class ParseError : public Error {
 public:
  ParseError(std::string message, std::string diagnostic, SourceLoc loc)
      : Error(diagnostic), message_(std::move(message)), loc_(loc) {}
  // The bare message, without the location, the source line and the caret.
  const std::string& message() const { return message_; }
  SourceLoc loc() const { return loc_; }

 private:
  std::string message_;
  SourceLoc loc_;
};

// The name used for a source without a file name.
inline constexpr std::string_view kNoFileName = "<input>";

// "FILE:LINE:COL: error: MESSAGE" (no trailing newline). Without a valid
// location: "FILE: error: MESSAGE".
std::string diagnostic_header(std::string_view filename, SourceLoc loc, std::string_view message);

// Whether a message is already a diagnostic: its first line reads
// "WHERE: error: ..." (as diagnostic_header writes it).
bool is_diagnostic(std::string_view message);

// The header, then (when `loc` is valid and `source` holds the line) a newline,
// the source line and a caret line. `first_line` is the line number of the
// first line of `source` (for a chunk cut out of a larger file).
std::string format_diagnostic(std::string_view filename, std::string_view source, SourceLoc loc,
                              std::string_view message, int first_line = 1);

}  // namespace nabla
