#include "bench/mlp_graph.h"

#include "nabla/ir/builder.h"

namespace nabla::bench {

Function& build_mlp_step(Module& m, const MlpDims& d, const std::string& name, bool data_parallel) {
  Function& f = m.function(name);
  Value x = f.input("x", f32({d.batch, d.in}));
  Value y = f.input("labels", i32({d.batch}));
  Value w1 = f.input("W1", f32({d.in, d.h1})), b1 = f.input("b1", f32({d.h1}));
  Value w2 = f.input("W2", f32({d.h1, d.h2})), b2 = f.input("b2", f32({d.h2}));
  Value w3 = f.input("W3", f32({d.h2, d.classes})), b3 = f.input("b3", f32({d.classes}));
  Value h1 = relu(matmul(x, w1) + b1);
  Value h2 = relu(matmul(h1, w2) + b2);
  Value logits = matmul(h2, w3) + b3;
  Value decay = sum(w1 * w1) + sum(w2 * w2) + sum(w3 * w3);
  Value loss = cross_entropy(logits, y) + decay * static_cast<double>(d.lambda);
  f.output(loss);
  for (Value p : {w1, b1, w2, b2, w3, b3}) {
    Value g = grad_op(loss, p);
    f.output(p - (data_parallel ? all_reduce(g, Reduction::mean) : g) * static_cast<double>(d.lr));
  }
  return f;
}

}  // namespace nabla::bench
