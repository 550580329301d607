// train_digits: trains the lecture's MLP on the UCI digits (or MNIST) with
// minibatch SGD. The training step is built with the C++ API, differentiated
// by build-grad, optimized by the default pipeline and JIT-compiled.
//   build/examples/train_digits [--epochs N] [--batch B] [--lr X] [--seed S]
//                               [--threads T] [--data digits.csv] [--mnist DIR]
//                               [--require-progress P]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "nabla/compiler/compile.h"
#include "examples/train_digits/datasets.h"
#include "examples/train_digits/model.h"
#include "nabla/runtime/error.h"
#include "tools/common/cli.h"

namespace {

using namespace nabla;
using Clock = std::chrono::steady_clock;

struct Options {
  int epochs = 30;
  int64_t batch = 64;
  double lr = 0.1;
  uint64_t seed = 1;
  int threads = 1;
  std::string data = NABLA_DIGITS_CSV;
  std::string mnist;
  double require = -1;  // with --require-progress: the test accuracy bar
};

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// He-initialized weights, zero biases.
std::vector<Tensor> init_parameters(const demo::ModelShape& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Tensor> params;
  for (const Shape& shape : demo::parameter_shapes(s)) {
    Tensor t(DType::f32, shape);
    if (shape.size() == 2) {
      std::normal_distribution<double> normal(0.0, std::sqrt(2.0 / static_cast<double>(shape[0])));
      for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = static_cast<float>(normal(rng));
    }
    params.push_back(std::move(t));
  }
  return params;
}

// Fraction of rows of `d` whose largest logit is the label.
double accuracy(Executable& logits, const demo::Dataset& d, int64_t classes,
                const std::vector<Tensor>& params) {
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

nabla::cli::Program program(Options& o) {
  auto integer = [](auto& field, int64_t lo, int64_t hi) {
    return [&field, lo, hi](std::string_view v) {
      field = static_cast<std::remove_reference_t<decltype(field)>>(cli::parse_int(v, lo, hi));
    };
  };
  return {
      "train_digits",
      "[options]",
      "trains the lecture's MLP on the UCI digits (or MNIST) with a training step that nabla differentiates, "
      "optimizes and JIT-compiles",
      {
          {"--epochs", "N", "passes over the training set (default 30)", integer(o.epochs, 1, 100000)},
          {"--batch", "B", "minibatch size (default 64)", integer(o.batch, 1, 1 << 20)},
          {"--lr", "X", "learning rate (default 0.1)", [&](std::string_view v) { o.lr = cli::parse_real(v, 0); }},
          {"--seed", "S", "seed of the split, the initialization and the shuffles (default 1)",
           integer(o.seed, 0, INT64_MAX)},
          {"--threads", "T", "threads of the compiled code (default 1)", integer(o.threads, 1, 256)},
          {"--data", "FILE", "the digits CSV (default: the copy built from data/digits.csv.gz)",
           [&](std::string_view v) { o.data = v; }},
          {"--mnist", "DIR", "train on MNIST IDX files in DIR instead", [&](std::string_view v) { o.mnist = v; }},
          {"--require-progress", "P", "exit 1 unless the loss fell and the test accuracy reached P",
           [&](std::string_view v) { o.require = cli::parse_real(v, 0); }},
      },
  };
}

int run(const Options& o, const std::vector<std::string>& rest) {
  if (!rest.empty()) throw Error("unexpected argument '" + rest[0] + "'");

  demo::Dataset all = o.mnist.empty() ? demo::load_digits_csv(o.data) : demo::load_mnist(o.mnist);
  demo::Dataset train, test;
  demo::split(all, 0.8, o.seed, train, test);
  if (train.count < o.batch) throw Error(fmt::format("batch {} exceeds the {} training images", o.batch, train.count));
  demo::ModelShape shape;
  shape.features = all.features;
  shape.classes = std::max<int64_t>(all.classes, 10);
  fmt::print("data: {} images of {} pixels, {} classes; {} train, {} test (seed {})\n", all.count,
             all.features, shape.classes, train.count, test.count, o.seed);

  // Build, differentiate, optimize and compile.
  auto t0 = Clock::now();
  Module m;
  size_t forward_nodes = demo::build_train_step(m.function("train_step"), shape, o.batch);
  size_t with_grad = m.find("train_step")->size();
  demo::build_logits(m.function("logits_train"), shape, train.count);
  demo::build_logits(m.function("logits_test"), shape, test.count);
  CompileOptions co;
  co.num_threads = o.threads;
  Executable step = compile(m, "train_step", co);
  Executable logits_train = compile(m, "logits_train", co);
  Executable logits_test = compile(m, "logits_test", co);
  fmt::print("compiled: train_step has {} forward nodes, {} with the gradient and the SGD update, "
             "{} after optimization and fusion ({} kernels, workspace {} KiB); compile time {:.0f} ms "
             "({:.0f} ms for the step)\n",
             forward_nodes, with_grad, step.stats().num_nodes, step.stats().num_kernels,
             step.workspace_bytes() / 1024, ms_since(t0), step.stats().total_ms);

  // Parameters ping-pong between two sets of buffers: the step reads one and
  // writes the other (outputs must not alias inputs).
  std::vector<Tensor> params = init_parameters(shape, o.seed), next;
  for (const Tensor& p : params) next.emplace_back(DType::f32, p.shape());
  Tensor xb(DType::f32, {o.batch, shape.features}), yb(DType::i32, {o.batch});
  Tensor lr = Tensor::scalar(DType::f32, o.lr), loss(DType::f32, {});
  std::vector<int64_t> order(train.count);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(o.seed + 1);
  double test_acc = 0, first_loss = 0, last_loss = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    int64_t steps = train.count / o.batch;
    double loss_sum = 0, step_ms = 0;
    for (int64_t s = 0; s < steps; ++s) {
      for (int64_t i = 0; i < o.batch; ++i) {
        int64_t r = order[s * o.batch + i];
        std::copy_n(train.images.data() + r * shape.features, shape.features,
                    xb.data_as<float>() + i * shape.features);
        yb.data_as<int32_t>()[i] = train.labels[r];
      }
      std::vector<Tensor> in = {xb, yb, lr};
      in.insert(in.end(), params.begin(), params.end());
      std::vector<Tensor> out = {loss};
      out.insert(out.end(), next.begin(), next.end());
      auto ts = Clock::now();
      step.run(in, out);
      step_ms += ms_since(ts);
      loss_sum += loss.data_as<float>()[0];
      std::swap(params, next);
    }
    last_loss = loss_sum / static_cast<double>(steps);
    if (epoch == 1) first_loss = last_loss;
    double train_acc = accuracy(logits_train, train, shape.classes, params);
    test_acc = accuracy(logits_test, test, shape.classes, params);
    fmt::print("epoch {:3d}  loss {:.4f}  train {:.2f}%  test {:.2f}%  {:.3f} ms/step\n", epoch,
               last_loss, 100 * train_acc, 100 * test_acc,
               step_ms / static_cast<double>(steps));
  }
  fmt::print("trained in {:.2f} s (including compilation)\n", ms_since(t0) / 1000);
  if (o.require >= 0 && !(last_loss < first_loss && test_acc >= o.require)) {
    fmt::print(stderr, "train_digits: no progress: loss {:.4f} -> {:.4f}, test accuracy {:.2f}% (required {:.2f}%)\n",
               first_loss, last_loss, 100 * test_acc, 100 * o.require);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  return nabla::cli::run(program(o), argc, argv, [&](std::vector<std::string>& rest) { return run(o, rest); });
}
