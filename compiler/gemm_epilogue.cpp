#include "nabla/compiler/gemm_epilogue.h"

#include <unordered_map>
#include <unordered_set>

#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/lower.h"
#include "nabla/compiler/lower_scalar.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

// Where a leaf of shape s holds element (b, m, n) of `out` (right-aligned
// broadcasting; fuse-matmul only fuses leaves whose batch axes all broadcast
// or none do).
GemmEpilogueOperand operand_layout(DType t, const Shape& s, const Shape& out) {
  const size_t r = out.size(), pad = r - s.size();
  auto dim = [&](size_t i) { return i < pad ? int64_t{1} : s[i - pad]; };
  GemmEpilogueOperand op;
  op.dtype = t;
  int64_t rows = dim(r - 2), cols = dim(r - 1);
  bool batched = false;
  for (size_t i = 0; i + 2 < r; ++i) batched = batched || dim(i) != 1;
  op.stride_n = cols == 1 ? 0 : 1;
  op.stride_m = rows == 1 ? 0 : cols;
  op.stride_batch = batched ? rows * cols : 0;
  return op;
}

}  // namespace

FusedGemmEpilogue fused_gemm_epilogue(KernelEnv& env, const Node& product,
                                      const std::vector<const Node*>& values) {
  FusedGemmEpilogue out;
  if (values.size() == 1 && values[0] == &product) return out;  // the plain product
  const Function* body = env.node.body();
  if (env.node.shape().size() < 2) throw Error("fused: a matmul region needs a result of rank 2 or more");
  // The body nodes the values depend on past the product.
  std::unordered_set<const Node*> wanted(values.begin(), values.end());
  std::vector<const Node*> work(values.begin(), values.end());
  while (!work.empty()) {
    const Node* n = work.back();
    work.pop_back();
    if (n == &product) continue;
    for (const Node* o : n->operands())
      if (wanted.insert(o).second) work.push_back(o);
  }
  std::vector<const Node*> leaves, nodes;
  std::vector<const Node*> order(body->inputs().begin(), body->inputs().end());
  for (const Node* n : *body)
    if (n->op() != Op::Input) order.push_back(n);  // inputs are not body nodes
  for (const Node* n : order) {
    if (!wanted.count(n) || n == &product) continue;
    if (n->op() == Op::Input || n->op() == Op::Constant) {
      leaves.push_back(n);
      out.epilogue.operands.push_back(operand_layout(n->dtype(), n->shape(), env.node.shape()));
      if (n->op() == Op::Input) {
        out.operands.push_back(env.operands.at(static_cast<size_t>(n->input_index())));
      } else {
        const Tensor& v = n->attrs().value;
        out.operands.push_back(env.kb.constant_data(v.data(), v.nbytes(), "const"));
      }
    } else {
      if (!is_loop_op(n->op())) throw Error(std::string(op_name(n->op())) + ": not an epilogue op");
      nodes.push_back(n);
    }
  }
  llvm::Module& module = env.kb.module;
  const LowerOptions& options = env.kb.options;
  const Node* prod = &product;
  std::vector<const Node*> outs = values;
  out.epilogue.apply = [=, &module, &options](llvm::IRBuilderBase& b, llvm::Value* v,
                                               const std::vector<llvm::Value*>& e) {
    KernelBuilder kb(module, options);
    kb.b.SetInsertPoint(b.GetInsertBlock(), b.GetInsertPoint());
    std::unordered_map<const Node*, llvm::Value*> computed{{prod, v}};
    for (size_t i = 0; i < leaves.size(); ++i) computed[leaves[i]] = e[i];
    for (const Node* n : nodes) {
      std::vector<llvm::Value*> args;
      for (const Node* o : n->operands()) args.push_back(computed.at(o));
      computed[n] = emit_element(kb, *n, args);
    }
    std::vector<llvm::Value*> results;
    for (const Node* r : outs) results.push_back(computed.at(r));
    return results;
  };
  out.epilogue.outputs = static_cast<int64_t>(outs.size()) - 1;
  return out;
}

}  // namespace nabla
