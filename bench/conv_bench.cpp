// Issue 16's convolution figures: conv2d, conv2d_input_grad and
// conv2d_weight_grad compiled by nabla (each alone, fast-math) against
// oneDNN's convolution primitives (forward, backward data, backward weights)
// on ResNet-like shapes, 1 and 2 threads: oneDNN once on the plain NCHW/OIHW
// buffers nabla reads and writes, once with the layouts it prefers
// (format_tag::any; the reorders to and from them are not timed). Blocks of
// runs alternate; medians; GFLOP/s = 2 x multiply-adds / time, and the share
// of the FMA limit (one core's, measured here, times the threads). nabla's
// results are compared with oneDNN's (plain) once.
//   conv_bench [--threads 1,2] [--quick] [--only 3x3|1x1[:forward|data|weights]]
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench/bench_util.h"
#include "bench/fma_peak.h"
#include "nabla/compiler/compile.h"
#include "nabla/ir/builder.h"

namespace nabla::bench {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

struct ConvShape {
  int64_t n, c, h, o, k, pad;
  int64_t ho() const { return h + 2 * pad - k + 1; }
  double flops() const { return 2.0 * n * o * ho() * ho() * c * k * k; }
};

enum Kind { kForward, kData, kWeights };
const char* kKindNames[] = {"forward", "backward data", "backward weights"};

// The nabla function of one kind: operands (x, w), (dy, w) or (x, dy).
Executable compile_kind(const ConvShape& s, Kind kind, int threads) {
  Module m;
  Function& f = m.function("conv");
  Conv2DOptions o{.padding = {s.pad, s.pad, s.pad, s.pad}};
  Shape xs = {s.n, s.c, s.h, s.h}, ws = {s.o, s.c, s.k, s.k}, ys = {s.n, s.o, s.ho(), s.ho()};
  Value a = f.input(kind == kData ? "dy" : "x", f32(kind == kData ? ys : xs));  // inputs in this order
  Value b = f.input(kind == kWeights ? "dy" : "w", f32(kind == kWeights ? ys : ws));
  if (kind == kForward) f.output(conv2d(a, b, o));
  if (kind == kData) f.output(conv2d_input_grad(a, b, xs, o));
  if (kind == kWeights) f.output(conv2d_weight_grad(a, b, ws, o));
  CompileOptions co;
  co.fast_math = true;
  co.num_threads = threads;
  return compile(m, "conv", co);
}

struct Buffers {
  std::vector<float> x, w, y, out_nabla, out_dnnl;
};

// One oneDNN primitive of `kind` on plain or preferred layouts, with its
// arguments (reordered copies of the buffers for the preferred layouts).
struct DnnlConv {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
  memory result, result_plain;

  DnnlConv(const ConvShape& s, Kind kind, bool plain, Buffers& b);
  void run() {
    prim.execute(strm, args);
    strm.wait();
  }
  void finish() {  // the result into out_dnnl's plain layout
    if (result != result_plain) dnnl::reorder(result, result_plain).execute(strm, result, result_plain);
    strm.wait();
  }
};

DnnlConv::DnnlConv(const ConvShape& s, Kind kind, bool plain, Buffers& b) {
  auto md = [&](memory::dims d, tag t) { return memory::desc(d, memory::data_type::f32, plain ? t : tag::any); };
  memory::dims xd = {s.n, s.c, s.h, s.h}, wd = {s.o, s.c, s.k, s.k}, yd = {s.n, s.o, s.ho(), s.ho()};
  memory::dims st = {1, 1}, pad = {s.pad, s.pad};
  auto xm = md(xd, tag::nchw), wm = md(wd, tag::oihw), ym = md(yd, tag::nchw);
  using namespace dnnl;
  convolution_forward::primitive_desc fwd(
      {prop_kind::forward_training, algorithm::convolution_direct, xm, wm, ym, st, pad, pad}, eng);
  memory::desc xdesc = fwd.src_desc(), wdesc = fwd.weights_desc(), ydesc = fwd.dst_desc(), rdesc;
  if (kind == kForward) prim = convolution_forward(fwd), rdesc = ydesc;
  if (kind == kData) {
    convolution_backward_data::primitive_desc pd({algorithm::convolution_direct, xm, wm, ym, st, pad, pad}, eng, fwd);
    prim = convolution_backward_data(pd), xdesc = rdesc = pd.diff_src_desc(), wdesc = pd.weights_desc(),
    ydesc = pd.diff_dst_desc();
  }
  if (kind == kWeights) {
    convolution_backward_weights::primitive_desc pd({algorithm::convolution_direct, xm, wm, ym, st, pad, pad}, eng,
                                                    fwd);
    prim = convolution_backward_weights(pd), xdesc = pd.src_desc(), wdesc = rdesc = pd.diff_weights_desc(),
    ydesc = pd.diff_dst_desc();
  }
  // An argument: the plain buffer, reordered into the primitive's layout when it differs.
  auto arg = [&](const memory::desc& want, memory::dims d, tag t, std::vector<float>& data) {
    memory p(memory::desc(d, memory::data_type::f32, t), eng, data.data());
    if (want == p.get_desc()) return p;
    memory m(want, eng);
    reorder(p, m).execute(strm, p, m);
    return m;
  };
  memory x = arg(xdesc, xd, tag::nchw, kind == kData ? b.out_dnnl : b.x);
  memory w = arg(wdesc, wd, tag::oihw, kind == kWeights ? b.out_dnnl : b.w);
  memory y = arg(ydesc, yd, tag::nchw, kind == kForward ? b.out_dnnl : b.y);
  strm.wait();
  result = kind == kForward ? y : kind == kData ? x : w;
  result_plain = memory(memory::desc(kind == kForward ? yd : kind == kData ? xd : wd, memory::data_type::f32,
                                     kind == kWeights ? tag::oihw : tag::nchw), eng, b.out_dnnl.data());
  if (kind == kForward) args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}};
  if (kind == kData) args = {{DNNL_ARG_DIFF_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, y}};
  if (kind == kWeights) args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, y}};
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0, scale = 0;
  for (float v : b) scale = std::max(scale, double(std::abs(v)));
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
  return worst / std::max(scale, 1e-30);
}

