// Math, logic and activation operators: what the conformance corpus does not cover (legacy opset semantics, error
// cases, integer edge cases, broadcasting and empty/rank-0 shapes).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "op_test_util.h"

namespace hone::test {
namespace {

TEST(MathLegacyBroadcast, AddAlignsBAtAxis) {
  Tensor a = f32({2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor b = f32({3}, {100, 200, 300});
  Tensor y = run_op("Add", 6, {a, b}, {Attribute::of_int("broadcast", 1), Attribute::of_int("axis", 1)})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311}));
}

TEST(MathLegacyBroadcast, SuffixMatchingAndScalar) {
  Tensor a = f32({2, 2}, {1, 2, 3, 4});
  Tensor y = run_op("Mul", 6, {a, f32({2}, {10, 100})}, {Attribute::of_int("broadcast", 1)})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{10, 200, 30, 400}));
  y = run_op("Sub", 1, {a, f32({}, {1})}, {Attribute::of_int("broadcast", 1)})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{0, 1, 2, 3}));
  Tensor p = run_op("Pow", 6, {a, f32({1}, {2})}, {Attribute::of_int("broadcast", 1)})[0];
  EXPECT_EQ(values<float>(p), (std::vector<float>{1, 4, 9, 16}));
}

TEST(MathLegacyBroadcast, RefusesMismatchedShapes) {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  // Without broadcast=1 the shapes must be equal, even where numpy rules would broadcast.
  EXPECT_ERROR("broadcast attribute is not set", run_op("Add", 6, {a, f32({3}, {1, 2, 3})}));
  // B does not fit at the given axis.
  EXPECT_ERROR("cannot broadcast shape 2 into 2x3",
               run_op("Add", 6, {a, f32({2}, {1, 2})}, {Attribute::of_int("broadcast", 1)}));
  EXPECT_ERROR("at axis 2", run_op("Add", 6, {a, f32({3}, {1, 2, 3})},
                                   {Attribute::of_int("broadcast", 1), Attribute::of_int("axis", 1 + 1)}));
  // B larger than A.
  EXPECT_ERROR("has more dims than", run_op("Div", 6, {f32({3}, {1, 2, 3}), a}, {Attribute::of_int("broadcast", 1)}));
}

TEST(MathLegacyBroadcast, ComparisonsAndLogicToo) {
  Tensor y = run_op("Less", 6, {f32({2, 2}, {1, 5, 1, 5}), f32({2}, {2, 3})},
                    {Attribute::of_int("broadcast", 1), Attribute::of_int("axis", 0)})[0];
  EXPECT_EQ(y.dtype(), DType::Bool);
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{1, 0, 1, 0}));
}

TEST(MathPRelu, Opset6SlopeIsPerChannel) {
  Tensor x = f32({1, 3, 2}, {-1, 1, -1, 1, -1, 1});
  Tensor slope = f32({3}, {0.1f, 0.2f, 0.3f});
  Tensor y = run_op("PRelu", 6, {x, slope})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{-0.1f, 1, -0.2f, 1, -0.3f, 1}));
  // From opset 7 the slope broadcasts numpy-style, so a [3] slope against a last dim of 2 is an error.
  EXPECT_ERROR("do not broadcast", run_op("PRelu", 9, {x, slope}));
  // and a slope that would widen X is refused (unidirectional broadcast).
  EXPECT_ERROR("does not broadcast to the input", run_op("PRelu", 16, {f32({2}, {-1, 1}), f32({3, 1}, {1, 2, 3})}));
}

TEST(MathIntegerArithmetic, DivisionAndModByZeroThrow) {
  Tensor a = i32({2}, {7, -7});
  Tensor zero = i32({2}, {1, 0});
  EXPECT_ERROR("division by zero", run_op("Div", 14, {a, zero}));
  EXPECT_ERROR("modulo by zero", run_op("Mod", 13, {a, zero}));
}

