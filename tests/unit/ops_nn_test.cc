// nn ops (Conv, ConvTranspose, MatMul, Gemm, pools, MaxUnpool, Einsum, DeformConv): what the conformance corpus does
// not cover. The blocked GEMM and im2col paths are checked against naive loops on small integers (so float results
// are exact) over shapes straddling the register tile and block sizes; plus error cases, edge shapes and opset
// differences on tiny graphs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "op_test_util.h"
#include "ops/nn/gemm_loop.h"

namespace hone::test {
namespace {

// Small integers in [-3, 3] so float sums are exact.
Tensor random_ints_as(DType dt, Shape shape, uint32_t seed) {
  Tensor t(dt, std::move(shape));
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, static_cast<double>(static_cast<int>(rng() % 7) - 3));
  return t;
}

// ---- GEMM loop ----

template <typename T>
void check_gemm(int64_t m, int64_t n, int64_t k, bool ta, bool tb, bool accumulate, uint32_t seed) {
  std::mt19937 rng(seed);
  auto small = [&] { return static_cast<T>(static_cast<int>(rng() % 7) - 3); };
  std::vector<T> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n)), c(static_cast<size_t>(m * n));
  for (T& v : a) v = small();
  for (T& v : b) v = small();
  for (T& v : c) v = small();
  std::vector<T> want = c;
  auto A = [&](int64_t i, int64_t p) { return ta ? a[p * m + i] : a[i * k + p]; };
  auto B = [&](int64_t p, int64_t j) { return tb ? b[j * k + p] : b[p * n + j]; };
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T s = accumulate ? want[i * n + j] : T(0);
      for (int64_t p = 0; p < k; ++p) s += A(i, p) * B(p, j);
      want[i * n + j] = s;
    }
  nn::gemm_loop<T>(m, n, k, a.data(), ta ? 1 : k, ta ? m : 1, b.data(), tb ? 1 : n, tb ? k : 1, c.data(), n, accumulate);
  for (size_t i = 0; i < c.size(); ++i) ASSERT_EQ(c[i], want[i]) << m << "x" << n << "x" << k << " at " << i;
}

TEST(NnGemmLoop, MatchesNaiveAcrossTileAndBlockEdges) {
  uint32_t seed = 1;
  for (int64_t m : {1, 5, 6, 7, 13, 97})
    for (int64_t n : {1, 3, 4, 7, 8, 9, 17})
      for (int64_t k : {0, 1, 2, 255, 257}) {
        check_gemm<float>(m, n, k, false, false, false, seed++);
        check_gemm<double>(m, n, k, true, true, true, seed++);
      }
  check_gemm<float>(7, 2050, 3, false, true, false, 99);  // crosses the column block
  check_gemm<int32_t>(5, 7, 9, true, false, true, 100);
  check_gemm<int64_t>(3, 4, 5, false, false, false, 101);
}

// ---- Conv ----

// Direct N-d convolution (1-3 spatial dims via leading size-1 dims) for checking.
Tensor naive_conv(const Tensor& x, const Tensor& w, int64_t group, std::vector<int64_t> strides, std::vector<int64_t> dil,
                  std::vector<int64_t> pads) {
  size_t nd = static_cast<size_t>(x.rank() - 2);
  Shape out_shape = {x.dim(0), w.dim(0)};
  for (size_t i = 0; i < nd; ++i)
    out_shape.push_back((x.dim(2 + i) + pads[i] + pads[nd + i] - ((w.dim(2 + i) - 1) * dil[i] + 1)) / strides[i] + 1);
  Tensor y(DType::Float32, out_shape);
  int64_t in3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, o3[3] = {1, 1, 1}, s3[3] = {1, 1, 1}, d3[3] = {1, 1, 1}, p3[3] = {0, 0, 0};
  for (size_t i = 0; i < nd; ++i) {
    size_t j = 3 - nd + i;
    in3[j] = x.dim(2 + i), k3[j] = w.dim(2 + i), o3[j] = out_shape[2 + i], s3[j] = strides[i], d3[j] = dil[i], p3[j] = pads[i];
  }
  int64_t cg = x.dim(1) / group, ocg = w.dim(0) / group;
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t oc = 0; oc < w.dim(0); ++oc)
      for (int64_t a = 0; a < o3[0]; ++a)
        for (int64_t b = 0; b < o3[1]; ++b)
          for (int64_t c = 0; c < o3[2]; ++c) {
            float s = 0;
            for (int64_t ci = 0; ci < cg; ++ci)
              for (int64_t ka = 0; ka < k3[0]; ++ka)
                for (int64_t kb = 0; kb < k3[1]; ++kb)
                  for (int64_t kc = 0; kc < k3[2]; ++kc) {
                    int64_t ia = a * s3[0] - p3[0] + ka * d3[0], ib = b * s3[1] - p3[1] + kb * d3[1],
                            ic = c * s3[2] - p3[2] + kc * d3[2];
                    if (ia < 0 || ia >= in3[0] || ib < 0 || ib >= in3[1] || ic < 0 || ic >= in3[2]) continue;
                    int64_t chan = (oc / ocg) * cg + ci;
                    float xv = x.data<float>()[(((n * x.dim(1) + chan) * in3[0] + ia) * in3[1] + ib) * in3[2] + ic];
                    float wv = w.data<float>()[(((oc * cg + ci) * k3[0] + ka) * k3[1] + kb) * k3[2] + kc];
                    s += xv * wv;
                  }
            y.data<float>()[(((n * w.dim(0) + oc) * o3[0] + a) * o3[1] + b) * o3[2] + c] = s;
          }
  return y;
}

