// User errors and internal errors are different types (runtime/error.h): an
// internal error says so and names where it was thrown, still reaches the
// places that report a nabla::Error, and the tools print it as a bug.
#include <gtest/gtest.h>

#include <string>

#include "nabla/runtime/error.h"
#include "tools/common/cli.h"

namespace nabla {
namespace NABLA_UNITY_ID {

const unsigned kThrowLine = __LINE__ + 1;
[[noreturn]] void broken() { throw InternalError("lower: not a copy"); }

TEST(Errors, InternalErrorNamesItsLocation) {
  try {
    broken();
    FAIL() << "no exception";
  } catch (const InternalError& e) {
    EXPECT_EQ(e.message(), "lower: not a copy");
    EXPECT_EQ(e.file(), "tests/unit/error_test.cpp");
    EXPECT_EQ(e.line(), kThrowLine);
    EXPECT_EQ(std::string(e.what()),
              "internal error: lower: not a copy (at tests/unit/error_test.cpp:" + std::to_string(kThrowLine) + ")");
  }
}

TEST(Errors, UserAndInternalErrorsAreDistinguishable) {
  // An internal error is also an Error: existing reporters catch it.
  EXPECT_THROW(broken(), Error);
  // A user error is not an internal one, and keeps its message verbatim.
  try {
    throw Error("reshape: expected 6 elements, got 5");
  } catch (const InternalError&) {
    FAIL() << "a user error caught as an internal one";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "reshape: expected 6 elements, got 5");
  }
}

// What a tool prints for each, and its exit code (docs/cli.md).
std::string run_tool(const std::function<void()>& body, int& status) {
  cli::Program p{.name = "nabla-tool", .usage = "", .overview = "a test", .options = {}};
  char name[] = "nabla-tool";
  char* argv[] = {name, nullptr};
  testing::internal::CaptureStderr();
  status = cli::run(p, 1, argv, [&](std::vector<std::string>&) {
    body();
    return 0;
  });
  return testing::internal::GetCapturedStderr();
}

TEST(Errors, ToolsPrintInternalErrorsAsBugs) {
  int status = -1;
  EXPECT_EQ(run_tool([] { throw Error("x.nabla: no function @f"); }, status),
            "nabla-tool: error: x.nabla: no function @f\n");
  EXPECT_EQ(status, 1);
  EXPECT_EQ(run_tool(broken, status),
            "nabla-tool: internal error: lower: not a copy (at tests/unit/error_test.cpp:" + std::to_string(kThrowLine) +
                ")\nnabla-tool: this is a bug in nabla, not in the input; please report it\n");
  EXPECT_EQ(status, 1);
}

}  // namespace
}  // namespace nabla
