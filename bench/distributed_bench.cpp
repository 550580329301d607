// Data-parallel training across processes (issue 19, docs/distributed.md):
// the MLP step (784-512-512-10, bench/mlp_graph.h) with its gradients
// all-reduced (op = mean) over MPI, batch B per rank, one thread per rank, on
// 1 and 2 ranks, compiled with fast-math (FMA contraction, reassociated sums:
// as bench/mlp_bench and nabla-run --fast-math, how users train) and in exact
// mode, with the all-reduces overlapped and not, through nabla_mpi's
// shared-memory all-reduce (its default on one machine), its ring and
// MPI_Iallreduce, and the step's all-reduces alone (no computation); beside
// it, in the same run,
// PyTorch's DistributedDataParallel (gloo) on the same model, batch and ranks
// (bench/ddp_torch.py). Every run takes its turn in every round. Medians of
// the step time; throughput is examples per second over all ranks; "wait" is
// the share of rank 0's step spent blocked in the communicator's wait, "calls"
// the share in its start and progress calls (where MPI copies and nabla_mpi
// adds), "cpu" the least share of a round's timed steps that a rank ran on its
// core (under 1: another process took turns there, and the round is disturbed).
//   distributed_bench [--batch 256] [--steps 40] [--rounds 5] [--quick]
//                     [--baseline OTHER_BUILD/bench/distributed_bench]
// (--baseline adds rows run by another build's binary: before and after.)
// A rank run also takes --no-overlap, --split-bytes N
// (CompileOptions::collective_split_bytes), --exact (no fast-math),
// --mpi-iallreduce (nabla_mpi_set_all_reduce's LIBRARY), --ring (its RING),
// --comm-only (the step's all-reduces alone, started together, then waited
// for), --private-workspace (the step's workspace, or --comm-only's buffers,
// in ordinary memory, not in nabla_mpi_shared_memory: the all-reduces copy
// into the window) and --schedule (prints the collectives' schedule).
// --focus runs only the rows of the 2-rank/1-rank ratios (1 rank, 2 ranks
// with the workspace shared and copied, the ceiling, the baseline's).
// Started directly, it launches the runs itself (mpiexec, python3) and prints
// the table; under mpiexec it is one rank of a run (--rank-run).
#include <mpi.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <random>
#include <span>
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
  bool schedule = false;  // rank 0 prints the collectives' schedule
  int64_t split_bytes = -1;  // CompileOptions::collective_split_bytes (-1: its default)
  bool exact = false;        // CompileOptions::fast_math = false (no FMA contraction, ordered sums)
  bool library_all_reduce = false;  // nabla_mpi's all-reduce by MPI_Iallreduce, not its own
  bool ring = false;                // nabla_mpi's ring, not its shared-memory all-reduce
  bool comm_only = false;           // the step's all-reduces alone, no computation
  bool no_comm = false;             // the step without its all-reduces, ranks in lockstep (the ceiling)
  bool private_workspace = false;   // the workspace not in nabla_mpi_shared_memory (the all-reduces copy)
  bool focus = false;               // only the rows of the 2-rank/1-rank ratio (and the baseline's)
  std::string baseline;             // another build's distributed_bench, run beside this one
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Wraps a communicator and adds up the time spent in its wait.
struct TimedComm {
  const nabla_communicator* inner;
  nabla_communicator table;
  double wait_s = 0, start_s = 0, progress_s = 0;

