#include "tools/common/cli.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <iostream>

#include <fmt/format.h>

#include "nabla/runtime/error.h"

namespace nabla::cli {

std::vector<std::string> parse(std::string_view tool, int argc, char** argv,
                               std::span<const Option> table) {
  auto fail = [&](const std::string& what) { throw Error(std::string(tool) + ": " + what); };
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("-") || arg == "-") {
      positional.emplace_back(arg);
      continue;
    }
    std::string_view name = arg.substr(0, arg.find('='));
    auto spec = std::find_if(table.begin(), table.end(), [&](const Option& o) { return o.name == name; });
    if (spec == table.end()) fail("unknown option '" + std::string(arg) + "'");
    std::string_view value;
    if (name.size() < arg.size()) {
      if (spec->metavar.empty()) fail(std::string(name) + " takes no value");
      value = arg.substr(name.size() + 1);
    } else if (!spec->metavar.empty()) {
      if (i + 1 == argc) fail(std::string(name) + " expects " + std::string(spec->metavar));
      value = argv[++i];
    }
    try {
      spec->apply(value);
    } catch (const Error& e) {
      fail(std::string(name) + ": " + e.what());
    }
  }
  return positional;
}

std::optional<int64_t> parse_non_negative(std::string_view v) {
  int64_t n = 0;
  if (v.empty() || !std::isdigit(static_cast<unsigned char>(v[0]))) return std::nullopt;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return n;
}

std::string help(std::string_view usage, std::string_view description,
                 std::span<const Option> table) {
  std::string s = fmt::format("usage: {}\n{}\noptions:\n", usage, description);
  for (const Option& o : table) {
    std::string left = std::string(o.name) + (o.metavar.empty() ? "" : " " + std::string(o.metavar));
    s += fmt::format("  {:<28} {}\n", left, o.help);
  }
  return s;
}

int run_main(const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  }
  return 1;
}

}  // namespace nabla::cli
