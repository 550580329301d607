// Data-parallel training across processes (issue 19, docs/distributed.md):
// the MLP step (784-512-512-10, bench/mlp_graph.h) with its gradients
// all-reduced (op = mean) over MPI, batch B per rank, one thread per rank, on
// 1 and 2 ranks, with the all-reduces overlapped and not; beside it, in the
// same run, PyTorch's DistributedDataParallel (gloo) on the same model, batch
// and ranks (bench/ddp_torch.py). Medians of the step time; throughput is
// examples per second over all ranks; "wait" is the share of rank 0's step
// spent blocked in the communicator's wait.
//   distributed_bench [--batch 256] [--steps 40] [--rounds 5] [--quick]
// Started directly, it launches the runs itself (mpiexec, python3) and prints
// the table; under mpiexec it is one rank of a run (--rank-run).
#include <mpi.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/mlp_graph.h"
#include "nabla/compiler/compile.h"
#include "nabla/compiler/data_parallel.h"
#include "nabla/mpi/nabla_mpi.h"

namespace nabla::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int64_t batch = 256;
  int steps = 40;
  int rounds = 5;
  bool overlap = true;
  bool rank_run = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Wraps a communicator and adds up the time spent in its wait.
struct TimedComm {
  const nabla_communicator* inner;
  nabla_communicator table;
  double wait_s = 0;

  explicit TimedComm(const nabla_communicator* c) : inner(c), table(*c) {
    table.state = this;
    table.all_reduce_start = [](void* s, void* buf, int64_t n, int32_t dt, int32_t op, void** req) {
      auto* t = static_cast<TimedComm*>(s);
      return t->inner->all_reduce_start(t->inner->state, buf, n, dt, op, req);
    };
    table.wait = [](void* s, void* req) {
      auto* t = static_cast<TimedComm*>(s);
      auto t0 = Clock::now();
      int32_t status = t->inner->wait(t->inner->state, req);
      t->wait_s += std::chrono::duration<double>(Clock::now() - t0).count();
      return status;
    };
    table.progress = c->progress ? +[](void* s) {
      auto* t = static_cast<TimedComm*>(s);
      t->inner->progress(t->inner->state);
    } : nullptr;
    table.error_message = c->error_message ? +[](void* s) {
      auto* t = static_cast<TimedComm*>(s);
      return t->inner->error_message(t->inner->state);
    } : nullptr;
  }
};

// The step's inputs: this rank's batch (seeded by rank), the parameters (the
// same seed everywhere, He-initialized).
std::vector<Tensor> make_inputs(const Function& f, int rank) {
  std::mt19937 rng(1234 + rank), prng(7);
  std::vector<Tensor> in;
  for (const Node* n : f.inputs()) {
    const TensorType& t = n->type();
    Tensor v(t.dtype, t.shape);
    int64_t count = v.numel();
    if (t.dtype == DType::i32) {
      std::uniform_int_distribution<int32_t> label(0, 9);
      for (int64_t i = 0; i < count; ++i) v.data_as<int32_t>()[i] = label(rng);
    } else if (n->name() == "x") {
      std::uniform_real_distribution<float> pixel(0.f, 1.f);
      for (int64_t i = 0; i < count; ++i) v.data_as<float>()[i] = pixel(rng);
    } else {
      double fan_in = static_cast<double>(t.shape.size() == 2 ? t.shape[0] : 100);
      std::normal_distribution<float> w(0.f, static_cast<float>(std::sqrt(2.0 / fan_in)));
      for (int64_t i = 0; i < count; ++i) v.data_as<float>()[i] = t.shape.size() == 2 ? w(prng) : 0.f;
    }
    in.push_back(std::move(v));
  }
  return in;
}

// One rank of a run under mpiexec; rank 0 prints "RESULT <median ms> <wait share>".
int rank_run(int argc, char** argv, const Options& o) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  nabla_mpi* mpi = nabla_mpi_create(MPI_COMM_WORLD, 120.0);
  TimedComm comm(nabla_mpi_communicator(mpi));
  MlpDims d;
  d.batch = o.batch;
  Module m;
  const Function& f = build_mlp_step(m, d, "mlp_step", /*data_parallel=*/true);
  CompileOptions co;
  co.num_threads = 1;
  co.compile_threads = 1;
  co.overlap_collectives = o.overlap;
  Executable step = compile(m, "mlp_step", co);
  step.set_communicator(&comm.table);
  check_same_program(comm.table, step);
  std::vector<Tensor> in = make_inputs(f, comm.table.rank), out;
  out.emplace_back(DType::f32, Shape{});
  for (size_t i = 2; i < in.size(); ++i) out.emplace_back(in[i].dtype(), in[i].shape());
  std::vector<double> ms;
  double total_s = 0, wait_s = 0;
  const int warmup = 5;
  nabla_mpi_barrier(mpi);
  for (int s = 0; s < warmup + o.steps; ++s) {
    comm.wait_s = 0;
    auto t0 = Clock::now();
    step.run(in, out);
    double t = std::chrono::duration<double>(Clock::now() - t0).count();
    for (size_t i = 1; i < out.size(); ++i) std::swap(in[i + 1], out[i]);
    if (s < warmup) continue;
    ms.push_back(t * 1e3);
    total_s += t;
    wait_s += comm.wait_s;
  }
  if (comm.table.rank == 0) std::printf("RESULT %.4f %.4f\n", median(ms), wait_s / total_s);
  nabla_mpi_destroy(mpi);
  MPI_Finalize();
  return 0;
}