void check_conv(Shape xs, Shape ws, int64_t group, std::vector<int64_t> strides, std::vector<int64_t> dil,
                std::vector<int64_t> pads, uint32_t seed) {
  Tensor x = random_ints_as(DType::Float32, xs, seed), w = random_ints_as(DType::Float32, ws, seed + 1);
  std::vector<Tensor> y = run_op("Conv", 13, {{"x", x}, {"w", w}},
                                 {Attribute::of_int("group", group), Attribute::of_ints("strides", strides),
                                  Attribute::of_ints("dilations", dil), Attribute::of_ints("pads", pads)});
  Tensor want = naive_conv(x, w, group, strides, dil, pads);
  ASSERT_EQ(y[0].shape(), want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) ASSERT_EQ(y[0].data<float>()[i], want.data<float>()[i]) << i;
}

TEST(NnConv, MatchesDirectConvolution) {
  check_conv({2, 4, 9, 11}, {6, 2, 3, 2}, 2, {2, 1}, {1, 2}, {1, 0, 2, 1}, 1);  // groups, asymmetric pads
  check_conv({1, 3, 8, 8}, {3, 1, 3, 3}, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 3);   // depthwise
  check_conv({1, 5, 6, 7}, {9, 5, 1, 1}, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, 5);   // pointwise (no im2col)
  check_conv({2, 3, 13}, {4, 3, 4}, 1, {3}, {2}, {2, 1}, 7);                    // 1-D
  check_conv({1, 2, 4, 5, 6}, {3, 2, 2, 3, 2}, 1, {1, 2, 1}, {2, 1, 1}, {1, 0, 1, 0, 1, 1}, 9);  // 3-D
}

TEST(NnConv, AutoPadSameLowerAndUpperDiffer) {
  Tensor x = f32({1, 1, 1, 4}, {1, 2, 3, 4});
  Tensor w = f32({1, 1, 1, 2}, {1, 10});
  auto upper = run_op("Conv", 13, {{"x", x}, {"w", w}}, {Attribute::of_string("auto_pad", "SAME_UPPER")});
  auto lower = run_op("Conv", 13, {{"x", x}, {"w", w}}, {Attribute::of_string("auto_pad", "SAME_LOWER")});
  expect_values(upper[0], {21, 32, 43, 4});   // pad at the end
  expect_values(lower[0], {10, 21, 32, 43});  // pad at the start
}

TEST(NnConv, Float16BiasAndValidPad) {
  Tensor x(DType::Float16, {1, 1, 3});
  Tensor w(DType::Float16, {2, 1, 2});
  Tensor b(DType::Float16, {2});
  for (int i = 0; i < 3; ++i) x.set_double(i, i + 1);
  for (int i = 0; i < 4; ++i) w.set_double(i, i);
  b.set_double(0, 0.5), b.set_double(1, -1);
  auto y = run_op("Conv", 22, {{"x", x}, {"w", w}, {"b", b}}, {Attribute::of_string("auto_pad", "VALID")});
  EXPECT_EQ(y[0].dtype(), DType::Float16);
  expect_values(y[0], {2.5, 3.5, 7, 12});  // w0 = [0,1]: 2,3 (+.5); w1 = [2,3]: 8,13 (-1)
}

