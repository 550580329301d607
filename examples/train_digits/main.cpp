// train_digits: trains the lecture's MLP on the UCI digits (or MNIST) with
// minibatch SGD. The training step is built with the C++ API, differentiated
// by build-grad, optimized by the default pipeline and JIT-compiled.
//   build/examples/train_digits [--epochs N] [--batch B] [--lr X] [--seed S]
//                               [--threads T] [--data digits.csv] [--mnist DIR]
//                               [--require-progress P] [--steps N]
//                               [--save DIR [--save-every N]] [--resume DIR]
// Under mpirun it trains data-parallel: each rank takes its share of every
// global batch (--batch per rank), rank 0 prints (docs/distributed.md).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <iostream>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "nabla/compiler/compile.h"
#include "nabla/compiler/data_parallel.h"
#include "nabla/runtime/communicator.h"
#include "examples/train_digits/accuracy.h"
#include "examples/train_digits/checkpoint.h"
#include "examples/train_digits/cluster.h"
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
  int64_t steps = 0;    // > 0: stop after this many steps in all (instead of --epochs)
  std::string save, resume;
  int64_t save_every = 0;
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
          {"--steps", "N", "stop after N steps in all, counting those of a resumed run (instead of --epochs)",
           integer(o.steps, 1, INT64_MAX)},
          {"--save", "DIR", "write a checkpoint (parameters and optimizer state as .npy) to DIR at the end",
           [&](std::string_view v) { o.save = v; }},
          {"--save-every", "N", "with --save: also every N steps", integer(o.save_every, 1, INT64_MAX)},
          {"--resume", "DIR", "continue from the checkpoint in DIR", [&](std::string_view v) { o.resume = v; }},
      },
  };
}

// The training loop's state: the parameters (ping-ponging between two sets
// of buffers: the step reads one and writes the other, as outputs must not
// alias inputs), the step count and the data order.
struct Trainer {
  const Options& o;
  demo::Cluster& cluster;
  const demo::Dataset& train;
  int64_t features;
  Executable& step;
  std::vector<Tensor> params, next;
  int64_t steps_done = 0;
  int64_t per_epoch;  // steps in an epoch: the global batch is batch x ranks
  std::vector<int64_t> order;

  // The data order of epoch `e` (1-based): the seeded shuffles of all epochs
  // up to it, the same on every rank and after a resume.
  void order_for_epoch(int64_t e) {
    order.resize(static_cast<size_t>(train.count));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(o.seed + 1);
    for (int64_t k = 0; k < e; ++k) std::shuffle(order.begin(), order.end(), rng);
  }

  // One step on this rank's share of the global batch; returns the loss.
  double run_step(Tensor& xb, Tensor& yb, const Tensor& lr, Tensor& loss) {
    int64_t first = (steps_done % per_epoch) * o.batch * cluster.size() + cluster.rank() * o.batch;
    for (int64_t i = 0; i < o.batch; ++i) {
      int64_t r = order[static_cast<size_t>(first + i)];
      std::copy_n(train.images.data() + r * features, features, xb.data_as<float>() + i * features);
      yb.data_as<int32_t>()[i] = train.labels[r];
    }
    std::vector<Tensor> in = {xb, yb, lr};
    in.insert(in.end(), params.begin(), params.end());
    std::vector<Tensor> out = {loss};
    out.insert(out.end(), next.begin(), next.end());
    step.run(in, out);
    std::swap(params, next);
    ++steps_done;
    return loss.data_as<float>()[0];
  }
};

// Rank 0 writes; the others wait for it (the checkpoint is complete when any
// rank goes on).
void save(const Options& o, demo::Cluster& cluster, const Trainer& t, const std::vector<std::string>& names) {
  if (cluster.rank() == 0)
    demo::save_checkpoint(o.save, names, t.params,
                          {t.steps_done, static_cast<int64_t>(o.seed), o.batch, cluster.size()});
  Tensor done = Tensor::scalar(DType::i32, 1);
  all_reduce_in_place(cluster.comm(), done, NABLA_REDUCE_SUM);
}

void resume(const Options& o, demo::Cluster& cluster, Trainer& t, const std::vector<std::string>& names) {
  demo::TrainState s = demo::load_checkpoint(o.resume, names, t.params);
  if (s.seed != static_cast<int64_t>(o.seed) || s.batch != o.batch || s.ranks != cluster.size())
    throw Error(fmt::format("{}: the checkpoint was made with --seed {} --batch {} on {} rank(s); resume with the same",
                            o.resume, s.seed, s.batch, s.ranks));
  t.steps_done = s.step;
}

// The steps since the last progress line, and the loss and accuracy so far.
struct Progress {
  double loss_sum = 0, step_ms = 0, first_loss = -1, last_loss = 0, test_acc = 0;
  int64_t steps = 0;
};

// At the end of an epoch (or of the run): the loss averaged over the steps and
// the ranks; rank 0 evaluates and prints the progress line.
template <class Accuracy>
void report(demo::Cluster& cluster, const Trainer& t, Progress& p, Accuracy accuracy_of) {
  Tensor mean_loss = Tensor::scalar(DType::f64, p.loss_sum / static_cast<double>(p.steps));
  all_reduce_in_place(cluster.comm(), mean_loss, NABLA_REDUCE_SUM);
  p.last_loss = mean_loss.get(0) / cluster.size();
  if (p.first_loss < 0) p.first_loss = p.last_loss;
  if (cluster.rank() == 0) {
    auto [train_acc, test_acc] = accuracy_of(t.params);
    p.test_acc = test_acc;
    fmt::print("epoch {:3d}  step {:5d}  loss {:.4f}  train {:.2f}%  test {:.2f}%  {:.3f} ms/step\n",
               (t.steps_done - 1) / t.per_epoch + 1, t.steps_done, p.last_loss, 100 * train_acc, 100 * test_acc,
               p.step_ms / static_cast<double>(p.steps));
  }
  p.loss_sum = p.step_ms = 0;
  p.steps = 0;
}

