// The training demos' data loaders (examples/common/datasets.h) and the
// demo itself on small MNIST IDX files written here, plain and gzipped.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <zlib.h>

#include "examples/common/datasets.h"
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

void put_be32(std::string& out, uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out += static_cast<char>((v >> shift) & 0xff);
}

void write_file(const std::string& path, const std::string& bytes, bool gzip) {
  if (!gzip) {
    std::ofstream(path, std::ios::binary) << bytes;
    return;
  }
  gzFile f = gzopen((path + ".gz").c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

// n images of 4x4 whose brightest pixel row encodes the label (learnable):
// DIR/PREFIX-images-idx3-ubyte and DIR/PREFIX-labels-idx1-ubyte (+ .gz when
// gzipped, as MNIST is distributed).
void write_idx(const std::string& dir, const std::string& prefix, uint32_t n, bool gzip = false) {
  std::string im, lb;
  put_be32(im, 0x803);
  put_be32(im, n);
  put_be32(im, 4);
  put_be32(im, 4);
  put_be32(lb, 0x801);
  put_be32(lb, n);
  for (uint32_t i = 0; i < n; ++i) {
    auto label = static_cast<unsigned char>(i % 4);
    for (int p = 0; p < 16; ++p) im += static_cast<char>(p / 4 == label ? 255 : (p * 7 + i) % 40);
    lb += static_cast<char>(label);
  }
  write_file(dir + "/" + prefix + "-images-idx3-ubyte", im, gzip);
  write_file(dir + "/" + prefix + "-labels-idx1-ubyte", lb, gzip);
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

// The standard split: the train files train, the t10k files test.
TEST(DemoData, MnistIdx) {
  std::string dir = temp_dir("idx");
  write_idx(dir, "train", 12);
  write_idx(dir, "t10k", 4);
  Dataset train, test;
  load_mnist(dir, train, test);
  EXPECT_EQ(train.count, 12);
  EXPECT_EQ(test.count, 4);
  EXPECT_EQ(train.features, 16);
  EXPECT_EQ(train.classes, 4);
  EXPECT_EQ(train.labels[5], 1);
  EXPECT_FLOAT_EQ(train.images[5 * 16 + 4], 1.0f);
  EXPECT_FLOAT_EQ(train.images[5 * 16 + 1], 12 / 255.0f);  // (1 * 7 + 5) % 40
  EXPECT_EQ(test.labels, (std::vector<int32_t>{0, 1, 2, 3}));
  std::ofstream(dir + "/t10k-labels-idx1-ubyte", std::ios::binary | std::ios::trunc) << "xx";
  EXPECT_EQ(error_of([&] { load_mnist(dir, train, test); }), dir + "/t10k-labels-idx1-ubyte: truncated IDX header");
  std::filesystem::remove(dir + "/t10k-images-idx3-ubyte");
  EXPECT_EQ(error_of([&] { load_mnist(dir, train, test); }), dir + "/t10k-images-idx3-ubyte: cannot open file");
}

// Gzipped files (NAME.gz, as distributed) read as the plain ones; a corrupt
// one is an error naming it.
TEST(DemoData, MnistGzipped) {
  std::string plain = temp_dir("idx_plain"), gz = temp_dir("idx_gz");
  write_idx(plain, "train", 40);
  write_idx(plain, "t10k", 8);
  write_idx(gz, "train", 40, true);
  write_idx(gz, "t10k", 8, true);
  ASSERT_FALSE(std::filesystem::exists(gz + "/train-images-idx3-ubyte"));
  Dataset a, at, b, bt;
  load_mnist(plain, a, at);
  load_mnist(gz, b, bt);
  EXPECT_EQ(b.count, 40);
  EXPECT_EQ(bt.count, 8);
  EXPECT_EQ(a.images, b.images);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(at.images, bt.images);
  std::string path = gz + "/t10k-images-idx3-ubyte.gz";
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  std::string error = error_of([&] { load_mnist(gz, b, bt); });
  EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;
}

// The demo binaries train on gzipped IDX files given by directory, with the
// standard split (validation carved from the training files).
TEST(DemoData, TrainsOnMnistFiles) {
  std::string dir = temp_dir("train");
  write_idx(dir, "train", 400, true);
  write_idx(dir, "t10k", 80, true);
  for (std::string demo : {"train_digits", "train_cnn"}) {
    std::string cmd = std::string(NABLA_BINARY_DIR) + "/examples/" + demo + " --mnist " + dir +
                      " --epochs 4 --batch 16 --seed 3 --require-progress 0.9 > " + dir + "/log.txt 2>&1";
    int rc = std::system(cmd.c_str());
    std::ifstream log(dir + "/log.txt");
    std::string text((std::istreambuf_iterator<char>(log)), {});
    EXPECT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("data: 480 images of 16 pixels, 10 classes; 360 train, 40 validation, 80 test (seed 3)"),
              std::string::npos)
        << text;
  }
}

}  // namespace
}  // namespace nabla::demo