TEST(NnConv, RejectsInconsistentInputs) {
  Tensor x = f32({1, 2, 3, 3}, std::vector<float>(18, 1));
  EXPECT_THROW(run_op("Conv", 13, {{"x", x}, {"w", f32({1, 3, 1, 1}, {1, 1, 1})}}), Error);  // channels
  EXPECT_THROW(run_op("Conv", 13, {{"x", x}, {"w", f32({3, 1, 1, 1}, {1, 1, 1})}}, {Attribute::of_int("group", 2)}),
               Error);  // 3 output channels into 2 groups
  EXPECT_THROW(run_op("Conv", 13, {{"x", x}, {"w", f32({1, 2, 5, 5}, std::vector<float>(50, 1))}}),
               Error);  // kernel larger than the input
  EXPECT_THROW(
      run_op("Conv", 13, {{"x", x}, {"w", f32({1, 2, 1, 1}, {1, 1})}}, {Attribute::of_ints("pads", {-1, 0, 0, 0})}),
      Error);
  EXPECT_THROW(run_op("Conv", 13, {{"x", x}, {"w", f32({1, 2, 1, 1}, {1, 1})}, {"b", f32({2}, {1, 1})}}),
               Error);  // bias size
  EXPECT_THROW(run_op("Conv", 13, {{"x", x}, {"w", f32({1, 2, 1, 1}, {1, 1})}}, {Attribute::of_ints("strides", {0, 1})}),
               Error);
}

TEST(NnConv, EmptyBatchGivesEmptyOutput) {
  auto y = run_op("Conv", 13,
                  {{"x", Tensor(DType::Float32, {0, 2, 3, 3})}, {"w", f32({4, 2, 2, 2}, std::vector<float>(32, 1))}});
  EXPECT_EQ(y[0].shape(), (Shape{0, 4, 2, 2}));
}

// ---- ConvTranspose ----

TEST(NnConvTranspose, StridedScatterWithOutputPaddingAndGroups) {
  // 1-D, stride 2, kernel [1, 10], output_padding 1: out = 2*(3-1) + 1 + 2 = 7.
  auto y = run_op("ConvTranspose", 13, {{"x", f32({1, 1, 3}, {1, 2, 3})}, {"w", f32({1, 1, 2}, {1, 10})}},
                  {Attribute::of_ints("strides", {2}), Attribute::of_ints("output_padding", {1})});
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 7}));
  expect_values(y[0], {1, 10, 2, 20, 3, 30, 0});
  // Two groups of one channel each, with bias.
  auto g =
      run_op("ConvTranspose", 13,
             {{"x", f32({1, 2, 2}, {1, 2, 3, 4})}, {"w", f32({2, 1, 2}, {1, 1, 1, -1})}, {"b", f32({2}, {0, 100})}},
             {Attribute::of_int("group", 2)});
  expect_values(g[0], {1, 3, 2, 103, 101, 96});
}

TEST(NnConvTranspose, OutputShapeDerivesPadsAndRejectsBadWeights) {
  // output_shape 2 from a natural size 4 (stride 1, kernel 3, input 2): total padding 2, split 1 / 1.
  auto y = run_op("ConvTranspose", 13, {{"x", f32({1, 1, 2}, {1, 2})}, {"w", f32({1, 1, 3}, {1, 1, 1})}},
                  {Attribute::of_ints("output_shape", {2})});
  expect_values(y[0], {3, 3});
  EXPECT_THROW(run_op("ConvTranspose", 13, {{"x", f32({1, 2, 2}, {1, 2, 3, 4})}, {"w", f32({1, 1, 3}, {1, 1, 1})}}),
               Error);
}

// ---- MatMul / Gemm ----

TEST(NnMatMul, OneDimensionalOperandsAndBroadcastBatches) {
  auto dot = run_op("MatMul", 13, {{"a", f32({3}, {1, 2, 3})}, {"b", f32({3}, {4, 5, 6})}});
  EXPECT_EQ(dot[0].rank(), 0);
  expect_values(dot[0], {32});
  auto vm = run_op("MatMul", 13, {{"a", f32({2}, {1, 2})}, {"b", f32({2, 2, 1}, {1, 2, 3, 4})}});
  EXPECT_EQ(vm[0].shape(), (Shape{2, 1}));
  expect_values(vm[0], {5, 11});
  // [2,1,1,2] x [3,2,1] -> [2,3,1,1]
  auto bc = run_op("MatMul", 13, {{"a", f32({2, 1, 1, 2}, {1, 2, 3, 4})}, {"b", f32({3, 2, 1}, {1, 0, 0, 1, 1, 1})}});
  EXPECT_EQ(bc[0].shape(), (Shape{2, 3, 1, 1}));
  expect_values(bc[0], {1, 2, 3, 3, 4, 7});
}

