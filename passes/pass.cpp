#include "nabla/passes/pass.h"

#include <charconv>

#include "nabla/runtime/error.h"

namespace nabla {
namespace {

bool parse_flag(std::string_view value, bool* out) {
  if (value != "true" && value != "false") return false;
  *out = value == "true";
  return true;
}

bool parse_count(std::string_view value, int64_t* out) {
  int64_t v = -1;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < 0) return false;
  *out = v;
  return true;
}

}  // namespace

bool Pass::set_option(std::string_view key, std::string_view value) {
  for (const Option& o : options_) {
    if (o.key != key) continue;
    bool flag = false;
    if (o.count ? parse_count(value, o.count) : parse_flag(value, &flag)) {
      if (!o.count) o.set_flag(flag);
      return true;
    }
    throw Error(name_ + ": option " + std::string(key) + " takes " +
                (o.count ? "a non-negative integer" : "true or false") + ", got '" + std::string(value) + "'");
  }
  return false;
}

std::vector<std::string_view> Pass::option_names() const {
  std::vector<std::string_view> names;
  for (const Option& o : options_) names.push_back(o.key);
  return names;
}

void Pass::flag_option(std::string_view key, std::function<void(bool)> set) {
  options_.push_back({key, std::move(set), nullptr});
}

void Pass::flag_option(std::string_view key, bool* flag) {
  flag_option(key, [flag](bool v) { *flag = v; });
}

void Pass::count_option(std::string_view key, int64_t* value) { options_.push_back({key, nullptr, value}); }

std::unique_ptr<Pass> make_pass(bool (*fn)(Function&)) {
  return make_pass<std::monostate>([fn](Function& f, const std::monostate&) { return fn(f); });
}

}  // namespace nabla
