// tests/support/aot_runner.h: nablac's code, loaded into the test.
#include "tests/support/aot_runner.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "nabla/ir/clone.h"
#include "nabla/runtime/abi.h"
#include "nabla/runtime/error.h"

namespace nabla::test {
namespace {

// The entry of `object` (bytes), built into DIR/model.so and loaded; the
// library stays loaded while the returned handle lives.
struct Library {
  void* handle = nullptr;
  ~Library() {
    if (handle) dlclose(handle);
  }
};

std::unique_ptr<Library> load(const std::string& object, const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::string o = dir + "/model.o", so = dir + "/model.so", log = dir + "/cc.log";
  std::ofstream(o, std::ios::binary) << object;
  std::string cmd = "cc -shared -o " + so + " " + o + " -lm > " + log + " 2>&1";
  if (std::system(cmd.c_str()) != 0) throw Error("aot_runner: `" + cmd + "` failed: " + read_file(log));
  auto lib = std::make_unique<Library>();
  // RTLD_LOCAL: every test's library defines the same entry symbol.
  lib->handle = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle) throw Error(std::string("aot_runner: dlopen: ") + dlerror());
  return lib;
}

}  // namespace

std::vector<Tensor> run_ahead_of_time(const Function& f, std::span<const Tensor> inputs, const std::string& dir,
                                      const AotOptions& options) {
  Module m;
  clone_function(f, m);
  AotModule aot = compile_ahead_of_time(m, options);
  const AotFunction& af = aot.functions().at(0);
  std::unique_ptr<Library> lib = load(aot.object_bytes(), dir);
  auto entry = reinterpret_cast<nabla_entry_fn>(dlsym(lib->handle, af.symbol.c_str()));
  if (!entry) throw Error("aot_runner: no symbol " + af.symbol);
  std::vector<Tensor> outputs;
  std::vector<const void*> ins;
  std::vector<void*> outs;
  for (const Tensor& t : inputs) ins.push_back(t.data());
  for (const Node* r : af.function->results()) outputs.emplace_back(r->dtype(), r->shape());
  for (Tensor& t : outputs) outs.push_back(t.data());
  size_t bytes = (af.workspace_bytes + NABLA_WORKSPACE_ALIGN - 1) / NABLA_WORKSPACE_ALIGN * NABLA_WORKSPACE_ALIGN;
  std::unique_ptr<void, decltype(&std::free)> ws(bytes ? std::aligned_alloc(NABLA_WORKSPACE_ALIGN, bytes) : nullptr,
                                                 &std::free);
  nabla_context ctx{};
  int32_t status = entry(ins.data(), outs.data(), ws.get(), &ctx);
  if (status != NABLA_OK) {
    char message[256];
    nabla_error_message(&ctx.error, message, sizeof message);
    throw Error(message);
  }
  return outputs;
}

std::string compare_aot_with_interpreter(const Function& f, std::span<const Tensor> inputs, const std::string& dir,
                                         const AotOptions& options, Tolerance tol) {
  std::vector<Tensor> want, got;
  std::string want_error;
  try {
    want = reference_results(f, inputs);
  } catch (const Error& e) {
    want_error = e.what();
  }
  try {
    got = run_ahead_of_time(f, inputs, dir, options);
  } catch (const Error& e) {
    if (want_error == e.what()) return "";
    return fmt::format("the object failed: {} (interpreter: {})", e.what(), want_error.empty() ? "no error" : want_error);
  }
  if (!want_error.empty()) return "the interpreter failed (" + want_error + ") but the object did not";
  for (size_t i = 0; i < want.size(); ++i) {
    std::string d = compare_tensors(got[i], want[i], tol);
    if (!d.empty()) return fmt::format("result {}: {}", i, d);
  }
  return "";
}

}  // namespace nabla::test
