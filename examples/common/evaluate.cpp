#include "examples/common/evaluate.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace nabla::demo {

Scores score(Executable& logits, const Dataset& d, int64_t classes, const std::vector<Tensor>& params) {
  std::vector<Tensor> in;
  in.push_back(Tensor::view(const_cast<float*>(d.images.data()), DType::f32, {d.count, d.features}));
  for (const Tensor& p : params) in.push_back(p);
  std::vector<Tensor> out = {Tensor(DType::f32, {d.count, classes})};
  logits.run(in, out);
  const float* u = out[0].data_as<float>();
  Scores s;
  int64_t right = 0;
  for (int64_t i = 0; i < d.count; ++i) {
    const float* row = u + i * classes;
    auto best = static_cast<int32_t>(std::max_element(row, row + classes) - row);
    double top = row[best], total = 0;
    for (int64_t c = 0; c < classes; ++c) total += std::exp(static_cast<double>(row[c]) - top);
    s.loss += top + std::log(total) - row[d.labels[i]];  // -log softmax(row)[label]
    right += best == d.labels[i];
    s.predicted.push_back(best);
  }
  s.loss /= static_cast<double>(d.count);
  s.accuracy = static_cast<double>(right) / static_cast<double>(d.count);
  return s;
}

std::string confusion_matrix(const Dataset& d, const std::vector<int32_t>& predicted, int64_t classes) {
  std::vector<int64_t> counts(static_cast<size_t>(classes * classes));
  for (int64_t i = 0; i < d.count; ++i) ++counts[d.labels[i] * classes + predicted[i]];
  std::string text = fmt::format("confusion matrix ({} test images; rows: true class, columns: predicted)\n", d.count);
  text += "true\\pred";
  for (int64_t c = 0; c < classes; ++c) text += fmt::format("{:>6}", c);
  text += "   total  recall\n";
  for (int64_t t = 0; t < classes; ++t) {
    text += fmt::format("{:>9}", t);
    int64_t total = 0;
    for (int64_t c = 0; c < classes; ++c) {
      text += fmt::format("{:>6}", counts[t * classes + c]);
      total += counts[t * classes + c];
    }
    double recall = total ? 100.0 * static_cast<double>(counts[t * classes + t]) / static_cast<double>(total) : 0;
    text += fmt::format("{:>8}{:>7.1f}%\n", total, recall);
  }
  return text;
}

}  // namespace nabla::demo
