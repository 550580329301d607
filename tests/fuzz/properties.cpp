#include "tests/fuzz/properties.h"

#include "nabla/ir/diagnostic.h"
#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "nabla/runtime/error.h"
#include "nabla/runtime/npy.h"

namespace nabla {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// The text of the module that `input` parses to; "" with `problem` set to ""
// when it does not parse (the property holds), or to what went wrong.
std::string parse_and_print(std::string_view input, std::string& problem) {
  problem.clear();
  try {
    Module m = parse(input, "fuzz.nabla");
    try {
      verify(m);
    } catch (const Error& e) {
      problem = std::string("parsed module does not verify: ") + e.what();
      return "";
    }
    return print(m);
  } catch (const ParseError& e) {
    if (!starts_with(e.what(), "fuzz.nabla:")) problem = std::string("diagnostic without the file name: ") + e.what();
  } catch (const std::exception& e) {
    problem = std::string("exception other than ParseError: ") + e.what();
  }
  return "";
}

}  // namespace

std::string parse_round_trip_problem(std::string_view input) {
  std::string problem;
  std::string text = parse_and_print(input, problem);
  if (text.empty()) return problem;
  try {
    std::string again = print(parse(text, "printed.nabla"));
    if (again != text) return "print -> parse -> print differs:\n" + text + "\n---\n" + again;
  } catch (const std::exception& e) {
    return "printed module does not parse: " + std::string(e.what()) + "\n" + text;
  }
  return "";
}

std::string npy_round_trip_problem(std::string_view bytes) {
  Tensor t;
  try {
    t = decode_npy(bytes, "fuzz.npy");
  } catch (const Error& e) {
    if (!starts_with(e.what(), "fuzz.npy:")) return std::string("message without the file name: ") + e.what();
    return "";
  } catch (const std::exception& e) {
    return std::string("exception other than nabla::Error: ") + e.what();
  }
  for (int version : {1, 2, 3}) {
    try {
      Tensor back = decode_npy(encode_npy(t, version), "encoded.npy");
      if (!back.same_as(t))
        return "version " + std::to_string(version) + ": encode -> decode gives another tensor";
    } catch (const std::exception& e) {
      return "version " + std::to_string(version) + ": the encoded tensor does not decode: " + e.what();
    }
  }
  return "";
}

}  // namespace nabla
