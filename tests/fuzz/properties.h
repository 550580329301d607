#pragma once
// The properties that the fuzzers check (tests/fuzz/*_fuzzer.cpp, built with
// clang's libFuzzer: docs/testing.md) and that the unit tests check on the
// same corpus with the normal build (tests/unit/text_fuzz_test.cpp).
// Each returns "" when the property holds, else what went wrong.
#include <string>
#include <string_view>

namespace nabla {

// parse returns a module or throws ParseError naming the file ("fuzz.nabla:");
// a returned module verifies, and print -> parse -> print gives the same text.
std::string parse_round_trip_problem(std::string_view input);

// decode_npy returns a tensor or throws nabla::Error naming the file
// ("fuzz.npy:"); a returned tensor encodes to bytes that decode to the same
// tensor, for each of the format versions 1, 2 and 3.
std::string npy_round_trip_problem(std::string_view bytes);

}  // namespace nabla
