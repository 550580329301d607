#include "examples/train_digits/datasets.h"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include "nabla/runtime/error.h"

namespace nabla::demo {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what);
}

uint32_t read_be32(std::istream& in, const std::string& path) {
  unsigned char b[4];
  if (!in.read(reinterpret_cast<char*>(b), 4)) fail(path, "truncated IDX header");
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

void finish_classes(Dataset& d) {
  int32_t top = 0;
  for (int32_t l : d.labels) top = std::max(top, l);
  d.classes = d.labels.empty() ? 0 : top + 1;
}

void append(Dataset& to, const Dataset& from) {
  to.images.insert(to.images.end(), from.images.begin(), from.images.end());
  to.labels.insert(to.labels.end(), from.labels.begin(), from.labels.end());
  to.count += from.count;
  to.classes = std::max(to.classes, from.classes);
}

}  // namespace

Dataset load_digits_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, "cannot open file");
  Dataset d;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    std::vector<long> values;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      char* end = nullptr;
      long v = std::strtol(cell.c_str(), &end, 10);
      if (cell.empty() || *end != '\0' || v < 0 || v > 255)
        fail(path, "line " + std::to_string(line_no) + ": '" + cell + "' is not a pixel or label");
      values.push_back(v);
    }
    if (values.size() < 2) fail(path, "line " + std::to_string(line_no) + ": too few columns");
    int64_t features = static_cast<int64_t>(values.size()) - 1;
    if (d.features == 0) d.features = features;
    if (features != d.features)
      fail(path, "line " + std::to_string(line_no) + ": " + std::to_string(values.size()) +
                     " columns, expected " + std::to_string(d.features + 1));
    if (values.back() > 9) fail(path, "line " + std::to_string(line_no) + ": label above 9");
    for (int64_t i = 0; i < features; ++i)
      d.images.push_back(static_cast<float>(values[i]) / 16.0f);
    d.labels.push_back(static_cast<int32_t>(values.back()));
    ++d.count;
  }
  if (d.count == 0) fail(path, "no data");
  finish_classes(d);
  return d;
}

Dataset load_idx(const std::string& images_path, const std::string& labels_path) {
  std::ifstream im(images_path, std::ios::binary), lb(labels_path, std::ios::binary);
  if (!im) fail(images_path, "cannot open file");
  if (!lb) fail(labels_path, "cannot open file");
  if (read_be32(im, images_path) != 0x803) fail(images_path, "not an IDX image file (magic)");
  if (read_be32(lb, labels_path) != 0x801) fail(labels_path, "not an IDX label file (magic)");
  uint32_t n = read_be32(im, images_path), rows = read_be32(im, images_path),
           cols = read_be32(im, images_path);
  uint32_t nl = read_be32(lb, labels_path);
  if (n != nl)
    fail(labels_path, std::to_string(nl) + " labels for " + std::to_string(n) + " images");
  if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096 || n > 100000000)
    fail(images_path, "implausible dimensions");
  Dataset d;
  d.count = n;
  d.features = int64_t{rows} * cols;
  std::vector<unsigned char> pixels(static_cast<size_t>(d.count * d.features));
  if (!im.read(reinterpret_cast<char*>(pixels.data()), static_cast<std::streamsize>(pixels.size())))
    fail(images_path, "truncated image data");
  std::vector<unsigned char> labels(n);
  if (!lb.read(reinterpret_cast<char*>(labels.data()), n)) fail(labels_path, "truncated label data");
  d.images.resize(pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i) d.images[i] = pixels[i] / 255.0f;
  for (unsigned char l : labels) {
    if (l > 9) fail(labels_path, "label " + std::to_string(l) + " is above 9");
    d.labels.push_back(l);
  }
  finish_classes(d);
  return d;
}

Dataset load_mnist(const std::string& dir) {
  Dataset d = load_idx(dir + "/train-images-idx3-ubyte", dir + "/train-labels-idx1-ubyte");
  std::ifstream probe(dir + "/t10k-images-idx3-ubyte");
  if (probe) {
    Dataset t = load_idx(dir + "/t10k-images-idx3-ubyte", dir + "/t10k-labels-idx1-ubyte");
    if (t.features != d.features) fail(dir, "train and t10k images differ in size");
    append(d, t);
  }
  return d;
}

void split(const Dataset& all, double train_fraction, uint64_t seed, Dataset& train,
           Dataset& test) {
  std::vector<int64_t> order(all.count);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  for (int64_t i = all.count - 1; i > 0; --i)  // Fisher-Yates, platform independent
    std::swap(order[i], order[rng() % static_cast<uint64_t>(i + 1)]);
  int64_t n_train = static_cast<int64_t>(train_fraction * static_cast<double>(all.count));
  for (Dataset* d : {&train, &test}) {
    *d = Dataset{};
    d->features = all.features;
    d->classes = all.classes;
  }
  for (int64_t i = 0; i < all.count; ++i) {
    Dataset& d = i < n_train ? train : test;
    const float* img = all.images.data() + order[i] * all.features;
    d.images.insert(d.images.end(), img, img + all.features);
    d.labels.push_back(all.labels[order[i]]);
    ++d.count;
  }
}

}  // namespace nabla::demo
