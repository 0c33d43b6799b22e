// Reductions, softmax family, normalizations and resampling: what the conformance corpus does not cover (error
// cases, empty and rank-0 shapes, integer and half types, opset-version differences, inferred shapes), on tiny
// hand-checked graphs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "op_test_util.h"

namespace hone::test {
namespace {

const Tensor kX232 = f32({2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});

// ---- reductions ---------------------------------------------------------------------------------------------

TEST(ReduceOps, AxesAttributeBeforeOpset13AndInputFrom13) {
  auto a = run_op("ReduceSum", 11, {{"x", kX232}}, {Attribute::of_ints("axes", {1}), Attribute::of_int("keepdims", 0)});
  EXPECT_EQ(a[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values(a[0]), (std::vector<double>{9, 12, 27, 30}));
  auto b = run_op("ReduceSum", 13, {{"x", kX232}, {"axes", i64({1}, {-2})}}, {Attribute::of_int("keepdims", 0)});
  EXPECT_EQ(values(b[0]), (std::vector<double>{9, 12, 27, 30}));
  // ReduceMean moved its axes to an input only at 18
  auto c = run_op("ReduceMean", 17, {{"x", kX232}}, {Attribute::of_ints("axes", {0, 2})});
  EXPECT_EQ(c[0].shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(values(c[0]), (std::vector<double>{4.5, 6.5, 8.5}));
}

TEST(ReduceOps, EmptyAxesReduceAllOrNothing) {
  auto all = run_op("ReduceMax", 18, {{"x", kX232}, {"axes", i64({0}, {})}}, {Attribute::of_int("keepdims", 0)});
  EXPECT_EQ(all[0].rank(), 0);
  EXPECT_EQ(all[0].get_double(0), 12);
  auto omitted = run_op("ReduceMin", 18, {{"x", kX232}});
  EXPECT_EQ(omitted[0].shape(), (Shape{1, 1, 1}));
  EXPECT_EQ(omitted[0].get_double(0), 1);
  auto noop =
      run_op("ReduceSum", 13, {{"x", kX232}, {"axes", i64({0}, {})}}, {Attribute::of_int("noop_with_empty_axes", 1)});
  EXPECT_EQ(noop[0].shape(), kX232.shape());
  EXPECT_EQ(values(noop[0]), values(kX232));
}

TEST(ReduceOps, EmptySetGivesIdentity) {
  Tensor empty(DType::Float32, {2, 0, 3});
  Tensor axis1 = i64({1}, {1});
  auto expect_all = [&](const std::string& op, double v) {
    auto r = run_op(op, 18, {{"x", empty}, {"axes", axis1}});
    ASSERT_EQ(r[0].shape(), (Shape{2, 1, 3})) << op;
    for (double got : values(r[0])) {
      if (std::isnan(v)) EXPECT_TRUE(std::isnan(got)) << op;
      else EXPECT_EQ(got, v) << op;
    }
  };
  const double inf = std::numeric_limits<double>::infinity();
  expect_all("ReduceSum", 0);
  expect_all("ReduceProd", 1);
  expect_all("ReduceL1", 0);
  expect_all("ReduceL2", 0);
  expect_all("ReduceSumSquare", 0);
  expect_all("ReduceMax", -inf);
  expect_all("ReduceMin", inf);
  expect_all("ReduceLogSum", -inf);
  expect_all("ReduceLogSumExp", -inf);
  expect_all("ReduceMean", std::nan(""));
  // integers: the type's limits
  Tensor empty_i(DType::Int32, {0});
  EXPECT_EQ(run_op("ReduceMax", 18, {{"x", empty_i}})[0].get_int(0), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(run_op("ReduceMin", 18, {{"x", empty_i}})[0].get_int(0), std::numeric_limits<int32_t>::max());
}

TEST(ReduceOps, IntegerAndHalfTypes) {
  Tensor x = ints(DType::Int32, {2, 3}, {1, -2, 3, 4, 5, -6});
  auto s = run_op("ReduceSum", 13, {{"x", x}, {"axes", i64({1}, {1})}});
  EXPECT_EQ(s[0].dtype(), DType::Int32);
  EXPECT_EQ(values(s[0]), (std::vector<double>{2, 3}));
  auto l1 = run_op("ReduceL1", 18, {{"x", x}, {"axes", i64({1}, {1})}}, {Attribute::of_int("keepdims", 0)});
  EXPECT_EQ(values(l1[0]), (std::vector<double>{6, 15}));
  auto mean = run_op("ReduceMean", 18, {{"x", x}, {"axes", i64({1}, {0})}}, {Attribute::of_int("keepdims", 0)});
  EXPECT_EQ(values(mean[0]), (std::vector<double>{2, 1, -1}));  // truncated: 2.5, 1.5, -1.5
  Tensor h(DType::Float16, {4});
  for (int i = 0; i < 4; ++i) h.data<Float16>()[i] = Float16(0.5f * static_cast<float>(i + 1));
  auto hs = run_op("ReduceSumSquare", 18, {{"x", h}});
  EXPECT_EQ(hs[0].dtype(), DType::Float16);
  EXPECT_FLOAT_EQ(static_cast<float>(hs[0].get_double(0)), 7.5f);
  Tensor b = ints(DType::Bool, {2, 2}, {0, 1, 0, 0});
  auto bm = run_op("ReduceMax", 20, {{"x", b}, {"axes", i64({1}, {1})}});
  EXPECT_EQ(bm[0].dtype(), DType::Bool);
  EXPECT_EQ(values(bm[0]), (std::vector<double>{1, 0}));
  EXPECT_THROW(run_op("ReduceSum", 13, {{"x", b}}), Error);
}

TEST(ReduceOps, LogSumExpDoesNotOverflow) {
  auto r = run_op("ReduceLogSumExp", 18, {{"x", f32({2}, {1000, 1000})}});
  EXPECT_NEAR(r[0].get_double(0), 1000 + std::log(2.0), 1e-3);
}

TEST(ReduceOps, BadAxesThrow) {
  EXPECT_THROW(run_op("ReduceSum", 13, {{"x", kX232}, {"axes", i64({1}, {3})}}), Error);
  EXPECT_THROW(run_op("ReduceSum", 13, {{"x", kX232}, {"axes", i64({2}, {1, -2})}}), Error);
  EXPECT_THROW(run_op("ReduceMax", 13, {{"x", kX232}}, {Attribute::of_ints("axes", {-4})}), Error);
  EXPECT_THROW(run_op("ReduceSum", 13, {{"x", kX232}, {"axes", ints(DType::Int32, {1}, {1})}}), Error);
}

TEST(ReduceOps, InferredShapes) {
  // constant axes: exact shape
  TypeInfo t = inferred_output("ReduceSum", 13, {{"x", kX232}, {"axes", i64({1}, {1}), true}},
                               {Attribute::of_int("keepdims", 0)});
  ASSERT_TRUE(t.shape);
  EXPECT_EQ(*t.shape, (SymShape{2, 2}));
  // axes fed at run time, keepdims: rank known, reduced dims not
  TypeInfo u = inferred_output("ReduceSum", 13, {{"x", kX232}, {"axes", i64({1}, {1})}});
  ASSERT_TRUE(u.shape);
  EXPECT_EQ(u.shape->size(), 3u);
  TypeInfo a =
      inferred_output("ArgMax", 13, {{"x", kX232}}, {Attribute::of_int("axis", -1), Attribute::of_int("keepdims", 0)});
  EXPECT_EQ(a.elem, DType::Int64);
  EXPECT_EQ(*a.shape, (SymShape{2, 3}));
}

// ---- ArgMax / ArgMin / TopK / CumSum ------------------------------------------------------------------------

TEST(ArgOps, TiesAndSelectLastIndex) {
  Tensor x = f32({2, 3}, {3, 1, 3, 2, 2, 0});
  EXPECT_EQ(values(run_op("ArgMax", 13, {{"x", x}}, {Attribute::of_int("axis", 1)})[0]), (std::vector<double>{0, 0}));
  EXPECT_EQ(values(run_op("ArgMax", 13, {{"x", x}},
                          {Attribute::of_int("axis", 1), Attribute::of_int("select_last_index", 1)})[0]),
            (std::vector<double>{2, 1}));
  EXPECT_EQ(values(run_op("ArgMin", 13, {{"x", x}}, {Attribute::of_int("axis", 0), Attribute::of_int("keepdims", 0)})[0]),
            (std::vector<double>{1, 0, 1}));
  EXPECT_THROW(run_op("ArgMax", 13, {{"x", x}}, {Attribute::of_int("axis", 2)}), Error);
  EXPECT_THROW(run_op("ArgMax", 13, {{"x", Tensor(DType::Float32, {2, 0})}}, {Attribute::of_int("axis", 1)}), Error);
}

TEST(TopKOp, LegacyAttributeSmallestAndTies) {
  Tensor x = f32({5}, {2, 5, 2, 7, 5});
  auto legacy = run_op("TopK", 1, {{"x", x}}, {Attribute::of_int("k", 3)}, 2);
  EXPECT_EQ(values(legacy[0]), (std::vector<double>{7, 5, 5}));
  EXPECT_EQ(values(legacy[1]), (std::vector<double>{3, 1, 4}));
  auto small = run_op("TopK", 11, {{"x", x}, {"k", i64({1}, {2})}}, {Attribute::of_int("largest", 0)}, 2);
  EXPECT_EQ(values(small[0]), (std::vector<double>{2, 2}));
  EXPECT_EQ(values(small[1]), (std::vector<double>{0, 2}));
  auto none = run_op("TopK", 11, {{"x", x}, {"k", i64({1}, {0})}}, {}, 2);
  EXPECT_EQ(none[0].shape(), (Shape{0}));
  EXPECT_THROW(run_op("TopK", 11, {{"x", x}, {"k", i64({1}, {6})}}, {}, 2), Error);
  EXPECT_THROW(run_op("TopK", 11, {{"x", x}, {"k", i64({1}, {-1})}}, {}, 2), Error);
  // large int64 values compare exactly (not through double)
  Tensor big = i64({2}, {(int64_t{1} << 60) + 1, int64_t{1} << 60});
  EXPECT_EQ(values(run_op("TopK", 11, {{"x", big}, {"k", i64({1}, {1})}}, {}, 2)[1]), (std::vector<double>{0}));
}

TEST(CumulativeOps, ExclusiveReverseAndErrors) {
  Tensor x = f32({4}, {1, 2, 3, 4});
  Tensor axis = ints(DType::Int32, {}, {0});
  EXPECT_EQ(values(run_op("CumSum", 14, {{"x", x}, {"a", axis}},
                          {Attribute::of_int("exclusive", 1), Attribute::of_int("reverse", 1)})[0]),
            (std::vector<double>{9, 7, 4, 0}));
  EXPECT_EQ(values(run_op("CumProd", 26, {{"x", x}, {"a", axis}}, {Attribute::of_int("exclusive", 1)})[0]),
            (std::vector<double>{1, 1, 2, 6}));
  EXPECT_THROW(run_op("CumSum", 14, {{"x", x}, {"a", i64({}, {1})}}), Error);
  EXPECT_THROW(run_op("CumSum", 14, {{"x", x}, {"a", f32({}, {0})}}), Error);
}

// ---- softmax family -----------------------------------------------------------------------------------------

TEST(SoftmaxOps, LegacyCoercesTo2D) {
  Tensor x = f32({1, 2, 2}, {0, 0, 0, 0});
  // opset 11, axis 1: one softmax over all 4 elements
  for (double v : values(run_op("Softmax", 11, {{"x", x}})[0])) EXPECT_NEAR(v, 0.25, 1e-6);
  // opset 13, default axis -1: softmax over pairs
  for (double v : values(run_op("Softmax", 13, {{"x", x}})[0])) EXPECT_NEAR(v, 0.5, 1e-6);
  EXPECT_EQ(values(run_op("Hardmax", 11, {{"x", f32({1, 2, 2}, {1, 4, 4, 2})}})[0]),
            (std::vector<double>{0, 1, 0, 0}));
  EXPECT_EQ(values(run_op("Hardmax", 13, {{"x", f32({1, 2, 2}, {1, 4, 4, 2})}})[0]),
            (std::vector<double>{0, 1, 1, 0}));
  auto ls = run_op("LogSoftmax", 13, {{"x", f32({2}, {1000, 0})}});
  EXPECT_NEAR(ls[0].get_double(0), 0, 1e-6);
  EXPECT_NEAR(ls[0].get_double(1), -1000, 1e-3);
  EXPECT_THROW(run_op("Softmax", 13, {{"x", x}}, {Attribute::of_int("axis", 3)}), Error);
}

// ---- normalizations -----------------------------------------------------------------------------------------

TEST(NormOps, BatchNormLegacyPerElementAndChecks) {
  // opset 6, spatial = 0: parameters per element of a sample (C x D = 1 x 2)
  Tensor x = f32({2, 1, 2}, {1, 2, 3, 4});
  auto y =
      run_op("BatchNormalization", 6,
             {{"x", x},
              {"s", f32({1, 2}, {1, 2})},
              {"b", f32({1, 2}, {0, 1})},
              {"m", f32({1, 2}, {1, 0})},
              {"v", f32({1, 2}, {1, 1})}},
             {Attribute::of_int("spatial", 0), Attribute::of_int("is_test", 1), Attribute::of_float("epsilon", 0)});
  EXPECT_EQ(values(y[0]), (std::vector<double>{0, 5, 2, 9}));
  EXPECT_THROW(run_op("BatchNormalization", 15,
                      {{"x", x}, {"s", f32({2}, {1, 1})}, {"b", f32({1}, {0})}, {"m", f32({1}, {0})},
                       {"v", f32({1}, {1})}}),
               Error);
}

TEST(NormOps, BatchNormTrainingOutputs) {
  Tensor x = f32({2, 1, 1}, {1, 3});
  auto r = run_op(
      "BatchNormalization", 15,
      {{"x", x}, {"s", f32({1}, {1})}, {"b", f32({1}, {0})}, {"m", f32({1}, {0})}, {"v", f32({1}, {1})}},
      {Attribute::of_int("training_mode", 1), Attribute::of_float("epsilon", 0), Attribute::of_float("momentum", 0.5f)},
      3);
  EXPECT_EQ(values(r[0]), (std::vector<double>{-1, 1}));
  EXPECT_EQ(values(r[1]), (std::vector<double>{1}));  // 0 * 0.5 + 2 * 0.5
  EXPECT_EQ(values(r[2]), (std::vector<double>{1}));  // 1 * 0.5 + 1 * 0.5
}

TEST(NormOps, LayerNormStatsAndErrors) {
  Tensor x = f32({2, 2}, {1, 3, 2, 2});
  auto r = run_op("LayerNormalization", 17, {{"x", x}, {"s", f32({2}, {1, 1})}}, {}, 3);  // epsilon 1e-5
  std::vector<double> want = {-1, 1, 0, 0};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(r[0].get_double(static_cast<int64_t>(i)), want[i], 1e-4);
  EXPECT_EQ(r[1].shape(), (Shape{2, 1}));
  EXPECT_EQ(values(r[1]), (std::vector<double>{2, 2}));
  EXPECT_EQ(r[2].dtype(), DType::Float32);
  EXPECT_NEAR(r[2].get_double(1), 1 / std::sqrt(1e-5), 1e-2);  // zero variance: 1 / sqrt(epsilon)
  EXPECT_THROW(run_op("LayerNormalization", 17, {{"x", x}, {"s", f32({3}, {1, 1, 1})}}), Error);
  auto rms = run_op("RMSNormalization", 23, {{"x", f32({1, 2}, {3, 4})}, {"s", f32({1}, {2})}},
                    {Attribute::of_float("epsilon", 0)});
  double rs = std::sqrt(12.5);
  EXPECT_NEAR(rms[0].get_double(0), 6 / rs, 1e-6);
  EXPECT_NEAR(rms[0].get_double(1), 8 / rs, 1e-6);
}

TEST(NormOps, GroupNormScaleShapeByOpset) {
  Tensor x = f32({1, 2, 2}, {1, 3, 5, 7});
  // opset 18: scale / bias per group; opset 21: per channel
  auto a = run_op("GroupNormalization", 18, {{"x", x}, {"s", f32({1}, {2})}, {"b", f32({1}, {1})}},
                  {Attribute::of_int("num_groups", 1), Attribute::of_float("epsilon", 0)});
  double sd = std::sqrt(5.0);
  EXPECT_NEAR(a[0].get_double(0), 2 * (-3 / sd) + 1, 1e-5);
  auto b = run_op("GroupNormalization", 21, {{"x", x}, {"s", f32({2}, {1, 0})}, {"b", f32({2}, {0, 9})}},
                  {Attribute::of_int("num_groups", 1), Attribute::of_float("epsilon", 0)});
  EXPECT_NEAR(b[0].get_double(0), -3 / sd, 1e-5);
  EXPECT_NEAR(b[0].get_double(3), 9, 1e-5);
  EXPECT_THROW(run_op("GroupNormalization", 21, {{"x", x}, {"s", f32({1}, {1})}, {"b", f32({1}, {0})}},
                      {Attribute::of_int("num_groups", 1)}),
               Error);
  EXPECT_THROW(run_op("GroupNormalization", 21, {{"x", x}, {"s", f32({2}, {1, 1})}, {"b", f32({2}, {0, 0})}},
                      {Attribute::of_int("num_groups", 3)}),
               Error);
}

TEST(NormOps, LpNormZeroVectorAndBadP) {
  auto r = run_op("LpNormalization", 22, {{"x", f32({2, 2}, {3, 4, 0, 0})}});
  std::vector<double> want = {0.6, 0.8, 0, 0};  // the zero row stays zero, not NaN
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(r[0].get_double(static_cast<int64_t>(i)), want[i], 1e-6);
  auto l1 = run_op("LpNormalization", 22, {{"x", f32({2, 2}, {1, 3, 2, -2})}},
                   {Attribute::of_int("p", 1), Attribute::of_int("axis", 0)});
  std::vector<double> want1 = {1.0 / 3, 0.6, 2.0 / 3, -0.4};
  for (size_t i = 0; i < want1.size(); ++i) EXPECT_NEAR(l1[0].get_double(static_cast<int64_t>(i)), want1[i], 1e-6);
  EXPECT_THROW(run_op("LpNormalization", 22, {{"x", f32({2}, {1, 1})}}, {Attribute::of_int("p", 3)}), Error);
}

TEST(NormOps, LrnAndInstanceNorm) {
  // size 3 over 2 channels: each channel sums the squares of both
  auto r = run_op("LRN", 13, {{"x", f32({1, 2, 1, 1}, {1, 2})}},
                  {Attribute::of_int("size", 3), Attribute::of_float("alpha", 3), Attribute::of_float("beta", 1),
                   Attribute::of_float("bias", 1)});
  EXPECT_NEAR(r[0].get_double(0), 1.0 / 6, 1e-6);
  EXPECT_NEAR(r[0].get_double(1), 2.0 / 6, 1e-6);
  EXPECT_THROW(run_op("LRN", 13, {{"x", f32({1, 2, 1, 1}, {1, 2})}}, {Attribute::of_int("size", 0)}), Error);
  auto in =
      run_op("InstanceNormalization", 6, {{"x", f32({1, 1, 2}, {1, 3})}, {"s", f32({1}, {2})}, {"b", f32({1}, {1})}},
             {Attribute::of_float("epsilon", 0)});
  EXPECT_EQ(values(in[0]), (std::vector<double>{-1, 3}));
}

// ---- resampling ---------------------------------------------------------------------------------------------

TEST(ResizeOps, ScalesGiveExactInferredShape) {
  Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor scales = f32({4}, {1, 1, 1.5f, 2});
  TypeInfo t = inferred_output("Resize", 13, {{"x", x}, {"", {}}, {"scales", scales, true}});
  ASSERT_TRUE(t.shape);
  EXPECT_EQ(*t.shape, (SymShape{1, 1, 3, 4}));
  auto r = run_op("Resize", 13, {{"x", x}, {"", {}}, {"scales", scales, true}});
  EXPECT_EQ(r[0].shape(), (Shape{1, 1, 3, 4}));
  Tensor sizes = i64({2}, {3, 5});
  TypeInfo u = inferred_output(
      "Resize", 18, {{"x", x}, {"", {}}, {"", {}}, {"sizes", sizes, true}},
      {Attribute::of_ints("axes", {2, 3}), Attribute::of_string("keep_aspect_ratio_policy", "not_larger")});
  EXPECT_EQ(*u.shape, (SymShape{1, 1, 3, 3}));  // scale min(1.5, 2.5) = 1.5 on both axes
}

TEST(ResizeOps, LegacyUpsampleNearestAndLinear) {
  Tensor x = f32({1, 2}, {1, 3});
  auto n = run_op("Upsample", 7, {{"x", x}}, {Attribute::of_floats("scales", {1, 2})});
  EXPECT_EQ(values(n[0]), (std::vector<double>{1, 1, 3, 3}));
  auto l = run_op("Upsample", 9, {{"x", x}, {"s", f32({2}, {1, 2})}}, {Attribute::of_string("mode", "linear")});
  EXPECT_EQ(values(l[0]), (std::vector<double>{1, 2, 3, 3}));  // asymmetric, edge repeated
  auto d = run_op("Resize", 10, {{"x", f32({1, 4}, {1, 2, 3, 4})}, {"s", f32({2}, {1, 0.5f})}});
  EXPECT_EQ(values(d[0]), (std::vector<double>{1, 3}));
}

TEST(ResizeOps, ErrorsThrow) {
  Tensor x = f32({1, 2}, {1, 3});
  EXPECT_THROW(run_op("Resize", 13, {{"x", x}, {"", {}}, {"s", f32({1}, {2})}}), Error);  // wrong length
  EXPECT_THROW(run_op("Resize", 13, {{"x", x}, {"", {}}, {"s", f32({2}, {1, -1})}}), Error);
  EXPECT_THROW(
      run_op("Resize", 13, {{"x", x}, {"", {}}, {"s", f32({2}, {1, 2})}}, {Attribute::of_string("mode", "area")}),
      Error);
  EXPECT_THROW(run_op("Resize", 13, {{"x", x}, {"", {}}, {"", {}}}), Error);  // neither scales nor sizes
  EXPECT_THROW(run_op("Resize", 19, {{"x", x}, {"", {}}, {"s", f32({2}, {1, 2})}},
                      {Attribute::of_int("antialias", 1), Attribute::of_string("mode", "nearest")}),
               Error);
}

TEST(ResizeOps, IntegerInputAndTfCropExtrapolation) {
  Tensor x = ints(DType::UInt8, {1, 2}, {10, 20});
  auto r = run_op("Resize", 13, {{"x", x}, {"", {}}, {"s", f32({2}, {1, 2})}},
                  {Attribute::of_string("mode", "linear"),
                   Attribute::of_string("coordinate_transformation_mode", "align_corners")});
  EXPECT_EQ(r[0].dtype(), DType::UInt8);
  EXPECT_EQ(values(r[0]), (std::vector<double>{10, 13, 16, 20}));  // 13.33 and 16.67 truncated
  auto c = run_op("Resize", 13, {{"x", f32({1, 2}, {1, 2})}, {"roi", f32({4}, {0, 0, 1, 2})}, {"s", f32({2}, {1, 2})}},
                  {Attribute::of_string("mode", "linear"),
                   Attribute::of_string("coordinate_transformation_mode", "tf_crop_and_resize"),
                   Attribute::of_float("extrapolation_value", -7)});
  // x_ori = 2x/3 along the last axis: 0, 0.67, then 1.33 and 2 fall past the input's last element
  std::vector<double> want = {1, 1 + 2.0 / 3, -7, -7};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(c[0].get_double(static_cast<int64_t>(i)), want[i], 1e-5);
}

TEST(GridSampleOps, ZerosPaddingAndShapeChecks) {
  Tensor x = f32({1, 1, 1, 2}, {1, 2});
  // centre of element 0 (align_corners = 0): x = -0.5; far outside reads zero
  Tensor grid = f32({1, 1, 2, 2}, {-0.5f, 0, 3, 0});
  auto r = run_op("GridSample", 16, {{"x", x}, {"g", grid}});
  EXPECT_EQ(r[0].shape(), (Shape{1, 1, 1, 2}));
  EXPECT_NEAR(r[0].get_double(0), 1, 1e-6);
  EXPECT_EQ(r[0].get_double(1), 0);
  EXPECT_THROW(run_op("GridSample", 16, {{"x", x}, {"g", f32({1, 1, 1, 3}, {0, 0, 0})}}), Error);
  EXPECT_THROW(run_op("GridSample", 16, {{"x", f32({1, 1, 2}, {1, 2})}, {"g", f32({1, 1, 1}, {0})}}), Error);
  auto ag = run_op("AffineGrid", 20, {{"t", f32({1, 2, 3}, {1, 0, 0, 0, 1, 0})}, {"s", i64({4}, {1, 1, 1, 2})}},
                   {Attribute::of_int("align_corners", 1)});
  EXPECT_EQ(ag[0].shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(values(ag[0]), (std::vector<double>{-1, 0, 1, 0}));
}

}  // namespace
}  // namespace hone
