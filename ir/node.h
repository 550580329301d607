#pragma once
// A node: one op applied to operand nodes, with attributes and a result type.
// Nodes live in a Function's body list (inputs in its input list) and know
// their users, so that replacing and erasing are cheap.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nabla/ir/attrs.h"
#include "nabla/ir/op.h"
#include "nabla/ir/type.h"

namespace nabla {

class Function;

// A position in a .nabla source text (1-based); line 0 means "no position".
struct SourceLoc {
  int line = 0;
  int col = 0;
  bool valid() const { return line > 0; }
};

class Node {
 public:
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  Op op() const { return op_; }
  const TensorType& type() const { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape& shape() const { return type_.shape; }
  const Attrs& attrs() const { return attrs_; }
  Function* function() const { return function_; }

  std::span<Node* const> operands() const { return operands_; }
  Node* operand(size_t i) const { return operands_[i]; }
  size_t num_operands() const { return operands_.size(); }
  // Every use by a node, once per operand slot (so `mul %x, %x` lists the mul
  // twice). Uses as a function result are not listed here.
  const std::vector<Node*>& users() const { return users_; }

  // Optional name from the text or the API ("x", not "%x"); empty when unnamed.
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  SourceLoc loc() const { return loc_; }
  void set_loc(SourceLoc loc) { loc_ = loc; }

  // Creation order within the function (inputs included): unique, increasing,
  // never reused. Useful for deterministic ordering and for telling the nodes
  // created after some point (e.g. by build-grad) from the earlier ones.
  uint64_t serial() const { return serial_; }

  // For `fused` nodes: the body computing the result from the operands
  // (ir/fused.h); for `scan` and `while`, the loop body (ir/loop.h); null for
  // every other op. A body may have several results
  // (sibling fusion): each is one fused node, and body_result() says which.
  const Function* body() const { return body_.get(); }
  const std::shared_ptr<const Function>& shared_body() const { return body_; }
  int body_result() const { return body_result_; }
  void set_body(std::shared_ptr<const Function> body, int result = 0) {
    body_ = std::move(body);
    body_result_ = result;
  }

  // For `while` nodes: the condition body (ir/loop.h); null for every other op.
  const Function* cond() const { return cond_.get(); }
  const std::shared_ptr<const Function>& shared_cond() const { return cond_; }
  void set_cond(std::shared_ptr<const Function> cond) { cond_ = std::move(cond); }

  // For inputs: the position in the function's input list.
  int input_index() const { return input_index_; }

  // Rewires operand i to `v`, keeping use lists in sync.
  void set_operand(size_t i, Node* v);
  // Changes the recorded attributes/type (used by passes that rewrite in place).
  void set_attrs(Attrs attrs) { attrs_ = std::move(attrs); }
  void set_type(TensorType type) { type_ = std::move(type); }

  // Body-list neighbours (nullptr at the ends, and for inputs).
  Node* prev() const { return prev_; }
  Node* next() const { return next_; }

 private:
  friend class Function;
  Node(Op op, std::vector<Node*> operands, Attrs attrs, TensorType type)
      : op_(op), operands_(std::move(operands)), attrs_(std::move(attrs)),
        type_(std::move(type)) {}

  Op op_;
  std::vector<Node*> operands_;
  Attrs attrs_;
  TensorType type_;
  std::vector<Node*> users_;
  std::string name_;
  SourceLoc loc_;
  int input_index_ = -1;
  std::shared_ptr<const Function> body_;
  std::shared_ptr<const Function> cond_;
  int body_result_ = 0;
  uint64_t serial_ = 0;
  Function* function_ = nullptr;
  Node* prev_ = nullptr;
  Node* next_ = nullptr;
};

// A handle to a node, the value type of the builder API (ir/builder.h).
struct Value {
  Node* node = nullptr;
  Value() = default;
  Value(Node* n) : node(n) {}  // NOLINT(implicit)
  Node* operator->() const { return node; }
  operator Node*() const { return node; }  // NOLINT(implicit)
  const TensorType& type() const { return node->type(); }
};

}  // namespace nabla
