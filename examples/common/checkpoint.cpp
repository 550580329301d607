#include "examples/common/checkpoint.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "nabla/runtime/error.h"
#include "nabla/runtime/npy.h"

namespace nabla::demo {
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!(out << std::flush)) throw Error(tmp.string() + ": cannot write");
  }
  fs::rename(tmp, path);
}

void write_early_stop(const fs::path& dir, const std::vector<std::string>& names, const EarlyStopState& e) {
  Tensor s(DType::f64, {5});
  double* v = s.data_as<double>();
  v[0] = static_cast<double>(e.epoch), v[1] = e.best_loss, v[2] = static_cast<double>(e.best_epoch);
  v[3] = static_cast<double>(e.waited()), v[4] = static_cast<double>(e.best_params.size());
  write_npy((dir / "early_stopping.npy").string(), s);
  for (size_t i = 0; i < e.best_params.size(); ++i)
    write_npy((dir / ("best_" + names[i] + ".npy")).string(), e.best_params[i]);
}

EarlyStopState read_early_stop(const fs::path& dir, const std::vector<std::string>& names,
                               const std::vector<Tensor>& params) {
  EarlyStopState e;
  std::string path = (dir / "early_stopping.npy").string();
  if (!fs::exists(path)) return e;
  Tensor s = read_npy(path);
  check_npy_type(path, s, "the early stopping state", DType::f64, std::vector<int64_t>{5});
  const double* v = s.data_as<double>();
  e.epoch = static_cast<int64_t>(v[0]), e.best_loss = v[1], e.best_epoch = static_cast<int64_t>(v[2]);
  if (!(v[4] >= 0 && v[4] <= static_cast<double>(names.size()) && v[4] == std::floor(v[4])))
    throw Error(fmt::format("{}: {} best parameters, more than the {} tensors expected", path, v[4], names.size()));
  for (size_t i = 0; i < static_cast<size_t>(v[4]); ++i) {
    std::string p = (dir / ("best_" + names[i] + ".npy")).string();
    Tensor t = read_npy(p);
    check_npy_type(p, t, "best parameter " + names[i], params[i].dtype(), params[i].shape());
    e.best_params.push_back(std::move(t));
  }
  return e;
}

}  // namespace

void save_checkpoint(const std::string& dir, const std::vector<std::string>& names,
                     const std::vector<Tensor>& params, const TrainState& state) {
  std::string step = "step-" + std::to_string(state.step);
  fs::path root(dir), partial = root / (step + ".partial"), done = root / step;
  std::error_code ec;
  fs::create_directories(root, ec);
  fs::remove_all(partial, ec);
  if (!fs::create_directories(partial, ec) && ec) throw Error(dir + ": cannot create " + partial.string());
  for (size_t i = 0; i < params.size(); ++i) write_npy((partial / (names[i] + ".npy")).string(), params[i]);
  Tensor s(DType::i64, {5});
  int64_t* v = s.data_as<int64_t>();
  v[0] = state.step, v[1] = state.seed, v[2] = state.batch, v[3] = state.ranks, v[4] = state.optimizer;
  write_npy((partial / "state.npy").string(), s);
  write_early_stop(partial, names, state.early);
  fs::remove_all(done, ec);
  fs::rename(partial, done);
  write_text(root / "LATEST", step + "\n");
  for (const fs::directory_entry& e : fs::directory_iterator(root))  // the older checkpoints
    if (e.is_directory() && e.path().filename().string().rfind("step-", 0) == 0 && e.path() != done)
      fs::remove_all(e.path(), ec);
}

TrainState load_checkpoint(const std::string& dir, const std::vector<std::string>& names,
                           std::vector<Tensor>& params) {
  fs::path root(dir);
  std::ifstream latest(root / "LATEST");
  std::string step;
  if (!(latest >> step)) throw Error(dir + ": no checkpoint (no LATEST file)");
  fs::path at = root / step;
  for (size_t i = 0; i < params.size(); ++i) {
    std::string path = (at / (names[i] + ".npy")).string();
    Tensor t = read_npy(path);
    check_npy_type(path, t, "parameter " + names[i], params[i].dtype(), params[i].shape());
    params[i] = std::move(t);
  }
  std::string path = (at / "state.npy").string();
  Tensor s = read_npy(path);
  check_npy_type(path, s, "the training state", DType::i64, std::vector<int64_t>{5});
  const int64_t* v = s.data_as<int64_t>();
  return {v[0], v[1], v[2], v[3], v[4], read_early_stop(at, names, params)};
}

}  // namespace nabla::demo
