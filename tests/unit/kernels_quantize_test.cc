// The q8 microkernels (kernels/cpu/quantize_kernels.cc): QuantizeLinear, DequantizeLinear and hone.QAdd against the
// reference kernels, bit for bit, on every ISA tier, across vector-width boundaries, in both layouts and on 1 and 2
// threads; and the cases they must leave to the reference.
#include <limits>

#include "int8_test_util.h"

namespace hone::test {
namespace {

std::vector<Isa> all_tiers() {
  std::vector<Isa> t = {Isa::Scalar};
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx2)) t.push_back(Isa::Avx2);
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx512)) t.push_back(Isa::Avx512);
  return t;
}

std::string tier_suffix(Isa isa) { return std::string("_") + isa_name(isa == Isa::Avx512Vnni ? Isa::Avx512 : isa); }

// Values that probe the rounding: exact halves of the scale (ties go to even), values just off them, saturation
// on both sides, infinities and NaN.
Tensor probe_values(const Shape& s, float scale, uint32_t seed) {
  Tensor t = random_floats(s, seed, -300.f * scale, 300.f * scale);
  const float specials[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 127.5f, -128.5f, 254.5f, 255.5f, 1e30f,
                            -1e30f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), 0.f, -0.f, 3.49999f, 3.50001f};
  float* p = t.data<float>();
  for (int64_t i = 0, k = 0; i < t.numel(); i += 5, ++k) {
    float v = specials[k % std::size(specials)];
    p[i] = std::isfinite(v) && std::fabs(v) < 1e29f ? v * scale : v;
  }
  return t;
}

TEST(QuantizeKernels, QuantizeLinearMatchesReferenceBitForBit) {
  for (Isa isa : all_tiers())
    for (DType type : {DType::UInt8, DType::Int8})
      for (const Shape& s : std::vector<Shape>{{1}, {15}, {16}, {17}, {2, 127}, {129}, {1, 5, 7, 9}, {70001}})
        for (int threads : {1, 2}) {
          std::string what =
              fmt::format("{} {} [{}] {} threads", isa_name(isa), dtype_name(type), shape_str(s), threads);
          float scale = 0.0371f;
          int zp = type == DType::UInt8 ? 131 : -7;
          Int8Case c{.domain = "", .op = "QuantizeLinear", .opset = 13,
                     .inputs = {probe_values(s, scale, 3), f32_scalar(scale), q8_scalar(type, zp)},
                     .constant = {false, true, true}, .threads = threads};
          Int8Outcome o = run_int8_case(c, isa);
          EXPECT_EQ(o.kernel, "q8_quantize" + tier_suffix(isa)) << what;
          expect_identical(o, what);
        }
}

TEST(QuantizeKernels, DequantizeLinearMatchesReferenceBitForBit) {
  for (Isa isa : all_tiers())
    for (DType type : {DType::UInt8, DType::Int8})
      for (const Shape& s : std::vector<Shape>{{1}, {15}, {16}, {17}, {3, 33}, {1, 5, 7, 9}, {70001}})
        for (int threads : {1, 2}) {
          std::string what =
              fmt::format("{} {} [{}] {} threads", isa_name(isa), dtype_name(type), shape_str(s), threads);
          int zp = type == DType::UInt8 ? 250 : 100;
          Int8Case c{.domain = "", .op = "DequantizeLinear", .opset = 13,
                     .inputs = {random_q8(type, s, 5), f32_scalar(0.0123f), q8_scalar(type, zp)},
                     .constant = {false, true, true}, .threads = threads};
          Int8Outcome o = run_int8_case(c, isa);
          EXPECT_EQ(o.kernel, "q8_dequantize" + tier_suffix(isa)) << what;
          expect_identical(o, what);
        }
}

TEST(QuantizeKernels, BothLayoutsAndAnAbsentZeroPoint) {
  // Element by element: a channels-last tensor is quantized as stored. No zero point: uint8 with zero point 0.
  Shape s = {2, 19, 5, 6};
  for (Layout layout : {Layout::Plain, Layout::ChannelsLast}) {
    Int8Case q{.domain = "",
               .op = "QuantizeLinear",
               .opset = 13,
               .inputs = {probe_values(s, 0.5f, 9), f32_scalar(0.5f)},
               .constant = {false, true},
               .threads = 2,
               .layout = layout};
    Int8Outcome o = run_int8_case(q, best_isa());
    ASSERT_NE(o.kernel, "declined");
    EXPECT_EQ(o.fast.dtype(), DType::UInt8);
    expect_identical(o, std::string("quantize ") + layout_name(layout));
    Int8Case d{.domain = "", .op = "DequantizeLinear", .opset = 13, .inputs = {random_s8(s, 4), f32_scalar(0.25f)},
               .constant = {false, true}, .threads = 2, .layout = layout};
    o = run_int8_case(d, best_isa());
    ASSERT_NE(o.kernel, "declined");
    expect_identical(o, std::string("dequantize ") + layout_name(layout));
  }
}

