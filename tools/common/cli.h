#pragma once
// Command-line handling shared by the tools: an option table (one row per
// option, with its help text), a parser that accepts `--opt VALUE` and
// `--opt=VALUE`, and a main wrapper that turns errors into "message on stderr,
// exit code 1".
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nabla::cli {

struct Option {
  std::string_view name;     // "--func"; short aliases are separate rows
  std::string_view metavar;  // empty: a flag without value
  std::string_view help;
  std::function<void(std::string_view value)> apply;
};

// Applies the options of argv[1..] in order and returns the positional
// arguments ("-" counts as positional). Throws nabla::Error, prefixed with
// `tool: `, for an unknown option, a missing or unexpected value, or an error
// thrown by an option's apply.
std::vector<std::string> parse(std::string_view tool, int argc, char** argv,
                               std::span<const Option> table);

// The value of a decimal integer in [0, INT64_MAX] that is all of v, or
// nothing (empty, a sign, other characters, overflow).
std::optional<int64_t> parse_non_negative(std::string_view v);

// "usage: ...\n<description>\noptions:\n  --opt VALUE   help\n..."
std::string help(std::string_view usage, std::string_view description,
                 std::span<const Option> table);

// Runs body(); a nabla::Error or std::exception is printed to stderr and gives
// exit code 1.
int run_main(const std::function<int()>& body);

}  // namespace nabla::cli