void bench_kind(const ConvShape& s, Kind kind, int threads, Buffers& b, int reps, double peak) {
  Executable exe = compile_kind(s, kind, threads);
  std::vector<float>& out = b.out_nabla;
  out.assign(kind == kForward ? b.y.size() : kind == kData ? b.x.size() : b.w.size(), 0.f);
  b.out_dnnl.assign(out.size(), 0.f);
  Shape xs = {s.n, s.c, s.h, s.h}, ws = {s.o, s.c, s.k, s.k}, ys = {s.n, s.o, s.ho(), s.ho()};
  Tensor x = Tensor::view(b.x.data(), DType::f32, xs), w = Tensor::view(b.w.data(), DType::f32, ws),
         y = Tensor::view(b.y.data(), DType::f32, ys);
  std::vector<Tensor> in = kind == kForward ? std::vector{x, w} : kind == kData ? std::vector{y, w} : std::vector{x, y};
  std::vector<Tensor> res = {Tensor::view(out.data(), DType::f32, exe.output_types()[0].shape)};
  DnnlConv plain(s, kind, true, b), best(s, kind, false, b);
  exe.run(in, res), plain.run(), best.run();
  plain.finish();
  double diff = max_rel_diff(out, b.out_dnnl);
  std::vector<double> tn, tp, tb;
  for (int blk = 0; blk < 3; ++blk) {
    for (int r = 0; r < reps; ++r) tn.push_back(time_ms([&] { exe.run(in, res); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (int r = 0; r < reps; ++r) tp.push_back(time_ms([&] { plain.run(); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (int r = 0; r < reps; ++r) tb.push_back(time_ms([&] { best.run(); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  double n = median(tn), p = median(tp), q = median(tb), gf = s.flops() / 1e6;
  std::printf("%3lld %4lld->%-4lld %3lldx%-3lld %lldx%lld %-16s %3d | %8.3f %6.1f %5.1f%% | %8.3f %6.1f | %8.3f %6.1f | "
              "%5.2fx %5.2fx | %.1e\n",
              (long long)s.n, (long long)s.c, (long long)s.o, (long long)s.h, (long long)s.h, (long long)s.k,
              (long long)s.k, kKindNames[kind], threads, n, gf / n, 100 * gf / n / (peak * threads), p, gf / p, q,
              gf / q, p / n, q / n, diff);
  std::fflush(stdout);
}

int run(int argc, char** argv) {
  BenchArgs args;
  std::string only;  // "1x1" or "3x3", optionally ":forward", ":data" or ":weights"
  auto extra = [&](char** argv, int& i) {
    if (std::strcmp(argv[i], "--only") || !argv[i + 1]) return false;
    only = argv[++i];
    return true;
  };
  const char* usage = "conv_bench [--threads 1,2] [--quick] [--only 3x3|1x1[:forward|data|weights]]";
  if (!parse_bench_args(argc, argv, usage, args, extra)) return 1;
  auto wanted = [&](const ConvShape& s, Kind kind) {
    std::string name = std::to_string(s.k) + "x" + std::to_string(s.k);
    const char* kinds[] = {"forward", "data", "weights"};
    return only.empty() || only == name || only == name + ":" + kinds[kind];
  };
  const bool quick = args.quick;
  double peak = fma_peak_gflops();
  std::printf("FMA limit of one core: %.1f GFLOP/s; fp32, medians of %d runs\n", peak, quick ? 6 : 15);
  std::printf("%3s %10s %7s %3s %-16s %3s | %8s %6s %6s | %8s %6s | %8s %6s | %6s %6s | %s\n", "N", "C->O", "HxW",
              "k", "kind", "thr", "nabla ms", "GF/s", "peak", "plain ms", "GF/s", "any ms", "GF/s", "p/nab", "a/nab",
              "max diff");
  const ConvShape shapes[] = {{32, 64, 56, 64, 3, 1}, {32, 128, 28, 256, 1, 0}};
  for (const ConvShape& s : shapes) {
    if (!wanted(s, kForward) && !wanted(s, kData) && !wanted(s, kWeights)) continue;
    Buffers b;
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    b.x.resize(s.n * s.c * s.h * s.h), b.w.resize(s.o * s.c * s.k * s.k), b.y.resize(s.n * s.o * s.ho() * s.ho());
    for (auto* v : {&b.x, &b.w, &b.y})
      for (float& e : *v) e = u(rng);
    for (int threads : args.threads) {
      omp_set_num_threads(threads);
      for (Kind kind : {kForward, kData, kWeights})
        if (wanted(s, kind)) bench_kind(s, kind, threads, b, quick ? 2 : 5, peak);
    }
  }
  return 0;
}

}  // namespace
}  // namespace nabla::bench

int main(int argc, char** argv) { return nabla::bench::run(argc, argv); }
