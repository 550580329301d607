#include "tools/common/cli.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <new>

#include <fmt/format.h>

#include "nabla/compiler/codegen.h"
#include "nabla/ir/diagnostic.h"
#include "nabla/runtime/error.h"

namespace nabla::cli {
namespace {

// The edit distance of a and b (insertions, deletions, substitutions).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// "unknown option '--fnuc' (did you mean '--func'?)"
std::string unknown_option(const Program& p, std::string_view arg) {
  std::string_view name = arg.substr(0, arg.find('='));
  std::string_view best;
  size_t best_distance = 3;  // suggest only close names
  std::vector<std::string_view> names = {"--help", "--version"};
  for (const Option& o : p.options) names.push_back(o.name);
  for (std::string_view n : names) {
    size_t d = edit_distance(name, n);
    if (d < best_distance) best = n, best_distance = d;
  }
  std::string s = fmt::format("unknown option '{}'", arg);
  if (!best.empty()) s += fmt::format(" (did you mean '{}'?)", best);
  return s + fmt::format("; see {} --help", p.name);
}

// Parses the -O family: -O0 .. -O3.
bool take_opt_level(const Program& p, std::string_view arg, bool& seen) {
  if (!p.opt_level || arg.size() != 3 || !arg.starts_with("-O")) return false;
  if (arg[2] < '0' || arg[2] > '3') throw Error(fmt::format("{}: the optimization levels are -O0 to -O3", arg));
  if (seen) throw Error(fmt::format("{}: the optimization level is given twice", arg));
  seen = true;
  *p.opt_level = arg[2] - '0';
  return true;
}

}  // namespace

std::optional<std::vector<std::string>> parse(const Program& p, int argc, char** argv) {
  std::vector<std::string> positional;
  std::vector<const Option*> given;
  bool opt_level_seen = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("-") || arg == "-") {
      positional.emplace_back(arg);
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      std::cout << help(p);
      return std::nullopt;
    }
    if (arg == "--version") {
      std::cout << version(p.name);
      return std::nullopt;
    }
    if (take_opt_level(p, arg, opt_level_seen)) continue;
    std::string_view name = arg.substr(0, arg.find('='));
    auto spec = std::find_if(p.options.begin(), p.options.end(), [&](const Option& o) { return o.name == name; });
    if (spec == p.options.end()) throw Error(unknown_option(p, arg));
    if (!spec->repeatable && std::find(given.begin(), given.end(), &*spec) != given.end())
      throw Error(fmt::format("{} is given twice", name));
    given.push_back(&*spec);
    std::string_view value;
    if (name.size() < arg.size()) {
      if (spec->metavar.empty()) throw Error(fmt::format("{} takes no value", name));
      value = arg.substr(name.size() + 1);
    } else if (!spec->metavar.empty()) {
      if (i + 1 == argc) throw Error(fmt::format("{} expects {}", name, spec->metavar));
      value = argv[++i];
    }
    try {
      spec->apply(value);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", name, e.what()));
    }
  }
  return positional;
}

std::string help(const Program& p) {
  std::string s = fmt::format("OVERVIEW: {}\n\nUSAGE: {} {}\n\nOPTIONS:\n", p.overview, p.name, p.usage);
  auto row = [&](std::string_view left, std::string_view text) { s += fmt::format("  {:<28} {}\n", left, text); };
  for (const Option& o : p.options)
    row(o.metavar.empty() ? std::string(o.name) : fmt::format("{} {}", o.name, o.metavar), o.help);
  if (p.opt_level) row("-O0, -O1, -O2, -O3", p.opt_level_help);
  row("-h, --help", "print this help and exit");
  row("--version", "print the versions of nabla and LLVM and exit");
  return s;
}

std::string version(std::string_view name) {
  return fmt::format("{} (nabla {})\n  LLVM version {}\n  default target: {}\n  host CPU: {}\n", name,
                     NABLA_VERSION, llvm_version(), host_triple(), host_cpu());
}

int run(const Program& p, int argc, char** argv, const std::function<int(std::vector<std::string>&)>& body) {
  exit_on_llvm_fatal_error(std::string(p.name));
  auto report = [&](std::string_view message) {
    std::cout.flush();
    if (is_diagnostic(message))
      std::cerr << message << "\n";
    else
      std::cerr << p.name << ": error: " << message << "\n";
    return 1;
  };
  try {
    std::optional<std::vector<std::string>> positional = parse(p, argc, argv);
    if (!positional) return 0;
    return body(*positional);
  } catch (const InternalError& e) {
    // A bug of nabla, not of the input: said so, and where (runtime/error.h).
    std::cout.flush();
    std::cerr << p.name << ": " << e.what() << "\n"
              << p.name << ": this is a bug in nabla, not in the input; please report it\n";
    return 1;
  } catch (const Error& e) {
    return report(e.what());
  } catch (const std::bad_alloc&) {
    return report("out of memory");
  } catch (const std::exception& e) {
    return report(e.what());
  }
}

std::string one_input(const Program& p, const std::vector<std::string>& positional) {
  if (positional.empty()) throw Error(fmt::format("no input file (see {} --help)", p.name));
  if (positional.size() > 1)
    throw Error(fmt::format("more than one input file ('{}', '{}')", positional[0], positional[1]));
  return positional[0];
}

int64_t parse_int(std::string_view v, int64_t lo, int64_t hi) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi)
    throw Error(fmt::format("expected an integer in [{}, {}], got '{}'", lo, hi, v));
  return n;
}

double parse_real(std::string_view v, double lo) {
  std::string text(v);
  char* end = nullptr;
  double x = text.empty() || std::isspace(static_cast<unsigned char>(text[0])) ? NAN : std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(x) || x < lo)
    throw Error(fmt::format("expected a number of at least {}, got '{}'", lo, v));
  return x;
}

std::string_view one_of(std::string_view v, std::span<const std::string_view> choices) {
  if (std::find(choices.begin(), choices.end(), v) != choices.end()) return v;
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i)
    list += fmt::format("{}{}", i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ", choices[i]);
  throw Error(fmt::format("unknown value '{}' ({})", v, list));
}

}  // namespace nabla::cli
