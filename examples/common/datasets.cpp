#include "examples/common/datasets.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include <zlib.h>

#include "nabla/runtime/error.h"

namespace nabla::demo {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what);
}

uint32_t read_be32(const std::string& bytes, size_t& at, const std::string& path) {
  if (bytes.size() - at < 4) fail(path, "truncated IDX header");
  auto b = [&](size_t i) { return uint32_t{static_cast<unsigned char>(bytes[at + i])}; };
  uint32_t v = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
  at += 4;
  return v;
}

// The whole file, decompressed when it is gzipped (zlib reads a file that
// is not as it is).
std::string read_maybe_gzipped(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail(path, "cannot open file");
  std::string bytes;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(f, buffer, sizeof buffer)) > 0) bytes.append(buffer, static_cast<size_t>(n));
  int code = 0;
  std::string what = n < 0 ? gzerror(f, &code) : "";
  gzclose(f);
  if (n < 0) fail(path, "cannot decompress (" + what + ")");
  return bytes;
}

// DIR/NAME, or DIR/NAME.gz when only that exists.
std::string idx_path(const std::string& dir, const std::string& name) {
  std::string plain = dir + "/" + name, gz = plain + ".gz";
  return !std::filesystem::exists(plain) && std::filesystem::exists(gz) ? gz : plain;
}

void finish_classes(Dataset& d) {
  int32_t top = 0;
  for (int32_t l : d.labels) top = std::max(top, l);
  d.classes = d.labels.empty() ? 0 : top + 1;
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
  std::string im = read_maybe_gzipped(images_path), lb = read_maybe_gzipped(labels_path);
  size_t at_im = 0, at_lb = 0;
  if (read_be32(im, at_im, images_path) != 0x803) fail(images_path, "not an IDX image file (magic)");
  if (read_be32(lb, at_lb, labels_path) != 0x801) fail(labels_path, "not an IDX label file (magic)");
  uint32_t n = read_be32(im, at_im, images_path), rows = read_be32(im, at_im, images_path),
           cols = read_be32(im, at_im, images_path);
  uint32_t nl = read_be32(lb, at_lb, labels_path);
  if (n != nl)
    fail(labels_path, std::to_string(nl) + " labels for " + std::to_string(n) + " images");
  if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096 || n > 100000000)
    fail(images_path, "implausible dimensions");
  Dataset d;
  d.count = n;
  d.features = int64_t{rows} * cols;
  auto pixels = static_cast<size_t>(d.count * d.features);
  if (im.size() - at_im < pixels) fail(images_path, "truncated image data");
  if (lb.size() - at_lb < n) fail(labels_path, "truncated label data");
  d.images.resize(pixels);
  for (size_t i = 0; i < pixels; ++i) d.images[i] = static_cast<unsigned char>(im[at_im + i]) / 255.0f;
  for (size_t i = 0; i < n; ++i) {
    auto l = static_cast<unsigned char>(lb[at_lb + i]);
    if (l > 9) fail(labels_path, "label " + std::to_string(l) + " is above 9");
    d.labels.push_back(l);
  }
  finish_classes(d);
  return d;
}

void load_mnist(const std::string& dir, Dataset& train, Dataset& test) {
  train = load_idx(idx_path(dir, "train-images-idx3-ubyte"), idx_path(dir, "train-labels-idx1-ubyte"));
  test = load_idx(idx_path(dir, "t10k-images-idx3-ubyte"), idx_path(dir, "t10k-labels-idx1-ubyte"));
  if (test.features != train.features) fail(dir, "train and t10k images differ in size");
  train.classes = test.classes = std::max(train.classes, test.classes);
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
