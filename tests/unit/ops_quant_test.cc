// Cast, CastLike, BitCast and the quantization ops: what the conformance corpus does not cover (string conversions,
// out-of-range and rounding edge cases, legacy Cast-1, error cases, per-axis / per-channel / batched forms, inferred
// types and shapes), on tiny hand-checked graphs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/float8.h"
#include "op_test_util.h"
#include "ops/op_registry.h"

namespace hone::test {
namespace {

// Calls the op's shape function directly with declared (possibly symbolic) input types.
TypeInfo infer_symbolic(const std::string& op, int64_t opset, const std::vector<TypeInfo>& inputs, std::vector<Attribute> attrs) {
  Node node;
  node.op_type = op;
  node.name = "n";
  node.attributes = std::move(attrs);
  std::vector<const TypeInfo*> types;
  for (const TypeInfo& t : inputs) {
    node.inputs.push_back("in" + std::to_string(types.size()));
    types.push_back(&t);
  }
  node.outputs = {"out0"};
  const OpSchema* schema = OpRegistry::instance().find("", op, opset);
  EXPECT_NE(schema, nullptr);
  InferenceContext ctx(node, opset, types, std::vector<const Tensor*>(types.size(), nullptr), 1);
  schema->infer(ctx);
  return ctx.output_types()[0];
}

Attribute to(DType t) { return Attribute::of_int("to", static_cast<int64_t>(t)); }

// ---- float8 / float4 conversions ---------------------------------------------------------------------------

TEST(Float8Convert, TiesToEvenAndOverflowRules) {
  // e4m3fn: 448 is the largest; 464 is the tie between 448 (even) and the virtual 480.
  EXPECT_EQ(float_to_float8(DType::Float8E4M3FN, 464.0f, false), 0x7e);
  EXPECT_EQ(float_to_float8(DType::Float8E4M3FN, 465.0f, false), 0x7f);  // nan without saturate
  EXPECT_EQ(float_to_float8(DType::Float8E4M3FN, -465.0f, true), 0xfe);
  EXPECT_EQ(float_to_float8(DType::Float8E5M2, 1e6f, false), 0x7c);  // inf
  EXPECT_EQ(float_to_float8(DType::Float8E5M2, -INFINITY, true), 0xfb);
  // fnuz: no negative zero, one nan
  EXPECT_EQ(float_to_float8(DType::Float8E4M3FNUZ, -1e-9f, true), 0x00);
  EXPECT_EQ(float_to_float8(DType::Float8E5M2FNUZ, INFINITY, false), 0x80);
  EXPECT_EQ(float_to_float8(DType::Float8E4M3FNUZ, -1.0f, true), 0xc0);
  EXPECT_TRUE(std::isnan(float8_to_float(DType::Float8E4M3FNUZ, 0x80)));
  // float4e2m1: 0.25 ties to 0, 2.5 to 2, 5 to 4 (even codes); always saturates; nan -> 0x8
  EXPECT_EQ(float_to_float8(DType::Float4E2M1, 0.25f, false), 0x0);
  EXPECT_EQ(float_to_float8(DType::Float4E2M1, 2.5f, false), 0x4);
  EXPECT_EQ(float_to_float8(DType::Float4E2M1, 5.0f, false), 0x6);
  EXPECT_EQ(float_to_float8(DType::Float4E2M1, -100.0f, false), 0xf);
  EXPECT_EQ(float_to_float8(DType::Float4E2M1, NAN, true), 0x8);
  EXPECT_EQ(float8_to_float(DType::Float4E2M1, 0x7), 6.0f);
  EXPECT_EQ(float8_to_float(DType::Float4E2M1, 0x9), -0.5f);
  // a double rounds once: 1 + 2^-4 + 2^-40 is above the e4m3 tie at 1 + 2^-4
  EXPECT_EQ(double_to_float8(DType::Float8E4M3FN, 1.0 + 1.0 / 16 + std::ldexp(1.0, -40), true), 0x39);
  EXPECT_EQ(double_to_float8(DType::Float8E4M3FN, 1.0 + 1.0 / 16, true), 0x38);
}

TEST(Float8Convert, E8M0RoundModes) {
  EXPECT_EQ(float_to_float8e8m0(1.5f, true, E8M0Rounding::Up), 128);
  EXPECT_EQ(float_to_float8e8m0(1.5f, true, E8M0Rounding::Down), 127);
  EXPECT_EQ(float_to_float8e8m0(1.5f, true, E8M0Rounding::Nearest), 128);
  EXPECT_EQ(float_to_float8e8m0(1.4f, true, E8M0Rounding::Nearest), 127);
  EXPECT_EQ(float_to_float8e8m0(1.0f, true, E8M0Rounding::Up), 127);
  EXPECT_EQ(float_to_float8e8m0(-4.0f, true, E8M0Rounding::Up), 129);  // the sign is ignored
  EXPECT_EQ(float_to_float8e8m0(INFINITY, true, E8M0Rounding::Up), 0xff);
  EXPECT_EQ(float_to_float8e8m0(3e38f, true, E8M0Rounding::Up), 0xfe);
  EXPECT_EQ(float_to_float8e8m0(3e38f, false, E8M0Rounding::Up), 0xff);
  EXPECT_EQ(float8_to_float(DType::Float8E8M0, 127), 1.0f);
  EXPECT_TRUE(std::isnan(float8_to_float(DType::Float8E8M0, 0xff)));
}

// ---- Cast ---------------------------------------------------------------------------------------------------

TEST(CastOp, NumbersToStringsAsNumpyPrintsThem) {
  auto f = run_op("Cast", 13, {{"x", f32({8}, {0.5f, 100.0f, 1e-7f, 0.1f, NAN, -INFINITY, -0.0f, 1e16f})}},
                  {to(DType::String)});
  EXPECT_EQ(values<std::string>(f[0]),
            (std::vector<std::string>{"0.5", "100.0", "1e-07", "0.1", "nan", "-inf", "-0.0", "1e+16"}));
  auto d = run_op("Cast", 13, {{"x", f64({3}, {0.1, 123456.789, 2.5e-5})}}, {to(DType::String)});
  EXPECT_EQ(values<std::string>(d[0]), (std::vector<std::string>{"0.1", "123456.789", "2.5e-05"}));
  auto i = run_op("Cast", 13, {{"x", ints(DType::Int64, {2}, {-7, 1000})}}, {to(DType::String)});
  EXPECT_EQ(values<std::string>(i[0]), (std::vector<std::string>{"-7", "1000"}));
  auto b = run_op("Cast", 13, {{"x", ints(DType::Bool, {2}, {1, 0})}}, {to(DType::String)});
  EXPECT_EQ(values<std::string>(b[0]), (std::vector<std::string>{"True", "False"}));
  auto h = run_op("Cast", 13, {{"x", f32({2}, {0.1f, 65504.0f})}}, {to(DType::Float16)});
  auto hs = run_op("Cast", 13, {{"x", h[0]}}, {to(DType::String)});
  EXPECT_EQ(values<std::string>(hs[0]), (std::vector<std::string>{"0.1", "65500.0"}));  // shortest float16 digits
}

TEST(CastOp, StringsToNumbers) {
  auto f = run_op("Cast", 13, {{"x", strs({6}, {"3.14", "1e-5", "INF", "-inf", "NaN", "+INF"})}}, {to(DType::Float32)});
  std::vector<double> v = values(f[0]);
  EXPECT_FLOAT_EQ(v[0], 3.14f);
  EXPECT_FLOAT_EQ(v[1], 1e-5f);
  EXPECT_EQ(v[2], INFINITY);
  EXPECT_EQ(v[3], -INFINITY);
  EXPECT_TRUE(std::isnan(v[4]));
  EXPECT_EQ(v[5], INFINITY);
  auto i = run_op("Cast", 13, {{"x", strs({3}, {"1000", "-7", "9007199254740993"})}}, {to(DType::Int64)});
  EXPECT_EQ(i[0].data<int64_t>()[0], 1000);
  EXPECT_EQ(i[0].data<int64_t>()[1], -7);
  EXPECT_EQ(i[0].data<int64_t>()[2], 9007199254740993);  // exact, not through a double
  auto b = run_op("Cast", 13, {{"x", strs({3}, {"True", "0", "2.5"})}}, {to(DType::Bool)});
  EXPECT_EQ(values(b[0]), (std::vector<double>{1, 0, 1}));
  EXPECT_THROW(run_op("Cast", 13, {{"x", strs({1}, {"hello"})}}, {to(DType::Float32)}), Error);
}

TEST(CastOp, OutOfRangeIntegersWrapLikeNumpy) {
  auto a = run_op("Cast", 13, {{"x", f32({4}, {300.0f, -1.0f, -2.7f, 2.7f})}}, {to(DType::UInt8)});
  EXPECT_EQ(values(a[0]), (std::vector<double>{44, 255, 254, 2}));
  auto b = run_op("Cast", 13, {{"x", ints(DType::Int64, {2}, {4294967297LL, -1})}}, {to(DType::Int32)});
  EXPECT_EQ(values(b[0]), (std::vector<double>{1, -1}));
  auto c = run_op("Cast", 21, {{"x", f32({4}, {-9, 8, 15, 7.9f})}}, {to(DType::Int4)});
  EXPECT_EQ(values(c[0]), (std::vector<double>{7, -8, -1, 7}));
  auto d = run_op("Cast", 13, {{"x", f32({3}, {NAN, 0.0f, -0.0f})}}, {to(DType::Bool)});
  EXPECT_EQ(values(d[0]), (std::vector<double>{1, 0, 0}));
}

TEST(CastOp, DoubleToHalfRoundsOnce) {
  // 1 + 2^-11 + 2^-40 is just above a float16 tie; rounding through float first would land on the tie and give 1.
  double v = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  auto h = run_op("Cast", 13, {{"x", f64({1}, {v})}}, {to(DType::Float16)});
  EXPECT_EQ(h[0].get_double(0), 1.0 + std::ldexp(1.0, -10));
  auto b =
      run_op("Cast", 13, {{"x", f64({1}, {1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40)})}}, {to(DType::BFloat16)});
  EXPECT_EQ(b[0].get_double(0), 1.0 + std::ldexp(1.0, -7));
}

TEST(CastOp, SaturateAndRoundModeAttributes) {
  auto sat = run_op("Cast", 19, {{"x", f32({2}, {1000.0f, -1000.0f})}}, {to(DType::Float8E4M3FN)});
  EXPECT_EQ(values(sat[0]), (std::vector<double>{448, -448}));
  auto nosat =
      run_op("Cast", 19, {{"x", f32({1}, {1000.0f})}}, {to(DType::Float8E4M3FN), Attribute::of_int("saturate", 0)});
  EXPECT_TRUE(std::isnan(nosat[0].get_double(0)));
  auto down = run_op("Cast", 25, {{"x", f32({2}, {3.0f, 0.3f})}},
                     {to(DType::Float8E8M0), Attribute::of_string("round_mode", "down")});
  EXPECT_EQ(values(down[0]), (std::vector<double>{2, 0.25}));
  auto nearest = run_op("Cast", 25, {{"x", f32({1}, {3.5f})}},
                        {to(DType::Float8E8M0), Attribute::of_string("round_mode", "nearest")});
  EXPECT_EQ(nearest[0].get_double(0), 4);
  EXPECT_THROW(run_op("Cast", 25, {{"x", f32({1}, {1})}},
                      {to(DType::Float8E8M0), Attribute::of_string("round_mode", "sideways")}),
               Error);
}

TEST(CastOp, LegacyStringToAttribute) {
  auto a = run_op("Cast", 5, {{"x", ints(DType::Int32, {2}, {3, -4})}}, {Attribute::of_string("to", "FLOAT")});
  EXPECT_EQ(a[0].dtype(), DType::Float32);
  EXPECT_EQ(values(a[0]), (std::vector<double>{3, -4}));
  EXPECT_THROW(run_op("Cast", 5, {{"x", f32({1}, {1})}}, {Attribute::of_string("to", "QUATERNION")}), Error);
}

TEST(CastOp, BadTargetsThrow) {
  EXPECT_THROW(run_op("Cast", 13, {{"x", f32({1}, {1})}}, {Attribute::of_int("to", 999)}), Error);
  EXPECT_THROW(run_op("Cast", 13, {{"x", f32({1}, {1})}}, {to(DType::Complex64)}), Error);
  EXPECT_THROW(run_op("Cast", 13, {{"x", f32({1}, {1})}}), Error);  // no 'to'
}

TEST(CastOp, EmptyAndScalarShapes) {
  auto e = run_op("Cast", 13, {{"x", f32({0, 3}, {})}}, {to(DType::String)});
  EXPECT_EQ(e[0].shape(), (Shape{0, 3}));
  auto s = run_op("Cast", 13, {{"x", f32({}, {2.75f})}}, {to(DType::Int16)});
  EXPECT_EQ(s[0].rank(), 0);
  EXPECT_EQ(s[0].get_double(0), 2);
  TypeInfo t = infer_symbolic("Cast", 13, {TypeInfo::tensor(DType::Float32, SymShape{Dim::named("batch"), Dim(3)})},
                              {to(DType::Float16)});
  EXPECT_EQ(t.elem, DType::Float16);
  EXPECT_EQ(sym_shape_str(*t.shape), sym_shape_str(SymShape{Dim::named("batch"), Dim(3)}));
}

TEST(CastLikeOp, TakesTheSecondInputsType) {
  auto a = run_op("CastLike", 15, {{"x", f32({2}, {1.5f, -2.5f})}, {"like", ints(DType::Int8, {1}, {0})}});
  EXPECT_EQ(a[0].dtype(), DType::Int8);
  EXPECT_EQ(values(a[0]), (std::vector<double>{1, -2}));
  auto b = run_op("CastLike", 19, {{"x", f32({1}, {1e6f})}, {"like", Tensor(DType::Float8E5M2, {1})}},
                  {Attribute::of_int("saturate", 0)});
  EXPECT_EQ(b[0].get_double(0), INFINITY);
}

// ---- BitCast ------------------------------------------------------------------------------------------------

TEST(BitCastOp, ReinterpretsBits) {
  auto a = run_op("BitCast", 26, {{"x", f32({2}, {1.0f, -0.0f})}}, {to(DType::Int32)});
  EXPECT_EQ(a[0].data<int32_t>()[0], 0x3f800000);
  EXPECT_EQ(a[0].data<int32_t>()[1], INT32_MIN);
  auto b = run_op("BitCast", 26, {{"x", ints(DType::Int4, {3}, {-1, 7, -8})}}, {to(DType::UInt4)});
  EXPECT_EQ(values(b[0]), (std::vector<double>{15, 7, 8}));
  auto c = run_op("BitCast", 26, {{"x", ints(DType::UInt16, {1}, {0x3c00})}}, {to(DType::Float16)});
  EXPECT_EQ(c[0].get_double(0), 1.0);
  EXPECT_THROW(run_op("BitCast", 26, {{"x", f32({1}, {1})}}, {to(DType::Int64)}), Error);
  EXPECT_THROW(run_op("BitCast", 26, {{"x", strs({1}, {"a"})}}, {to(DType::Int64)}), Error);
}

// ---- QuantizeLinear / DequantizeLinear ----------------------------------------------------------------------

TEST(QuantizeLinearOp, RoundsHalfToEvenAndSaturates) {
  auto a = run_op("QuantizeLinear", 13,
                  {{"x", f32({6}, {2.5f, 3.5f, -2.5f, 1000.0f, -1000.0f, 0.0f})}, {"s", f32({}, {1.0f})},
                   {"zp", ints(DType::Int8, {}, {-1})}});
  EXPECT_EQ(a[0].dtype(), DType::Int8);
  EXPECT_EQ(values(a[0]), (std::vector<double>{1, 3, -3, 127, -128, -1}));
  auto b = run_op("QuantizeLinear", 10, {{"x", f32({3}, {-1.0f, 0.4f, 300.0f})}, {"s", f32({}, {0.5f})}});
  EXPECT_EQ(b[0].dtype(), DType::UInt8);  // no zero point: uint8
  EXPECT_EQ(values(b[0]), (std::vector<double>{0, 1, 255}));
}

TEST(QuantizeLinearOp, PerAxisAndBlocked) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto a =
      run_op("QuantizeLinear", 13, {{"x", x}, {"s", f32({2}, {1.0f, 2.0f})}, {"zp", ints(DType::UInt8, {2}, {0, 10})}},
             {Attribute::of_int("axis", 0)});
  EXPECT_EQ(values(a[0]), (std::vector<double>{1, 2, 3, 12, 12, 13}));
  auto b = run_op("QuantizeLinear", 13, {{"x", x}, {"s", f32({3}, {1.0f, 2.0f, 4.0f})}}, {Attribute::of_int("axis", -1)});
  EXPECT_EQ(values(b[0]), (std::vector<double>{1, 1, 1, 4, 2, 2}));  // 2.5 -> 2, 1.5 -> 2
  // blocks of 2 along axis 1: columns {0,1} and {2}
  auto c = run_op("QuantizeLinear", 21, {{"x", x}, {"s", f32({2, 2}, {1, 3, 2, 6})}},
                  {Attribute::of_int("axis", 1), Attribute::of_int("block_size", 2),
                   Attribute::of_int("output_dtype", static_cast<int64_t>(DType::Int16))});
  EXPECT_EQ(c[0].dtype(), DType::Int16);
  EXPECT_EQ(values(c[0]), (std::vector<double>{1, 2, 1, 2, 2, 1}));
  EXPECT_THROW(run_op("QuantizeLinear", 13, {{"x", x}, {"s", f32({4}, {1, 1, 1, 1})}}, {Attribute::of_int("axis", 0)}),
               Error);
  EXPECT_THROW(run_op("QuantizeLinear", 13, {{"x", x}, {"s", f32({2}, {1, 1})}}, {Attribute::of_int("axis", 2)}), Error);
  EXPECT_THROW(run_op("QuantizeLinear", 21, {{"x", x}, {"s", f32({2, 3}, {1, 1, 1, 1, 1, 1})}},
                      {Attribute::of_int("axis", 1), Attribute::of_int("block_size", 2)}),
               Error);
}

