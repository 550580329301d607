#include "nabla/passes/pass_manager.h"

#include <algorithm>
#include <cctype>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nabla/ir/loop.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/verifier.h"
#include "nabla/passes/registry.h"
#include "nabla/runtime/error.h"

namespace nabla {

std::string_view default_pipeline() {
  return "build-grad,repeat(fold,simplify,transpose-fold,cse,dce,loop-opt)";
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
    do {
      // `default` stands for the default pipeline's entries.
      size_t at = pos_;
      if (word() == "default" && (pos_ == text_.size() || text_[pos_] == ',' || text_[pos_] == ')')) {
        for (auto& e : PipelineParser(default_pipeline()).parse()) entries.push_back(std::move(e));
      } else {
        pos_ = at;
        entries.push_back(entry());
      }
    } while (eat(','));
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
        std::vector<std::string_view> known = e.pass->option_names();
        fail(fmt::format("pass '{}' has no option '{}' ({})", e.pass->name(), key,
                         known.empty() ? "it takes none" : fmt::format("options: {}", fmt::join(known, ", "))));
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

int set_option_in(Entries& entries, std::string_view key, std::string_view value) {
  int n = 0;
  for (auto& e : entries)
    n += e->pass ? e->pass->set_option(key, value) : set_option_in(e->group, key, value);
  return n;
}

bool contains_pass(const Entries& entries, std::string_view name) {
  for (const auto& e : entries)
    if (e->pass ? e->pass->name() == name : contains_pass(e->group, name)) return true;
  return false;
}

struct Runner {
  const PassManagerOptions& options;
  Module& module;
  int round = 0;  // of the innermost repeat group, 0 outside groups

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
      // Loop bodies are functions too (ir/loop.h): the pass runs on them first.
      bool c = rewrite_bodies(*f, [&](Function& body) { return e.pass->run(body); });
      c |= e.pass->run(*f);
      const Function::EditCounts& after = f->edit_counts();
      e.stats.runs++;
      e.stats.changed += c;
      e.stats.removed += after.erased - before.erased;
      e.stats.added += after.created - before.created;
      e.stats.replaced += after.replaced - before.replaced;
      if (options.verify_each) check(e, *f, c, before);
      changed |= c;
    }
    maybe_print(e);
    return changed;
  }

  bool run_repeat(PassManager::Entry& e) {
    bool changed = false;
    int saved = round;
    for (round = 1; round <= options.max_repeat; ++round) {
      e.stats.runs++;
      if (!run_list(e.group)) break;
      e.stats.changed++;
      changed = true;
    }
    round = saved;
    return changed;
  }

  void check(const PassManager::Entry& e, const Function& f, bool changed,
             const Function::EditCounts& before) {
    try {
      verify(f);
    } catch (const Error& err) {
      throw Error(fmt::format("verify-each: after pass '{}' on @{}: {}", e.pass->name(),
                              f.name(), err.what()));
    }
    const Function::EditCounts& after = f.edit_counts();
    if (!changed && (after.created != before.created || after.erased != before.erased ||
                     after.replaced != before.replaced))
      throw Error(fmt::format("verify-each: pass '{}' reported no change to @{} but edited it",
                              e.pass->name(), f.name()));
  }

  void maybe_print(const PassManager::Entry& e) {
    std::string_view name = e.pass->name();
    const auto& names = options.print_after;
    if (!options.print_after_all && std::find(names.begin(), names.end(), name) == names.end())
      return;
    std::ostream& os = options.print_stream ? *options.print_stream : std::cerr;
    std::string where = round ? fmt::format(" (repeat round {})", round) : "";
    os << "// -----// IR Dump After " << name << where << " //----- //\n" << print(module);
  }
};

}  // namespace

int PassManager::set_option_all(std::string_view key, std::string_view value) {
  return set_option_in(entries_, key, value);
}

bool PassManager::run(Module& m) {
  for (const std::string& name : options_.print_after)
    if (!contains_pass(entries_, name))
      throw Error(fmt::format("print-after: no pass '{}' in the pipeline '{}'", name, str()));
  if (options_.verify_each) {
    try {
      verify(m);
    } catch (const Error& err) {
      throw Error(fmt::format("verify-each: before the first pass: {}", err.what()));
    }
  }
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
