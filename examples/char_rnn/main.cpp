// A character-level RNN trained on a small text with nabla::scan (issue 15).
//
// The text is cut into `--streams` equal streams read side by side (a batch);
// each training step is ONE scan over the next `--seq` characters of every
// stream: the body embeds the characters (one_hot), runs the Elman cell
//   h' = tanh(one_hot(x) Wx + h Wh + b),  logits = h' Wy + by
// and returns the cross-entropy against the next characters as its stacked
// output. The loss is their mean; build-grad differentiates it through the
// loop (a backward scan, docs/autodiff.md "Loops") with respect to every
// weight, and Adam updates the weights. The hidden state is carried from one
// step to the next (truncated back-propagation through time). After training
// the same cell, compiled for one character, writes a sample.
//
//   char_rnn [--epochs N] [--hidden H] [--seq S] [--streams B] [--lr X]
//            [--seed S] [--text FILE] [--require-loss L]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/build_grad.h"
#include "nabla/runtime/error.h"
#include "tools/common/cli.h"

namespace nabla::demo {
namespace {

struct Options {
  int epochs = 40;
  int64_t hidden = 64, seq = 32, streams = 8;
  double lr = 0.01;
  uint64_t seed = 1;
  std::string text = NABLA_CHAR_RNN_TEXT;
  double require_loss = -1;  // exit 1 unless the last epoch's loss is below it
};

// Parameter order of every function: Wx [V,H], Wh [H,H], b [H], Wy [H,V], by [V].
std::vector<Shape> parameter_shapes(int64_t v, int64_t h) { return {{v, h}, {h, h}, {h}, {h, v}, {v}}; }

std::vector<Value> parameter_inputs(Function& f, int64_t vocab, int64_t hidden) {
  const char* names[] = {"Wx", "Wh", "b", "Wy", "by"};
  std::vector<Value> params;
  for (const Shape& s : parameter_shapes(vocab, hidden)) params.push_back(f.input(names[params.size()], f32(s)));
  return params;
}

struct Cell {
  Value h, logits;
};

// One step of the Elman cell for the characters `ids` (i32[B]) of a batch.
Cell cell(Value h, Value ids, std::span<const Value> w) {
  int64_t vocab = w[0]->shape()[0];
  Value hn = tanh(matmul(one_hot(ids, vocab), w[0]) + matmul(h, w[1]) + w[2]);
  return {hn, matmul(hn, w[3]) + w[4]};
}

// @train(x i32[S,B], y i32[S,B], h0 f32[B,H], params...) -> (loss, h_S, dloss/dparams...)
void build_train(Function& f, int64_t vocab, int64_t hidden, int64_t seq, int64_t streams) {
  Value x = f.input("x", i32({seq, streams})), y = f.input("y", i32({seq, streams}));
  Value h0 = f.input("h0", f32({streams, hidden}));
  std::vector<Value> params = parameter_inputs(f, vocab, hidden);
  ScanResult r = scan([](auto c, auto xs, auto w) -> ScanBodyResult {
    Cell next = cell(c[0], xs[0], w);
    return {{next.h}, {cross_entropy(next.logits, xs[1])}};
  }, {h0}, {x, y}, params);
  Value loss = mean(r.ys[0]);
  f.output(loss);
  f.output(r.carry[0]);
  for (Value g : grad(loss, params)) f.output(g);
}

// @sample_step(id i32[1], h f32[1,H], params...) -> (logits f32[1,V], h')
void build_sample_step(Function& f, int64_t vocab, int64_t hidden) {
  Value id = f.input("id", i32({1})), h = f.input("h", f32({1, hidden}));
  std::vector<Value> params = parameter_inputs(f, vocab, hidden);
  Cell next = cell(h, id, params);
  f.output(next.logits);
  f.output(next.h);
}

// Adam (Kingma and Ba) on the host, from the gradients the scan's backward pass computed.
struct Adam {
  double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  int t = 0;
  std::vector<std::vector<float>> m, v;
  void update(std::vector<Tensor>& params, std::span<const Tensor> grads) {
    if (m.empty())
      for (const Tensor& p : params) {
        m.emplace_back(static_cast<size_t>(p.numel()), 0.0f);
        v.emplace_back(static_cast<size_t>(p.numel()), 0.0f);
      }
    ++t;
    double step = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
    for (size_t i = 0; i < params.size(); ++i) {
      float* p = params[i].data_as<float>();
      const float* g = grads[i].data_as<float>();
      for (size_t k = 0; k < m[i].size(); ++k) {
        m[i][k] = static_cast<float>(b1 * m[i][k] + (1 - b1) * g[k]);
        v[i][k] = static_cast<float>(b2 * v[i][k] + (1 - b2) * g[k] * g[k]);
        p[k] -= static_cast<float>(step * m[i][k] / (std::sqrt(v[i][k]) + eps));
      }
    }
  }
};

// Weights normal with variance 1 / fan_in, biases zero.
std::vector<Tensor> init_params(int64_t vocab, int64_t hidden, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Tensor> params;
  for (const Shape& s : parameter_shapes(vocab, hidden)) {
    Tensor t(DType::f32, s);
    std::fill_n(t.data_as<float>(), t.numel(), 0.0f);
    std::normal_distribution<double> normal(0.0, 1.0 / std::sqrt(static_cast<double>(s[0])));
    if (s.size() == 2)
      for (int64_t k = 0; k < t.numel(); ++k) t.data_as<float>()[k] = static_cast<float>(normal(rng));
    params.push_back(std::move(t));
  }
  return params;
}

// Characters [from, from+seq) of every stream, as x[S,B], and the ones after them as y.
void fill_chunk(const std::vector<int32_t>& ids, int64_t stream_len, int64_t from, Tensor& x, Tensor& y) {
  int64_t seq = x.shape()[0], streams = x.shape()[1];
  for (int64_t t = 0; t < seq; ++t)
    for (int64_t b = 0; b < streams; ++b) {
      size_t at = static_cast<size_t>(b * stream_len + from + t);
      x.data_as<int32_t>()[t * streams + b] = ids[at];
      y.data_as<int32_t>()[t * streams + b] = ids[at + 1];
    }
}

std::string sample(Executable& step, const std::vector<Tensor>& params, const std::string& vocab, int32_t first,
                   int length, uint64_t seed) {
  std::mt19937_64 rng(seed);
  int64_t hidden = params[1].shape()[0];
  Tensor id(DType::i32, {1}), h(DType::f32, {1, hidden}), logits(DType::f32, {1, static_cast<int64_t>(vocab.size())});
  Tensor hn(DType::f32, {1, hidden});
  std::string out(1, vocab[static_cast<size_t>(first)]);
  id.data_as<int32_t>()[0] = first;
  for (int i = 0; i < length; ++i) {
    std::vector<Tensor> in = {id, h};
    in.insert(in.end(), params.begin(), params.end());
    Tensor res[] = {logits, hn};
    step.run(in, res);
    std::vector<double> p(vocab.size());
    for (size_t k = 0; k < p.size(); ++k) p[k] = std::exp(logits.data_as<float>()[k] / 0.7);  // temperature 0.7
    int32_t next = static_cast<int32_t>(std::discrete_distribution<int>(p.begin(), p.end())(rng));
    out += vocab[static_cast<size_t>(next)];
    id.data_as<int32_t>()[0] = next;
    std::swap(h, hn);
  }
  return out;
}

int run(const Options& o) {
  std::ifstream file(o.text);
  if (!file) throw Error("cannot read '" + o.text + "'");
  std::stringstream ss;
  ss << file.rdbuf();
  std::string text = ss.str(), vocab = text;
  std::sort(vocab.begin(), vocab.end());
  vocab.erase(std::unique(vocab.begin(), vocab.end()), vocab.end());
  std::vector<int32_t> ids;
  for (char ch : text) ids.push_back(static_cast<int32_t>(vocab.find(ch)));
  int64_t stream_len = (static_cast<int64_t>(text.size()) - 1) / o.streams, chunks = stream_len / o.seq;
  if (chunks == 0) throw Error(fmt::format("the text ({} characters) is too short for {} streams of {}",
                                           text.size(), o.streams, o.seq));
  int64_t v = static_cast<int64_t>(vocab.size());
  fmt::print("text: {} characters, {} distinct; {} streams of {}, {} scans of {} steps per epoch\n", text.size(), v,
             o.streams, stream_len, chunks, o.seq);

  auto t0 = std::chrono::steady_clock::now();
  Module m;
  build_train(m.function("train"), v, o.hidden, o.seq, o.streams);
  build_sample_step(m.function("sample_step"), v, o.hidden);
  Executable train = compile(m, "train"), step = compile(m, "sample_step");
  fmt::print("compiled in {:.0f} ms (train: {} nodes, {} kernels)\n",
             std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(),
             train.stats().num_nodes, train.stats().num_kernels);

  std::vector<Tensor> params = init_params(v, o.hidden, o.seed), grads;
  for (const Tensor& p : params) grads.emplace_back(DType::f32, p.shape());
  Tensor x(DType::i32, {o.seq, o.streams}), y(DType::i32, {o.seq, o.streams});
  Tensor h(DType::f32, {o.streams, o.hidden}), hn(DType::f32, {o.streams, o.hidden}), loss(DType::f32, {});
  Adam adam;
  adam.lr = o.lr;
  double first = 0, last = 0;
  for (int e = 1; e <= o.epochs; ++e) {
    std::fill_n(h.data_as<float>(), h.numel(), 0.0f);
    double sum = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      fill_chunk(ids, stream_len, c * o.seq, x, y);
      std::vector<Tensor> in = {x, y, h}, out = {loss, hn};
      in.insert(in.end(), params.begin(), params.end());
      out.insert(out.end(), grads.begin(), grads.end());
      train.run(in, out);
      sum += loss.data_as<float>()[0];
      adam.update(params, grads);
      std::swap(h, hn);
    }
    last = sum / static_cast<double>(chunks);
    if (e == 1) first = last;
    fmt::print("epoch {:3d}  loss {:.4f} nats/char\n", e, last);
  }
  fmt::print("sample: \"{}\"\n", sample(step, params, vocab, ids[0], 120, o.seed));
  if (o.require_loss >= 0 && !(std::isfinite(last) && last < first && last < o.require_loss)) {
    fmt::print(stderr, "char_rnn: no progress: loss {:.4f} -> {:.4f} (required below {:.4f})\n", first, last,
               o.require_loss);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace nabla::demo

int main(int argc, char** argv) {
  using namespace nabla;
  demo::Options o;
  auto integer = [](auto& field, int64_t lo, int64_t hi) {
    return [&field, lo, hi](std::string_view v) {
      field = static_cast<std::remove_reference_t<decltype(field)>>(cli::parse_int(v, lo, hi));
    };
  };
  cli::Program program{
      "char_rnn",
      "[options]",
      "trains a character-level RNN on a text, one scan per chunk of characters",
      {
          {"--epochs", "N", "passes over the text (default 40)", integer(o.epochs, 1, 100000)},
          {"--hidden", "H", "hidden units (default 64)", integer(o.hidden, 1, 4096)},
          {"--seq", "S", "characters per scan (default 32)", integer(o.seq, 1, 1 << 20)},
          {"--streams", "B", "streams the text is cut into, read side by side (default 8)",
           integer(o.streams, 1, 4096)},
          {"--lr", "X", "Adam's learning rate (default 0.01)", [&](std::string_view v) { o.lr = cli::parse_real(v, 0); }},
          {"--seed", "S", "seed of the initialization and the sample (default 1)", integer(o.seed, 0, INT64_MAX)},
          {"--text", "FILE", "the text (default examples/char_rnn/lighthouse.txt)",
           [&](std::string_view v) { o.text = v; }},
          {"--require-loss", "L", "exit 1 unless the loss fell and the last epoch's is below L (nats/char)",
           [&](std::string_view v) { o.require_loss = cli::parse_real(v, 0); }},
      },
  };
  return cli::run(program, argc, argv, [&](std::vector<std::string>& rest) {
    if (!rest.empty()) throw Error("unexpected argument '" + rest[0] + "'");
    return demo::run(o);
  });
}