TEST(NnMatMul, IntegersWrapAndEmptyInnerDimGivesZeros) {
  Tensor a(DType::Int32, {1, 2}), b(DType::Int32, {2, 1});
  a.data<int32_t>()[0] = 1 << 30, a.data<int32_t>()[1] = 1 << 30;
  b.data<int32_t>()[0] = 2, b.data<int32_t>()[1] = 0;
  auto y = run_op("MatMul", 13, {{"a", a}, {"b", b}});
  EXPECT_EQ(y[0].data<int32_t>()[0], INT32_MIN);  // 2^31 wraps
  auto z = run_op("MatMul", 13, {{"a", f32({2, 0}, {})}, {"b", f32({0, 3}, {})}});
  EXPECT_EQ(z[0].shape(), (Shape{2, 3}));
  expect_values(z[0], {0, 0, 0, 0, 0, 0});
  EXPECT_THROW(
      run_op("MatMul", 13, {{"a", f32({2, 3}, std::vector<float>(6))}, {"b", f32({2, 3}, std::vector<float>(6))}}),
      Error);
  EXPECT_THROW(run_op("MatMul", 13, {{"a", f32({}, {1})}, {"b", f32({1}, {1})}}), Error);  // rank 0
}

TEST(NnGemm, TransposesScalesAndBroadcastsC) {
  // A^T (2x2) * B^T (2x1) * 2 + 0.5 * C(scalar 4)
  auto y = run_op("Gemm", 13, {{"a", f32({2, 2}, {1, 2, 3, 4})}, {"b", f32({1, 2}, {1, 1})}, {"c", f32({}, {4})}},
                  {Attribute::of_int("transA", 1), Attribute::of_int("transB", 1), Attribute::of_float("alpha", 2),
                   Attribute::of_float("beta", 0.5f)});
  EXPECT_EQ(y[0].shape(), (Shape{2, 1}));
  expect_values(y[0], {10, 14});  // A^T rows: [1,3], [2,4]
  EXPECT_THROW(run_op("Gemm", 13,
                      {{"a", f32({2, 2}, {1, 2, 3, 4})}, {"b", f32({2, 2}, {1, 0, 0, 1})}, {"c", f32({3}, {1, 2, 3})}}),
               Error);
}

TEST(NnGemm, OptionalCAndLegacyBroadcastAttribute) {
  Tensor a = f32({1, 2}, {1, 2}), b = f32({2, 2}, {1, 0, 0, 1}), c = f32({2}, {10, 20});
  expect_values(run_op("Gemm", 11, {{"a", a}, {"b", b}})[0], {1, 2});
  EXPECT_THROW(run_op("Gemm", 9, {{"a", a}, {"b", b}}), Error);  // C required before opset 11
  EXPECT_THROW(run_op("Gemm", 6, {{"a", a}, {"b", b}, {"c", c}}), Error);  // broadcast=0 needs C of M x N
  expect_values(run_op("Gemm", 6, {{"a", a}, {"b", b}, {"c", c}}, {Attribute::of_int("broadcast", 1)})[0], {11, 22});
  expect_values(run_op("Gemm", 7, {{"a", a}, {"b", b}, {"c", c}})[0], {11, 22});
}

// ---- Pools ----

TEST(NnMaxPool, IndicesInBothStorageOrdersAndIntegerInput) {
  Tensor x = f32({1, 1, 2, 3}, {1, 9, 2, 8, 3, 7});
  auto rm = run_op("MaxPool", 12, {{"x", x}}, {Attribute::of_ints("kernel_shape", {2, 2})}, 2);
  expect_values(rm[0], {9, 9});
  expect_values(rm[1], {1, 1});
  auto cm = run_op("MaxPool", 12, {{"x", x}},
                   {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_int("storage_order", 1)}, 2);
  expect_values(cm[1], {2, 2});  // (h=0, w=1) column-major: 0 + 1 * 2
  Tensor xi(DType::Int8, {1, 1, 3});
  xi.data<int8_t>()[0] = -5, xi.data<int8_t>()[1] = -7, xi.data<int8_t>()[2] = 4;
  auto yi =
      run_op("MaxPool", 12, {{"x", xi}}, {Attribute::of_ints("kernel_shape", {2}), Attribute::of_ints("pads", {1, 0})});
  EXPECT_EQ(yi[0].dtype(), DType::Int8);
  expect_values(yi[0], {-5, -5, 4});  // the pad never wins, even against negatives
  EXPECT_THROW(run_op("MaxPool", 12, {{"x", x}},
                      {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_int("storage_order", 2)}),
               Error);
  EXPECT_THROW(run_op("MaxPool", 12, {{"x", x}}), Error);  // kernel_shape is required
}

