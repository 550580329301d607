#include "nabla/ir/printer_names.h"

#include <algorithm>
#include <vector>

namespace nabla {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

bool is_numeric_name(std::string_view name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string sanitize_name(std::string_view name) {
  std::string s(name);
  for (char& c : s)
    if (!is_name_char(c)) c = '_';
  return s;
}

ValueNames::ValueNames(const Function& f) {
  std::vector<const Node*> values(f.inputs().begin(), f.inputs().end());
  for (const Node* n : f) values.push_back(n);

  // Every name a value asks for is reserved, so that a renamed duplicate never
  // takes a name that a later value asks for.
  auto wanted = [](const Node* n) {
    if (n->name().empty()) return std::string();
    std::string s = sanitize_name(n->name());
    return is_numeric_name(s) ? std::string() : s;
  };
  std::unordered_set<std::string> reserved, used;
  for (const Node* n : values) reserved.insert(wanted(n));

  int64_t counter = 0;
  for (const Node* n : values) {
    std::string s = wanted(n);
    if (s.empty()) {
      s = std::to_string(counter++);
    } else if (used.count(s)) {
      std::string base = s;
      for (int i = 1; used.count(s) || reserved.count(s); ++i) s = base + "." + std::to_string(i);
    }
    used.insert(s);
    names_[n] = std::move(s);
  }
}

std::string ValueNames::ref(const Node* n) const {
  if (!n) return "%<null>";
  auto it = names_.find(n);
  return it == names_.end() ? "%?" : "%" + it->second;
}

}  // namespace nabla
