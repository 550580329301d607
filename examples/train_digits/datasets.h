#pragma once
// Image classification data for the training demo: the UCI digits CSV
// (data/digits.csv.gz, decompressed at build time) and MNIST IDX files.
#include <cstdint>
#include <string>
#include <vector>

namespace nabla::demo {

struct Dataset {
  int64_t count = 0;           // number of images
  int64_t features = 0;        // pixels per image
  int64_t classes = 0;         // labels are in [0, classes)
  std::vector<float> images;   // count x features, scaled to [0, 1]
  std::vector<int32_t> labels;  // count
};

// Rows of `features` integer pixels in [0, max_pixel] followed by the label.
// Throws nabla::Error naming the file and line on malformed input.
Dataset load_digits_csv(const std::string& path);

// MNIST: DIR/train-images-idx3-ubyte + DIR/train-labels-idx1-ubyte (and the
// t10k-* pair when present, appended). Throws nabla::Error naming the file.
Dataset load_mnist(const std::string& dir);
// One IDX pair (images, labels).
Dataset load_idx(const std::string& images_path, const std::string& labels_path);

// A seeded shuffle split: the first `train_fraction` of the permutation trains.
void split(const Dataset& all, double train_fraction, uint64_t seed, Dataset& train,
           Dataset& test);

}  // namespace nabla::demo
