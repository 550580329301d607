#pragma once
// A pass transforms one function in place and says whether it changed it.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "nabla/ir/function.h"

namespace nabla {

class Pass;
std::unique_ptr<Pass> create_pass(std::string_view name);

class Pass {
 public:
  virtual ~Pass() = default;
  // The name the pass is registered under in passes/passes.def (create_pass
  // gives it), or the one given to the constructor by a pass outside the
  // registry.
  std::string_view name() const { return name_; }
  // Runs on one function; returns true when it changed something.
  virtual bool run(Function& f) = 0;
  // Sets an option given in a pipeline string (`simplify{unsafe-math}` gives
  // key "unsafe-math", value "true"). Returns false when the pass has no such
  // option; throws nabla::Error for a bad value, one message per kind:
  //   PASS: option KEY takes true or false, got 'VALUE'
  //   PASS: option KEY takes a non-negative integer, got 'VALUE'
  bool set_option(std::string_view key, std::string_view value);
  // The options the pass takes, in declaration order.
  std::vector<std::string_view> option_names() const;

 protected:
  explicit Pass(std::string name = {}) : name_(std::move(name)) {}
  // Declares an option KEY taking `true` or `false`; set receives the value.
  void flag_option(std::string_view key, std::function<void(bool)> set);
  void flag_option(std::string_view key, bool* flag);
  // Declares an option KEY taking a non-negative integer.
  void count_option(std::string_view key, int64_t* value);

 private:
  friend std::unique_ptr<Pass> create_pass(std::string_view name);
  struct Option {
    std::string_view key;
    std::function<void(bool)> set_flag;  // a flag option, or
    int64_t* count = nullptr;            // a count option
  };
  std::string name_;
  std::vector<Option> options_;
};

// Most passes are one free function run as `fn(f, options)`. A FunctionPass
// holds the function and its options, and the pass's factory declares which
// of them a pipeline string may set (passes/fold.cpp):
//   auto pass = make_pass<FoldOptions>(fold);
//   pass->count_option("max-elements", &pass->options().max_elements);
template <class Options>
class FunctionPass final : public Pass {
 public:
  using Fn = std::function<bool(Function&, const Options&)>;
  FunctionPass(Fn fn, Options defaults) : fn_(std::move(fn)), options_(std::move(defaults)) {}
  bool run(Function& f) override { return fn_(f, options_); }
  Options& options() { return options_; }
  using Pass::count_option;
  using Pass::flag_option;

 private:
  Fn fn_;
  Options options_;
};

template <class Options>
std::unique_ptr<FunctionPass<Options>> make_pass(typename FunctionPass<Options>::Fn fn, Options defaults = {}) {
  return std::make_unique<FunctionPass<Options>>(std::move(fn), std::move(defaults));
}

// A pass without options.
std::unique_ptr<Pass> make_pass(bool (*fn)(Function&));

}  // namespace nabla
