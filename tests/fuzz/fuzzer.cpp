// A libFuzzer target for one property of tests/fuzz/properties.h, chosen by
// NABLA_FUZZ_PROPERTY when it is compiled (tests/fuzz/CMakeLists.txt):
// nabla_fuzz_parse checks the text parser, nabla_fuzz_npy the .npy reader.
// An input the property rejects (a crash, an abort, a hang, an unexpected
// exception, a failed round trip) aborts, and libFuzzer saves it.
// Built and run with -DNABLA_FUZZ=ON (docs/testing.md).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tests/fuzz/properties.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string problem = nabla::NABLA_FUZZ_PROPERTY(input);
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