TEST(QuantizeKernels, PerAxisAndRuntimeScalesStayOnTheReference) {
  Shape s = {2, 3, 4};
  Tensor per_axis = random_floats({3}, 1, 0.1f, 0.2f);
  Int8Case axis{.domain = "", .op = "QuantizeLinear", .opset = 13,
                .inputs = {random_floats(s, 2, -1, 1), per_axis, random_u8({3}, 3)},
                .constant = {false, true, true}, .attrs = {Attribute::of_int("axis", 1)}};
  EXPECT_EQ(run_int8_case(axis, best_isa()).kernel, "reference");
  Int8Case runtime{.domain = "", .op = "DequantizeLinear", .opset = 13,
                   .inputs = {random_u8(s, 4), f32_scalar(0.1f), q8_scalar(DType::UInt8, 3)},
                   .constant = {false, false, true}};
  EXPECT_EQ(run_int8_case(runtime, best_isa()).kernel, "reference");
  Int8Case int16{.domain = "", .op = "QuantizeLinear", .opset = 21,
                 .inputs = {random_floats(s, 2, -1, 1), f32_scalar(0.1f), Tensor(DType::Int16, {})},
                 .constant = {false, true, true}};
  EXPECT_EQ(run_int8_case(int16, best_isa()).kernel, "reference");
}

TEST(QuantizeKernels, QAddMatchesReferenceBitForBit) {
  struct Types {
    DType a, b, y;
  };
  for (Isa isa : all_tiers())
    for (Types t : {Types{DType::UInt8, DType::UInt8, DType::UInt8}, Types{DType::Int8, DType::Int8, DType::Int8},
                    Types{DType::UInt8, DType::Int8, DType::Float32}})
      for (const char* post : {"", "Relu", "Clip"})
        for (const Shape& s : std::vector<Shape>{{7}, {16}, {33}, {1, 24, 9, 11}, {80001}}) {
          std::string what = fmt::format("{} {}+{}->{} {} [{}]", isa_name(isa), dtype_name(t.a), dtype_name(t.b),
                                         dtype_name(t.y), post, shape_str(s));
          std::vector<Attribute> attrs = {
              Attribute::of_float("a_scale", 0.031f), Attribute::of_int("a_zero_point", t.a == DType::UInt8 ? 120 : 3),
              Attribute::of_float("b_scale", 0.047f), Attribute::of_int("b_zero_point", t.b == DType::UInt8 ? 7 : -2),
              Attribute::of_int("y_type", static_cast<int64_t>(t.y))};
          if (t.y != DType::Float32) {
            attrs.push_back(Attribute::of_float("y_scale", 0.06f));
            attrs.push_back(Attribute::of_int("y_zero_point", t.y == DType::UInt8 ? 100 : 0));
          }
          if (std::string(post) == "Relu") {
            attrs.push_back(Attribute::of_strings("post_ops", {"Relu"}));
            attrs.push_back(Attribute::of_floats("post_op_params", {}));
          } else if (std::string(post) == "Clip") {
            attrs.push_back(Attribute::of_strings("post_ops", {"Clip"}));
            attrs.push_back(Attribute::of_floats("post_op_params", {-1.f, 2.5f}));
          }
          for (Layout layout : {Layout::Plain, Layout::ChannelsLast}) {
            if (layout == Layout::ChannelsLast && s.size() != 4) continue;
            Int8Case c{.op = "QAdd", .inputs = {random_q8(t.a, s, 1), random_q8(t.b, s, 2)}, .constant = {false, false},
                       .attrs = attrs, .threads = 2, .layout = layout};
            Int8Outcome o = run_int8_case(c, isa);
            EXPECT_EQ(o.kernel, "q8_qadd" + tier_suffix(isa)) << what;
            expect_identical(o, what + " " + layout_name(layout));
          }
        }
}

