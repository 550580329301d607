#include "examples/train_digits/accuracy.h"

#include <algorithm>

namespace nabla::demo {

double accuracy(Executable& logits, const Dataset& d, int64_t classes, const std::vector<Tensor>& params) {
  std::vector<Tensor> in;
  in.push_back(Tensor::view(const_cast<float*>(d.images.data()), DType::f32, {d.count, d.features}));
  for (const Tensor& p : params) in.push_back(p);
  std::vector<Tensor> out = {Tensor(DType::f32, {d.count, classes})};
  logits.run(in, out);
  const float* u = out[0].data_as<float>();
  int64_t right = 0;
  for (int64_t i = 0; i < d.count; ++i) {
    const float* row = u + i * classes;
    right += (std::max_element(row, row + classes) - row) == d.labels[i];
  }
  return static_cast<double>(right) / static_cast<double>(d.count);
}

}  // namespace nabla::demo