TEST(QuantizeLinearOp, OutputTypeRules) {
  Tensor x = f32({2}, {1.0f, -20.0f});
  auto a = run_op("QuantizeLinear", 25, {{"x", x}, {"s", f32({}, {1.0f})}},
                  {Attribute::of_int("output_dtype", static_cast<int64_t>(DType::Int2))});
  EXPECT_EQ(a[0].dtype(), DType::Int2);
  EXPECT_EQ(values(a[0]), (std::vector<double>{1, -2}));
  EXPECT_THROW(run_op("QuantizeLinear", 21, {{"x", x}, {"s", f32({}, {1.0f})}, {"zp", ints(DType::Int8, {}, {0})}},
                      {Attribute::of_int("output_dtype", static_cast<int64_t>(DType::UInt8))}),
               Error);
  EXPECT_THROW(run_op("QuantizeLinear", 21, {{"x", x}, {"s", f32({}, {1.0f})}},
                      {Attribute::of_int("output_dtype", static_cast<int64_t>(DType::Int32))}),
               Error);
  auto f8 = run_op("QuantizeLinear", 19,
                   {{"x", f32({1}, {1000.0f})}, {"s", f32({}, {1.0f})}, {"zp", Tensor(DType::Float8E4M3FN, {})}},
                   {Attribute::of_int("saturate", 0)});
  EXPECT_TRUE(std::isnan(f8[0].get_double(0)));
  // precision: x and the scale go to float16 first, where 2049 rounds to 2048 (spacing 2 there)
  auto p = run_op("QuantizeLinear", 23, {{"x", f32({2}, {2049.0f, 2049.0f})}, {"s", f32({}, {1.0f})}},
                  {Attribute::of_int("precision", static_cast<int64_t>(DType::Float16)),
                   Attribute::of_int("output_dtype", static_cast<int64_t>(DType::Int16))});
  EXPECT_EQ(p[0].get_double(0), 2048);
  auto q = run_op("QuantizeLinear", 23, {{"x", f32({1}, {2049.0f})}, {"s", f32({}, {1.0f})}},
                  {Attribute::of_int("output_dtype", static_cast<int64_t>(DType::Int16))});
  EXPECT_EQ(q[0].get_double(0), 2049);
  TypeInfo t = inferred_output("QuantizeLinear", 21,
                               {{"x", x}, {"s", f32({}, {1.0f})}, {"zp", ints(DType::UInt4, {}, {0})}}, {});
  EXPECT_EQ(t.elem, DType::UInt4);
}

