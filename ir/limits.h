#pragma once
// The limits that keep any input safe, in one place: how deeply bodies nest,
// how deeply a literal's lists nest, how large a type or a constant may be.
// Beyond them an input gets a clear error (docs/ir.md, "Limits"), never a
// stack overflow or an overflowing element count.
//
// Bodies (of fused regions, of loops) are functions that nodes own, and may
// hold nodes with bodies of their own. Every walk that recurses into bodies
// (parsing, verifying, printing, interpreting, a pass or the lowering of a
// body) counts its levels with a DepthGuard, so that a deep nesting, built by
// hand or read from a file, stops with an error instead of the stack.
#include <cstdint>
#include <string>

namespace nabla {

// The deepest nesting of bodies: a function's own bodies are level 1, the
// bodies of their nodes level 2, ...
inline constexpr int kMaxBodyDepth = 64;
// The deepest list nesting of a constant literal (`[[1, 2], [3, 4]]` is 2).
inline constexpr int kMaxLiteralDepth = 32;
// The most elements a constant may have (a splat included): 2^26.
inline constexpr int64_t kMaxConstantElements = int64_t{1} << 26;
// The most elements a type may have, zero dimensions aside (so that element
// counts never overflow): 2^62.
inline constexpr int64_t kMaxTypeElements = int64_t{1} << 62;

// "bodies are nested deeper than 64 levels"
inline std::string body_depth_message() {
  return "bodies are nested deeper than " + std::to_string(kMaxBodyDepth) + " levels";
}

// One level of a recursive walk over bodies. `depth` is the walk's own count
// of the levels it is in (a member of the walk, or a thread_local for a walk
// that recurses through public functions). Entering a level beyond
// kMaxBodyDepth calls `fail(body_depth_message())`, which must throw (e.g.
// the parser's error at the body's FILE:LINE:COL); the count is then
// unchanged. Leaving the scope leaves the level.
//
//   DepthGuard level(depth_, [&](const std::string& m) { ts_.error(loc, m); });
class DepthGuard {
 public:
  template <class Fail>
  DepthGuard(int& depth, Fail&& fail) : depth_(depth) {
    if (depth_ >= kMaxBodyDepth) fail(body_depth_message());
    ++depth_;
  }
  ~DepthGuard() { --depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;

 private:
  int& depth_;
};

}  // namespace nabla
