#include "nabla/passes/registry.h"

namespace nabla {

#define NABLA_PASS(name, factory) std::unique_ptr<Pass> factory();
#include "nabla/passes/passes.def"

// The one place a registered pass gets its name: its passes.def entry.
std::unique_ptr<Pass> create_pass(std::string_view name) {
  std::unique_ptr<Pass> pass;
#define NABLA_PASS(pass_name, factory) \
  if (!pass && name == pass_name) pass = factory();
#include "nabla/passes/passes.def"
  if (pass) pass->name_ = std::string(name);
  return pass;
}

std::vector<std::string_view> registered_passes() {
  return {
#define NABLA_PASS(name, factory) name,
#include "nabla/passes/passes.def"
  };
}

}  // namespace nabla
