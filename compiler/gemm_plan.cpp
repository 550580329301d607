// Choice of the register tile, the cache blocks and the task split of a GEMM.
#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "nabla/compiler/gemm.h"
#include "nabla/runtime/error.h"

namespace nabla {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

[[noreturn]] void fail(const std::string& what) { throw Error("gemm: " + what); }

void check_spec(const GemmSpec& s) {
  if (!is_float(s.dtype))
    fail(fmt::format("element type must be f32 or f64, got {}", dtype_name(s.dtype)));
  if (s.batch < 0 || s.M < 0 || s.N < 0 || s.K < 0)
    fail(fmt::format("negative size: batch {} M {} N {} K {}", s.batch, s.M, s.N, s.K));
  if (s.vector_bits != 128 && s.vector_bits != 256 && s.vector_bits != 512)
    fail(fmt::format("vector width must be 128, 256 or 512 bits, got {}", s.vector_bits));
  if (s.threads < 1) fail(fmt::format("threads must be at least 1, got {}", s.threads));
  if (s.pack_b_fn && s.trans_b) fail("a caller's packing of B (pack_b_fn) needs trans_b false");
}

// Resolves a leading dimension (0 = dense) and checks it against the row length.
int64_t resolve_ld(const char* what, int64_t ld, int64_t row) {
  if (ld == 0) return std::max<int64_t>(row, 1);
  if (ld < row) fail(fmt::format("{} is {}, less than the row length {}", what, ld, row));
  return ld;
}

int64_t resolve_stride(const char* what, int64_t stride, int64_t dense) {
  if (stride == -1) return dense;
  if (stride < 0) fail(fmt::format("{} is {}, must be -1 (dense) or at least 0", what, stride));
  return stride;
}

// The register tile: mr rows by nr columns (nr a multiple of the vector width),
// mr * nr / lanes accumulators plus the B vectors and a broadcast must fit the
// 32 vector registers of AVX-512 (16 with narrower vectors).
void choose_tile(const GemmSpec& s, GemmPlan& p) {
  int64_t regs = s.vector_bits == 512 ? 32 : 16;
  int64_t nv = std::min<int64_t>(ceil_div(std::max<int64_t>(s.N, 1), p.lanes), 2);
  if (s.tuning.nr > 0) {
    if (s.tuning.nr % p.lanes != 0)
      fail(fmt::format("tuning nr {} is not a multiple of the vector width {}", s.tuning.nr,
                       p.lanes));
    nv = s.tuning.nr / p.lanes;
  }
  // Beyond 16 rows the broadcasts of an unpacked A come from too many streams
  // (measured: 28 rows of a 10-column product run at half the speed of 16).
  int64_t mr = std::min<int64_t>((regs - 4) / nv, 16);
  if (s.tuning.mr > 0) mr = s.tuning.mr;
  if (mr * nv + nv + 1 > regs)
    fail(fmt::format("register tile {}x{} needs more than {} registers", mr, nv * p.lanes, regs));
  p.mr = mr;
  p.nr = nv * p.lanes;
}

// Cache blocks: a kc x nc block of packed B stays in L2 (half of Zen 4's 1 MiB),
// an mc x kc block of packed A fits beside it, and the mr x kc micro-panel of A
// that the kernel reuses for every column panel stays in L1.
void choose_blocks(const GemmSpec& s, GemmPlan& p) {
  int64_t esize = static_cast<int64_t>(dtype_size(s.dtype));
  // A packed B block must stay in L2: 256 floats deep. Read in place, B needs
  // no block, and deeper K blocks mean fewer passes over C (measured: 64 x 512
  // x 784 and 256 x 512 x 784 2-5% faster with one block of 784 than 4 of 196).
  int64_t kc_max = s.tuning.kc > 0 ? s.tuning.kc : (p.pack_b ? 1024 : 4096) / esize;
  kc_max = std::max<int64_t>(kc_max, 1);
  int64_t nk = std::max<int64_t>(ceil_div(s.K, kc_max), 1);
  p.kc = std::max<int64_t>(round_up(ceil_div(s.K, nk), p.lanes), p.lanes);
  if (s.tuning.kc > 0) p.kc = s.tuning.kc;
  // An exact sum goes on across K blocks through C, which holds alpha * sum
  // + beta * C only after the last one: then K must be one block.
  if (s.exact && (s.alpha != 1.0 || s.beta != 0.0)) p.kc = round_up(std::max<int64_t>(s.K, 1), p.lanes);
  int64_t nc = s.tuning.nc > 0 ? s.tuning.nc : (512 * 1024) / (p.kc * esize);
  p.nc = std::max<int64_t>(nc / p.nr, 1) * p.nr;
  int64_t mc = s.tuning.mc > 0 ? s.tuning.mc : (256 * 1024) / (p.kc * esize);
  p.mc = std::max<int64_t>(mc / p.mr, 1) * p.mr;
  if (s.tuning.nc > 0 && s.tuning.nc % p.nr != 0)
    fail(fmt::format("tuning nc {} is not a multiple of nr {}", s.tuning.nc, p.nr));
  if (s.tuning.mc > 0 && s.tuning.mc % p.mr != 0)
    fail(fmt::format("tuning mc {} is not a multiple of mr {}", s.tuning.mc, p.mr));
  if (s.tuning.kc > 0 && s.tuning.kc % p.lanes != 0)
    fail(fmt::format("tuning kc {} is not a multiple of the vector width {}", s.tuning.kc,
                     p.lanes));
}

// Whether `rows` rows at a stride of `ld` elements map onto so few sets of a
// 64-set, 8-way L1 that reading them together evicts them (e.g. a power-of-two
// row length of 4 KiB: every row lands in one set).
bool rows_conflict_in_l1(int64_t ld, int64_t esize, int64_t rows) {
  int64_t bytes = ld * esize;
  if (bytes % 64 != 0) return false;
  int64_t sets = 64 / std::gcd<int64_t>(bytes / 64, 64);
  return ceil_div(rows, sets) > 8;
}

// The kernel can read A in place (a row-major A by broadcasts from mr rows, a
// transposed A by broadcasts from one contiguous column) and B in place when
// it is not transposed (rows of B are vectors). Measured here, packing then
// only costs time (the panels stream from L2 either way), except when A's rows
// collide in L1, or B's rows are whole pages apart (a kc-deep panel then spans
// kc pages and crowds few L2 sets: 1024^3 runs 4% faster packed) and reused by
// several row panels. A transposed B must be packed (turned around) for the kernel.
void choose_packing(const GemmSpec& s, GemmPlan& p) {
  int64_t esize = static_cast<int64_t>(dtype_size(s.dtype));
  p.pack_b = s.trans_b || ((p.ldb * esize) % 4096 == 0 && s.M > 2 * p.mr);
  p.pack_a = !s.trans_a && rows_conflict_in_l1(p.lda, esize, p.mr);
  if (s.tuning.pack_a >= 0) p.pack_a = s.tuning.pack_a != 0;
  if (s.tuning.pack_b >= 0) p.pack_b = s.tuning.pack_b != 0 || s.trans_b;
  if (s.pack_b_fn) p.pack_b = true;
}

// Tasks are output blocks, rows in multiples of mr and columns in multiples of
// nr (so only the last block of each dimension has an edge tile). A split of N
// repeats the packing of A in every task, a split of M that of B: the split
// minimizing the work and the packed elements per task wins.
void choose_tasks(const GemmSpec& s, GemmPlan& p) {
  int64_t m_units = std::max<int64_t>(ceil_div(s.M, p.mr), 1);
  int64_t n_units = std::max<int64_t>(ceil_div(s.N, p.nr), 1);
  int64_t per_batch = s.batch > 0 ? s.threads / std::gcd<int64_t>(s.batch, s.threads) : 1;
  int64_t best_tm = 1, best_tn = 1;
  double best = -1;
  for (int64_t tn = 1; tn <= per_batch; ++tn) {
    if (per_batch % tn) continue;
    int64_t tm = per_batch / tn;
    if (tn > n_units || tm > m_units) continue;
    double rows = static_cast<double>(ceil_div(m_units, tm) * p.mr);
    double cols = static_cast<double>(ceil_div(n_units, tn) * p.nr);
    double cost = rows * cols * static_cast<double>(s.K) / 8.0 +
                  (p.pack_a ? rows * s.K : 0) + (p.pack_b ? cols * s.K : 0);
    // With a shallow K the kernels mostly store C: whole rows per task store
    // faster (64 x 512 x 10: 5 us split over M, 7 us over N).
    if (s.K < 2 * p.lanes && tn > 1) cost *= 2;
    if (best < 0 || cost < best) best = cost, best_tm = tm, best_tn = tn;
  }
  if (s.tuning.tasks_m > 0) best_tm = s.tuning.tasks_m;
  if (s.tuning.tasks_n > 0) best_tn = s.tuning.tasks_n;
  p.task_rows = ceil_div(m_units, best_tm) * p.mr;
  p.task_cols = ceil_div(n_units, best_tn) * p.nr;
  p.tasks_m = std::max<int64_t>(ceil_div(s.M, p.task_rows), 1);
  p.tasks_n = std::max<int64_t>(ceil_div(s.N, p.task_cols), 1);
  p.num_tasks = s.batch * p.tasks_m * p.tasks_n;
  if (s.M == 0 || s.N == 0) p.num_tasks = 0;
}

}  // namespace

