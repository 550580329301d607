#pragma once
// The command line of nabla's programs (nablac, nabla-opt, nabla-run and the
// demos): one parser, with the conventions of LLVM's tools (docs/cli.md).
//   - An option takes its value as `--name VALUE` or `--name=VALUE` (`-o FILE`);
//     a flag takes none. An option given twice is an error unless it is
//     repeatable (`--func A --func B`).
//   - `-h` and `--help` print the help, `--version` the versions of nabla and
//     LLVM and the default target; both exit with code 0.
//   - `-O0` .. `-O3` set the optimization level of a program that has one.
//   - `-` is a positional argument: the standard input (or output).
//   - An unknown option is an error that names the closest known one.
// Errors print `PROGRAM: error: MESSAGE` on stderr (a `FILE:LINE:COL: error:`
// diagnostic as it is) and give exit code 1; an LLVM fatal error too.
//
// The project's own parser rather than llvm::cl: libLLVM registers 2,471
// options of its own in llvm::cl's one global registry, three of which have
// the names of ours (--print-after-all, --print-after, --threads), and every
// one of them would be accepted by our programs.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nabla::cli {

struct Option {
  std::string_view name;     // "--func", "-o"
  std::string_view metavar;  // empty: a flag without value
  std::string_view help;
  // Takes the value ("" for a flag); throws nabla::Error saying what is wrong
  // with it (the parser puts the option's name in front).
  std::function<void(std::string_view value)> apply;
  bool repeatable = false;
};

struct Program {
  std::string_view name;      // "nablac"
  std::string_view usage;     // after the name: "[options] FILE.nabla"
  std::string_view overview;  // one sentence
  std::vector<Option> options;
  // When set, the program takes -O0 .. -O3 into *opt_level; help text:
  std::string_view opt_level_help = {};
  int* opt_level = nullptr;
};

// Applies the options of argv[1..] in order and returns the positional
// arguments, or nothing when -h/--help or --version printed its text (to
// stdout). Throws nabla::Error for a bad command line.
std::optional<std::vector<std::string>> parse(const Program& program, int argc, char** argv);

// "OVERVIEW: ...\n\nUSAGE: NAME USAGE\n\nOPTIONS:\n  ...".
std::string help(const Program& program);
// "NAME (nabla 0.1.0)\n  LLVM version 19.1.7\n  default target: ...\n  host CPU: ...\n".
std::string version(std::string_view name);

// The whole of a program's main: parses the command line, then runs
// body(positional arguments). Errors are printed as above, with exit code 1.
int run(const Program& program, int argc, char** argv,
        const std::function<int(std::vector<std::string>& positional)>& body);

// The one input file among the positional arguments; throws "no input file
// (see NAME --help)" or "more than one input file ('a', 'b')".
std::string one_input(const Program& program, const std::vector<std::string>& positional);

// Values. Each throws nabla::Error naming what it expected.
// A decimal integer in [lo, hi]: "expected an integer in [1, 256], got 'x'".
int64_t parse_int(std::string_view v, int64_t lo, int64_t hi);
// A finite decimal number of at least lo: "expected a number of at least 0, got 'x'".
double parse_real(std::string_view v, double lo);
// One of `choices`: "unknown value 'exe' (obj, asm, llvm, nabla or dot)".
std::string_view one_of(std::string_view v, std::span<const std::string_view> choices);

}  // namespace nabla::cli