TEST(MathIntegerArithmetic, MostNegativeDividedByMinusOneWraps) {
  int32_t lo = std::numeric_limits<int32_t>::min();
  Tensor y = run_op("Div", 14, {i32({1}, {lo}), i32({1}, {-1})})[0];
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{lo}));
  y = run_op("Mod", 13, {i32({1}, {lo}), i32({1}, {-1})})[0];
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{0}));
  Tensor a = make<int8_t>(DType::Int8, {2}, {-128, -5});
  EXPECT_EQ(values<int8_t>(run_op("Abs", 13, {a})[0]), (std::vector<int8_t>{-128, 5}));
  EXPECT_EQ(values<int8_t>(run_op("Neg", 13, {a})[0]), (std::vector<int8_t>{-128, 5}));
}

TEST(MathMod, IntegerSignFollowsDivisorUnlessFmod) {
  Tensor a = i32({4}, {-7, 7, -7, 7});
  Tensor b = i32({4}, {3, -3, -3, 3});
  EXPECT_EQ(values<int32_t>(run_op("Mod", 13, {a, b})[0]), (std::vector<int32_t>{2, -2, -1, 1}));
  EXPECT_EQ(values<int32_t>(run_op("Mod", 13, {a, b}, {Attribute::of_int("fmod", 1)})[0]),
            (std::vector<int32_t>{-1, 1, -1, 1}));
  // Floats need fmod=1.
  EXPECT_ERROR("fmod must be 1", run_op("Mod", 13, {f32({1}, {1}), f32({1}, {2})}));
  Tensor f = run_op("Mod", 13, {f32({2}, {-7.5f, 7.5f}), f32({2}, {2, -2})}, {Attribute::of_int("fmod", 1)})[0];
  EXPECT_EQ(values<float>(f), (std::vector<float>{-1.5f, 1.5f}));
}

TEST(MathPow, MixedTypesFollowNumpyThenCastToBase) {
  Tensor y = run_op("Pow", 15, {i32({3}, {2, 3, 5}), f32({3}, {0.5f, 2, -1})})[0];
  EXPECT_EQ(y.dtype(), DType::Int32);
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{1, 9, 0}));  // trunc(sqrt 2), 9, trunc(0.2)
  // Exact for large int64 results (a double would round 3^39).
  Tensor big = run_op("Pow", 15, {make<int64_t>(DType::Int64, {1}, {3}), make<int64_t>(DType::Int64, {1}, {39})})[0];
  EXPECT_EQ(values<int64_t>(big), (std::vector<int64_t>{4052555153018976267LL}));
  Tensor neg = run_op("Pow", 15, {i32({3}, {2, -1, 1}), i32({3}, {-1, -3, -5})})[0];
  EXPECT_EQ(values<int32_t>(neg), (std::vector<int32_t>{0, -1, 1}));
}

TEST(MathRound, HalvesGoToEven) {
  Tensor y = run_op("Round", 22, {f32({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f})})[0];
  std::vector<float> v = values<float>(y);
  EXPECT_EQ(v, (std::vector<float>{0, 2, 2, -0.0f, -2, 2}));
  EXPECT_TRUE(std::signbit(v[3]));
}

TEST(MathClip, AttributeFormBeforeOpset11) {
  Tensor y = run_op("Clip", 6, {f32({4}, {-3, -0.25f, 0.25f, 3})},
                    {Attribute::of_float("min", -0.5f), Attribute::of_float("max", 0.5f)})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{-0.5f, -0.25f, 0.25f, 0.5f}));
  y = run_op("Clip", 6, {f32({2}, {-1e30f, 1e30f})})[0];  // no bounds: unchanged
  EXPECT_EQ(values<float>(y), (std::vector<float>{-1e30f, 1e30f}));
}

TEST(MathClip, IntegerInputsAndMinAboveMax) {
  Tensor x = i32({3}, {-5, 0, 5});
  EXPECT_EQ(values<int32_t>(run_op("Clip", 13, {x, i32({}, {-1}), i32({}, {2})})[0]), (std::vector<int32_t>{-1, 0, 2}));
  EXPECT_EQ(values<int32_t>(run_op("Clip", 13, {x, i32({}, {3}), i32({}, {1})})[0]), (std::vector<int32_t>{1, 1, 1}));
  EXPECT_ERROR("must be a single value", run_op("Clip", 13, {x, i32({2}, {0, 1})}));  // a bound must be one value
  EXPECT_ERROR("expected int32", run_op("Clip", 13, {x, f32({}, {0})}));      // of x's type
}

