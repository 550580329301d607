#pragma once
// The .nabla text parser (grammar: docs/ir.md). Nodes are built through
// Function::make, so every inference error is reported at its source position.
#include <string>
#include <string_view>
#include <vector>

#include "nabla/ir/diagnostic.h"
#include "nabla/ir/function.h"

namespace nabla {

// Parses a module. Throws ParseError, whose what() reads
// `FILE:LINE:COL: error: MESSAGE`, the source line and a caret. `first_line`
// is the line number of the first line of `source` (for split input files).
Module parse(std::string_view source, std::string_view filename, int first_line = 1);
// Reads and parses a file; "-" reads stdin. Throws nabla::Error when the file
// cannot be read.
Module parse_file(const std::string& path);
// The whole content of a file ("-": stdin). Throws nabla::Error.
std::string read_source(const std::string& path);

// A piece of a split input: its text and the line number of its first line.
struct SourceChunk {
  std::string_view text;
  int first_line = 1;
};
// Splits a source at lines that read `// -----` (like mlir-opt's
// --split-input-file); the separator lines belong to no chunk.
std::vector<SourceChunk> split_source(std::string_view source);

}  // namespace nabla
