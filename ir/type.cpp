#include "nabla/ir/type.h"

namespace nabla {

std::string TensorType::str() const {
  return std::string(dtype_name(dtype)) + shape_to_string(shape);
}

}  // namespace nabla
