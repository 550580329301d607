#include "examples/train_cnn/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "examples/train_digits/accuracy.h"
#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "nabla/passes/build_grad.h"
#include "nabla/runtime/error.h"
#include "tools/common/cli.h"

namespace nabla::demo {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int epochs = 30;
  int64_t batch = 64;
  double lr = 0.2;
  uint64_t seed = 1;
  int threads = 1;
  std::string data = NABLA_DIGITS_CSV;
  std::string mnist;
  double require = -1;  // with --require-progress: the test accuracy bar
};

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

cli::Program program(Options& o, const char* name, const char* overview, std::string& epochs_help) {
  auto integer = [](auto& field, int64_t lo, int64_t hi) {
    return [&field, lo, hi](std::string_view v) {
      field = static_cast<std::remove_reference_t<decltype(field)>>(cli::parse_int(v, lo, hi));
    };
  };
  epochs_help = fmt::format("passes over the training set (default {})", o.epochs);
  return {
      name,
      "[options]",
      overview,
      {
          {"--epochs", "N", epochs_help, integer(o.epochs, 1, 100000)},
          {"--batch", "B", "minibatch size (default 64)", integer(o.batch, 1, 1 << 20)},
          {"--lr", "X", "learning rate (default 0.2)", [&](std::string_view v) { o.lr = cli::parse_real(v, 0); }},
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

// One epoch of minibatch SGD over `order`; returns the mean loss and adds the
// step time to step_ms. Parameters ping-pong between params and next: the
// step reads one and writes the other (outputs must not alias inputs).
double epoch(Executable& step, const Dataset& train, const std::vector<int64_t>& order, int64_t batch, float lr,
             std::vector<Tensor>& params, std::vector<Tensor>& next, double& step_ms) {
  int64_t features = train.features, steps = train.count / batch;
  Tensor xb(DType::f32, {batch, features}), yb(DType::i32, {batch});
  Tensor rate = Tensor::scalar(DType::f32, lr), loss(DType::f32, {});
  double loss_sum = 0;
  for (int64_t s = 0; s < steps; ++s) {
    for (int64_t i = 0; i < batch; ++i) {
      int64_t r = order[s * batch + i];
      std::copy_n(train.images.data() + r * features, features, xb.data_as<float>() + i * features);
      yb.data_as<int32_t>()[i] = train.labels[r];
    }
    std::vector<Tensor> in = {xb, yb, rate};
    in.insert(in.end(), params.begin(), params.end());
    std::vector<Tensor> out = {loss};
    out.insert(out.end(), next.begin(), next.end());
    auto ts = Clock::now();
    step.run(in, out);
    step_ms += ms_since(ts);
    loss_sum += loss.data_as<float>()[0];
    std::swap(params, next);
  }
  return loss_sum / static_cast<double>(steps);
}

int run(const Options& o, const char* name, const ModelFor& model_for, const std::vector<std::string>& rest) {
  if (!rest.empty()) throw Error("unexpected argument '" + rest[0] + "'");

  Dataset all = o.mnist.empty() ? load_digits_csv(o.data) : load_mnist(o.mnist);
  Dataset train, test;
  split(all, 0.8, o.seed, train, test);
  if (train.count < o.batch) throw Error(fmt::format("batch {} exceeds the {} training images", o.batch, train.count));
  int64_t classes = std::max<int64_t>(all.classes, 10);
  fmt::print("data: {} images of {} pixels, {} classes; {} train, {} test (seed {})\n", all.count, all.features,
             classes, train.count, test.count, o.seed);

  // Build, differentiate, optimize and compile.
  auto t0 = Clock::now();
  Model model = model_for(all, classes);
  Module m;
  size_t forward_nodes = model.build_step(m.function("train_step"), o.batch);
  size_t with_grad = m.find("train_step")->size();
  model.build_logits(m.function("logits_train"), train.count);
  model.build_logits(m.function("logits_test"), test.count);
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

  std::vector<Tensor> params = model.init(o.seed), next;
  for (const Tensor& p : params) next.emplace_back(DType::f32, p.shape());
  std::vector<int64_t> order(static_cast<size_t>(train.count));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(o.seed + 1);
  double test_acc = 0, first_loss = 0, last_loss = 0;
  for (int e = 1; e <= o.epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    double step_ms = 0;
    last_loss = epoch(step, train, order, o.batch, static_cast<float>(o.lr), params, next, step_ms);
    if (e == 1) first_loss = last_loss;
    double train_acc = accuracy(logits_train, train, classes, params);
    test_acc = accuracy(logits_test, test, classes, params);
    fmt::print("epoch {:3d}  loss {:.4f}  train {:.2f}%  test {:.2f}%  {:.3f} ms/step\n", e, last_loss,
               100 * train_acc, 100 * test_acc, step_ms / static_cast<double>(train.count / o.batch));
  }
  fmt::print("trained in {:.2f} s (including compilation)\n", ms_since(t0) / 1000);
  if (o.require >= 0 && !(last_loss < first_loss && test_acc >= o.require)) {
    fmt::print(stderr, "{}: no progress: loss {:.4f} -> {:.4f}, test accuracy {:.2f}% (required {:.2f}%)\n", name,
               first_loss, last_loss, 100 * test_acc, 100 * o.require);
    return 1;
  }
  return 0;
}

}  // namespace

size_t output_sgd_step(Function& f, Value loss, const std::vector<Value>& params, Value lr) {
  loss->set_name("loss");
  size_t forward_nodes = f.size();
  std::vector<Value> grads = grad(loss, params);
  f.output(loss);
  for (size_t i = 0; i < params.size(); ++i) f.output(params[i] - lr * grads[i]);
  return forward_nodes;
}

Tensor he_normal(const Shape& shape, int64_t fan_in, std::mt19937_64& rng) {
  Tensor t(DType::f32, shape);
  std::normal_distribution<double> normal(0.0, std::sqrt(2.0 / static_cast<double>(fan_in)));
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = static_cast<float>(normal(rng));
  return t;
}

int train_main(int argc, char** argv, const char* name, const char* overview, const ModelFor& model,
               int default_epochs) {
  Options o;
  o.epochs = default_epochs;
  std::string epochs_help;
  return cli::run(program(o, name, overview, epochs_help), argc, argv,
                  [&](std::vector<std::string>& rest) { return run(o, name, model, rest); });
}

}  // namespace nabla::demo
