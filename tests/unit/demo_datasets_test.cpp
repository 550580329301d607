// The training demo's data loaders (examples/train_digits/datasets.h) and the
// demo itself on small MNIST IDX files written here.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "examples/train_digits/datasets.h"
#include "nabla/runtime/error.h"
#include "tests/support/error_testing.h"

namespace nabla::demo {
namespace {

std::string temp_dir(const std::string& name) {
  std::string dir = std::string(NABLA_BINARY_DIR) + "/demo_test_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void put_be32(std::ofstream& out, uint32_t v) {
  unsigned char b[4] = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                        static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  out.write(reinterpret_cast<char*>(b), 4);
}

// n images of 4x4 whose brightest pixel row encodes the label (learnable).
void write_idx(const std::string& dir, const std::string& prefix, uint32_t n) {
  std::ofstream im(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary);
  std::ofstream lb(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary);
  put_be32(im, 0x803);
  put_be32(im, n);
  put_be32(im, 4);
  put_be32(im, 4);
  put_be32(lb, 0x801);
  put_be32(lb, n);
  for (uint32_t i = 0; i < n; ++i) {
    unsigned char label = static_cast<unsigned char>(i % 4);
    for (int p = 0; p < 16; ++p) im.put(static_cast<char>(p / 4 == label ? 255 : (p * 7 + i) % 40));
    lb.put(static_cast<char>(label));
  }
}

using test::error_of;

TEST(DemoData, DigitsCsv) {
  std::string dir = temp_dir("csv");
  std::ofstream(dir + "/d.csv") << "0,16,8,3\n16,0,0,7\n";
  Dataset d = load_digits_csv(dir + "/d.csv");
  EXPECT_EQ(d.count, 2);
  EXPECT_EQ(d.features, 3);
  EXPECT_EQ(d.classes, 8);
  EXPECT_EQ(d.images, (std::vector<float>{0, 1, 0.5f, 1, 0, 0}));
  EXPECT_EQ(d.labels, (std::vector<int32_t>{3, 7}));
  std::ofstream(dir + "/bad.csv") << "1,2,3\n1,x,3\n";
  EXPECT_EQ(error_of([&] { load_digits_csv(dir + "/bad.csv"); }),
            dir + "/bad.csv: line 2: 'x' is not a pixel or label");
  std::ofstream(dir + "/ragged.csv") << "1,2,3\n1,3\n";
  EXPECT_EQ(error_of([&] { load_digits_csv(dir + "/ragged.csv"); }),
            dir + "/ragged.csv: line 2: 2 columns, expected 3");
  EXPECT_EQ(error_of([&] { load_digits_csv(dir + "/none.csv"); }), dir + "/none.csv: cannot open file");
}

TEST(DemoData, TheShippedDigits) {
  Dataset d = load_digits_csv(NABLA_BINARY_DIR "/data/digits.csv");
  EXPECT_EQ(d.count, 1797);
  EXPECT_EQ(d.features, 64);
  EXPECT_EQ(d.classes, 10);
  Dataset train, test;
  split(d, 0.8, 1, train, test);
  EXPECT_EQ(train.count, 1437);
  EXPECT_EQ(test.count, 360);
  EXPECT_EQ(train.images.size(), 1437u * 64);
}

TEST(DemoData, MnistIdx) {
  std::string dir = temp_dir("idx");
  write_idx(dir, "train", 12);
  write_idx(dir, "t10k", 4);
  Dataset d = load_mnist(dir);
  EXPECT_EQ(d.count, 16);
  EXPECT_EQ(d.features, 16);
  EXPECT_EQ(d.classes, 4);
  EXPECT_EQ(d.labels[5], 1);
  EXPECT_FLOAT_EQ(d.images[5 * 16 + 4], 1.0f);
  std::ofstream(dir + "/t10k-labels-idx1-ubyte", std::ios::binary | std::ios::trunc) << "xx";
  EXPECT_EQ(error_of([&] { load_mnist(dir); }), dir + "/t10k-labels-idx1-ubyte: truncated IDX header");
}

// The demo binary trains on IDX files given by path.
TEST(DemoData, TrainsOnMnistFiles) {
  std::string dir = temp_dir("train");
  write_idx(dir, "train", 400);
  std::string cmd = std::string(NABLA_BINARY_DIR) + "/examples/train_digits --mnist " + dir +
                    " --epochs 4 --batch 16 --seed 3 --require-progress 0.9 > " + dir + "/log.txt 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream log(dir + "/log.txt");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("data: 400 images of 16 pixels, 10 classes; 320 train, 80 test (seed 3)"),
            std::string::npos) << text;
}

}  // namespace
}  // namespace nabla::demo
