// Which 512-bit instructions share execution pipes on this CPU: the basis of
// the lowering choices for long elementwise loops (docs/backend.md, "What
// limits a long elementwise loop"). Each loop issues independent instructions
// of one kind, or a mix of two kinds; a mix that takes as long as its parts
// added up runs on the same pipes. Cycles come from a chain of dependent
// integer adds (one cycle each). Built for x86-64 with AVX-512 (-march=native
// on such a machine) only; elsewhere it says so.
//   fp_pipes_bench
#include <algorithm>
#include <chrono>
#include <cstdio>

namespace {

#if defined(__x86_64__) && defined(__AVX512F__)
constexpr long kIterations = 20'000'000;

template <class Fn> double seconds(Fn&& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

constexpr float kOne = 1.0f;

// One asm statement per case: zmm14, zmm15 = 1.0f and k1, k2 all ones (the
// operands every case reads), then the loop of `body`.
#define NABLA_LOOP(body)                                                                                \
  [] {                                                                                                  \
    long n = kIterations;                                                                               \
    __asm__ volatile("vbroadcastss %1, %%zmm14\n vbroadcastss %1, %%zmm15\n"                          \
                     "kxnorw %%k1, %%k1, %%k1\n kxnorw %%k2, %%k2, %%k2\n"                              \
                     "1:\n" body "dec %0\n jnz 1b\n"                                                    \
                     : "+r"(n)                                                                          \
                     : "m"(kOne)                                                                        \
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",  \
                       "xmm10", "xmm11", "xmm14", "xmm15", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "cc"); \
  }

// Eight instructions per iteration; their registers never feed each other.
#define A(n) "vaddps %%zmm14, %%zmm15, %%zmm" #n "\n"
#define M(n) "vmulps %%zmm14, %%zmm15, %%zmm" #n "\n"
#define X(n) "vmaxps %%zmm14, %%zmm15, %%zmm" #n "\n"
#define C(n) "vcmpltps %%zmm14, %%zmm15, %%k" #n "\n"  // k3..k7: k1, k2 stay the masks
#define S(n) "vmovaps %%zmm14, %%zmm" #n "%{%%k1%}%{z%}\n"
#define L(n) "vandps %%zmm14, %%zmm15, %%zmm" #n "\n"
#define K(n) "kandw %%k1, %%k2, %%k" #n "\n"
// Other ways to a mask register: integer compare, float class test.
#define I(n) "vpcmpgtd %%zmm14, %%zmm15, %%k" #n "\n"
#define F(n) "vfpclassps $0x87, %%zmm15, %%k" #n "\n"
#define T(n) "vpternlogd $0x96, %%zmm14, %%zmm15, %%zmm" #n "\n"
// What the GEMM kernels issue besides the arithmetic: a broadcast of one float
// from memory, the same folded into a multiply ({1to16}), a vector load.
#define B(n) "vbroadcastss %1, %%zmm" #n "\n"
#define E(n) "vmulps %1%{1to16%}, %%zmm15, %%zmm" #n "\n"
#define V(n) "vmovups %1, %%zmm" #n "\n"

struct Case {
  const char* what;
  void (*loop)();
};

const Case kCases[] = {
    {"8 vaddps", NABLA_LOOP(A(0) A(1) A(2) A(3) A(4) A(5) A(6) A(7))},
    {"8 vmulps", NABLA_LOOP(M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7))},
    {"8 vmaxps", NABLA_LOOP(X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7))},
    {"8 vcmpltps -> k", NABLA_LOOP(C(3) C(4) C(5) C(6) C(7) C(3) C(4) C(5))},
    {"8 masked vmovaps", NABLA_LOOP(S(0) S(1) S(2) S(3) S(4) S(5) S(6) S(7))},
    {"8 vandps", NABLA_LOOP(L(0) L(1) L(2) L(3) L(4) L(5) L(6) L(7))},
    {"8 kandw", NABLA_LOOP(K(3) K(4) K(5) K(6) K(7) K(3) K(4) K(5))},
    {"8 vpternlogd", NABLA_LOOP(T(0) T(1) T(2) T(3) T(4) T(5) T(6) T(7))},
    {"4 vmulps + 4 vcmpltps", NABLA_LOOP(M(0) C(3) M(1) C(4) M(2) C(5) M(3) C(6))},
    {"4 vaddps + 4 vcmpltps", NABLA_LOOP(A(0) C(3) A(1) C(4) A(2) C(5) A(3) C(6))},
    {"4 vmulps + 4 vpcmpgtd", NABLA_LOOP(M(0) I(3) M(1) I(4) M(2) I(5) M(3) I(6))},
    {"4 vmulps + 4 vfpclassps", NABLA_LOOP(M(0) F(3) M(1) F(4) M(2) F(5) M(3) F(6))},
    {"4 vaddps + 4 vmulps", NABLA_LOOP(A(0) M(4) A(1) M(5) A(2) M(6) A(3) M(7))},
    {"4 vaddps + 4 vmaxps", NABLA_LOOP(A(0) X(4) A(1) X(5) A(2) X(6) A(3) X(7))},
    {"4 vmulps + 4 vmaxps", NABLA_LOOP(M(0) X(4) M(1) X(5) M(2) X(6) M(3) X(7))},
    {"4 vaddps + 4 vmulps + 4 masked", NABLA_LOOP(A(0) M(4) S(8) A(1) M(5) S(9) A(2) M(6) S(10) A(3) M(7) S(11))},
    {"8 vbroadcastss m32", NABLA_LOOP(B(0) B(1) B(2) B(3) B(4) B(5) B(6) B(7))},
    {"4 vmulps + 4 vbroadcastss", NABLA_LOOP(M(0) B(8) M(1) B(9) M(2) B(10) M(3) B(11))},
    {"4 vaddps + 4 vbroadcastss", NABLA_LOOP(A(0) B(8) A(1) B(9) A(2) B(10) A(3) B(11))},
    {"4 vaddps + 4 vmulps + 2 vbroadcastss", NABLA_LOOP(A(0) M(4) B(8) A(1) M(5) A(2) M(6) B(9) A(3) M(7))},
    {"4 vaddps + 4 vmulps + 4 vbroadcastss", NABLA_LOOP(A(0) M(4) B(8) A(1) M(5) B(9) A(2) M(6) B(10) A(3) M(7) B(11))},
    {"4 vaddps + 4 vmulps m32{1to16}", NABLA_LOOP(A(0) E(4) A(1) E(5) A(2) E(6) A(3) E(7))},
    {"4 vaddps + 4 vmulps + 4 vmovups m512", NABLA_LOOP(A(0) M(4) V(8) A(1) M(5) V(9) A(2) M(6) V(10) A(3) M(7) V(11))},
};

int run() {
  // Eight dependent one-cycle adds per iteration: the time of a cycle.
  double cycle = seconds([] {
    long x = 0;
    for (long i = 0; i < kIterations; ++i)
      __asm__ volatile("add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n"
                       "add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n" : "+r"(x));
  }) / (8.0 * kIterations);
  std::printf("independent 512-bit instructions (%.2f GHz from a chain of integer adds)\n", 1e-9 / cycle);
  std::printf("%-34s | %s\n", "instructions per iteration", "cycles per iteration");
  for (const Case& c : kCases) {
    double best = 1e9;
    for (int r = 0; r < 5; ++r) best = std::min(best, seconds(c.loop));
    std::printf("%-34s | %5.2f\n", c.what, best / kIterations / cycle);
  }
  return 0;
}
#else
int run() {
  std::printf("fp_pipes_bench: built without AVX-512 (x86-64, -march=native on an AVX-512 machine); nothing measured\n");
  return 0;
}
#endif

}  // namespace

int main() { return run(); }
