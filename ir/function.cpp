#include "nabla/ir/function.h"

#include <algorithm>

#include "nabla/runtime/error.h"

namespace nabla {

void Node::set_operand(size_t i, Node* v) {
  Node* old = operands_[i];
  if (old == v) return;
  auto it = std::find(old->users_.begin(), old->users_.end(), this);
  if (it != old->users_.end()) old->users_.erase(it);
  operands_[i] = v;
  v->users_.push_back(this);
}

Function::Function(std::string name, Module* parent) : name_(std::move(name)), parent_(parent) {}

Function::~Function() {
  for (Node* n = head_; n;) {
    Node* next = n->next_;
    delete n;
    n = next;
  }
  for (Node* n : inputs_) delete n;
}

Value Function::input(std::string name, TensorType type) {
  if (find_input(name))
    throw Error("function @" + name_ + ": duplicate input %" + name);
  for (int64_t d : type.shape)
    if (d < 0) throw Error("input %" + name + ": negative dimension in " + type.str());
  Node* n = new Node(Op::Input, {}, {}, std::move(type));
  n->name_ = std::move(name);
  n->function_ = this;
  n->input_index_ = static_cast<int>(inputs_.size());
  n->serial_ = next_serial_++;
  inputs_.push_back(n);
  return n;
}

Node* Function::find_input(std::string_view name) const {
  for (Node* n : inputs_)
    if (n->name() == name) return n;
  return nullptr;
}

void Function::output(Value v) {
  if (!v.node) throw Error("function @" + name_ + ": output of a null value");
  if (v->function() != this)
    throw Error("function @" + name_ + ": output belongs to function @" + v->function()->name());
  results_.push_back(v.node);
}

Value Function::make(Op op, std::vector<Node*> operands, Attrs attrs) {
  std::vector<TensorType> types;
  types.reserve(operands.size());
  for (Node* o : operands) {
    if (!o) throw Error(std::string(op_name(op)) + ": null operand");
    if (o->function() != this)
      throw Error(std::string(op_name(op)) + ": operand belongs to function @" +
                  o->function()->name() + ", not @" + name_);
    types.push_back(o->type());
  }
  TensorType t = infer_type(op, types, attrs);
  return create(op, std::move(operands), std::move(attrs), std::move(t));
}

Node* Function::create(Op op, std::vector<Node*> operands, Attrs attrs, TensorType type) {
  Node* n = new Node(op, std::move(operands), std::move(attrs), std::move(type));
  n->function_ = this;
  n->serial_ = next_serial_++;
  for (Node* o : n->operands_) o->users_.push_back(n);
  link(n, insert_before_);
  ++edits_.created;
  return n;
}

void Function::link(Node* n, Node* before) {
  n->next_ = before;
  n->prev_ = before ? before->prev_ : tail_;
  if (n->prev_) n->prev_->next_ = n; else head_ = n;
  if (before) before->prev_ = n; else tail_ = n;
  ++size_;
}

void Function::unlink(Node* n) {
  if (n->prev_) n->prev_->next_ = n->next_; else head_ = n->next_;
  if (n->next_) n->next_->prev_ = n->prev_; else tail_ = n->prev_;
  n->prev_ = n->next_ = nullptr;
  --size_;
}

void Function::replace_all_uses(Node* from, Node* to) {
  if (from == to) return;
  if (!from->users_.empty() || std::find(results_.begin(), results_.end(), from) != results_.end())
    ++edits_.replaced;
  std::vector<Node*> users = from->users_;
  for (Node* u : users)
    for (size_t i = 0; i < u->operands_.size(); ++i)
      if (u->operands_[i] == from) u->set_operand(i, to);
  for (Node*& r : results_)
    if (r == from) r = to;
}

void Function::erase(Node* n) {
  if (n->op() == Op::Input) throw Error("erase: cannot erase input %" + n->name());
  if (!n->users_.empty()) throw Error("erase: node still has users");
  if (std::find(results_.begin(), results_.end(), n) != results_.end())
    throw Error("erase: node is a result of @" + name_);
  if (insert_before_ == n) insert_before_ = n->next_;
  for (Node* o : n->operands_) {
    auto it = std::find(o->users_.begin(), o->users_.end(), n);
    if (it != o->users_.end()) o->users_.erase(it);
  }
  unlink(n);
  delete n;
  ++edits_.erased;
}

void Function::move_before(Node* n, Node* before) {
  if (n == before) return;
  if (insert_before_ == n) insert_before_ = n->next_;
  unlink(n);
  link(n, before);
}

std::vector<Node*> Function::nodes() const {
  std::vector<Node*> out;
  out.reserve(size_);
  for (Node* n : *this) out.push_back(n);
  return out;
}

std::string Function::unique_name(std::string_view base) const {
  auto taken = [&](const std::string& s) {
    if (find_input(s)) return true;
    for (Node* n : *this)
      if (n->name() == s) return true;
    return false;
  };
  std::string s(base);
  for (int i = 1; taken(s); ++i) s = std::string(base) + "." + std::to_string(i);
  return s;
}

Module::Module(Module&& other) noexcept
    : functions_(std::move(other.functions_)), by_name_(std::move(other.by_name_)),
      source_name_(std::move(other.source_name_)) {
  for (auto& f : functions_) f->parent_ = this;
}

Module& Module::operator=(Module&& other) noexcept {
  functions_ = std::move(other.functions_);
  by_name_ = std::move(other.by_name_);
  source_name_ = std::move(other.source_name_);
  for (auto& f : functions_) f->parent_ = this;
  return *this;
}

Function& Module::function(std::string_view name) {
  if (Function* f = find(name)) return *f;
  return add_function(name);
}

Function& Module::add_function(std::string_view name) {
  if (find(name)) throw Error("module: duplicate function @" + std::string(name));
  functions_.push_back(std::make_unique<Function>(std::string(name), this));
  Function* f = functions_.back().get();
  by_name_.emplace(f->name(), f);
  return *f;
}

Function* Module::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<Function*> Module::functions() const {
  std::vector<Function*> out;
  out.reserve(functions_.size());
  for (const auto& f : functions_) out.push_back(f.get());
  return out;
}

void Module::remove(std::string_view name) {
  Function* f = find(name);
  if (!f) return;
  by_name_.erase(f->name());
  std::erase_if(functions_, [&](const auto& p) { return p.get() == f; });
}

}  // namespace nabla
