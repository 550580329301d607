#pragma once
// The command line shared by the training demos (train_digits, train_cnn):
// data, schedule, optimizer, checkpoints and reports (docs/cli.md, "The
// training demos").
#include <cstdint>
#include <string>

#include "examples/common/optimizer.h"
#include "tools/common/cli.h"

namespace nabla::demo {

struct Options {
  int epochs = 30;
  int64_t batch = 64;
  double lr = -1;            // < 0: the demo's default for SGD and momentum, 0.001 for Adam
  double default_lr = 0.1;   // the demo's
  OptimizerOptions optimizer;
  uint64_t seed = 1;
  int threads = 1;
  std::string data;          // the digits CSV
  std::string mnist;         // a directory of the four MNIST IDX files
  double validation = 0.1;   // fraction of the training part held out
  int patience = 0;          // > 0: stop after this many epochs without a better validation loss
  double require = -1;       // with --require-progress: the test accuracy bar
  int64_t steps = 0;         // > 0: stop after this many steps in all (instead of --epochs)
  std::string save, resume, load, log, plot, export_dir;
  int64_t save_every = 0;
  int64_t export_batch = 1;
  bool confusion = false;

  // --lr, or the default of the optimizer.
  double learning_rate() const;
};

// The options above as a cli::Program; `help` keeps the texts that depend on
// the defaults alive as long as the program.
cli::Program program(Options& o, const char* name, const char* overview, std::string (&help)[2]);

// Checks combinations the parser cannot (--save-every without --save, ...).
void check(const Options& o);

}  // namespace nabla::demo
