#pragma once
// Value names for printing a function: named values keep their names (made
// valid and unique deterministically), unnamed ones get %0, %1, ... in order.
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "nabla/ir/function.h"

namespace nabla {

// True for characters allowed in %value and @function names.
bool is_name_char(char c);
// True for a name made only of digits: the parser treats `%7` as unnamed.
bool is_numeric_name(std::string_view name);
// `name` with every character that is not a name character replaced by '_'.
std::string sanitize_name(std::string_view name);

class ValueNames {
 public:
  ValueNames() = default;
  explicit ValueNames(const Function& f);
  // "%x"; "%?" for a value that is not in the function, "%<null>" for null.
  std::string ref(const Node* n) const;

 private:
  std::unordered_map<const Node*, std::string> names_;
};

}  // namespace nabla
