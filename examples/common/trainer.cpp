#include "examples/common/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "examples/common/checkpoint.h"
#include "examples/common/cluster.h"
#include "examples/common/evaluate.h"
#include "examples/common/history.h"
#include "examples/common/options.h"
#include "examples/common/step.h"
#include "nabla/compiler/compile.h"
#include "nabla/compiler/data_parallel.h"
#include "nabla/runtime/communicator.h"
#include "nabla/runtime/error.h"

namespace nabla::demo {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// The three parts of the data: the test set is the digits' seeded 20% (or
// MNIST's t10k files), the validation set a seeded fraction of the rest.
struct Data {
  Dataset train, validation, test;
  int64_t classes = 10;
};

Data load_data(const Options& o) {
  Data d;
  Dataset rest;
  if (o.mnist.empty()) {
    Dataset all = load_digits_csv(o.data);
    split(all, 0.8, o.seed, rest, d.test);
  } else {
    load_mnist(o.mnist, rest, d.test);
  }
  if (o.validation > 0)
    split(rest, 1 - o.validation, o.seed + 2, d.train, d.validation);
  else
    d.train = std::move(rest);
  d.classes = std::max<int64_t>(d.train.classes, 10);
  return d;
}

// The compiled functions: the step, and the logits of each part of the data.
struct Compiled {
  Module m;
  TrainStep info;
  Executable step, logits_train, logits_validation, logits_test;
};

Compiled compile_all(const Options& o, const Model& model, const Data& d, Cluster& cluster, bool lead) {
  auto t0 = Clock::now();
  Compiled c;
  int64_t features = d.train.features;
  c.info = build_train_step(c.m.function("train_step"), model, features, o.batch, o.optimizer, cluster.distributed());
  size_t with_grad = c.m.find("train_step")->size();
  build_logits(c.m.function("logits_train"), model, features, d.train.count);
  build_logits(c.m.function("logits_test"), model, features, d.test.count);
  if (d.validation.count > 0) build_logits(c.m.function("logits_validation"), model, features, d.validation.count);
  CompileOptions co;
  co.num_threads = o.threads;
  c.step = compile(c.m, "train_step", co);
  c.step.set_communicator(&cluster.comm());
  if (void* workspace = cluster.shared_memory(c.step.workspace_bytes()))  // the all-reduces in place
    c.step.set_workspace(workspace, c.step.workspace_bytes());
  check_same_program(cluster.comm(), c.step);
  c.logits_train = compile(c.m, "logits_train", co);
  c.logits_test = compile(c.m, "logits_test", co);
  if (d.validation.count > 0) c.logits_validation = compile(c.m, "logits_validation", co);
  if (lead)
    fmt::print("compiled: train_step has {} forward nodes, {} with the gradient and the {} update, "
               "{} after optimization and fusion ({} kernels, workspace {} KiB); compile time {:.0f} ms "
               "({:.0f} ms for the step)\n",
               c.info.forward_nodes, with_grad, optimizer_name(o.optimizer.kind), c.step.stats().num_nodes,
               c.step.stats().num_kernels, c.step.workspace_bytes() / 1024, ms_since(t0), c.step.stats().total_ms);
  return c;
}

// The training loop's state: the parameters and the optimizer's state (each
// ping-ponging between two sets of buffers: the step reads one and writes
// the other, as outputs must not alias inputs), the step count and the data
// order.
struct Trainer {
  const Options& o;
  Cluster& cluster;
  const Dataset& train;
  Executable& step;
  bool has_t;
  std::vector<Tensor> params, next, state, next_state;
  int64_t steps_done = 0;
  int64_t per_epoch = 1;  // steps in an epoch: the global batch is batch x ranks
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
  // Throws when the loss is not finite.
  double run_step(Tensor& xb, Tensor& yb, Tensor& loss) {
    int64_t features = train.features;
    int64_t first = (steps_done % per_epoch) * o.batch * cluster.size() + cluster.rank() * o.batch;
    for (int64_t i = 0; i < o.batch; ++i) {
      int64_t r = order[static_cast<size_t>(first + i)];
      std::copy_n(train.images.data() + r * features, features, xb.data_as<float>() + i * features);
      yb.data_as<int32_t>()[i] = train.labels[r];
    }
    std::vector<Tensor> in = {xb, yb};
    in.insert(in.end(), params.begin(), params.end());
    in.push_back(Tensor::scalar(DType::f32, o.learning_rate()));
    if (has_t) in.push_back(Tensor::scalar(DType::f32, static_cast<double>(steps_done + 1)));
    in.insert(in.end(), state.begin(), state.end());
    std::vector<Tensor> out = {loss};
    out.insert(out.end(), next.begin(), next.end());
    out.insert(out.end(), next_state.begin(), next_state.end());
    step.run(in, out);
    std::swap(params, next);
    std::swap(state, next_state);
    ++steps_done;
    double value = loss.data_as<float>()[0];
    if (!std::isfinite(value))
      throw Error(fmt::format("the loss became {} at step {} (epoch {}): training stopped; try a smaller --lr",
                              std::isnan(value) ? "NaN" : value > 0 ? "+inf" : "-inf", steps_done,
                              (steps_done - 1) / per_epoch + 1));
    return value;
  }
};

std::vector<Tensor> zeros_like(const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.emplace_back(t.dtype(), t.shape());
  return out;
}

// The parameters, then the optimizer's state.
std::vector<std::string> checkpoint_names(const Model& model, const TrainStep& info) {
  std::vector<std::string> names = model.names;
  names.insert(names.end(), info.state_names.begin(), info.state_names.end());
  return names;
}

// The epoch so far, the history, and early stopping.
struct Progress {
  double loss_sum = 0, step_ms = 0, first_loss = -1, last_loss = 0;
  int64_t steps = 0;
  std::vector<Epoch> history;
  EarlyStopState early;  // saved in checkpoints
  bool stop = false;
};

// Rank 0 writes; the others wait for it (the checkpoint is complete when any
// rank goes on).
void save(const Options& o, const Trainer& t, const Progress& p, const std::vector<std::string>& names) {
  if (t.cluster.rank() == 0) {
    std::vector<Tensor> all = t.params;
    all.insert(all.end(), t.state.begin(), t.state.end());
    save_checkpoint(o.save, names, all,
                    {t.steps_done, static_cast<int64_t>(o.seed), o.batch, t.cluster.size(),
                     static_cast<int64_t>(o.optimizer.kind), p.early});
  }
  Tensor done = Tensor::scalar(DType::i32, 1);
  all_reduce_in_place(t.cluster.comm(), done, NABLA_REDUCE_SUM);
}

// Early stopping's state from a checkpoint: as saved after --resume; after
// --load, whose epochs count from 1 again, the epochs without improvement
// carry over (the best epoch becomes 0 - that count).
void restore_early_stop(const Options& o, Progress& p, EarlyStopState s, bool resumed, bool lead) {
  if (!resumed) {
    s.best_epoch = -s.waited();
    s.epoch = 0;
  }
  p.early = std::move(s);
  if (lead && o.patience > 0 && !p.early.best_params.empty())
    fmt::print("early stopping goes on from {}: best validation loss {:.4f}, {} epoch(s) without improvement\n",
               resumed ? o.resume : o.load, p.early.best_loss, p.early.waited());
}

// --resume: parameters, optimizer state, step count and early stopping;
// --load: parameters and early stopping.
void restore(const Options& o, Trainer& t, Progress& p, const std::vector<std::string>& names) {
  bool lead = t.cluster.rank() == 0;
  if (!o.load.empty()) {
    std::vector<std::string> param_names(names.begin(), names.begin() + static_cast<ptrdiff_t>(t.params.size()));
    restore_early_stop(o, p, load_checkpoint(o.load, param_names, t.params).early, false, lead);
    return;
  }
  if (o.resume.empty()) return;
  std::vector<Tensor> all = t.params;
  all.insert(all.end(), t.state.begin(), t.state.end());
  TrainState s = load_checkpoint(o.resume, names, all);
  if (s.seed != static_cast<int64_t>(o.seed) || s.batch != o.batch || s.ranks != t.cluster.size() ||
      s.optimizer != static_cast<int64_t>(o.optimizer.kind))
    throw Error(fmt::format("{}: the checkpoint was made with --seed {} --batch {} --optimizer {} on {} rank(s); "
                            "resume with the same",
                            o.resume, s.seed, s.batch,
                            optimizer_name(static_cast<OptimizerKind>(std::clamp<int64_t>(s.optimizer, 0, 2))),
                            s.ranks));
  std::copy_n(all.begin(), t.params.size(), t.params.begin());
  std::copy(all.begin() + static_cast<ptrdiff_t>(t.params.size()), all.end(), t.state.begin());
  t.steps_done = s.step;
  restore_early_stop(o, p, std::move(s.early), true, lead);
}

// --patience: remembers the best parameters; stops after `patience` epochs
// without a better validation loss, going back to them.
void early_stopping(const Options& o, Trainer& t, Progress& p, bool lead) {
  const Epoch& e = p.history.back();
  if (o.patience <= 0) return;
  EarlyStopState& s = p.early;
  s.epoch = e.epoch;
  if (e.validation_loss < s.best_loss) {
    s.best_loss = e.validation_loss;
    s.best_epoch = e.epoch;
    s.best_params.clear();
    for (const Tensor& w : t.params) s.best_params.push_back(w.clone());
    return;
  }
  if (s.waited() < o.patience || s.best_params.empty()) return;
  // After --load, the best epoch may be one of the loaded run's (numbered 0 or less here).
  std::string best = s.best_epoch > 0 ? fmt::format("epoch {}", s.best_epoch) : "the run loaded from " + o.load;
  if (lead)
    fmt::print("early stop after epoch {}: the validation loss has not improved for {} epochs; keeping the "
               "parameters of {} (validation loss {:.4f})\n",
               e.epoch, s.waited(), best, s.best_loss);
  for (size_t i = 0; i < t.params.size(); ++i) t.params[i] = s.best_params[i].clone();
  p.stop = true;
}

struct Evaluators {
  Compiled& c;
  const Data& d;
};

// At the end of an epoch (or of the run): the loss averaged over the steps and
// the ranks; every rank scores the validation set (all take the same early
// stopping decision), rank 0 the training set, and prints the progress line.
void end_epoch(const Options& o, Trainer& t, Progress& p, Evaluators ev, CsvLog& log, Clock::time_point t0) {
  Tensor mean_loss = Tensor::scalar(DType::f64, p.loss_sum / static_cast<double>(p.steps));
  all_reduce_in_place(t.cluster.comm(), mean_loss, NABLA_REDUCE_SUM);
  p.last_loss = mean_loss.get(0) / t.cluster.size();
  if (p.first_loss < 0) p.first_loss = p.last_loss;
  Epoch e{(t.steps_done - 1) / t.per_epoch + 1, t.steps_done, p.last_loss, 0, NAN, NAN, ms_since(t0) / 1000};
  if (ev.d.validation.count > 0) {
    Scores v = score(ev.c.logits_validation, ev.d.validation, ev.d.classes, t.params);
    e.validation_loss = v.loss;
    e.validation_accuracy = v.accuracy;
  }
  bool lead = t.cluster.rank() == 0;
  if (lead) {
    e.train_accuracy = score(ev.c.logits_train, ev.d.train, ev.d.classes, t.params).accuracy;
    fmt::print("epoch {:3d}  step {:5d}  loss {:.4f}  train {:.2f}%  validation loss {:.4f} {:.2f}%  {:.3f} ms/step\n",
               e.epoch, e.step, e.loss, 100 * e.train_accuracy, e.validation_loss, 100 * e.validation_accuracy,
               p.step_ms / static_cast<double>(p.steps));
    log.add(e);
  }
  p.history.push_back(e);
  early_stopping(o, t, p, lead);
  p.loss_sum = p.step_ms = 0;
  p.steps = 0;
}

void train_loop(const Options& o, Trainer& t, Progress& p, Evaluators ev, const std::vector<std::string>& names) {
  auto t0 = Clock::now();
  CsvLog log(t.cluster.rank() == 0 ? o.log : "");
  Tensor xb(DType::f32, {o.batch, ev.d.train.features}), yb(DType::i32, {o.batch}), loss(DType::f32, {});
  int64_t total = o.steps > 0 ? o.steps : o.epochs * t.per_epoch;
  while (t.steps_done < total && !p.stop) {
    if (t.steps_done % t.per_epoch == 0 || t.order.empty()) t.order_for_epoch(t.steps_done / t.per_epoch + 1);
    auto ts = Clock::now();
    p.loss_sum += t.run_step(xb, yb, loss);
    p.step_ms += ms_since(ts);
    ++p.steps;
    if (!o.save.empty() && o.save_every > 0 && t.steps_done % o.save_every == 0) save(o, t, p, names);
    if (t.steps_done % t.per_epoch != 0 && t.steps_done != total) continue;
    end_epoch(o, t, p, ev, log, t0);
  }
}

// After training: the test score (the only time the test set is used), the
// confusion matrix, the plot and the exported classifier. Returns the test
// accuracy.
double finish(const Options& o, const Demo& demo, const Model& model, Trainer& t, Progress& p, Evaluators ev) {
  Scores s = score(ev.c.logits_test, ev.d.test, ev.d.classes, t.params);
  fmt::print("test: loss {:.4f}  accuracy {:.2f}% ({} images, scored once)\n", s.loss, 100 * s.accuracy, ev.d.test.count);
  if (o.confusion) fmt::print("{}", confusion_matrix(ev.d.test, s.predicted, ev.d.classes));
  if (!o.plot.empty())
    write_plot(o.plot, p.history,
               fmt::format("{}: {} (lr {}, batch {}, seed {})", demo.name, optimizer_name(o.optimizer.kind),
                           o.learning_rate(), o.batch, o.seed));
  if (!o.export_dir.empty()) {
    export_classifier(o.export_dir, model, ev.d.test, s.predicted, o.export_batch, t.params);
    fmt::print("exported the classifier to {}/classifier.nabla\n", o.export_dir);
  }
  return s.accuracy;
}

int run(const Options& o, const Demo& demo, Cluster& cluster, const std::vector<std::string>& rest) {
  if (!rest.empty()) throw Error("unexpected argument '" + rest[0] + "'");
  check(o);
  bool lead = cluster.rank() == 0;  // prints, evaluates and writes
  Data d = load_data(o);
  int64_t global = o.batch * cluster.size();
  if (d.train.count < global)
    throw Error(fmt::format("batch {} on {} rank(s) exceeds the {} training images", o.batch, cluster.size(),
                            d.train.count));
  if (lead)
    fmt::print("data: {} images of {} pixels, {} classes; {} train, {} validation, {} test (seed {}); {} rank(s) x "
               "batch {}\n",
               d.train.count + d.validation.count + d.test.count, d.train.features, d.classes, d.train.count,
               d.validation.count, d.test.count, o.seed, cluster.size(), o.batch);
  auto t0 = Clock::now();
  Model model = demo.model(d.train.features, d.classes);
  Compiled c = compile_all(o, model, d, cluster, lead);
  std::vector<std::string> names = checkpoint_names(model, c.info);
  Trainer t{o, cluster, d.train, c.step, c.info.has_t, model.init(o.seed), {}, {}, {}, 0, d.train.count / global, {}};
  broadcast_from_rank0(cluster.comm(), t.params);
  for (size_t i = 0; i < c.info.state_names.size(); ++i)
    t.state.emplace_back(DType::f32, t.params[i % t.params.size()].shape());
  Progress p;
  restore(o, t, p, names);
  t.next = zeros_like(t.params);
  t.next_state = zeros_like(t.state);
  train_loop(o, t, p, {c, d}, names);
  if (!o.save.empty()) save(o, t, p, names);
  if (!lead) return 0;
  double test_accuracy = finish(o, demo, model, t, p, {c, d});
  fmt::print("trained in {:.2f} s (including compilation)\n", ms_since(t0) / 1000);
  if (o.require >= 0 && !(p.last_loss < p.first_loss && test_accuracy >= o.require)) {
    fmt::print(stderr, "{}: no progress: loss {:.4f} -> {:.4f}, test accuracy {:.2f}% (required {:.2f}%)\n", demo.name,
               p.first_loss, p.last_loss, 100 * test_accuracy, 100 * o.require);
    return 1;
  }
  return 0;
}

}  // namespace

Tensor he_normal(const Shape& shape, int64_t fan_in, std::mt19937_64& rng) {
  Tensor t(DType::f32, shape);
  std::normal_distribution<double> normal(0.0, std::sqrt(2.0 / static_cast<double>(fan_in)));
  for (int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = static_cast<float>(normal(rng));
  return t;
}

int train_main(int argc, char** argv, const Demo& demo) {
  Options o;
  o.epochs = demo.default_epochs;
  o.default_lr = demo.default_lr;
  o.data = NABLA_DIGITS_CSV;
  // Under mpirun: MPI and the communicator, set up before the options are
  // read (MPI_Init may take its own arguments). A collective gives up after
  // NABLA_MPI_TIMEOUT seconds (default 60).
  const char* timeout = std::getenv("NABLA_MPI_TIMEOUT");
  Cluster cluster(argc, argv, timeout ? std::atof(timeout) : 60.0);
  std::string help[2];
  return cli::run(program(o, demo.name, demo.overview, help), argc, argv, [&](std::vector<std::string>& rest) {
    try {
      return run(o, demo, cluster, rest);
    } catch (const Error& e) {
      cluster.fail(e.what());  // every rank stops (in one process: reported as usual)
      throw;
    }
  });
}

}  // namespace nabla::demo
