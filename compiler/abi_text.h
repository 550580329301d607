#pragma once
// The text of runtime/abi.h, embedded at build time (compiler/CMakeLists.txt)
// so that generated headers carry the ABI declarations without a copy here.
#include <string_view>

namespace nabla {
std::string_view abi_header_text();
}  // namespace nabla
