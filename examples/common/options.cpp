#include "examples/common/options.h"

#include <fmt/format.h>

#include "nabla/runtime/error.h"

namespace nabla::demo {
namespace {

template <class Field>
std::function<void(std::string_view)> integer(Field& field, int64_t lo, int64_t hi) {
  return [&field, lo, hi](std::string_view v) { field = static_cast<Field>(cli::parse_int(v, lo, hi)); };
}

std::function<void(std::string_view)> real(double& field, double lo) {
  return [&field, lo](std::string_view v) { field = cli::parse_real(v, lo); };
}

std::function<void(std::string_view)> text(std::string& field) {
  return [&field](std::string_view v) {
    if (v.empty()) throw Error("expected a path, got ''");
    field = v;
  };
}

// The options of the data and the schedule.
std::vector<cli::Option> training_options(Options& o, const std::string& epochs_help, const std::string& lr_help) {
  return {
      {"--epochs", "N", epochs_help, integer(o.epochs, 0, 100000)},
      {"--batch", "B", "minibatch size (default 64)", integer(o.batch, 1, 1 << 20)},
      {"--lr", "X", lr_help, real(o.lr, 0)},
      {"--optimizer", "NAME", "sgd (default), momentum or adam: the update rule compiled into the step",
       [&](std::string_view v) { o.optimizer.kind = optimizer_kind(v); }},
      {"--momentum", "M", "with --optimizer momentum: the momentum (default 0.9)", real(o.optimizer.momentum, 0)},
      {"--beta1", "B", "with --optimizer adam: the first moment's decay (default 0.9)", real(o.optimizer.beta1, 0)},
      {"--beta2", "B", "with --optimizer adam: the second moment's decay (default 0.999)", real(o.optimizer.beta2, 0)},
      {"--eps", "E", "with --optimizer adam: added to the root of the second moment (default 1e-8)",
       real(o.optimizer.eps, 0)},
      {"--seed", "S", "seed of the split, the initialization and the shuffles (default 1)",
       integer(o.seed, 0, INT64_MAX)},
      {"--threads", "T", "threads of the compiled code (default 1)", integer(o.threads, 1, 256)},
      {"--data", "FILE", "the digits CSV (default: the copy built from data/digits.csv.gz)", text(o.data)},
      {"--mnist", "DIR", "train on the four MNIST IDX files in DIR (gzipped or not) instead", text(o.mnist)},
      {"--validation", "F", "fraction of the training images held out for validation (default 0.1)",
       real(o.validation, 0)},
      {"--patience", "N", "stop when the validation loss has not improved for N epochs, keeping the best parameters",
       integer(o.patience, 1, 100000)},
      {"--steps", "N", "stop after N steps in all, counting those of a resumed run (instead of --epochs)",
       integer(o.steps, 1, INT64_MAX)},
      {"--require-progress", "P", "exit 1 unless the loss fell and the test accuracy reached P", real(o.require, 0)},
  };
}

// The options of the files a run reads and writes.
std::vector<cli::Option> file_options(Options& o) {
  return {
      {"--save", "DIR", "write a checkpoint (parameters and optimizer state as .npy) to DIR at the end", text(o.save)},
      {"--save-every", "N", "with --save: also every N steps", integer(o.save_every, 1, INT64_MAX)},
      {"--resume", "DIR", "continue from the checkpoint in DIR (step count, optimizer state and --patience state included)",
       text(o.resume)},
      {"--load", "DIR", "start from the parameters (and --patience state) of the checkpoint in DIR (--epochs 0: only evaluate them)",
       text(o.load)},
      {"--log", "FILE", "write epoch, step, losses, accuracies and time to FILE as CSV", text(o.log)},
      {"--plot", "FILE", "draw the loss and accuracy curves to FILE as SVG", text(o.plot)},
      {"--confusion", "", "print the test set's confusion matrix", [&](std::string_view) { o.confusion = true; }},
      {"--export", "DIR",
       "write the trained classifier as DIR/classifier.nabla for nablac (the weights as constants), with sample "
       "images and the trainer's predictions for them",
       text(o.export_dir)},
      {"--export-batch", "N", "with --export: the number of images the classifier takes at a time (default 1)",
       integer(o.export_batch, 1, 1 << 20)},
  };
}

}  // namespace

double Options::learning_rate() const {
  if (lr >= 0) return lr;
  return optimizer.kind == OptimizerKind::adam ? 0.001 : default_lr;
}

cli::Program program(Options& o, const char* name, const char* overview, std::string (&help)[2]) {
  help[0] = fmt::format("passes over the training set (default {}; 0: only evaluate)", o.epochs);
  help[1] = fmt::format("learning rate (default {} for sgd and momentum, 0.001 for adam)", o.default_lr);
  std::vector<cli::Option> options = training_options(o, help[0], help[1]);
  for (cli::Option& f : file_options(o)) options.push_back(std::move(f));
  return {name, "[options]", overview, std::move(options)};
}

void check(const Options& o) {
  if (o.save_every > 0 && o.save.empty()) throw Error("--save-every needs --save");
  if (!o.resume.empty() && !o.load.empty()) throw Error("--resume and --load exclude each other");
  if (o.validation >= 1) throw Error(fmt::format("--validation: expected a fraction below 1, got {}", o.validation));
  if (o.patience > 0 && o.validation <= 0) throw Error("--patience needs a validation set (--validation above 0)");
  for (double b : {o.optimizer.beta1, o.optimizer.beta2, o.optimizer.momentum})
    if (b >= 1) throw Error(fmt::format("--momentum, --beta1 and --beta2 must be below 1, got {}", b));
}

}  // namespace nabla::demo
