#pragma once
// nabla as a GradBench tool (docs/gradbench.md): the protocol of GradBench's
// CONTRIBUTING.md (one JSON message per line on stdin, one response per line
// on stdout) and the evals, each written with nabla's public C++ API.
//
// An eval function is three steps: read the input into tensors and sizes,
// build the nabla function for those sizes (the objective with the builder,
// derivatives with nabla::grad), and write the results as the eval's output.
// The server compiles each (module, function, sizes) once, timed as
// `prepare`, and then only runs the compiled function, timed as `evaluate`.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "llvm/Support/JSON.h"
#include "nabla/compiler/compile.h"
#include "nabla/ir/function.h"
#include "nabla/runtime/error.h"
#include "nabla/runtime/tensor.h"

namespace nabla::gradbench {

// What one input becomes: the compiled function's inputs, and the sizes its
// graph is built for (the cache key; sizes that are no tensor's shape, such
// as llsq's n, belong here too).
struct Parsed {
  std::vector<Tensor> inputs;
  std::vector<int64_t> sizes;
};

struct EvalFunction {
  std::string_view module, name;
  // Throws nabla::Error naming the field that is missing or wrong.
  Parsed (*read)(const llvm::json::Object& input);
  // Adds the inputs (in read's order) and the results to f.
  void (*build)(Function& f, const std::vector<int64_t>& sizes);
  llvm::json::Value (*write)(const std::vector<Tensor>& results, const std::vector<int64_t>& sizes);
};

// Every implemented function of every module (tools/gradbench/*.cpp).
const std::vector<EvalFunction>& eval_functions();
const EvalFunction* find_function(std::string_view module, std::string_view name);
bool has_module(std::string_view module);

// Field readers for read(): each throws nabla::Error
// `field "NAME": expected ...` when the field is missing or of the wrong type.
double number_field(const llvm::json::Object& o, std::string_view name);
int64_t integer_field(const llvm::json::Object& o, std::string_view name, int64_t lo, int64_t hi);
// An array of numbers; `size` (when not negative) is the length it must have.
std::vector<double> vector_field(const llvm::json::Object& o, std::string_view name, int64_t size = -1);
// An array of `rows` arrays of `cols` numbers, row-major.
std::vector<double> matrix_field(const llvm::json::Object& o, std::string_view name, int64_t rows,
                                 int64_t cols);
llvm::json::Value to_json_array(const Tensor& t);
llvm::json::Value to_json_matrix(const Tensor& t, int64_t rows, int64_t cols);
// Writers most evals use: the first result as one number, or as a flat array.
llvm::json::Value write_scalar(const std::vector<Tensor>& results, const std::vector<int64_t>& sizes);
llvm::json::Value write_array(const std::vector<Tensor>& results, const std::vector<int64_t>& sizes);

class Server {
 public:
  explicit Server(CompileOptions options) : options_(std::move(options)) {}
  // One message (a line of JSON) in, its response (one line, no newline) out.
  // Never throws: a bad message gets `"success": false` and an `"error"`.
  std::string handle(std::string_view line);
  // The compiled functions so far (one per module, function and sizes).
  size_t num_compiled() const { return cache_.size(); }
  // Also write each module built, before the passes, as the text file
  // DIR/MODULE.FUNCTION[SIZES].nabla (for nablac, nabla-opt).
  void write_modules_to(std::string dir) { module_dir_ = std::move(dir); }
  // Also print, on stderr, where each prepare's time went: building the
  // graph (derivatives included) and compile's stats.
  void print_compile_stats(bool on) { compile_stats_ = on; }

 private:
  llvm::json::Object evaluate(const llvm::json::Object& message);
  std::map<std::string, Executable> cache_;
  CompileOptions options_;
  std::string module_dir_;
  bool compile_stats_ = false;
};

}  // namespace nabla::gradbench
