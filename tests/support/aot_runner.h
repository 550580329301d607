#pragma once
// The offline compiler's code run in this process, against the interpreter:
// a function compiled as nablac compiles it (compile_ahead_of_time), its
// object linked by cc into a shared library, loaded with dlopen, and its
// entry called through the kernel ABI (runtime/abi.h).
#include <span>
#include <string>
#include <vector>

#include "nabla/compiler/aot.h"
#include "tests/support/backend_testing.h"

namespace nabla::test {

// The results of f's object on `inputs`. `dir` receives the object and the
// library. A status other than NABLA_OK throws nabla::Error with the words of
// nabla_error_message, as Executable::run does.
std::vector<Tensor> run_ahead_of_time(const Function& f, std::span<const Tensor> inputs, const std::string& dir,
                                      const AotOptions& options = {});

// compare_with_interpreter for the object: "" when every result agrees
// within `tol` (0: bit for bit, NaN matching NaN), or both fail with the
// same message.
std::string compare_aot_with_interpreter(const Function& f, std::span<const Tensor> inputs, const std::string& dir,
                                         const AotOptions& options = {}, Tolerance tol = {});

}  // namespace nabla::test
