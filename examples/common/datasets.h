#pragma once
// Image classification data for the training demo: the UCI digits CSV
// (data/digits.csv.gz, decompressed at build time) and MNIST IDX files
// (read through zlib, so that the files may stay gzipped).
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

// MNIST's standard split: DIR/train-images-idx3-ubyte and
// train-labels-idx1-ubyte (60,000 images) train, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte (10,000) test. Each file may be gzipped, under its
// name or with .gz appended (as distributed). Throws nabla::Error naming the file.
void load_mnist(const std::string& dir, Dataset& train, Dataset& test);
// One IDX pair (images, labels), either file gzipped or not.
Dataset load_idx(const std::string& images_path, const std::string& labels_path);

// A seeded shuffle split: the first `train_fraction` of the permutation trains.
void split(const Dataset& all, double train_fraction, uint64_t seed, Dataset& train,
           Dataset& test);

}  // namespace nabla::demo
