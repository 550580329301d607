#pragma once
// Functions and modules. A function has named, typed inputs, a body of nodes in
// topological order (an intrusive list) and one or more results.
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nabla/ir/node.h"

namespace nabla {

class Module;

class Function {
 public:
  explicit Function(std::string name, Module* parent = nullptr);
  ~Function();
  Function(const Function&) = delete;
  Function& operator=(const Function&) = delete;

  const std::string& name() const { return name_; }
  Module* parent() const { return parent_; }

  // Adds an input. Throws nabla::Error on a duplicate name.
  Value input(std::string name, TensorType type);
  const std::vector<Node*>& inputs() const { return inputs_; }
  Node* find_input(std::string_view name) const;

  // Appends a result.
  void output(Value v);
  const std::vector<Node*>& results() const { return results_; }
  void set_result(size_t i, Node* v) { results_[i] = v; }
  void clear_results() { results_.clear(); }

  // Builds a node, inferring (and checking) its type; attributes are normalized.
  // Throws nabla::Error naming the op and the operand types. The node is
  // inserted at the insertion point (the end of the body by default).
  Value make(Op op, std::vector<Node*> operands, Attrs attrs = {});
  // Inserts a node whose type is already known (no inference: for passes that
  // clone or rebuild nodes; run the verifier afterwards).
  Node* create(Op op, std::vector<Node*> operands, Attrs attrs, TensorType type);

  // New nodes go before `before` (nullptr: at the end).
  void set_insertion_point(Node* before) { insert_before_ = before; }
  Node* insertion_point() const { return insert_before_; }

  // Replaces every use of `from` (operands and results) by `to`.
  void replace_all_uses(Node* from, Node* to);
  // Removes a body node that has no users and is no result; deletes it.
  void erase(Node* n);
  // Moves body node n to just before `before` (nullptr: the end).
  void move_before(Node* n, Node* before);

  // Iteration over the body in order. Safe to erase the current node when
  // iterating with an explicit `next` saved first.
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Node*;
    using difference_type = std::ptrdiff_t;
    using pointer = Node**;
    using reference = Node*;
    iterator() = default;
    explicit iterator(Node* n) : n_(n) {}
    Node* operator*() const { return n_; }
    iterator& operator++() { n_ = n_->next(); return *this; }
    iterator operator++(int) { iterator t = *this; ++*this; return t; }
    bool operator==(const iterator&) const = default;
   private:
    Node* n_ = nullptr;
  };
  iterator begin() const { return iterator(head_); }
  iterator end() const { return iterator(nullptr); }
  Node* front() const { return head_; }
  Node* back() const { return tail_; }
  size_t size() const { return size_; }
  // Body nodes as a vector (a snapshot).
  std::vector<Node*> nodes() const;

  // The serial number the next created node will get (see Node::serial).
  uint64_t next_serial() const { return next_serial_; }

  // Names: a unique name derived from `base` (for passes that name new nodes).
  std::string unique_name(std::string_view base) const;

  // Running totals of body edits (nodes created, erased, and nodes whose uses
  // were redirected by replace_all_uses), read by the pass manager's statistics.
  struct EditCounts {
    uint64_t created = 0, erased = 0, replaced = 0;
  };
  const EditCounts& edit_counts() const { return edits_; }

 private:
  friend class Node;
  friend class Module;
  void link(Node* n, Node* before);
  void unlink(Node* n);

  std::string name_;
  Module* parent_;
  std::vector<Node*> inputs_;  // owned
  std::vector<Node*> results_;
  Node* head_ = nullptr;  // owned list
  Node* tail_ = nullptr;
  size_t size_ = 0;
  Node* insert_before_ = nullptr;
  EditCounts edits_;
  uint64_t next_serial_ = 0;
};

// RAII: sets a function's insertion point and restores it.
class InsertionGuard {
 public:
  InsertionGuard(Function& f, Node* before) : f_(f), saved_(f.insertion_point()) {
    f.set_insertion_point(before);
  }
  ~InsertionGuard() { f_.set_insertion_point(saved_); }
 private:
  Function& f_;
  Node* saved_;
};

class Module {
 public:
  Module() = default;
  Module(Module&& other) noexcept;
  Module& operator=(Module&& other) noexcept;

  // Returns the function with this name, creating it if absent.
  Function& function(std::string_view name);
  // Creates a function; throws nabla::Error if the name exists.
  Function& add_function(std::string_view name);
  // The function with this name, or null (constant time).
  Function* find(std::string_view name) const;
  // The functions in the order they were added.
  std::vector<Function*> functions() const;
  void remove(std::string_view name);

  // The file the module was parsed from, for diagnostics (empty otherwise).
  const std::string& source_name() const { return source_name_; }
  void set_source_name(std::string name) { source_name_ = std::move(name); }

 private:
  std::vector<std::unique_ptr<Function>> functions_;
  std::unordered_map<std::string_view, Function*> by_name_;  // keys view the functions' names
  std::string source_name_;
};

// Type inference for one op: checks operand types and attributes, normalizes
// the attributes in place, and returns the result type. Throws nabla::Error
// with a message such as "add: cannot broadcast f32[4] with f32[3]".
TensorType infer_type(Op op, std::span<const TensorType> operands, Attrs& attrs);

}  // namespace nabla