GemmPlan plan_gemm(const GemmSpec& s) {
  check_spec(s);
  GemmPlan p;
  p.lanes = s.vector_bits / 8 / static_cast<int64_t>(dtype_size(s.dtype));
  p.lda = resolve_ld("lda", s.lda, s.trans_a ? s.M : s.K);
  p.ldb = resolve_ld("ldb", s.ldb, s.trans_b ? s.K : s.N);
  p.ldc = resolve_ld("ldc", s.ldc, s.N);
  p.ldd = resolve_ld("ldd", s.ldd, s.N);
  p.stride_a = resolve_stride("stride_a", s.stride_a, (s.trans_a ? s.K : s.M) * p.lda);
  p.stride_b = resolve_stride("stride_b", s.stride_b, (s.trans_b ? s.N : s.K) * p.ldb);
  p.stride_c = resolve_stride("stride_c", s.stride_c, s.M * p.ldc);
  p.stride_d = resolve_stride("stride_d", s.stride_d, s.M * p.ldd);
  choose_tile(s, p);
  choose_packing(s, p);
  choose_blocks(s, p);
  choose_tasks(s, p);
  p.mc = std::min(p.mc, p.task_rows);
  p.nc = std::min(p.nc, p.task_cols);
  int64_t esize = static_cast<int64_t>(dtype_size(s.dtype));
  int64_t a_bytes = p.pack_a ? round_up(p.mc * p.kc * esize, 64) : 0;
  int64_t b_bytes = p.pack_b ? round_up(p.nc * p.kc * esize, 64) : 0;
  p.scratch_bytes = a_bytes + b_bytes;
  return p;
}

}  // namespace nabla