TEST(DequantizeLinearOp, FormsAndErrors) {
  auto a = run_op("DequantizeLinear", 10, {{"x", ints(DType::Int32, {2}, {100000, -3})}, {"s", f32({}, {0.5f})}});
  EXPECT_EQ(values(a[0]), (std::vector<double>{50000, -1.5}));
  auto b = run_op("DequantizeLinear", 13,
                  {{"x", ints(DType::UInt8, {2, 2}, {10, 20, 30, 40})},
                   {"s", f32({2}, {1.0f, 0.5f})},
                   {"zp", ints(DType::UInt8, {2}, {10, 0})}},
                  {Attribute::of_int("axis", 1)});
  EXPECT_EQ(values(b[0]), (std::vector<double>{0, 10, 20, 20}));
  auto c = run_op("DequantizeLinear", 23, {{"x", ints(DType::Int4, {2}, {-8, 7})}, {"s", f32({}, {0.25f})}},
                  {Attribute::of_int("output_dtype", static_cast<int64_t>(DType::Float16))});
  EXPECT_EQ(c[0].dtype(), DType::Float16);
  EXPECT_EQ(values(c[0]), (std::vector<double>{-2, 1.75}));
  EXPECT_THROW(run_op("DequantizeLinear", 13,
                      {{"x", ints(DType::UInt8, {1}, {1})}, {"s", f32({}, {1})}, {"zp", ints(DType::Int8, {}, {0})}}),
               Error);
  Tensor nonzero(DType::Float8E4M3FN, {});
  nonzero.data<uint8_t>()[0] = 0x38;  // 1.0
  EXPECT_THROW(
      run_op("DequantizeLinear", 19, {{"x", Tensor(DType::Float8E4M3FN, {1})}, {"s", f32({}, {1})}, {"zp", nonzero}}),
      Error);
  EXPECT_THROW(run_op("DequantizeLinear", 13, {{"x", f32({1}, {1})}, {"s", f32({}, {1})}}), Error);
}

