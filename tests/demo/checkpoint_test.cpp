// The demos' checkpoints (examples/common/checkpoint.h): early stopping's
// state (the last epoch scored, the best validation loss, its epoch and
// parameters) is written into the step directory beside the parameters and
// read back exactly; a checkpoint without it gives the empty state.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "examples/common/checkpoint.h"
#include "nabla/runtime/error.h"
#include "nabla/runtime/npy.h"

namespace nabla::demo {
namespace {

namespace fs = std::filesystem;

Tensor filled(const Shape& shape, float first) {
  Tensor t(DType::f32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = first + 0.5f * static_cast<float>(i);
  return t;
}

struct Saved {
  std::string dir;
  std::vector<std::string> names = {"W1", "b1", "W1_v", "b1_v"};  // parameters, then optimizer state
  std::vector<Tensor> all;
  TrainState state;
};

// Step 30 of a momentum run, 7 epochs scored, the best (0.25) at epoch 5.
Saved save_one(const std::string& name) {
  Saved s;
  s.dir = std::string(NABLA_BINARY_DIR) + "/demo_checkpoint_test/" + name;
  fs::remove_all(s.dir);
  s.all = {filled({2, 3}, 1), filled({3}, -1), filled({2, 3}, 0.25f), filled({3}, 0.125f)};
  s.state = {30, 1, 32, 1, 1, {7, 0.25, 5, {filled({2, 3}, 10), filled({3}, 20)}}};
  save_checkpoint(s.dir, s.names, s.all, s.state);
  return s;
}

std::vector<Tensor> zeros(const std::vector<Tensor>& like) {
  std::vector<Tensor> out;
  for (const Tensor& t : like) out.emplace_back(t.dtype(), t.shape());
  return out;
}

void expect_equal(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < got.numel(); ++i) EXPECT_EQ(got.get(i), want.get(i)) << "element " << i;
}

TEST(DemoCheckpoint, EarlyStoppingStateGoesWithTheParameters) {
  Saved s = save_one("resume");
  for (const char* file : {"W1.npy", "b1.npy", "W1_v.npy", "b1_v.npy", "state.npy", "early_stopping.npy",
                           "best_W1.npy", "best_b1.npy"})
    EXPECT_TRUE(fs::exists(fs::path(s.dir) / "step-30" / file)) << file;
  Tensor numbers = read_npy(s.dir + "/step-30/early_stopping.npy");
  EXPECT_EQ(numbers.shape(), (Shape{5}));
  EXPECT_EQ(numbers.get(0), 7);     // the last epoch scored
  EXPECT_EQ(numbers.get(1), 0.25);  // the best validation loss
  EXPECT_EQ(numbers.get(2), 5);     // its epoch
  EXPECT_EQ(numbers.get(3), 2);     // epochs without improvement
  EXPECT_EQ(numbers.get(4), 2);     // best parameters saved

  std::vector<Tensor> all = zeros(s.all);
  TrainState got = load_checkpoint(s.dir, s.names, all);
  EXPECT_EQ(got.step, 30);
  EXPECT_EQ(got.early.epoch, 7);
  EXPECT_EQ(got.early.best_loss, 0.25);
  EXPECT_EQ(got.early.best_epoch, 5);
  EXPECT_EQ(got.early.waited(), 2);
  ASSERT_EQ(got.early.best_params.size(), 2u);
  expect_equal(got.early.best_params[0], s.state.early.best_params[0]);
  expect_equal(got.early.best_params[1], s.state.early.best_params[1]);
  for (size_t i = 0; i < all.size(); ++i) expect_equal(all[i], s.all[i]);
}

TEST(DemoCheckpoint, LoadReadsTheBestParametersWithTheParameters) {
  Saved s = save_one("load");
  std::vector<std::string> names = {"W1", "b1"};  // --load: the parameters only
  std::vector<Tensor> params = zeros({s.all[0], s.all[1]});
  TrainState got = load_checkpoint(s.dir, names, params);
  EXPECT_EQ(got.early.waited(), 2);
  ASSERT_EQ(got.early.best_params.size(), 2u);
  expect_equal(got.early.best_params[1], s.state.early.best_params[1]);
}

TEST(DemoCheckpoint, WithoutEarlyStoppingStateTheStateIsEmpty) {
  Saved s = save_one("old");
  fs::remove(s.dir + "/step-30/early_stopping.npy");
  std::vector<Tensor> all = zeros(s.all);
  TrainState got = load_checkpoint(s.dir, s.names, all);
  EXPECT_EQ(got.early.epoch, 0);
  EXPECT_TRUE(std::isinf(got.early.best_loss));
  EXPECT_TRUE(got.early.best_params.empty());
}

TEST(DemoCheckpoint, BadEarlyStoppingStateIsAnError) {
  Saved s = save_one("bad");
  Tensor numbers(DType::f64, {5});
  for (int i = 0; i < 5; ++i) numbers.data_as<double>()[i] = i == 4 ? 9 : 1;
  std::string path = s.dir + "/step-30/early_stopping.npy";
  write_npy(path, numbers);
  std::vector<Tensor> all = zeros(s.all);
  try {
    load_checkpoint(s.dir, s.names, all);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": 9 best parameters, more than the 4 tensors expected");
  }
}

}  // namespace
}  // namespace nabla::demo