TEST(NnMaxPool, CeilModeAddsPartialWindowsButNoneStartingInPadding) {
  Tensor x = f32({1, 1, 5}, {1, 2, 3, 4, 5});
  std::vector<Attribute> attrs = {Attribute::of_ints("kernel_shape", {2}), Attribute::of_ints("strides", {2})};
  expect_values(run_op("MaxPool", 12, {{"x", x}}, attrs)[0], {2, 4});
  attrs.push_back(Attribute::of_int("ceil_mode", 1));
  expect_values(run_op("MaxPool", 12, {{"x", x}}, attrs)[0], {2, 4, 5});
  // Input 2, kernel 1, stride 2: ceil gives 2 windows, but the second would start past the input: dropped.
  auto y = run_op(
      "MaxPool", 12, {{"x", f32({1, 1, 2}, {1, 2})}},
      {Attribute::of_ints("kernel_shape", {1}), Attribute::of_ints("strides", {2}), Attribute::of_int("ceil_mode", 1)});
  expect_values(y[0], {1});
}

TEST(NnAveragePool, CountIncludePadChangesTheDivisor) {
  Tensor x = f32({1, 1, 3}, {3, 6, 9});
  std::vector<Attribute> attrs = {Attribute::of_ints("kernel_shape", {2}), Attribute::of_ints("pads", {1, 1})};
  expect_values(run_op("AveragePool", 11, {{"x", x}}, attrs)[0], {3, 4.5, 7.5, 9});
  attrs.push_back(Attribute::of_int("count_include_pad", 1));
  expect_values(run_op("AveragePool", 11, {{"x", x}}, attrs)[0], {1.5, 4.5, 7.5, 4.5});
  // Opset 19 dilations.
  Tensor x5 = f32({1, 1, 5}, {1, 2, 3, 4, 5});
  expect_values(run_op("AveragePool", 19, {{"x", x5}},
                       {Attribute::of_ints("kernel_shape", {2}), Attribute::of_ints("dilations", {2})})[0],
                {2, 3, 4});
}

TEST(NnLpPool, FloatPInOpsetOneAndIntPLater) {
  Tensor x = f32({1, 1, 2}, {3, 4});
  expect_values(
      run_op("LpPool", 1, {{"x", x}}, {Attribute::of_ints("kernel_shape", {2}), Attribute::of_float("p", 2)})[0], {5});
  expect_values(
      run_op("LpPool", 18, {{"x", x}}, {Attribute::of_ints("kernel_shape", {2}), Attribute::of_int("p", 1)})[0], {7});
  expect_values(run_op("GlobalLpPool", 2, {{"x", x}}, {Attribute::of_int("p", 2)})[0], {5});
  EXPECT_THROW(run_op("LpPool", 18, {{"x", x}}, {Attribute::of_ints("kernel_shape", {2}), Attribute::of_int("p", 0)}),
               Error);
}

TEST(NnGlobalPool, ReducesEverySpatialDim) {
  Tensor x = f32({1, 2, 2, 2}, {1, 2, 3, 4, -1, -2, -3, -4});
  auto avg = run_op("GlobalAveragePool", 1, {{"x", x}});
  EXPECT_EQ(avg[0].shape(), (Shape{1, 2, 1, 1}));
  expect_values(avg[0], {2.5, -2.5});
  expect_values(run_op("GlobalMaxPool", 1, {{"x", x}})[0], {4, -1});
}

TEST(NnMaxUnpool, ScattersAndRejectsOutOfRangeIndices) {
  Tensor x = f32({1, 1, 1, 2}, {5, 6});
  std::vector<Attribute> attrs = {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("strides", {2, 2})};
  auto y = run_op("MaxUnpool", 11, {{"x", x}, {"i", i64({1, 1, 1, 2}, {1, 7})}}, attrs);
  EXPECT_EQ(y[0].shape(), (Shape{1, 1, 2, 4}));
  expect_values(y[0], {0, 5, 0, 0, 0, 0, 0, 6});
  EXPECT_THROW(run_op("MaxUnpool", 11, {{"x", x}, {"i", i64({1, 1, 1, 2}, {1, 8})}}, attrs), Error);
  EXPECT_THROW(run_op("MaxUnpool", 11, {{"x", x}, {"i", i64({1, 1, 1, 2}, {-1, 0})}}, attrs), Error);
}

