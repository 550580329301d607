// conv2d, its transposes and pooling, compiled, against the interpreter bit
// for bit on 1 and 2 threads: strides, asymmetric padding, dilation, groups,
// 1x1 and depthwise convolutions, f32 and f64, integer max pooling, and the
// gradient of a small convolutional network.
#include <gtest/gtest.h>

#include <cmath>

#include "nabla/compiler/lower.h"
#include "nabla/compiler/lower_conv.h"
#include "nabla/ir/random_inputs.h"
#include "tests/support/backend_testing.h"

namespace nabla {
namespace NABLA_UNITY_ID {

using test::DiffBatch;

struct ConvCase {
  const char* name;
  Shape x, w;
  Conv2DOptions o;
};

const ConvCase kCases[] = {
    {"3x3 same", {2, 3, 6, 7}, {4, 3, 3, 3}, {.padding = {1, 1, 1, 1}}},
    {"strided asymmetric", {1, 2, 9, 8}, {3, 2, 3, 2}, {.stride = {2, 3}, .padding = {0, 1, 2, 0}}},
    {"dilated", {1, 2, 7, 7}, {2, 2, 3, 3}, {.padding = {2, 2, 2, 2}, .dilation = {2, 2}}},
    {"groups", {2, 4, 5, 5}, {6, 2, 3, 3}, {.stride = {2, 2}, .padding = {1, 1, 1, 1}, .groups = 2}},
    {"depthwise", {1, 3, 6, 5}, {3, 1, 3, 3}, {.padding = {1, 1, 1, 1}, .groups = 3}},
    {"1x1", {2, 5, 4, 4}, {7, 5, 1, 1}, {}},
};

// Large enough for the generated GEMM (lower_conv_gemm.cpp): explicit
// and implicit im2col, 1x1 without a copy, strides in both axes (the transposed col reads
// element by element), groups and dilation.
const ConvCase kGemmCases[] = {
    {"gemm 3x3 same", {2, 8, 10, 10}, {8, 8, 3, 3}, {.padding = {1, 1, 1, 1}}},
    {"gemm strided dilated groups", {2, 6, 17, 15}, {6, 3, 3, 3},
     {.stride = {2, 1}, .padding = {1, 2, 0, 1}, .dilation = {2, 1}, .groups = 2}},
    {"gemm 1x1 direct", {2, 16, 8, 8}, {32, 16, 1, 1}, {}},
    // The input gradient of a 1x1 with input channels a multiple of 8 runs
    // the GEMM's 8 x 3-vector tile on AVX-512: 3 row tiles, 49 positions
    // (one full column tile and an edge of one).
    {"gemm 1x1 direct 8-row tiles", {2, 24, 7, 7}, {16, 24, 1, 1}, {}},
    {"gemm 1x1 strided", {4, 16, 9, 9}, {32, 16, 1, 1}, {.stride = {2, 2}}},
    {"gemm stride 2", {2, 8, 12, 12}, {8, 8, 3, 3}, {.stride = {2, 2}, .padding = {1, 1, 1, 1}}},
    // LeNet's first layer: dw is 6 x 25, one GEMM block, so its weight
    // gradient runs on one slot whatever the threads.
    {"gemm one block", {2, 1, 28, 28}, {6, 1, 5, 5}, {.padding = {2, 2, 2, 2}}},
    // Valid convolutions of stride 1: with fast-math the input gradient goes
    // through dcol = W^T dy and col2im (rows of one vector, of several, with
    // dilation, asymmetric padding and groups).
    {"gemm valid 5x5", {2, 6, 14, 14}, {16, 6, 5, 5}, {}},
    {"gemm valid dilated groups", {4, 4, 13, 12}, {6, 2, 3, 3}, {.padding = {1, 0, 0, 2}, .dilation = {2, 1}, .groups = 2}},
    {"gemm valid wide", {2, 3, 9, 40}, {4, 3, 3, 3}, {}},
    // Output channels per group of one to eight vectors (16 f32, 8 f64) and
    // col at least twice as tall: the weight gradient sums dw^T = col x dy^T
    // and transposes it (LeNet's second layer above too); two groups share
    // the dw^T scratch, and on 2 threads the slots split its rows.
    {"gemm wgrad transposed groups", {2, 8, 9, 9}, {32, 4, 3, 3}, {.padding = {1, 1, 1, 1}, .groups = 2}},
    // 64 output channels (4 f32 vectors, 8 f64: ResNet's 3x3 64 -> 64), two
    // panels of the product's N: on 2 threads the slots still split dw^T's
    // rows (144), one block each.
    {"gemm wgrad transposed 64", {2, 16, 8, 8}, {64, 16, 3, 3}, {.padding = {1, 1, 1, 1}}},
    // Rows of at least one vector (16 f32, 8 f64), a horizontal stride of 1,
    // 16 rows and 8 planes: the GEMM packs conv2d's col (and, at stride 1, the input gradient's
    // col') straight from the image (lower_conv_pack.cpp): vectors across two
    // rows, asymmetric padding, a vertical stride with dilation and groups,
    // rows of exactly 16, and K and N over several GEMM blocks (288 deep,
    // 1023 positions).
    {"gemm implicit odd width", {2, 16, 7, 19}, {16, 16, 3, 3}, {.padding = {1, 2, 0, 1}}},
    {"gemm implicit strided rows", {2, 32, 15, 33}, {32, 16, 3, 3},
     {.stride = {2, 1}, .padding = {1, 1, 1, 1}, .dilation = {1, 2}, .groups = 2}},
    {"gemm implicit width 16", {2, 16, 9, 16}, {16, 16, 3, 3}, {.padding = {1, 1, 1, 1}}},
    {"gemm implicit blocks", {1, 32, 33, 31}, {16, 32, 3, 3}, {.padding = {1, 1, 1, 1}}},
};

void add_convolutions(DiffBatch& batch, DType t, const ConvCase& c) {
  Value x = batch.input({t, c.x}), w = batch.input({t, c.w});
  Value y = conv2d(x, w, c.o);
  Value g = batch.input(y->type());
  batch.result(y, std::string("conv2d ") + c.name);
  batch.result(conv2d_input_grad(g, w, c.x, c.o), std::string("conv2d_input_grad ") + c.name);
  batch.result(conv2d_weight_grad(x, g, c.w, c.o), std::string("conv2d_weight_grad ") + c.name);
}

class BackendConv : public ::testing::TestWithParam<DType> {};

TEST_P(BackendConv, ConvolutionsAndTheirTransposes) {
  DType t = GetParam();
  DiffBatch batch;
  for (const ConvCase& c : kCases) add_convolutions(batch, t, c);
  for (int threads : {1, 2}) batch.check(71, test::split_everything(threads));
}

// On the GEMM: bit-equal to the interpreter (exact sums), and close with
// fast-math (FMAs, K blocks).
TEST_P(BackendConv, OnTheGemm) {
  DType t = GetParam();
  DiffBatch batch;
  for (const ConvCase& c : kGemmCases) add_convolutions(batch, t, c);
  for (const Node* n : batch.f().nodes()) {
    KernelInfo info;
    if (op_kind(n->op()) == OpKind::Conv) {
      EXPECT_TRUE(describe_conv_gemm(*n, LowerOptions{}, info)) << op_name(n->op());
    }
  }
  for (const Node* n : batch.f().nodes()) {
    KernelInfo info;
    LowerOptions two;
    two.num_threads = 2;
    two.min_parallel_work = 0;
    if (n->op() != Op::Conv2DWeightGrad || !describe_conv_gemm(*n, two, info)) continue;
    if (t == DType::f32 && n->shape() == Shape{6, 1, 5, 5}) {
      EXPECT_EQ(info.tasks, 1) << "one block";
    }
    if (n->shape() == Shape{8, 8, 3, 3}) {
      EXPECT_EQ(info.tasks, 2) << "8 x 72 blocks";
    }
    if (n->shape() == Shape{64, 16, 3, 3}) {
      EXPECT_EQ(info.tasks, 2) << "dw^T 144 x 64, split by rows";
    }
  }
  for (int threads : {1, 2}) batch.check(73, test::split_everything(threads));
  CompileOptions fast = test::split_everything(2);
  fast.fast_math = true;
  // Positive inputs: no cancellation, so the sums' relative error stays small.
  std::vector<Tensor> positive = batch.random_inputs(74, 0);
  for (Tensor& in : positive)
    for (int64_t i = 0; i < in.numel(); ++i) in.set(i, std::abs(in.get(i)));
  batch.check(positive, fast, {.f32 = 1e-5, .f64 = 1e-13});
}

TEST_P(BackendConv, Pooling) {
  DType t = GetParam();
  DiffBatch batch;
  Value x = batch.input({t, {2, 3, 7, 6}});
  Value ints = batch.input({DType::i32, {1, 2, 5, 5}});
  for (Pool2DOptions o : {Pool2DOptions{.stride = {2, 2}}, Pool2DOptions{.stride = {1, 2}, .padding = {1, 1, 0, 1}}}) {
    std::string at = "stride " + std::to_string(o.stride[1]);
    batch.result(max_pool2d(x, {2, 3}, o), "max_pool2d " + at);
    batch.result(max_pool2d_argmax(x, {3, 2}, o), "max_pool2d_argmax " + at);
    batch.result(avg_pool2d(x, {2, 2}, o), "avg_pool2d " + at);
    batch.result(max_pool2d(ints, {2, 2}, o), "max_pool2d i32 " + at);
  }
  for (int threads : {1, 2}) batch.check(batch.random_inputs(72, 0.2), test::split_everything(threads));
}

// Without padding every window is inside the image (lower_conv.cpp's
// unchecked, vectorized loops): overlapping and disjoint windows, output rows
// longer than a vector with a remainder, NaNs among the inputs.
TEST_P(BackendConv, PoolingWithoutPadding) {
  DType t = GetParam();
  DiffBatch batch;
  Value x = batch.input({t, {2, 3, 11, 45}});
  Value ints = batch.input({DType::i64, {1, 2, 9, 37}});
  for (Pool2DOptions o : {Pool2DOptions{.stride = {2, 2}}, Pool2DOptions{.stride = {1, 1}}, Pool2DOptions{.stride = {3, 2}}}) {
    std::string at = "stride " + std::to_string(o.stride[0]) + "x" + std::to_string(o.stride[1]);
    batch.result(max_pool2d(x, {2, 2}, o), "max_pool2d " + at);
    batch.result(max_pool2d_argmax(x, {3, 3}, o), "max_pool2d_argmax " + at);
    batch.result(avg_pool2d(x, {3, 2}, o), "avg_pool2d " + at);
    batch.result(max_pool2d(ints, {2, 3}, o), "max_pool2d i64 " + at);
    batch.result(max_pool2d_argmax(ints, {2, 2}, o), "max_pool2d_argmax i64 " + at);
  }
  for (int threads : {1, 2}) batch.check(batch.random_inputs(75, 0.2), test::split_everything(threads));
}

INSTANTIATE_TEST_SUITE_P(Float, BackendConv, ::testing::Values(DType::f32, DType::f64),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// conv -> relu -> max_pool -> dense -> cross_entropy, its loss and gradients.
TEST(BackendConvNet, TrainingStepGradients) {
  Module m = test::make_function({f32({4, 1, 8, 8}), f32({3, 1, 3, 3}), f32({27, 10}), i32({4})},
                                 [](std::vector<Value>& in) {
                                   Value h = relu(conv2d(in[0], in[1], {.padding = {1, 1, 1, 1}}));
                                   Value p = max_pool2d(h, {3, 3}, {.stride = {3, 3}, .padding = {1, 1, 1, 1}});
                                   Value loss = cross_entropy(matmul(reshape(p, {4, 27}), in[2]), in[3]);
                                   return std::vector<Value>{loss, grad_op(loss, in[1]), grad_op(loss, in[2])};
                                 });
  Function& f = *m.find("f");
  for (int threads : {1, 2})
    EXPECT_EQ(test::compare_with_interpreter(f, random_inputs(f, 9), test::split_everything(threads)), "");
}

}  // namespace
}  // namespace nabla
