#include "examples/common/history.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "nabla/runtime/error.h"

namespace nabla::demo {

const char* const kCsvHeader = "epoch,step,loss,train_accuracy,validation_loss,validation_accuracy,seconds";

CsvLog::CsvLog(const std::string& path) : path_(path) {
  if (path.empty()) return;
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) throw Error(path + ": cannot write");
  fmt::print(file_, "{}\n", kCsvHeader);
  std::fflush(file_);
}

CsvLog::~CsvLog() {
  if (file_) std::fclose(file_);
}

void CsvLog::add(const Epoch& e) {
  if (!file_) return;
  fmt::print(file_, "{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f}\n", e.epoch, e.step, e.loss, e.train_accuracy,
             e.validation_loss, e.validation_accuracy, e.seconds);
  if (std::fflush(file_) != 0) throw Error(path_ + ": cannot write");
}

namespace {

constexpr double kWidth = 720, kPanel = 260, kLeft = 70, kRight = 170, kTop = 40, kBottom = 40;

struct Series {
  const char* id;
  const char* label;
  const char* color;
  std::vector<double> values;  // one per epoch; NaN: none
};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// The y range of the finite values, widened when flat.
std::pair<double, double> range(const std::vector<Series>& series) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& s : series)
    for (double v : s.values)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) return {0, 1};
  if (hi - lo < 1e-9) return {lo - 0.5, hi + 0.5};
  double pad = 0.05 * (hi - lo);
  return {lo - pad, hi + pad};
}

// One panel at vertical offset y0: frame, ticks, the curves and a legend.
std::string panel(double y0, const std::string& title, const std::vector<int64_t>& epochs,
                  const std::vector<Series>& series) {
  double x0 = kLeft, x1 = kWidth - kRight, top = y0 + kTop, bottom = y0 + kPanel - kBottom;
  std::pair<double, double> r = range(series);
  double lo = r.first, hi = r.second;
  double first = static_cast<double>(epochs.front()), last = static_cast<double>(epochs.back());
  if (last == first) first -= 0.5, last += 0.5;
  auto px = [&](double e) { return x0 + (e - first) / (last - first) * (x1 - x0); };
  auto py = [&](double v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); };
  std::string svg = fmt::format("<g class=\"panel\">\n<text x=\"{}\" y=\"{}\" font-size=\"14\">{}</text>\n", x0,
                                top - 10, escape(title));
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>\n", x0, top,
                     x1 - x0, bottom - top);
  for (int k = 0; k <= 4; ++k) {
    double v = lo + (hi - lo) * k / 4;
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{:.3g}</text>\n", x0 - 5,
                       py(v) + 4, v);
  }
  size_t every = std::max<size_t>(1, epochs.size() / 10);
  for (size_t i = 0; i < epochs.size(); i += every)
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
                       px(static_cast<double>(epochs[i])), bottom + 15, epochs[i]);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">epoch</text>\n",
                     (x0 + x1) / 2, bottom + 30);
  for (size_t s = 0; s < series.size(); ++s) {
    std::string points;
    for (size_t i = 0; i < epochs.size(); ++i)
      if (std::isfinite(series[s].values[i]))
        points += fmt::format("{}{:.1f},{:.1f}", points.empty() ? "" : " ", px(static_cast<double>(epochs[i])),
                              py(series[s].values[i]));
    svg += fmt::format("<polyline id=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
                       series[s].id, series[s].color, points);
    double ly = top + 15 + 20 * static_cast<double>(s);
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n", x1 + 10,
                       ly, x1 + 30, ly, series[s].color);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n", x1 + 35, ly + 4, series[s].label);
  }
  return svg + "</g>\n";
}

}  // namespace

std::string plot_svg(const std::vector<Epoch>& history, const std::string& title) {
  if (history.empty()) throw Error("--plot: no epoch to draw (the run trained none)");
  std::vector<int64_t> epochs;
  Series loss{"train_loss", "training loss", "#1f77b4", {}}, vloss{"validation_loss", "validation loss", "#ff7f0e", {}};
  Series acc{"train_accuracy", "training", "#1f77b4", {}}, vacc{"validation_accuracy", "validation", "#ff7f0e", {}};
  for (const Epoch& e : history) {
    epochs.push_back(e.epoch);
    loss.values.push_back(e.loss);
    vloss.values.push_back(e.validation_loss);
    acc.values.push_back(100 * e.train_accuracy);
    vacc.values.push_back(100 * e.validation_accuracy);
  }
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">\n"
      "<title>{2}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      kWidth, 2 * kPanel, escape(title));
  svg += panel(0, "loss (cross-entropy)", epochs, {loss, vloss});
  svg += panel(kPanel, "accuracy (%)", epochs, {acc, vacc});
  return svg + "</svg>\n";
}

void write_plot(const std::string& path, const std::vector<Epoch>& history, const std::string& title) {
  std::string svg = plot_svg(history, title);
  std::ofstream out(path, std::ios::trunc);
  out << svg;
  if (!(out << std::flush)) throw Error(path + ": cannot write");
}

}  // namespace nabla::demo
