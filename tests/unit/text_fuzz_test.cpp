// Bounded random-mutation fuzzing of the parser, and the replay of every input
// that once found a bug (tests/fuzz-corpus/parse/, and the .npy reader's
// corpus tests/fuzz-corpus/npy/). The properties are the libFuzzer targets'
// (tests/fuzz/properties.h): parse returns a module or throws ParseError; a
// returned module verifies and round-trips (print -> parse -> print gives the
// same text).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "nabla/ir/parser.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "nabla/runtime/npy.h"
#include "tests/fuzz/properties.h"

namespace nabla {
namespace NABLA_UNITY_ID {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> seeds() {
  std::vector<std::string> out;
  for (const char* dir : {"tests/lit", "examples", "tests/fuzz-corpus"}) {
    fs::path root = fs::path(NABLA_SOURCE_DIR) / dir;
    if (!fs::exists(root)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (e.path().extension() == ".nabla") files.push_back(e.path());
    std::sort(files.begin(), files.end());  // a fixed order keeps the run reproducible
    for (const fs::path& p : files) {
      std::string text = read(p);
      for (const SourceChunk& c : split_source(text)) {
        out.emplace_back(c.text);
        // Each function on its own too: more small, valid starting points.
        std::string_view rest = c.text;
        for (size_t at; (at = rest.find("\nfunc ", 1)) != std::string_view::npos;) {
          out.emplace_back(rest.substr(0, at + 1));
          rest.remove_prefix(at + 1);
        }
        if (rest.size() != c.text.size()) out.emplace_back(rest);
      }
    }
  }
  return out;
}

// Tokens worth splicing in: the format's punctuation, keywords and edge cases.
const std::vector<std::string> kDictionary = {
    "%", "@", "[", "]", "{", "}", "(", ")", ",", ":", "=", "->", "//", "\n", " ", "-",
    "%x", "%0", "%a", "@f", "func", "return", "grad", "wrt", "constant", "sum", "reshape",
    "slice", "concat", "matmul", "one_hot", "cast", "f32", "i32", "bool", "f64", "i64",
    "[]", "[[", "]]", "axes", "keepdims", "true", "false", "inf", "-inf", "nan", "1e400",
    "-0.0", "2147483648", "9223372036854775808", "-9223372036854775808", "4294967296",
    "99999999999999999999", "0", "-1", "1.5", "{axis = 0}", "{shape = [-1]}", ": f32[]",
    "\t", "\r", std::string(1, '\0'), "\xff",
};

// The [begin, end) of the word (a run of non-space bytes) at or after `pos`.
std::pair<size_t, size_t> word_at(const std::string& s, size_t pos) {
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\t'; };
  size_t b = pos;
  while (b < s.size() && space(s[b])) ++b;
  size_t e = b;
  while (e < s.size() && !space(s[e])) ++e;
  return {b, e};
}

std::string mutate(std::string s, const std::vector<std::string>& pool, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  int rounds = 1 + static_cast<int>(pick(4));
  for (int r = 0; r < rounds; ++r) {
    size_t pos = pick(s.size() + 1);
    switch (pick(8)) {
      case 6: {  // replace a word by a dictionary token
        auto [b, e] = word_at(s, pos);
        s.replace(b, e - b, kDictionary[pick(kDictionary.size())]);
        break;
      }
      case 7: {  // replace a word by a word of another seed
        const std::string& other = pool[pick(pool.size())];
        auto [ob, oe] = word_at(other, pick(other.size() + 1));
        auto [b, e] = word_at(s, pos);
        s.replace(b, e - b, other.substr(ob, oe - ob));
        break;
      }
      case 0:  // flip a byte
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng());
        break;
      case 1:  // insert a random byte
        s.insert(pos, 1, static_cast<char>(rng()));
        break;
      case 2: {  // delete a range
        size_t n = 1 + pick(16);
        if (pos < s.size()) s.erase(pos, n);
        break;
      }
      case 3:  // insert a dictionary token
        s.insert(pos, kDictionary[pick(kDictionary.size())]);
        break;
      case 4: {  // splice in a piece of another seed
        const std::string& other = pool[pick(pool.size())];
        size_t from = pick(other.size() + 1), n = pick(64);
        s.insert(pos, other.substr(from, n));
        break;
      }
      default: {  // duplicate a piece of this input (repetition, nesting)
        size_t from = pick(s.size() + 1), n = pick(32);
        std::string piece = s.substr(from, n);
        s.insert(pos, piece);
        break;
      }
    }
  }
  return s;
}

TEST(TextFuzz, SeedsHoldTheProperty) {
  std::vector<std::string> pool = seeds();
  ASSERT_GT(pool.size(), 50u);
  for (const std::string& s : pool) EXPECT_EQ(parse_round_trip_problem(s), "") << s;
}

// Seeds that parse: mutations of them get past the first lines.
std::vector<std::string> valid_seeds(const std::vector<std::string>& pool) {
  std::vector<std::string> out;
  for (const std::string& s : pool) {
    try {
      parse(s, "seed.nabla");
      out.push_back(s);
    } catch (const Error&) {
    }
  }
  return out;
}

TEST(TextFuzz, RandomMutations) {
  std::vector<std::string> pool = seeds();
  std::vector<std::string> bases = valid_seeds(pool);
  ASSERT_GT(bases.size(), 5u);
  // NABLA_FUZZ_CASES / NABLA_FUZZ_SEED run a longer campaign by hand; the
  // default run is fixed and takes well under a second.
  const char* cases_env = std::getenv("NABLA_FUZZ_CASES");
  const char* seed_env = std::getenv("NABLA_FUZZ_SEED");
  const int kCases = cases_env ? std::atoi(cases_env) : 20000;
  std::mt19937_64 rng(seed_env ? std::strtoull(seed_env, nullptr, 10) : 20240601);
  int failures = 0, parsed = 0;
  for (int i = 0; i < kCases && failures < 5; ++i) {
    // Mostly mutations of valid inputs, sometimes of error cases.
    const std::string& base = rng() % 4 ? bases[rng() % bases.size()] : pool[rng() % pool.size()];
    std::string input = mutate(base, pool, rng);
    // In a long campaign, keep the current input on disk: a crash leaves it there.
    if (cases_env) std::ofstream(fs::path(NABLA_BINARY_DIR) / "fuzz-current.nabla", std::ios::binary) << input;
    try {
      parse(input, "x");
      ++parsed;
    } catch (const Error&) {
    }
    std::string problem = parse_round_trip_problem(input);
    if (problem.empty()) continue;
    ++failures;
    // Keep the input: after the fix it belongs in tests/fuzz-corpus/.
    fs::path saved = fs::path(NABLA_BINARY_DIR) / ("fuzz-failure-" + std::to_string(i) + ".nabla");
    std::ofstream(saved, std::ios::binary) << input;
    ADD_FAILURE() << "case " << i << " (saved as " << saved << "): " << problem;
  }
  std::cout << parsed << " of " << kCases << " mutated inputs parsed\n";
}

TEST(TextFuzz, CorpusReplays) {
  fs::path root = fs::path(NABLA_SOURCE_DIR) / "tests/fuzz-corpus/parse";
  int count = 0;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.path().extension() != ".nabla") continue;
    ++count;
    std::string text = read(e.path());
    EXPECT_EQ(parse_round_trip_problem(text), "") << e.path();
    for (const SourceChunk& c : split_source(text))
      EXPECT_EQ(parse_round_trip_problem(std::string(c.text)), "") << e.path() << ":" << c.first_line;
  }
  EXPECT_GT(count, 0);
}

// The .npy fuzzer's seeds (all five dtypes, format versions 1-3, an empty
// tensor, Fortran order) hold its property, and the well-formed ones decode.
TEST(NpyFuzz, CorpusReplays) {
  fs::path root = fs::path(NABLA_SOURCE_DIR) / "tests/fuzz-corpus/npy";
  int count = 0, decoded = 0;
  for (const auto& e : fs::directory_iterator(root)) {
    ++count;
    std::string bytes = read(e.path());
    EXPECT_EQ(npy_round_trip_problem(bytes), "") << e.path();
    try {
      decode_npy(bytes, "x.npy");
      ++decoded;
    } catch (const Error& err) {
      EXPECT_EQ(std::string(err.what()), "x.npy: Fortran-order arrays are not supported (save a C-order array, e.g. np.ascontiguousarray(a))") << e.path();
    }
  }
  EXPECT_EQ(count, 8);
  EXPECT_EQ(decoded, 7);
}

}  // namespace
}  // namespace nabla
