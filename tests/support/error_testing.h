#pragma once
// The message of the error a call throws, for tests that assert messages
// verbatim: header-only and free of the compiler, so IR tests can use it too.
#include <string>
#include <utility>

#include "nabla/runtime/error.h"

namespace nabla::test {

// what() of the E (nabla::Error or a subclass such as ParseError) that fn
// throws, or "(no error)" when it returns; other exceptions propagate.
template <class E = Error, class Fn> std::string error_of(Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace nabla::test
