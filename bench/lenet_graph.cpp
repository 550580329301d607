#include "bench/lenet.h"
#include "nabla/ir/builder.h"

namespace nabla::bench {

Function& build_lenet_step(Module& m, const LenetDims& d, const std::string& name) {
  Function& f = m.function(name);
  Value x = f.input("x", f32({d.batch, 1, d.side, d.side}));
  Value y = f.input("labels", i32({d.batch}));
  const char* names[] = {"W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4", "W5", "b5"};
  std::vector<Value> p;
  auto shapes = LenetParams::shapes(d);
  for (size_t i = 0; i < shapes.size(); ++i) {
    Shape s = shapes[i];
    if (i == 1 || i == 3) s = {s[0], 1, 1};  // a conv bias, broadcast over the image
    p.push_back(f.input(names[i], f32(s)));
  }
  Pool2DOptions halve{.stride = {2, 2}};
  Value h = relu(conv2d(x, p[0], {.padding = {d.pad1, d.pad1, d.pad1, d.pad1}}) + p[1]);
  h = max_pool2d(h, {2, 2}, halve);
  h = max_pool2d(relu(conv2d(h, p[2]) + p[3]), {2, 2}, halve);
  h = reshape(h, {d.batch, d.flat()});
  h = relu(matmul(h, p[4], false, true) + p[5]);
  h = relu(matmul(h, p[6], false, true) + p[7]);
  Value logits = matmul(h, p[8], false, true) + p[9];
  Value loss = cross_entropy(logits, y);
  f.output(loss);
  for (Value w : p) f.output(w - grad_op(loss, w) * static_cast<double>(d.lr));
  return f;
}

}  // namespace nabla::bench