  explicit TimedComm(const nabla_communicator* c) : inner(c), table(*c) {
    table.state = this;
    table.all_reduce_start = [](void* s, void* buf, int64_t n, int32_t dt, int32_t op, void** req) {
      auto* t = static_cast<TimedComm*>(s);
      auto t0 = Clock::now();
      int32_t status = t->inner->all_reduce_start(t->inner->state, buf, n, dt, op, req);
      t->start_s += std::chrono::duration<double>(Clock::now() - t0).count();
      return status;
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
      auto t0 = Clock::now();
      t->inner->progress(t->inner->state);
      t->progress_s += std::chrono::duration<double>(Clock::now() - t0).count();
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

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The median step, and the shares of the timed steps' time spent in the
// communicator's wait, in its start and progress calls, and running on the
// CPU (1 when nothing else ran on this rank's core).
struct Timing {
  double median_ms = 0, wait = 0, comm = 0, cpu = 0;
  double own_ms = 0;  // lockstep: this rank's own median step
};

// Runs the step 5 times, then `steps` timed times (the updated parameters
// feed the next step). lockstep: the ranks meet at a barrier before each step
// (not timed), and the median is that of each step's slowest rank: the pace
// of ranks that run the step without communicating but wait for each other
// once per step, as an all-reduce would make them.
Timing time_steps(Executable& step, TimedComm& comm, std::vector<Tensor>& in, int steps, bool lockstep) {
  std::vector<Tensor> out;
  out.emplace_back(DType::f32, Shape{});
  for (size_t i = 2; i < in.size(); ++i) out.emplace_back(in[i].dtype(), in[i].shape());
  std::vector<double> ms;
  double total_s = 0, wait_s = 0, comm_s = 0, cpu_s = 0;
  const int warmup = 5;
  for (int s = 0; s < warmup + steps; ++s) {
    if (lockstep) MPI_Barrier(MPI_COMM_WORLD);
    comm.wait_s = comm.start_s = comm.progress_s = 0;
    double c0 = thread_cpu_seconds();
    auto t0 = Clock::now();
    step.run(in, out);
    double t = std::chrono::duration<double>(Clock::now() - t0).count();
    double c = thread_cpu_seconds() - c0;
    for (size_t i = 1; i < out.size(); ++i) std::swap(in[i + 1], out[i]);
    if (s < warmup) continue;
    ms.push_back(t * 1e3);
    total_s += t;
    cpu_s += c;
    wait_s += comm.wait_s;
    comm_s += comm.start_s + comm.progress_s;
  }
  double own = median(ms);
  if (lockstep) MPI_Allreduce(MPI_IN_PLACE, ms.data(), static_cast<int>(ms.size()), MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return {median(ms), wait_s / total_s, comm_s / total_s, cpu_s / total_s, own};
}

// The step's all-reduces alone (f32 buffers of the schedule's sizes, op mean
// as the step's; in nabla_mpi_shared_memory when `mpi` is given), started
// one after the other, then waited for in order: 5 warm-up steps, then
// `steps` timed ones.
Timing time_all_reduces(const Executable& step, const nabla_communicator& comm, int steps, nabla_mpi* mpi) {
  std::vector<size_t> sizes;
  size_t total = 0;
  for (const CollectiveSchedule& c : step.stats().collectives) {
    sizes.push_back(static_cast<size_t>(c.bytes) / sizeof(float));
    total += (sizes.back() + 15) / 16 * 16;  // each on its own cache lines
  }
  std::vector<float> own;
  auto bytes = static_cast<int64_t>(total * sizeof(float));
  auto* memory = static_cast<float*>(mpi ? nabla_mpi_shared_memory(mpi, bytes) : nullptr);
  if (!memory) {
    own.resize(total);
    memory = own.data();
  }
  std::vector<std::span<float>> bufs;
  for (size_t n : sizes) {
    bufs.emplace_back(memory, n);
    std::fill(bufs.back().begin(), bufs.back().end(), 1.f);
    memory += (n + 15) / 16 * 16;
  }
  std::vector<void*> reqs(bufs.size());
  std::vector<double> ms;
  double cpu_s = 0, total_s = 0;
  for (int s = 0; s < 5 + steps; ++s) {
    double c0 = thread_cpu_seconds();
    auto t0 = Clock::now();
    for (size_t k = 0; k < bufs.size(); ++k)
      comm.all_reduce_start(comm.state, bufs[k].data(), static_cast<int64_t>(bufs[k].size()), NABLA_DTYPE_F32,
                            NABLA_REDUCE_MEAN, &reqs[k]);
    for (void* r : reqs) comm.wait(comm.state, r);
    double t = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s < 5) continue;
    ms.push_back(t * 1e3);
    total_s += t;
    cpu_s += thread_cpu_seconds() - c0;
  }
  return {median(ms), 0, 1, cpu_s / total_s};
}

// One rank of a run under mpiexec; rank 0 prints "RESULT <median ms> <wait share>".
int rank_run(int argc, char** argv, const Options& o) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  nabla_mpi* mpi = nabla_mpi_create(MPI_COMM_WORLD, 120.0);
  if (o.library_all_reduce) nabla_mpi_set_all_reduce(mpi, NABLA_MPI_ALL_REDUCE_LIBRARY);
  if (o.ring) nabla_mpi_set_all_reduce(mpi, NABLA_MPI_ALL_REDUCE_RING);
  TimedComm comm(nabla_mpi_communicator(mpi));
  MlpDims d;
  d.batch = o.batch;
  Module m;
  const Function& f = build_mlp_step(m, d, "mlp_step", /*data_parallel=*/!o.no_comm);
  CompileOptions co;
  co.num_threads = 1;
  co.compile_threads = 1;
  co.overlap_collectives = o.overlap;
  co.fast_math = !o.exact;  // as bench/mlp_bench.cpp and nabla-run --fast-math: how users train
  if (o.split_bytes >= 0) co.collective_split_bytes = o.split_bytes;
  Executable step = compile(m, "mlp_step", co);
  step.set_communicator(&comm.table);
  // The all-reduces of gradients in the shared window's memory need no copy.
  void* shared_ws = o.private_workspace || o.no_comm ? nullptr : nabla_mpi_shared_memory(mpi, step.workspace_bytes());
  if (shared_ws) step.set_workspace(shared_ws, step.workspace_bytes());
  if (o.schedule && comm.table.rank == 0)
    for (const CollectiveSchedule& c : step.stats().collectives)
      std::printf("collective %s: %lld bytes, started after kernel %d, waited for before kernel %d\n", c.name.c_str(),
                  static_cast<long long>(c.bytes), c.start, c.wait);
  check_same_program(comm.table, step);
  std::vector<Tensor> in = make_inputs(f, comm.table.rank);
  nabla_mpi_barrier(mpi);
  nabla_mpi* in_place = o.private_workspace ? nullptr : mpi;
  Timing t = o.comm_only ? time_all_reduces(step, comm.table, o.steps, in_place) : time_steps(step, comm, in, o.steps, o.no_comm);
  // The least CPU share over the ranks: under 1, another process took turns
  // on a rank's core during the timed steps.
  MPI_Allreduce(MPI_IN_PLACE, &t.cpu, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  // Rank 0's line is the result; the others' (ignored by drive) help to read it.
  std::printf("%s %.4f %.4f %.4f %.4f\n", comm.table.rank == 0 ? "RESULT" : "rank", t.median_ms, t.wait, t.comm,
              t.cpu);
  if (o.no_comm) std::printf("rank %d alone %.4f ms\n", comm.table.rank, t.own_ms);
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
    double a = 0, b = 0, c = 0, d = 1;
    int n = std::sscanf(line.data(), "RESULT %lf %lf %lf %lf", &a, &b, &c, &d);
    if (n >= 2) r = {a, b, c, d};  // PyTorch's lines give two numbers
    else said += line.data();
  }
  if (r.empty()) std::fprintf(stderr, "distributed_bench: '%s' failed:\n%s", command.c_str(), said.c_str());
  return r;
}

struct Run {
  const char* name;
  int ranks;
  std::string command;
  bool ratio = false;  // a row of the 2-rank/1-rank ratios: run under --focus too
};

// One line per run: the medians over the rounds of each number of launch(),
// the least CPU share of any round; returns the median step times.
std::vector<double> print_table(const std::vector<Run>& runs, const std::vector<std::vector<std::vector<double>>>& rounds,
                                int64_t batch) {
  std::printf("%-28s %5s %9s %11s %6s %6s %5s\n", "", "ranks", "ms/step", "examples/s", "wait", "calls", "cpu");
  std::vector<double> step_ms;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (rounds[i].empty()) {  // not run (--focus)
      step_ms.push_back(0);
      continue;
    }
    std::vector<double> col[4];
    for (const auto& x : rounds[i])
      for (int k = 0; k < 4; ++k) col[k].push_back(x[k]);
    double ms = median(col[0]), cpu = *std::min_element(col[3].begin(), col[3].end());
    step_ms.push_back(ms);
    double per_s = 1e3 * static_cast<double>(batch * runs[i].ranks) / ms;
    std::printf("%-28s %5d %9.3f %11.0f %5.1f%% %5.1f%% %5.2f  (rounds:", runs[i].name, runs[i].ranks, ms, per_s,
                100 * median(col[1]), 100 * median(col[2]), cpu);
    for (double m : col[0]) std::printf(" %.2f", m);
    std::printf(")\n");
  }
  return step_ms;
}

// 2 ranks' throughput over 1 rank's within each round (the two runs a few
// seconds apart, so a slow phase of the machine touches both), and their median.
void print_round_ratios(const char* what, const std::vector<std::vector<double>>& one,
                        const std::vector<std::vector<double>>& two) {
  std::vector<double> ratio;
  std::printf("  per round, %s:", what);
  for (size_t k = 0; k < one.size() && k < two.size(); ++k) {
    ratio.push_back(2 * one[k][0] / two[k][0]);
    std::printf(" %.2fx", ratio.back());
  }
  std::printf(" (median %.2fx)\n", median(ratio));
}

int drive(const char* self, const Options& o) {
  std::string args = " --batch " + std::to_string(o.batch) + " --steps " + std::to_string(o.steps);
  // Open MPI refuses root unless told (as root: CI, containers).
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  std::string mpi = std::string(NABLA_MPIEXEC) + " --oversubscribe --bind-to core -np ";
  std::string torch = "/usr/bin/python3 " NABLA_SOURCE_DIR "/bench/ddp_torch.py" + args + " --ranks ";
  std::string rank_run = std::string(self) + " --rank-run" + args;
  // The step is unsplit (CompileOptions' default) unless a row says otherwise.
  const std::string one = mpi + "1 " + rank_run, two = mpi + "2 " + rank_run;
  std::vector<Run> runs = {
      {"nabla fast-math", 1, one, true},
      {"nabla fast-math, overlapped", 2, two, true},
      {"  overlapped, split 256 KiB", 2, two + " --split-bytes 262144"},
      {"  not overlapped", 2, two + " --no-overlap"},
      {"  overlapped, MPI_Iallreduce", 2, two + " --mpi-iallreduce"},
      {"nabla exact", 1, one + " --exact"},
      {"nabla exact, overlapped", 2, two + " --exact"},
      {"PyTorch DDP (gloo)", 1, torch + "1"},
      {"PyTorch DDP (gloo)", 2, torch + "2"},
      {"  overlapped, ring", 2, two + " --ring"},
      {"all-reduces alone, shared", 2, two + " --comm-only --private-workspace"},
      {"all-reduces alone, ring", 2, two + " --comm-only --ring"},
      {"no all-reduce (ceiling)", 1, one + " --no-comm", true},
      {"no all-reduce, lockstep", 2, two + " --no-comm", true},
      {"  overlapped, workspace copied", 2, two + " --private-workspace", true},
      {"all-reduces alone, in place", 2, two + " --comm-only"},
  };
  if (!o.baseline.empty()) {  // another build (before a change): the same rank runs
    std::string base = mpi + "1 " + o.baseline + " --rank-run" + args;
    runs.push_back({"baseline build", 1, base + " --split-bytes 0", true});  // one rank unsplit in any build
    runs.push_back({"baseline build, overlapped", 2, mpi + "2 " + o.baseline + " --rank-run" + args, true});
  }
  std::printf("MLP 784-512-512-10, batch %lld per rank, 1 thread per rank, %d steps, %d rounds "
              "(median of the rounds' medians)\n", static_cast<long long>(o.batch), o.steps, o.rounds);
  // Every run takes its turn in every round (this machine's two cores are
  // noisy: a disturbed round then touches all runs alike).
  std::vector<std::vector<std::vector<double>>> rounds(runs.size());
  for (int k = 0; k < o.rounds; ++k)
    for (size_t i = 0; i < runs.size(); ++i) {
      if (o.focus && !runs[i].ratio) continue;  // --focus: the ratios' rows only
      rounds[i].push_back(launch(runs[i].command));
      if (rounds[i].back().empty()) return 1;
    }
  std::vector<double> ms = print_table(runs, rounds, o.batch);
  print_round_ratios("fast-math, overlapped", rounds[0], rounds[1]);
  print_round_ratios("fast-math, workspace copied", rounds[0], rounds[14]);
  print_round_ratios("no all-reduce, lockstep (the ceiling)", rounds[12], rounds[13]);
  if (!o.baseline.empty()) print_round_ratios("baseline build", rounds[16], rounds[17]);
  if (o.focus) return 0;
  std::printf("nabla 2 ranks / 1 rank throughput, fast-math: %.2fx (split 256 KiB %.2fx, not overlapped %.2fx, "
              "MPI_Iallreduce %.2fx, ring %.2fx); exact: %.2fx\n", 2 * ms[0] / ms[1], 2 * ms[0] / ms[2],
              2 * ms[0] / ms[3], 2 * ms[0] / ms[4], 2 * ms[0] / ms[9], 2 * ms[5] / ms[6]);
  print_round_ratios("fast-math, split 256 KiB", rounds[0], rounds[2]);
  print_round_ratios("fast-math, not overlapped", rounds[0], rounds[3]);
  print_round_ratios("fast-math, MPI_Iallreduce", rounds[0], rounds[4]);
  print_round_ratios("exact, overlapped", rounds[5], rounds[6]);
  print_round_ratios("fast-math, ring", rounds[0], rounds[9]);
  std::printf("nabla / PyTorch time per step, fast-math: 1 rank %.2fx, 2 ranks %.2fx; exact: 1 rank %.2fx, "
              "2 ranks %.2fx\n", ms[0] / ms[7], ms[1] / ms[8], ms[5] / ms[7], ms[6] / ms[8]);
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
    else if (a == "--schedule") o.schedule = true;
    else if (a == "--split-bytes" && i + 1 < argc) o.split_bytes = std::atoll(argv[++i]);
    else if (a == "--exact") o.exact = true;
    else if (a == "--mpi-iallreduce") o.library_all_reduce = true;
    else if (a == "--ring") o.ring = true;
    else if (a == "--comm-only") o.comm_only = true;
    else if (a == "--no-comm") o.no_comm = true;
    else if (a == "--private-workspace") o.private_workspace = true;
    else if (a == "--focus") o.focus = true;
    else if (a == "--baseline" && i + 1 < argc) o.baseline = argv[++i];
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