TEST(DynamicQuantizeLinearOp, ZerosAndEmpty) {
  auto z = run_op("DynamicQuantizeLinear", 11, {{"x", f32({3}, {0, 0, 0})}}, {}, 3);
  EXPECT_EQ(values(z[0]), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(z[1].get_double(0), 1.0);
  EXPECT_EQ(z[2].get_double(0), 0);
  auto e = run_op("DynamicQuantizeLinear", 11, {{"x", f32({0}, {})}}, {}, 3);
  EXPECT_EQ(e[0].numel(), 0);
  EXPECT_EQ(e[1].get_double(0), 1.0);
  auto p = run_op("DynamicQuantizeLinear", 11, {{"x", f32({4}, {-1.0f, 0.0f, 254.0f, 2.5f})}}, {}, 3);
  EXPECT_EQ(p[1].get_double(0), 1.0);  // (254 - -1) / 255
  EXPECT_EQ(p[2].get_double(0), 1);
  EXPECT_EQ(values(p[0]), (std::vector<double>{0, 1, 255, 3}));  // rint(2.5) = 2 (even), + 1
}

// ---- integer matmul and convolution --------------------------------------------------------------------------

TEST(MatMulIntegerOp, ZeroPointsAndShapes) {
  Tensor a = ints(DType::UInt8, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = ints(DType::UInt8, {3, 2}, {1, 0, 0, 1, 1, 1});
  auto y = run_op("MatMulInteger", 10, {{"a", a}, {"b", b}, {"az", ints(DType::UInt8, {2}, {1, 4})}, {"bz", ints(DType::UInt8, {2}, {0, 1})}});
  // A - per-row zp = [[0,1,2],[0,1,2]]; B - per-column zp = [[1,-1],[0,0],[1,0]]
  EXPECT_EQ(y[0].dtype(), DType::Int32);
  EXPECT_EQ(values(y[0]), (std::vector<double>{2, -0.0, 2, 0}));
  auto v = run_op("MatMulInteger", 10, {{"a", ints(DType::Int8, {3}, {1, -2, 3})}, {"b", ints(DType::Int8, {2, 3, 1}, {1, 1, 1, 0, 1, 0})}});
  EXPECT_EQ(v[0].shape(), (Shape{2, 1}));
  EXPECT_EQ(values(v[0]), (std::vector<double>{2, -2}));
  EXPECT_THROW(run_op("MatMulInteger", 10, {{"a", a}, {"b", a}}), Error);
  EXPECT_THROW(run_op("MatMulInteger", 10, {{"a", f32({1, 1}, {1})}, {"b", f32({1, 1}, {1})}}), Error);
}

TEST(QLinearMatMulOp, PerColumnScale) {
  Tensor a = ints(DType::UInt8, {1, 2}, {2, 4});
  Tensor b = ints(DType::UInt8, {2, 2}, {1, 2, 3, 4});
  auto y = run_op("QLinearMatMul", 10,
                  {{"a", a}, {"as", f32({}, {1.0f})}, {"az", ints(DType::UInt8, {}, {0})},
                   {"b", b}, {"bs", f32({2}, {1.0f, 0.5f})}, {"bz", ints(DType::UInt8, {}, {0})},
                   {"ys", f32({}, {2.0f})}, {"yz", ints(DType::UInt8, {}, {1})}});
  // C = [14, 20]; * [0.5, 0.25] = [7, 5]; + 1
  EXPECT_EQ(values(y[0]), (std::vector<double>{8, 6}));
  EXPECT_THROW(run_op("QLinearMatMul", 10,
                      {{"a", a}, {"as", f32({3}, {1, 1, 1})}, {"az", ints(DType::UInt8, {}, {0})},
                       {"b", b}, {"bs", f32({}, {1})}, {"bz", ints(DType::UInt8, {}, {0})},
                       {"ys", f32({}, {1})}, {"yz", ints(DType::UInt8, {}, {0})}}),
               Error);
}

TEST(ConvIntegerOp, PaddingStridesGroupsAndPerChannelZeroPoint) {
  // 1x2x3x3 input, two groups, one 2x2 filter per group, w zero point per output channel.
  Tensor x = ints(DType::UInt8, {1, 2, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  Tensor w = ints(DType::UInt8, {2, 1, 2, 2}, {2, 1, 1, 1, 1, 1, 1, 1});
  auto y = run_op(
      "ConvInteger", 10,
      {{"x", x}, {"w", w}, {"xz", ints(DType::UInt8, {}, {1})}, {"wz", ints(DType::UInt8, {2}, {1, 0})}},
      {Attribute::of_int("group", 2), Attribute::of_ints("strides", {2, 2}), Attribute::of_ints("pads", {0, 0, 1, 1})});
  EXPECT_EQ(y[0].shape(), (Shape{1, 2, 2, 2}));
  // channel 0: x-1 = [[0,1,2],[3,4,5],[6,7,8]], w-1 = [[1,0],[0,0]] -> picks the top-left of each window
  // channel 1: x-1 = [[8,7,6],[5,4,3],[2,1,0]], w = ones -> window sums (zero padding past the edge)
  EXPECT_EQ(values(y[0]), (std::vector<double>{0, 2, 6, 8, 24, 9, 3, 0}));
  TypeInfo t = infer_symbolic("ConvInteger", 10,
                              {TypeInfo::tensor(DType::UInt8, SymShape{Dim::named("n"), Dim(2), Dim(3), Dim()}),
                               TypeInfo::tensor(DType::UInt8, SymShape{Dim(2), Dim(1), Dim(2), Dim(2)})},
                              {Attribute::of_int("group", 2), Attribute::of_string("auto_pad", "SAME_UPPER")});
  EXPECT_EQ(t.elem, DType::Int32);
  EXPECT_EQ(sym_shape_str(*t.shape), sym_shape_str(SymShape{Dim::named("n"), Dim(2), Dim(3), Dim()}));
  EXPECT_THROW(run_op("ConvInteger", 10, {{"x", x}, {"w", w}}), Error);  // 2 channels vs 1 per filter, group 1
  EXPECT_THROW(run_op("ConvInteger", 10, {{"x", x}, {"w", w}},
                      {Attribute::of_int("group", 2), Attribute::of_ints("strides", {0, 1})}),
               Error);
}

TEST(QLinearConvOp, BiasAndRequantization) {
  Tensor x = ints(DType::Int8, {1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor w = ints(DType::Int8, {2, 1, 1, 1}, {1, -1});
  auto y = run_op("QLinearConv", 10,
                  {{"x", x}, {"xs", f32({}, {1.0f})}, {"xz", ints(DType::Int8, {}, {0})},
                   {"w", w}, {"ws", f32({2}, {1.0f, 2.0f})}, {"wz", ints(DType::Int8, {}, {0})},
                   {"ys", f32({}, {4.0f})}, {"yz", ints(DType::Int8, {}, {-1})}, {"b", ints(DType::Int32, {2}, {1, 0})}});
  // channel 0: (x + 1) / 4 - 1 = [-0.5, -0.25, 0, 0.25] -> 0 (ties to even); channel 1: -x * 2 / 4 - 1 =
  // [-1.5, -2, -2.5, -3] -> [-2, -2, -2, -3]
  EXPECT_EQ(y[0].dtype(), DType::Int8);
  EXPECT_EQ(values(y[0]), (std::vector<double>{0, -0.0, 0, 0, -2, -2, -2, -3}));
}

}  // namespace
}  // namespace hone
