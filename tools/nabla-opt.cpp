// nabla-opt: parses a .nabla file, verifies it and prints it.
//   nabla-opt [options] FILE.nabla      (FILE "-" reads stdin)
// Errors go to stderr and the exit code is 1.
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "runtime/error.h"

namespace {

constexpr std::string_view kUsage =
    "usage: nabla-opt [options] FILE.nabla   (FILE '-' reads stdin)\n"
    "Parses, verifies and prints a module.\n"
    "options:\n"
    "  --split-input-file  treat lines '// -----' as separators between independent inputs\n"
    "  -h, --help          print this help\n";

struct Options {
  std::string input;
  bool split_input_file = false;
  bool help = false;
};

// Parses the command line; throws nabla::Error on a bad option.
Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--split-input-file") {
      o.split_input_file = true;
    } else if (arg == "-h" || arg == "--help") {
      o.help = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw nabla::Error("nabla-opt: unknown option '" + std::string(arg) + "'");
    } else if (!o.input.empty()) {
      throw nabla::Error("nabla-opt: more than one input file ('" + o.input + "', '" +
                         std::string(arg) + "')");
    } else {
      o.input = arg;
    }
  }
  if (o.input.empty() && !o.help) throw nabla::Error("nabla-opt: no input file");
  return o;
}

// Parses, verifies and transforms one module, and returns its text.
std::string process(std::string_view source, const std::string& filename, int first_line,
                    const Options&) {
  nabla::Module m = nabla::parse(source, filename, first_line);
  nabla::verify(m);
  return nabla::print(m);
}

int run(const Options& o) {
  std::string source = nabla::read_source(o.input);
  std::string filename = o.input == "-" ? "<stdin>" : o.input;
  if (!o.split_input_file) {
    std::cout << process(source, filename, 1, o);
    return 0;
  }
  // Each chunk is processed on its own; every chunk's error is reported.
  int status = 0;
  std::vector<nabla::SourceChunk> chunks = nabla::split_source(source);
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i) std::cout << "// -----\n";
    try {
      std::cout << process(chunks[i].text, filename, chunks[i].first_line, o);
    } catch (const nabla::Error& e) {
      std::cout.flush();
      std::cerr << e.what() << "\n";
      status = 1;
    }
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse_options(argc, argv);
    if (o.help) {
      std::cout << kUsage;
      return 0;
    }
    return run(o);
  } catch (const nabla::Error& e) {
    std::cout.flush();
    std::cerr << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "nabla-opt: " << e.what() << "\n";
    return 1;
  }
}