TEST(MathVariadic, BroadcastsAllInputsAndPropagatesNaN) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor a = f32({2, 1}, {1, nan});
  Tensor b = f32({3}, {0, 2, 4});
  Tensor c = f32({}, {3});
  Tensor mx = run_op("Max", 13, {a, b, c})[0];
  EXPECT_EQ(mx.shape(), (Shape{2, 3}));
  std::vector<float> v = values<float>(mx);
  EXPECT_EQ(std::vector<float>(v.begin(), v.begin() + 3), (std::vector<float>{3, 3, 4}));
  for (int i = 3; i < 6; ++i) EXPECT_TRUE(std::isnan(v[static_cast<size_t>(i)]));
  Tensor mean = run_op("Mean", 13, {f32({2}, {1, 2}), f32({1}, {4})})[0];
  EXPECT_EQ(values<float>(mean), (std::vector<float>{2.5f, 3}));
  Tensor one = run_op("Sum", 13, {f32({2}, {1, 2})})[0];
  EXPECT_EQ(values<float>(one), (std::vector<float>{1, 2}));
  EXPECT_ERROR("do not broadcast", run_op("Sum", 13, {f32({2}, {1, 2}), f32({3}, {1, 2, 3})}));
}

TEST(MathShapes, EmptyAndRankZero) {
  Tensor y = run_op("Add", 14, {f32({0, 3}, {}), f32({3}, {1, 2, 3})})[0];
  EXPECT_EQ(y.shape(), (Shape{0, 3}));
  y = run_op("Exp", 13, {f32({}, {0})})[0];
  EXPECT_EQ(y.shape(), Shape{});
  EXPECT_EQ(values<float>(y), (std::vector<float>{1}));
  EXPECT_EQ(run_op("Where", 16, {make<uint8_t>(DType::Bool, {0}, {}), f32({1}, {1}), f32({}, {2})})[0].shape(), (Shape{0}));
}

TEST(MathWhere, StringsBroadcastOverThreeInputs) {
  Tensor cond = make<uint8_t>(DType::Bool, {2, 1}, {1, 0});
  Tensor x = make<std::string>(DType::String, {2}, {"a", "b"});
  Tensor y = make<std::string>(DType::String, {}, {"z"});
  Tensor out = run_op("Where", 16, {cond, x, y})[0];
  EXPECT_EQ(out.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<std::string>(out), (std::vector<std::string>{"a", "b", "z", "z"}));
  EXPECT_ERROR("condition must be bool", run_op("Where", 16, {f32({1}, {1}), x, y}));  // condition must be bool
}

TEST(MathCompare, StringEqualAndFloat16Less) {
  Tensor a = make<std::string>(DType::String, {2}, {"x", "y"});
  Tensor b = make<std::string>(DType::String, {}, {"y"});
  EXPECT_EQ(values<uint8_t>(run_op("Equal", 19, {a, b})[0]), (std::vector<uint8_t>{0, 1}));
  EXPECT_ERROR("string is not supported", run_op("Less", 13, {a, b}));
  Tensor h = make<Float16>(DType::Float16, {2}, {Float16(1.0f), Float16(3.0f)});
  Tensor k = make<Float16>(DType::Float16, {}, {Float16(2.0f)});
  EXPECT_EQ(values<uint8_t>(run_op("Less", 13, {h, k})[0]), (std::vector<uint8_t>{1, 0}));
  EXPECT_ERROR("different element types", run_op("Equal", 13, {i32({1}, {1}), f32({1}, {1})}));  // types differ
}

