// Streaming (non-temporal) stores of large elementwise kernels
// (compiler/stream_stores.h), forced on small tensors with
// stream_store_bytes = 1: the results must equal the interpreter's bit for
// bit wherever the results sit in memory (the two results at equal offsets
// from a 64-byte boundary, which stream, and at unequal ones, which take the
// ordinary loop), for lengths around the vector width, on 1 and 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>

#include "nabla/ir/interpreter.h"
#include "nabla/runtime/tensor.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

// y = a chain of cheap elementwise ops of x and a scalar input k, and
// dx = d sum(y) / dx: one fused group storing two results per element.
Module chain_and_gradient(DType t, int64_t n) {
  return test::make_function({{t, {n}}, {t, {}}}, [](std::vector<Value>& in) {
    Value x = in[0], v = in[0];
    for (int i = 0; i < 12; ++i) {
      double c = 0.5 + 0.1 * i;
      switch (i % 6) {
        case 0: v = v * c + in[1]; break;
        case 1: v = relu(v - 1.0); break;
        case 2: v = minimum(v, 3.0 + c); break;
        case 3: v = abs(v - c); break;
        case 4: v = maximum(v * x, -c); break;
        case 5: v = v / (abs(x) + 1.0); break;
      }
    }
    return std::vector<Value>{v, grad_op(sum(v), x)};
  });
}

std::vector<Tensor> inputs_for(DType t, int64_t n) {
  std::vector<double> x(static_cast<size_t>(n));
  const double specials[] = {0.0, -0.0, std::nan(""), std::numeric_limits<double>::infinity(), 1.0, -1.0};
  for (int64_t i = 0; i < n; ++i)
    x[static_cast<size_t>(i)] = i % 11 == 5 ? specials[(i / 11) % 6] : std::sin(0.37 * static_cast<double>(i)) * 3;
  return {Tensor::from_doubles(t, {n}, x), Tensor::scalar(t, 0.25)};
}

CompileOptions streaming_options(int threads) {
  CompileOptions o = test::test_options(threads);
  o.stream_store_bytes = 1;
  o.min_parallel_work = 1;  // split even these small loops across the threads
  return o;
}

std::string assembly_of(const Function& f, CompileOptions o, const std::string& name) {
  o.dump_asm = testing::TempDir() + "/" + name + ".s";
  compile(f, o);
  return test::read_file(o.dump_asm);
}

TEST(BackendStreaming, EveryAlignmentOfTheResultsMatchesTheInterpreter) {
  for (DType t : {DType::f32, DType::f64}) {
    size_t size = dtype_size(t);
    for (int64_t n : {1, 7, 16, 17, 63, 64, 129, 1000, 4111}) {
      Module m = chain_and_gradient(t, n);
      const Function& f = *m.functions()[0];
      std::vector<Tensor> in = inputs_for(t, n);
      std::vector<Tensor> want = test::reference_results(f, in);
      for (int threads : {1, 2}) {
        CompileOptions o = streaming_options(threads);
        // The kernels do stream (else this test would check the ordinary loop
        // only). A serial kernel loops over a constant range, and below one
        // streaming step (up to 8 vectors) LLVM removes the streaming loop,
        // which could not run there anyway.
        if (n >= 1000) {
          ASSERT_NE(assembly_of(f, o, "every_alignment").find("movnt"), std::string::npos) << n;
        }
        Executable exe = compile(f, o);
        // The results at element offsets oy and od from 64-byte boundaries:
        // equal offsets stream, unequal ones take the ordinary loop.
        size_t second = ((n + 16) * size + 63) / 64 * 64 + 64;
        for (auto [oy, od] : {std::pair{0, 0}, {1, 1}, {3, 3}, {15, 15}, {0, 1}, {2, 7}, {16, 5}}) {
          std::unique_ptr<char[]> buffer(new char[second + (n + 16) * size + 64]);
          char* base = buffer.get() + (64 - reinterpret_cast<uintptr_t>(buffer.get()) % 64);
          std::vector<Tensor> out{Tensor::view(base + oy * size, t, {n}),
                                  Tensor::view(base + second + od * size, t, {n})};
          exe.run(in, out);
          std::string where = std::string(dtype_name(t)) + "[" + std::to_string(n) + "], " +
                              std::to_string(threads) + " threads, offsets " + std::to_string(oy) + ", " +
                              std::to_string(od);
          EXPECT_EQ(test::compare_bits(out[0], want[0]), "") << "y, " << where;
          EXPECT_EQ(test::compare_bits(out[1], want[1]), "") << "dx, " << where;
        }
      }
    }
  }
}


// The streaming loop is there when a kernel's results reach
// stream_store_bytes, and only then; its stores are the target's
// non-temporal stores.
TEST(BackendStreaming, OnlyResultsOfAtLeastStreamStoreBytesAreStreamed) {
  Module m = test::make_function({{DType::f32, {4096}}, {DType::f32, {}}}, [](std::vector<Value>& in) {
    return std::vector<Value>{relu(in[0] * 0.5 + in[1])};  // one kernel writing 16 KiB
  });
  CompileOptions o = test::test_options();
  o.stream_store_bytes = 16 << 10;
  EXPECT_NE(assembly_of(*m.functions()[0], o, "stream_at").find("movntp"), std::string::npos);
  o.stream_store_bytes = (16 << 10) + 1;
  EXPECT_EQ(assembly_of(*m.functions()[0], o, "stream_above").find("movntp"), std::string::npos);
  o.stream_store_bytes = 0;
  EXPECT_EQ(assembly_of(*m.functions()[0], o, "stream_off").find("movntp"), std::string::npos);
}

}  // namespace
}  // namespace nabla