// Runs `command` and returns its RESULT line's numbers (empty on failure,
// after printing what it said).
std::vector<double> launch(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen((command + " 2>&1").c_str(), "r"), pclose);
  std::vector<double> r;
  std::string said;
  std::array<char, 512> line;
  while (p && std::fgets(line.data(), line.size(), p.get())) {
    double a = 0, b = 0;
    if (std::sscanf(line.data(), "RESULT %lf %lf", &a, &b) == 2) r = {a, b};
    else said += line.data();
  }
  if (r.empty()) std::fprintf(stderr, "distributed_bench: '%s' failed:\n%s", command.c_str(), said.c_str());
  return r;
}

int drive(const char* self, const Options& o) {
  std::string args = " --batch " + std::to_string(o.batch) + " --steps " + std::to_string(o.steps);
  // Open MPI refuses root unless told (as root: CI, containers).
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  std::string mpi = std::string(NABLA_MPIEXEC) + " --oversubscribe --bind-to core -np ";
  std::string torch = "/usr/bin/python3 " NABLA_SOURCE_DIR "/bench/ddp_torch.py" + args + " --ranks ";
  struct Run {
    const char* name;
    int ranks;
    std::string command;
  };
  const Run runs[] = {
      {"nabla, overlapped", 1, mpi + "1 " + self + " --rank-run" + args},
      {"nabla, overlapped", 2, mpi + "2 " + self + " --rank-run" + args},
      {"nabla, not overlapped", 2, mpi + "2 " + self + " --rank-run --no-overlap" + args},
      {"PyTorch DDP (gloo)", 1, torch + "1"},
      {"PyTorch DDP (gloo)", 2, torch + "2"},
  };
  std::printf("MLP 784-512-512-10, batch %lld per rank, 1 thread per rank, %d steps, %d rounds "
              "(median of the rounds' medians)\n", static_cast<long long>(o.batch), o.steps, o.rounds);
  std::printf("%-24s %5s %10s %12s %7s\n", "", "ranks", "ms/step", "examples/s", "wait");
  // The nabla runs alternate, round after round (this machine's two cores
  // are noisy); PyTorch, 30x slower, runs once.
  std::vector<std::vector<std::vector<double>>> rounds(std::size(runs));
  for (int k = 0; k < o.rounds; ++k)
    for (size_t i = 0; i < std::size(runs); ++i) {
      if (k > 0 && i >= 3) continue;
      rounds[i].push_back(launch(runs[i].command));
      if (rounds[i].back().empty()) return 1;
    }
  std::vector<std::vector<double>> r;
  for (size_t i = 0; i < std::size(runs); ++i) {
    std::vector<double> ms, wait;
    for (const auto& x : rounds[i]) ms.push_back(x[0]), wait.push_back(x[1]);
    r.push_back({median(ms), median(wait)});
    double per_s = 1e3 * static_cast<double>(o.batch * runs[i].ranks) / r.back()[0];
    std::printf("%-24s %5d %10.3f %12.0f %6.1f%%   (rounds:", runs[i].name, runs[i].ranks, r.back()[0], per_s,
                100 * r.back()[1]);
    for (double m : ms) std::printf(" %.2f", m);
    std::printf(")\n");
  }
  std::printf("nabla 2 ranks / 1 rank throughput: %.2fx (not overlapped: %.2fx)\n", 2 * r[0][0] / r[1][0],
              2 * r[0][0] / r[2][0]);
  std::printf("nabla / PyTorch time per step: 1 rank %.2fx, 2 ranks %.2fx\n", r[0][0] / r[3][0],
              r[1][0] / r[4][0]);
  return 0;
}

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--batch" && i + 1 < argc) o.batch = std::atoll(argv[++i]);
    else if (a == "--steps" && i + 1 < argc) o.steps = std::atoi(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc) o.rounds = std::atoi(argv[++i]);
    else if (a == "--quick") o.steps = 10, o.rounds = 1;
    else if (a == "--no-overlap") o.overlap = false;
    else if (a == "--rank-run") o.rank_run = true;
    else if (a != "--threads" || ++i >= argc) {  // --threads: scripts/bench.sh's, ignored (1 per rank)
      std::fprintf(stderr, "distributed_bench: unknown option '%s'\n", a.c_str());
      return 1;
    }
  }
  if (o.batch < 1 || o.steps < 1 || o.rounds < 1) {
    std::fprintf(stderr, "distributed_bench: --batch, --steps and --rounds must be positive\n");
    return 1;
  }
  return o.rank_run ? rank_run(argc, argv, o) : drive(argv[0], o);
}

}  // namespace
}  // namespace nabla::bench

int main(int argc, char** argv) { return nabla::bench::main(argc, argv); }
