#include "nabla/ir/diagnostic.h"

#include <fmt/format.h>

namespace nabla {
namespace {

// Line `line` (1-based, counted from `first_line`) of `source`, without its
// newline; nullopt-like empty view with ok=false when absent.
bool find_line(std::string_view source, int line, int first_line, std::string_view& out) {
  int current = first_line;
  size_t begin = 0;
  while (current < line) {
    size_t nl = source.find('\n', begin);
    if (nl == std::string_view::npos) return false;
    begin = nl + 1;
    ++current;
  }
  if (current != line) return false;
  size_t end = source.find('\n', begin);
  out = source.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
  if (!out.empty() && out.back() == '\r') out.remove_suffix(1);
  return true;
}

// Control bytes would garble a terminal; show them as '?'. Tabs are kept so
// that the caret line (which copies them) stays aligned.
std::string printable(std::string_view line) {
  std::string s(line);
  for (char& c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) c = '?';
  }
  return s;
}

}  // namespace

bool is_diagnostic(std::string_view message) {
  std::string_view first = message.substr(0, message.find('\n'));
  size_t at = first.find(": error: ");
  return at != std::string_view::npos && at > 0;
}

std::string diagnostic_header(std::string_view filename, SourceLoc loc, std::string_view message) {
  std::string_view file = filename.empty() ? kNoFileName : filename;
  if (!loc.valid()) return fmt::format("{}: error: {}", file, message);
  return fmt::format("{}:{}:{}: error: {}", file, loc.line, loc.col, message);
}

std::string format_diagnostic(std::string_view filename, std::string_view source, SourceLoc loc,
                              std::string_view message, int first_line) {
  std::string out = diagnostic_header(filename, loc, message);
  std::string_view line;
  if (!loc.valid() || !find_line(source, loc.line, first_line, line)) return out;
  out += '\n';
  out += printable(line);
  out += '\n';
  size_t col = static_cast<size_t>(loc.col > 0 ? loc.col - 1 : 0);
  for (size_t i = 0; i < col; ++i) out += i < line.size() && line[i] == '\t' ? '\t' : ' ';
  out += '^';
  return out;
}

}  // namespace nabla