int run(const Options& o, demo::Cluster& cluster, const std::vector<std::string>& rest) {
  if (!rest.empty()) throw Error("unexpected argument '" + rest[0] + "'");
  bool lead = cluster.rank() == 0;  // prints and evaluates
  demo::Dataset all = o.mnist.empty() ? demo::load_digits_csv(o.data) : demo::load_mnist(o.mnist);
  demo::Dataset train, test;
  demo::split(all, 0.8, o.seed, train, test);
  int64_t global = o.batch * cluster.size();
  if (train.count < global)
    throw Error(fmt::format("batch {} on {} rank(s) exceeds the {} training images", o.batch, cluster.size(), train.count));
  demo::ModelShape shape;
  shape.features = all.features;
  shape.classes = std::max<int64_t>(all.classes, 10);
  if (lead)
    fmt::print("data: {} images of {} pixels, {} classes; {} train, {} test (seed {}); {} rank(s) x batch {}\n",
               all.count, all.features, shape.classes, train.count, test.count, o.seed, cluster.size(), o.batch);

  // Build, differentiate, optimize and compile.
  auto t0 = Clock::now();
  Module m;
  size_t forward_nodes = demo::build_train_step(m.function("train_step"), shape, o.batch, cluster.distributed());
  size_t with_grad = m.find("train_step")->size();
  demo::build_logits(m.function("logits_train"), shape, train.count);
  demo::build_logits(m.function("logits_test"), shape, test.count);
  CompileOptions co;
  co.num_threads = o.threads;
  Executable step = compile(m, "train_step", co);
  step.set_communicator(&cluster.comm());
  check_same_program(cluster.comm(), step);
  Executable logits_train = compile(m, "logits_train", co);
  Executable logits_test = compile(m, "logits_test", co);
  if (lead)
    fmt::print("compiled: train_step has {} forward nodes, {} with the gradient and the SGD update, "
               "{} after optimization and fusion ({} kernels, workspace {} KiB); compile time {:.0f} ms "
               "({:.0f} ms for the step)\n",
               forward_nodes, with_grad, step.stats().num_nodes, step.stats().num_kernels,
               step.workspace_bytes() / 1024, ms_since(t0), step.stats().total_ms);

  std::vector<std::string> names;
  for (const Node* in : m.find("train_step")->inputs())
    if (in->name() != "X" && in->name() != "y" && in->name() != "lr") names.push_back(in->name());
  Trainer t{o, cluster, train, shape.features, step, init_parameters(shape, o.seed), {}, 0, train.count / global, {}};
  broadcast_from_rank0(cluster.comm(), t.params);
  if (!o.resume.empty()) resume(o, cluster, t, names);
  for (const Tensor& p : t.params) t.next.emplace_back(DType::f32, p.shape());
  Tensor xb(DType::f32, {o.batch, shape.features}), yb(DType::i32, {o.batch});
  Tensor lr = Tensor::scalar(DType::f32, o.lr), loss(DType::f32, {});
  int64_t total = o.steps > 0 ? o.steps : o.epochs * t.per_epoch;
  Progress p;
  auto accuracy_of = [&](const std::vector<Tensor>& params) {
    return std::pair{accuracy(logits_train, train, shape.classes, params),
                     accuracy(logits_test, test, shape.classes, params)};
  };
  while (t.steps_done < total) {
    if (t.steps_done % t.per_epoch == 0 || t.order.empty()) t.order_for_epoch(t.steps_done / t.per_epoch + 1);
    auto ts = Clock::now();
    p.loss_sum += t.run_step(xb, yb, lr, loss);
    p.step_ms += ms_since(ts);
    ++p.steps;
    if (!o.save.empty() && o.save_every > 0 && t.steps_done % o.save_every == 0) save(o, cluster, t, names);
    if (t.steps_done % t.per_epoch != 0 && t.steps_done != total) continue;
    report(cluster, t, p, accuracy_of);
  }
  if (!o.save.empty()) save(o, cluster, t, names);
  if (lead) fmt::print("trained in {:.2f} s (including compilation)\n", ms_since(t0) / 1000);
  if (lead && o.require >= 0 && !(p.last_loss < p.first_loss && p.test_acc >= o.require)) {
    fmt::print(stderr, "train_digits: no progress: loss {:.4f} -> {:.4f}, test accuracy {:.2f}% (required {:.2f}%)\n",
               p.first_loss, p.last_loss, 100 * p.test_acc, 100 * o.require);
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  // Under mpirun: MPI and the communicator, set up before the options are
  // read (MPI_Init may take its own arguments). A collective gives up after
  // NABLA_MPI_TIMEOUT seconds (default 60).
  const char* timeout = std::getenv("NABLA_MPI_TIMEOUT");
  demo::Cluster cluster(argc, argv, timeout ? std::atof(timeout) : 60.0);
  return nabla::cli::run(program(o), argc, argv, [&](std::vector<std::string>& rest) {
    try {
      return run(o, cluster, rest);
    } catch (const Error& e) {
      cluster.fail(e.what());  // every rank stops (in one process: reported as usual)
      throw;
    }
  });
}