TEST(MathBitwise, ShiftPastWidthIsZeroAndDirectionIsChecked) {
  Tensor x = make<uint8_t>(DType::UInt8, {3}, {0xff, 0x81, 1});
  Tensor s = make<uint8_t>(DType::UInt8, {3}, {8, 1, 7});
  EXPECT_EQ(values<uint8_t>(run_op("BitShift", 11, {x, s}, {Attribute::of_string("direction", "LEFT")})[0]),
            (std::vector<uint8_t>{0, 0x02, 0x80}));
  EXPECT_EQ(values<uint8_t>(run_op("BitShift", 11, {x, s}, {Attribute::of_string("direction", "RIGHT")})[0]),
            (std::vector<uint8_t>{0, 0x40, 0}));
  EXPECT_ERROR("direction must be LEFT or RIGHT",
               run_op("BitShift", 11, {x, s}, {Attribute::of_string("direction", "UP")}));
  EXPECT_ERROR("integers only", run_op("BitwiseAnd", 18, {f32({1}, {1}), f32({1}, {1})}));
}

TEST(MathIsInf, DetectsOnlyTheRequestedSign) {
  float inf = std::numeric_limits<float>::infinity();
  Tensor x = f32({4}, {inf, -inf, 1, std::numeric_limits<float>::quiet_NaN()});
  EXPECT_EQ(values<uint8_t>(run_op("IsInf", 20, {x}, {Attribute::of_int("detect_negative", 0)})[0]),
            (std::vector<uint8_t>{1, 0, 0, 0}));
  EXPECT_EQ(values<uint8_t>(run_op("IsNaN", 20, {x})[0]), (std::vector<uint8_t>{0, 0, 0, 1}));
}

TEST(MathActivations, GeluApproximationsAndBadAttribute) {
  Tensor x = f32({2}, {1, -2});
  std::vector<float> exact = values<float>(run_op("Gelu", 20, {x})[0]);
  EXPECT_NEAR(exact[0], 0.8413447f, 1e-6);
  EXPECT_NEAR(exact[1], -0.0455003f, 1e-6);
  std::vector<float> approx = values<float>(run_op("Gelu", 20, {x}, {Attribute::of_string("approximate", "tanh")})[0]);
  EXPECT_NEAR(approx[0], 0.8411920f, 1e-6);
  EXPECT_ERROR("approximate must be", run_op("Gelu", 20, {x}, {Attribute::of_string("approximate", "fast")}));
}

TEST(MathActivations, StableForLargeInputsAndHalfTypes) {
  Tensor x = f32({2}, {-1000, 1000});
  EXPECT_EQ(values<float>(run_op("Sigmoid", 13, {x})[0]), (std::vector<float>{0, 1}));
  EXPECT_EQ(values<float>(run_op("Softplus", 22, {x})[0]), (std::vector<float>{0, 1000}));
  Tensor b = make<BFloat16>(DType::BFloat16, {2}, {BFloat16(-1.0f), BFloat16(2.0f)});
  Tensor y = run_op("Relu", 14, {b})[0];
  EXPECT_EQ(y.dtype(), DType::BFloat16);
  EXPECT_EQ(static_cast<float>(y.data<BFloat16>()[0]), 0.0f);
  EXPECT_EQ(static_cast<float>(y.data<BFloat16>()[1]), 2.0f);
  Tensor r = run_op("Relu", 14, {make<int8_t>(DType::Int8, {2}, {-3, 4})})[0];
  EXPECT_EQ(values<int8_t>(r), (std::vector<int8_t>{0, 4}));
}

TEST(MathActivations, NaNPropagates) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = f32({2}, {nan, -1});
  for (const char* op : {"Relu", "HardSigmoid", "HardSwish", "Celu", "Elu", "LeakyRelu"}) {
    std::vector<float> y = values<float>(run_op(op, 22, {x})[0]);
    EXPECT_TRUE(std::isnan(y[0])) << op;
    EXPECT_FALSE(std::isnan(y[1])) << op;
  }
}

TEST(MathActivations, ShrinkOnIntegers) {
  Tensor x = i32({5}, {-3, -1, 0, 1, 3});
  Tensor y = run_op("Shrink", 9, {x}, {Attribute::of_float("lambd", 1.5f), Attribute::of_float("bias", 1.0f)})[0];
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{-2, 0, 0, 0, 2}));
}

}  // namespace
}  // namespace hone