// ---- Einsum ----

TEST(NnEinsum, ImplicitOutputDiagonalsAndEllipsis) {
  Tensor m = f32({2, 2}, {1, 2, 3, 4});
  auto es = [](const char* e) { return Attribute::of_string("equation", e); };
  expect_values(run_op("Einsum", 12, {{"a", m}}, {es("ii")})[0], {5});         // trace (implicit: scalar)
  expect_values(run_op("Einsum", 12, {{"a", m}}, {es("ii->i")})[0], {1, 4});   // diagonal
  expect_values(run_op("Einsum", 12, {{"a", m}}, {es("ba")})[0], {1, 3, 2, 4});  // implicit output "ab": transpose
  expect_values(run_op("Einsum", 12, {{"a", m}, {"b", m}}, {es("ij,jk")})[0], {7, 10, 15, 22});
  // Ellipsis batch dims broadcast: [2,1,2] . [2] over the last dim.
  auto e = run_op("Einsum", 12, {{"a", f32({2, 1, 2}, {1, 2, 3, 4})}, {"b", f32({2}, {1, 10})}}, {es("...i,i->...")});
  EXPECT_EQ(e[0].shape(), (Shape{2, 1}));
  expect_values(e[0], {21, 43});
  auto ints_out = run_op("Einsum", 12, {{"a", i64({3}, {1, 2, 3})}, {"b", i64({3}, {4, 5, 6})}}, {es("i,i->")});
  EXPECT_EQ(ints_out[0].data<int64_t>()[0], 32);
}

TEST(NnEinsum, RejectsMalformedEquations) {
  Tensor m = f32({2, 3}, std::vector<float>(6, 1));
  auto es = [](const char* e) { return Attribute::of_string("equation", e); };
  EXPECT_THROW(run_op("Einsum", 12, {{"a", m}}, {es("ij,jk->ik")}), Error);  // two terms, one input
  EXPECT_THROW(run_op("Einsum", 12, {{"a", m}}, {es("ijk->i")}), Error);     // rank mismatch
  EXPECT_THROW(run_op("Einsum", 12, {{"a", m}}, {es("ij->iz")}), Error);     // unknown output label
  EXPECT_THROW(run_op("Einsum", 12, {{"a", m}}, {es("ii->i")}), Error);      // diagonal of unequal dims
  EXPECT_THROW(run_op("Einsum", 12, {{"a", m}}, {es("ij->ii")}), Error);     // repeated output label
}

// ---- DeformConv ----

TEST(NnDeformConv, ZeroOffsetsEqualConvAndHalfPixelOffsetsInterpolate) {
  Tensor x = random_ints_as(DType::Float32, {1, 2, 4, 4}, 11), w = random_ints_as(DType::Float32, {3, 2, 2, 2}, 12);
  auto d = run_op("DeformConv", 19, {{"x", x}, {"w", w}, {"o", Tensor(DType::Float32, {1, 8, 3, 3})}});
  auto c = run_op("Conv", 19, {{"x", x}, {"w", w}});
  ASSERT_EQ(d[0].shape(), c[0].shape());
  for (int64_t i = 0; i < c[0].numel(); ++i) EXPECT_EQ(d[0].data<float>()[i], c[0].data<float>()[i]);
  // 1x1 kernel sampling halfway between columns 0 and 1 (x offset 0.5); the last column reads half of zero padding.
  Tensor off(DType::Float32, {1, 2, 1, 2});
  off.data<float>()[2] = 0.5f, off.data<float>()[3] = 0.5f;
  auto h = run_op("DeformConv", 19, {{"x", f32({1, 1, 1, 2}, {2, 4})}, {"w", f32({1, 1, 1, 1}, {1})}, {"o", off}});
  expect_values(h[0], {3, 2});
  EXPECT_THROW(run_op("DeformConv", 19, {{"x", x}, {"w", w}, {"o", Tensor(DType::Float32, {1, 4, 3, 3})}}), Error);
}

}  // namespace
}  // namespace hone
