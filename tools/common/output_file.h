#pragma once
// Writing tool outputs all or nothing: the bytes go to a temporary file beside
// the target, renamed over it only when complete, so a failure never leaves a
// half-written file.
#include <string>
#include <string_view>

namespace nabla {

// Writes `bytes` to `path` atomically; "" or "-" writes to stdout. Throws
// nabla::Error naming the path on failure.
void write_output(const std::string& path, std::string_view bytes);

// Removes any file at `path` (used when a later step of a tool fails).
void remove_output(const std::string& path);

}  // namespace nabla
