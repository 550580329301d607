#pragma once
// A pass transforms one function in place and says whether it changed it.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
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

}  // namespace nabla
