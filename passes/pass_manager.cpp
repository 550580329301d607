#include "passes/pass_manager.h"

#include <algorithm>
#include <cctype>
#include <ostream>

#include <fmt/format.h>

#include "passes/registry.h"
#include "runtime/error.h"

namespace nabla {

std::string_view default_pipeline() {
  return "repeat(simplify,transpose-fold,cse,dce)";
}

// One pipeline entry: a pass, or a repeat(...) group of entries.
struct PassManager::Entry {
  std::unique_ptr<Pass> pass;
  std::string options;  // as written between the braces, for str()
  std::vector<std::unique_ptr<Entry>> group;
  PassStatistics stats;
};

namespace {

using Entries = std::vector<std::unique_ptr<PassManager::Entry>>;

std::string registered_list() {
  std::string s;
  for (std::string_view n : registered_passes()) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

// Recursive descent over the grammar in pass_manager.h.
class PipelineParser {
 public:
  explicit PipelineParser(std::string_view text) : text_(text) {}

  Entries parse() {
    Entries entries = list();
    if (pos_ != text_.size()) fail(fmt::format("unexpected '{}'", text_[pos_]));
    return entries;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("pipeline: {} at column {} of '{}'", what, pos_ + 1, text_));
  }
  bool eat(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) { ++pos_; return true; }
    return false;
  }
  static bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  }
  std::string_view word() {
    size_t b = pos_;
    while (pos_ < text_.size() && name_char(text_[pos_])) ++pos_;
    return text_.substr(b, pos_ - b);
  }

  Entries list() {
    Entries entries;
    do entries.push_back(entry());
    while (eat(','));
    return entries;
  }

  std::unique_ptr<PassManager::Entry> entry() {
    size_t at = pos_;
    std::string_view name = word();
    if (name.empty()) fail("expected a pass name");
    auto e = std::make_unique<PassManager::Entry>();
    if (name == "repeat" && eat('(')) {
      e->group = list();
      if (!eat(')')) fail("expected ')'");
      e->stats.name = "repeat";
      return e;
    }
    e->pass = create_pass(name);
    if (!e->pass) {
      pos_ = at;
      fail(fmt::format("unknown pass '{}' (registered: {})", name, registered_list()));
    }
    e->stats.name = std::string(name);
    if (eat('{')) options(*e);
    return e;
  }

  void options(PassManager::Entry& e) {
    size_t b = pos_;
    while (true) {
      while (eat(' ')) {}
      if (eat('}')) break;
      size_t at = pos_;
      std::string_view key = word();
      if (key.empty()) fail("expected an option name or '}'");
      std::string_view value = "true";
      if (eat('=')) {
        value = word();
        if (value.empty()) fail("expected an option value");
      }
      if (!e.pass->set_option(key, value)) {
        pos_ = at;
        fail(fmt::format("pass '{}' has no option '{}'", e.pass->name(), key));
      }
    }
    e.options = std::string(text_.substr(b, pos_ - 1 - b));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

void append_str(const Entries& entries, std::string& out) {
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i) out += ',';
    const PassManager::Entry& e = *entries[i];
    if (e.pass) {
      out += e.pass->name();
      if (!e.options.empty()) out += "{" + e.options + "}";
    } else {
      out += "repeat(";
      append_str(e.group, out);
      out += ")";
    }
  }
}

void collect_stats(const Entries& entries, int depth, std::vector<PassStatistics>& out) {
  for (const auto& e : entries) {
    out.push_back(e->stats);
    out.back().depth = depth;
    out.back().is_repeat = !e->pass;
    collect_stats(e->group, depth + 1, out);
  }
}

}  // namespace

PassManager::PassManager(PassManagerOptions options) : options_(std::move(options)) {}
PassManager::~PassManager() = default;
PassManager::PassManager(PassManager&&) noexcept = default;
PassManager& PassManager::operator=(PassManager&&) noexcept = default;

PassManager& PassManager::add(std::string_view pipeline) {
  for (auto& e : PipelineParser(pipeline).parse()) entries_.push_back(std::move(e));
  return *this;
}

PassManager& PassManager::add(std::unique_ptr<Pass> pass) {
  if (!pass) throw Error("pipeline: null pass");
  auto e = std::make_unique<Entry>();
  e->stats.name = std::string(pass->name());
  e->pass = std::move(pass);
  entries_.push_back(std::move(e));
  return *this;
}

PassManager& PassManager::add_repeat(std::string_view pipeline) {
  auto e = std::make_unique<Entry>();
  e->stats.name = "repeat";
  e->stats.is_repeat = true;
  e->group = PipelineParser(pipeline).parse();
  entries_.push_back(std::move(e));
  return *this;
}

namespace {

struct Runner {
  const PassManagerOptions& options;
  Module& module;

  bool run_list(Entries& entries) {
    bool changed = false;
    for (auto& e : entries) changed |= run_entry(*e);
    return changed;
  }

  bool run_entry(PassManager::Entry& e) {
    if (!e.pass) return run_repeat(e);
    bool changed = false;
    for (Function* f : module.functions()) {
      Function::EditCounts before = f->edit_counts();
      bool c = e.pass->run(*f);
      const Function::EditCounts& after = f->edit_counts();
      e.stats.runs++;
      e.stats.changed += c;
      e.stats.removed += after.erased - before.erased;
      e.stats.added += after.created - before.created;
      e.stats.replaced += after.replaced - before.replaced;
      changed |= c;
    }
    return changed;
  }

  bool run_repeat(PassManager::Entry& e) {
    bool changed = false;
    for (int round = 0; round < options.max_repeat; ++round) {
      e.stats.runs++;
      if (!run_list(e.group)) break;
      e.stats.changed++;
      changed = true;
    }
    return changed;
  }
};

}  // namespace

bool PassManager::run(Module& m) {
  Runner runner{options_, m};
  return runner.run_list(entries_);
}

std::string PassManager::str() const {
  std::string s;
  append_str(entries_, s);
  return s;
}

std::vector<PassStatistics> PassManager::statistics() const {
  std::vector<PassStatistics> out;
  collect_stats(entries_, 0, out);
  return out;
}

void PassManager::print_statistics(std::ostream& os) const {
  std::vector<PassStatistics> rows = statistics();
  size_t width = 4;
  for (const PassStatistics& r : rows) width = std::max(width, 2 * r.depth + r.name.size());
  os << "pass statistics (runs: once per function, or rounds of a repeat group):\n";
  os << fmt::format("  {:<{}}  {:>6}  {:>7}  {:>7}  {:>7}  {:>8}\n", "pass", width, "runs",
                    "changed", "removed", "added", "replaced");
  for (const PassStatistics& r : rows) {
    std::string name = std::string(2 * r.depth, ' ') + r.name;
    if (r.is_repeat)
      os << fmt::format("  {:<{}}  {:>6}  {:>7}\n", name, width, r.runs, r.changed);
    else
      os << fmt::format("  {:<{}}  {:>6}  {:>7}  {:>7}  {:>7}  {:>8}\n", name, width, r.runs,
                        r.changed, r.removed, r.added, r.replaced);
  }
}

bool run_default_pipeline(Module& m, PassManagerOptions options) {
  PassManager pm(std::move(options));
  pm.add(default_pipeline());
  return pm.run(m);
}

}  // namespace nabla
