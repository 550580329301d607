#include "nabla/passes/registry.h"

namespace nabla {

#define NABLA_PASS(name, factory) std::unique_ptr<Pass> factory();
#include "nabla/passes/passes.def"

std::unique_ptr<Pass> create_pass(std::string_view name) {
#define NABLA_PASS(pass_name, factory) \
  if (name == pass_name) return factory();
#include "nabla/passes/passes.def"
  return nullptr;
}

std::vector<std::string_view> registered_passes() {
  return {
#define NABLA_PASS(name, factory) name,
#include "nabla/passes/passes.def"
  };
}

}  // namespace nabla
