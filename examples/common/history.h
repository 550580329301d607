#pragma once
// The per-epoch record of a training run and its two renderings: the CSV log
// (--log FILE.csv) and the loss and accuracy curves (--plot FILE.svg, SVG
// written directly).
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace nabla::demo {

struct Epoch {
  int64_t epoch = 0, step = 0;
  double loss = 0;             // mean training loss of the epoch's steps
  double train_accuracy = 0;
  double validation_loss = 0, validation_accuracy = 0;  // NaN without a validation set
  double seconds = 0;          // since the start of training
};

// The CSV log: a header line, then one line per epoch, flushed as it is
// written (a run that stops keeps the epochs so far).
class CsvLog {
 public:
  explicit CsvLog(const std::string& path);  // "" : no log
  ~CsvLog();
  CsvLog(const CsvLog&) = delete;
  CsvLog& operator=(const CsvLog&) = delete;
  void add(const Epoch& e);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// The header of the CSV log.
extern const char* const kCsvHeader;

// Two panels (loss, accuracy) against the epoch: the training loss and the
// validation loss, the training accuracy and the validation accuracy, each a
// polyline with an id (train_loss, validation_loss, train_accuracy,
// validation_accuracy), with axes, ticks and a legend. Throws nabla::Error
// when the file cannot be written.
std::string plot_svg(const std::vector<Epoch>& history, const std::string& title);
void write_plot(const std::string& path, const std::vector<Epoch>& history, const std::string& title);

}  // namespace nabla::demo