TEST(QuantizeKernels, QMulByAChannelGateMatchesReferenceBitForBit) {
  // A squeeze-excitation gate [N, C, 1, 1] (uint8, or float32 as an int8 conv left it) times the feature map.
  for (Isa isa : all_tiers())
    for (DType gate : {DType::UInt8, DType::Float32})
      for (DType y : {DType::UInt8, DType::Int8, DType::Float32})
        for (Layout layout : {Layout::Plain, Layout::ChannelsLast})
          for (bool gate_first : {false, true}) {
            Shape xs = {2, 24, 9, 7}, gs = {2, 24, 1, 1};
            std::string what = fmt::format("{} gate {} -> {} {}{}", isa_name(isa), dtype_name(gate), dtype_name(y),
                                           layout_name(layout), gate_first ? " gate first" : "");
            Tensor x = random_u8(xs, 1), g = gate == DType::Float32 ? random_floats(gs, 2, 0.f, 1.f) : random_u8(gs, 2);
            std::vector<Attribute> attrs = {Attribute::of_int("y_type", static_cast<int64_t>(y))};
            auto params = [&](const char* p, float s, int z) {
              attrs.push_back(Attribute::of_float(std::string(p) + "_scale", s));
              attrs.push_back(Attribute::of_int(std::string(p) + "_zero_point", z));
            };
            params(gate_first ? "b" : "a", 0.05f, 100);
            if (gate == DType::UInt8) params(gate_first ? "a" : "b", 1.f / 255, 0);
            if (y != DType::Float32) params("y", 0.04f, y == DType::UInt8 ? 90 : 0);
            Int8Case c{.op = "QMul", .inputs = {gate_first ? g : x, gate_first ? x : g}, .constant = {false, false},
                       .attrs = attrs, .threads = 2, .layout = layout};
            Int8Outcome o = run_int8_case(c, isa);
            EXPECT_EQ(o.kernel.rfind("q8_qmul_gate", 0), 0u) << what << ": chose " << o.kernel;
            expect_identical(o, what);
          }
}

TEST(QuantizeKernels, QGlobalAveragePoolMatchesReferenceBitForBit) {
  for (Isa isa : all_tiers())
    for (DType t : {DType::UInt8, DType::Int8})
      for (DType y : {DType::UInt8, DType::Float32})
        for (Layout layout : {Layout::Plain, Layout::ChannelsLast})
          for (const Shape& s : std::vector<Shape>{{1, 96, 20, 20}, {2, 7, 3, 5}, {1, 33, 4, 4}}) {
            std::string what = fmt::format("{} {} [{}] -> {} {}", isa_name(isa), dtype_name(t), shape_str(s),
                                           dtype_name(y), layout_name(layout));
            std::vector<Attribute> attrs = {Attribute::of_float("x_scale", 0.03f),
                                            Attribute::of_int("x_zero_point", t == DType::UInt8 ? 120 : -5),
                                            Attribute::of_int("y_type", static_cast<int64_t>(y))};
            if (y != DType::Float32) {
              attrs.push_back(Attribute::of_float("y_scale", 0.01f));
              attrs.push_back(Attribute::of_int("y_zero_point", 128));
            }
            Int8Case c{.op = "QGlobalAveragePool",
                       .inputs = {random_q8(t, s, 3)},
                       .constant = {false},
                       .attrs = attrs,
                       .layout = layout};
            Int8Outcome o = run_int8_case(c, isa);
            EXPECT_EQ(o.kernel.rfind("q8_global_avgpool", 0), 0u) << what << ": chose " << o.kernel;
            expect_identical(o, what);
          }
}

TEST(QuantizeKernels, QAddWithAnotherActivationStaysOnTheReference) {
  Int8Case c{.op = "QAdd",
             .inputs = {random_u8({9}, 1), random_u8({9}, 2)},
             .constant = {false, false},
             .attrs = {Attribute::of_float("a_scale", 0.1f), Attribute::of_float("b_scale", 0.1f),
                       Attribute::of_int("y_type", 2), Attribute::of_float("y_scale", 0.1f),
                       Attribute::of_strings("post_ops", {"Sigmoid"}), Attribute::of_floats("post_op_params", {})}};
  Int8Outcome o = run_int8_case(c, best_isa());
  EXPECT_EQ(o.kernel, "reference");
}

}  // namespace
}  // namespace hone::test
