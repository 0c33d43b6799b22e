// The oneDNN int8 kernels (kernels/cpu/dnnl_qconv.cc, dnnl_qmatmul.cc) against the reference kernels of hone.QConv,
// hone.QMatMul and hone.DynamicQMatMul: geometry (1x1, 3x3 padded, strided, dilated, grouped, depthwise, odd sizes),
// per-tensor and per-channel weight scales, asymmetric uint8 and symmetric int8 activations, uint8 / int8 / float32
// outputs, fused post-ops and residuals, both layouts, 1 and 2 threads. Quantized results may differ from the
// reference by one step where oneDNN's float arithmetic (a multiplication by 1 / y_scale, fused scales) rounds a
// value near a half the other way; nearly all must be identical. The chosen oneDNN implementation must be a jit /
// brgemm one, never oneDNN's reference loops.
#include "int8_test_util.h"
#include "kernels/cpu/dnnl_int8.h"

namespace hone::test {
namespace {

std::string implementation(const Int8Outcome& o) {
  const auto* d = dynamic_cast<const dnnl_cpu::DnnlImplementation*>(o.fast_kernel);
  return d ? d->implementation() : "";
}

void expect_fast_implementation(const Int8Outcome& o, const std::string& what) {
  std::string impl = implementation(o);
  EXPECT_FALSE(impl.empty()) << what << ": chose " << o.kernel;
  EXPECT_EQ(impl.find("ref"), std::string::npos) << what << ": oneDNN chose " << impl;
}

struct ConvShape {
  Shape x;
  int64_t m, k, stride, pad, group, dilation;
};

struct Scheme {
  DType x, y;
  bool per_channel;
};

std::vector<Attribute> conv_attrs(const ConvShape& s) {
  return {Attribute::of_ints("kernel_shape", {s.k, s.k}),
          Attribute::of_ints("strides", {s.stride, s.stride}),
          Attribute::of_ints("pads", {s.pad, s.pad, s.pad, s.pad}),
          Attribute::of_ints("dilations", {s.dilation, s.dilation}),
          Attribute::of_int("group", s.group)};
}

void add_output_attrs(std::vector<Attribute>& a, DType y) {
  a.push_back(Attribute::of_int("y_type", static_cast<int64_t>(y)));
  if (y == DType::Float32) return;
  a.push_back(Attribute::of_float("y_scale", 0.05f));
  a.push_back(Attribute::of_int("y_zero_point", y == DType::UInt8 ? 60 : -3));
}

// The accumulator of fan_in products of uniform 8-bit values has a spread of about 5500 * sqrt(fan_in): weight
// scales that make that about 40 steps of y_scale (0.05) spread outputs over the range, a few saturating.
Tensor weight_scales(int64_t m, bool per_channel, int64_t fan_in, uint32_t seed) {
  float base = 0.018f / std::sqrt(static_cast<float>(fan_in));
  Tensor s = per_channel ? random_floats({m}, seed, 0.5f * base, 1.5f * base) : f32_scalar(base);
  return s;
}

// Depthwise convolutions 5 or more wide stored channels-last run on Hone's own kernel on AVX-512 VNNI
// (q8_dwconv_kernel.cc, tested in kernels_q8_dwconv_test.cc); the rest on oneDNN's.
std::string conv_kernel_prefix(const ConvShape& s, Layout layout, Isa isa) {
  bool depthwise = s.group > 1 && s.group == s.x[1] && s.m == s.group && s.k >= 5;
  return depthwise && layout == Layout::ChannelsLast && isa == Isa::Avx512Vnni ? "q8-dwconv-" : "dnnl-qconv-";
}

void expect_conv_kernel(const Int8Outcome& o, const ConvShape& s, Layout layout, const std::string& what) {
  std::string prefix = conv_kernel_prefix(s, layout, best_isa());
  EXPECT_EQ(o.kernel.rfind(prefix, 0), 0u) << what << ": chose " << o.kernel;
  if (prefix == "dnnl-qconv-") expect_fast_implementation(o, what);
}

Int8Case conv_case(const ConvShape& s, Scheme sc, std::vector<std::string> post = {}, std::vector<float> params = {},
                   DType z = DType::Undefined) {
  int64_t c = s.x[1];
  Tensor w = random_s8({s.m, c / s.group, s.k, s.k}, 11);
  std::vector<Attribute> a = conv_attrs(s);
  a.push_back(Attribute::of_float("x_scale", 0.02f));
  a.push_back(Attribute::of_int("x_zero_point", sc.x == DType::UInt8 ? 128 : 0));
  add_output_attrs(a, sc.y);
  if (!post.empty()) {
    a.push_back(Attribute::of_strings("post_ops", post));
    a.push_back(Attribute::of_floats("post_op_params", params));
  }
  Int8Case cc{.op = "QConv",
              .inputs = {random_q8(sc.x, s.x, 7), w, weight_scales(s.m, sc.per_channel, c / s.group * s.k * s.k, 3),
                         random_floats({s.m}, 5, -0.5f, 0.5f)},
              .constant = {false, true, true, true},
              .attrs = a};
  if (z != DType::Undefined) {
    // The residual has the output's shape.
    auto out_dim = [&](int64_t in) { return (in + 2 * s.pad - s.dilation * (s.k - 1) - 1) / s.stride + 1; };
    Shape ys = {s.x[0], s.m, out_dim(s.x[2]), out_dim(s.x[3])};
    cc.inputs.push_back(z == DType::Float32 ? random_floats(ys, 9, -2.f, 2.f) : random_q8(z, ys, 9));
    cc.constant.push_back(false);
    if (z != DType::Float32) {
      cc.attrs.push_back(Attribute::of_float("z_scale", 0.04f));
      cc.attrs.push_back(Attribute::of_int("z_zero_point", z == DType::UInt8 ? 128 : 0));
    }
  }
  return cc;
}

TEST(Int8Kernels, QConvShapesSchemesLayoutsAndThreads) {
  std::vector<ConvShape> shapes = {
      {{1, 16, 9, 9}, 32, 1, 1, 0, 1, 1},   {{1, 24, 10, 7}, 20, 3, 1, 1, 1, 1},  {{2, 17, 11, 13}, 33, 3, 2, 1, 1, 1},
      {{1, 32, 12, 12}, 32, 3, 1, 1, 32, 1}, {{1, 48, 9, 9}, 48, 5, 2, 2, 48, 1}, {{1, 16, 10, 10}, 24, 3, 1, 1, 4, 1},
      {{1, 8, 14, 14}, 8, 3, 1, 2, 1, 2},    {{1, 3, 20, 20}, 16, 3, 2, 1, 1, 1}};
  std::vector<Scheme> schemes = {{DType::UInt8, DType::UInt8, true}, {DType::Int8, DType::Int8, true},
                                 {DType::UInt8, DType::Float32, false}, {DType::Int8, DType::UInt8, false}};
  for (const ConvShape& s : shapes)
    for (Scheme sc : schemes)
      for (Layout layout : {Layout::Plain, Layout::ChannelsLast})
        for (int threads : {1, 2}) {
          std::string what = fmt::format("x [{}] m {} k {} s {} g {} d {} {}->{} {} {} {} threads", shape_str(s.x), s.m,
                                         s.k, s.stride, s.group, s.dilation, dtype_name(sc.x), dtype_name(sc.y),
                                         sc.per_channel ? "per-channel" : "per-tensor", layout_name(layout), threads);
          Int8Case c = conv_case(s, sc);
          c.layout = layout;
          c.threads = threads;
          Int8Outcome o = run_int8_case(c, best_isa());
          ASSERT_NE(o.fast_kernel, nullptr) << what << ": chose " << o.kernel;
          expect_conv_kernel(o, s, layout, what);
          if (layout == Layout::ChannelsLast) EXPECT_EQ(o.fast_kernel->reorders(), 0) << what;
          expect_close_q8(o, what);
        }
}

TEST(Int8Kernels, QConvPostOpsAndResiduals) {
  ConvShape s{{1, 24, 9, 10}, 40, 3, 1, 1, 1, 1};
  struct Post {
    std::vector<std::string> ops;
    std::vector<float> params;
    DType z;
  };
  std::vector<Post> posts = {{{"Relu"}, {}, DType::Undefined},
                             {{"Clip"}, {-0.5f, 0.8f}, DType::Undefined},
                             {{"LeakyRelu"}, {0.1f}, DType::Undefined},
                             {{"HardSwish"}, {}, DType::Undefined},
                             {{"Sigmoid"}, {}, DType::Undefined},
                             {{"HardSigmoid"}, {0.2f, 0.5f}, DType::Undefined},
                             {{"Swish"}, {1.f}, DType::Undefined},
                             {{"Linear", "Swish"}, {0.5f, 0.1f, 1.7f}, DType::Undefined},
                             {{"Add"}, {}, DType::UInt8},
                             {{"Add", "Relu"}, {}, DType::UInt8},
                             {{"Add", "Relu"}, {}, DType::Int8},
                             {{"Relu", "Add"}, {}, DType::UInt8},
                             {{"Add", "Relu"}, {}, DType::Float32},
                             {{"Clip", "HardSwish", "Add"}, {-1.f, 1.f}, DType::UInt8},
                             // A negative affine step needs a linear of its own: with the final one, a split chain.
                             {{"Linear", "Relu"}, {-0.7f, 0.2f}, DType::Undefined},
                             {{"HardSwish", "Linear", "Add", "Relu"}, {-1.3f, 0.1f}, DType::Int8}};
  for (const Post& p : posts)
    for (DType y : {DType::UInt8, DType::Int8, DType::Float32})
      for (Layout layout : {Layout::Plain, Layout::ChannelsLast}) {
        std::string what = fmt::format("{} z {} -> {} {}", fmt::join(p.ops, ","), dtype_name(p.z), dtype_name(y),
                                       layout_name(layout));
        Int8Case c = conv_case(s, {DType::UInt8, y, true}, p.ops, p.params, p.z);
        c.layout = layout;
        c.threads = 2;
        Int8Outcome o = run_int8_case(c, best_isa());
        // An activation that needs the real value before an 8-bit residual leaves the binary add no linear to
        // spare (oneDNN 2.6 takes one only, see dnnl_int8.cc): the residual becomes a sum post-op, which needs an
        // 8-bit output and adds into the output as stored (plain: whatever kernel oneDNN has for that layout); for
        // a float32 output the chain runs after the primitive (split).
        bool real_then_int_add = p.ops.size() == 3 && p.z != DType::Float32;
        ASSERT_EQ(o.kernel.rfind("dnnl-qconv-", 0), 0u) << what << ": chose " << o.kernel;
        if (real_then_int_add) {
          const char* how = y == DType::Float32 ? "(split)" : "+sum";
          EXPECT_NE(o.kernel.find(how), std::string::npos) << what << ": chose " << o.kernel;
        }
        if (!real_then_int_add || layout == Layout::ChannelsLast || y == DType::Float32)
          expect_fast_implementation(o, what);
        // Sigmoid and HardSwish are approximations in oneDNN (a few ulp): a few more elements round the other way.
        expect_close_q8(o, what, 1, 0.95, 2e-4);
      }
}

// A ChannelMul post-op (a Mul by a per-channel constant after the chain, e.g. depthwise input equalization): a binary
// mul by a per-channel operand inside the primitive (Y's zero point as oneDNN's destination zero point), and a binary
// add of another where an offset follows it; in the split chain where oneDNN cannot compute the rest.
TEST(Int8Kernels, QConvChannelMulPostOp) {
  struct Post {
    std::vector<std::string> ops;
    std::vector<float> params;
    DType z;
    bool split;
  };
  std::vector<Post> posts = {{{"ChannelMul"}, {}, DType::Undefined, false},
                             {{"HardSwish", "ChannelMul"}, {}, DType::Undefined, false},
                             {{"HardSwish", "Linear", "ChannelMul"}, {0.8f, 0.1f}, DType::Undefined, false},
                             {{"ChannelMul", "Relu"}, {}, DType::Undefined, false},
                             // An offset after the mul: a per-channel add too.
                             {{"ChannelMul", "Linear"}, {1.3f, 0.4f}, DType::Undefined, false},
                             {{"Clip", "ChannelMul", "HardSwish"}, {-1.f, 2.f}, DType::Undefined, false},
                             {{"Add", "ChannelMul"}, {}, DType::UInt8, false},
                             {{"Add", "Relu", "ChannelMul"}, {}, DType::Float32, false},
                             // Two different linears: oneDNN 2.6 gets them wrong, so the chain runs split.
                             {{"Linear", "Relu", "Linear", "ChannelMul"}, {-0.7f, 0.2f, -1.1f, 0.3f}, DType::Undefined,
                              true}};
  std::vector<ConvShape> shapes = {{{1, 32, 8, 8}, 48, 1, 1, 0, 1, 1},    // pointwise (brgconv 1x1)
                                   {{1, 24, 9, 10}, 40, 3, 1, 1, 1, 1},   // 3x3
                                   {{2, 32, 9, 9}, 32, 3, 2, 1, 32, 1}};  // depthwise, strided, batch 2
  for (const ConvShape& s : shapes)
    for (const Post& p : posts)
      for (DType y : {DType::UInt8, DType::Int8, DType::Float32})
        for (Layout layout : {Layout::Plain, Layout::ChannelsLast}) {
          std::string what = fmt::format("x [{}] m {} k {} g {}: {} z {} -> {} {}", shape_str(s.x), s.m, s.k, s.group,
                                         fmt::join(p.ops, ","), dtype_name(p.z), dtype_name(y), layout_name(layout));
          Int8Case c = conv_case(s, {DType::UInt8, y, true}, p.ops, p.params, p.z);
          if (p.z == DType::Undefined) {  // Z not given
            c.inputs.push_back(f32_scalar(0.f));
            c.constant.push_back(false);
            c.omitted = {false, false, false, false, true};
          }
          // Factors of both signs and a range of sizes, as equalization's 1 / s (1 to 64) spreads them.
          Tensor f = random_floats({s.m}, 13, 0.25f, 4.f);
          f.data<float>()[1] = -1.5f;
          f.data<float>()[2] = 0.f;
          c.inputs.push_back(f);
          c.constant.push_back(true);
          c.layout = layout;
          c.threads = 2;
          Int8Outcome o = run_int8_case(c, best_isa());
          ASSERT_NE(o.fast_kernel, nullptr) << what << ": chose " << o.kernel;
          if (conv_kernel_prefix(s, layout, best_isa()) == "dnnl-qconv-") {
            ASSERT_EQ(o.kernel.rfind("dnnl-qconv-", 0), 0u) << what << ": chose " << o.kernel;
            EXPECT_EQ(o.kernel.find("(split)") != std::string::npos, p.split) << what << ": chose " << o.kernel;
            if (!p.split) EXPECT_NE(o.kernel.find("+channel_mul"), std::string::npos) << what << ": chose " << o.kernel;
            // (Elsewhere too where oneDNN has no kernel for the destination zero point: the chain, in one add more.)
            if (p.ops.back() == "Linear" && !p.split)
              EXPECT_NE(o.kernel.find("+channel_add"), std::string::npos) << what << ": chose " << o.kernel;
            if (layout == Layout::ChannelsLast || p.z == DType::Undefined) expect_fast_implementation(o, what);
          } else {
            EXPECT_EQ(o.kernel.rfind("q8-dwconv-", 0), 0u) << what << ": chose " << o.kernel;
            EXPECT_NE(o.kernel.find("+channelmul"), std::string::npos) << what << ": chose " << o.kernel;
          }
          expect_close_q8(o, what, 1, 0.95, 2e-4);
        }
}

TEST(Int8Kernels, QConvWithoutBiasAndWithWideZeroPoints) {
  ConvShape s{{1, 8, 7, 7}, 16, 3, 1, 1, 1, 1};
  Int8Case c = conv_case(s, {DType::UInt8, DType::UInt8, true});
  c.inputs.pop_back();  // no B
  c.constant.pop_back();
  for (Attribute& a : c.attrs)
    if (a.name == "x_zero_point") a.i = 255;
  Int8Outcome o = run_int8_case(c, best_isa());
  expect_fast_implementation(o, "no bias");
  expect_close_q8(o, "no bias");
}

Int8Case matmul_case(const Shape& x, int64_t n, DType xt, DType y, bool per_column, bool bias) {
  int64_t k = x.back();
  std::vector<Attribute> a = {Attribute::of_float("x_scale", 0.02f),
                              Attribute::of_int("x_zero_point", xt == DType::UInt8 ? 100 : 0)};
  add_output_attrs(a, y);
  Int8Case c{.op = "QMatMul",
             .inputs = {random_q8(xt, x, 3), random_s8({k, n}, 4), weight_scales(n, per_column, k, 8)},
             .constant = {false, true, true},
             .attrs = a};
  if (bias) {
    c.inputs.push_back(random_floats({n}, 6, -1.f, 1.f));
    c.constant.push_back(true);
  }
  return c;
}

TEST(Int8Kernels, QMatMulRowsBatchesSchemesAndThreads) {
  for (const Shape& x : std::vector<Shape>{{1, 64}, {7, 33}, {1, 40, 120}, {2, 3, 17}})
    for (int64_t n : {1, 16, 65})
      for (DType xt : {DType::UInt8, DType::Int8})
        for (DType y : {DType::UInt8, DType::Int8, DType::Float32})
          for (int threads : {1, 2}) {
            bool per_column = n % 2 == 1;
            std::string what =
                fmt::format("[{}] x {} {}->{} {} threads", shape_str(x), n, dtype_name(xt), dtype_name(y), threads);
            Int8Case c = matmul_case(x, n, xt, y, per_column, n != 16);
            c.threads = threads;
            Int8Outcome o = run_int8_case(c, best_isa());
            ASSERT_EQ(o.kernel.rfind("dnnl-qmatmul-", 0), 0u) << what << ": chose " << o.kernel;
            expect_fast_implementation(o, what);
            expect_close_q8(o, what);
          }
}

TEST(Int8Kernels, QMatMulPostOps) {
  struct Post {
    std::vector<std::string> ops;
    std::vector<float> params;
  };
  // The last two need two linears: the chain runs after the primitive (split).
  for (const Post& p : std::vector<Post>{{{"Relu"}, {}},
                                         {{"HardSwish"}, {}},
                                         {{"Sigmoid"}, {}},
                                         {{"Swish", "Linear"}, {1.f, -0.5f, 0.3f}},
                                         {{"Linear", "Clip"}, {-2.f, 0.1f, -1.f, 1.f}}}) {
    std::string what = fmt::format("{}", fmt::join(p.ops, ","));
    Int8Case c = matmul_case({1, 40, 96}, 48, DType::UInt8, DType::UInt8, true, true);
    c.attrs.push_back(Attribute::of_strings("post_ops", p.ops));
    c.attrs.push_back(Attribute::of_floats("post_op_params", p.params));
    Int8Outcome o = run_int8_case(c, best_isa());
    expect_fast_implementation(o, what);
    expect_close_q8(o, what, 1, 0.95);
  }
}

TEST(Int8Kernels, DynamicQMatMulIsBitExact) {
  // The same integers and float operations as the reference: identical results, NaN-free inputs of any range.
  for (const Shape& x : std::vector<Shape>{{1, 784}, {64, 100}, {2, 5, 33}})
    for (int64_t n : {10, 256})
      for (bool per_column : {false, true})
        for (bool bias : {false, true})
          for (float lo : {-3.f, 0.5f}) {
            std::string what = fmt::format("[{}] x {} {} {} lo {}", shape_str(x), n,
                                           per_column ? "per-column" : "per-tensor", bias ? "bias" : "", lo);
            int64_t k = x.back();
            Int8Case c{
                .op = "DynamicQMatMul",
                .inputs = {random_floats(x, 2, lo, 4.f), random_s8({k, n}, 3), weight_scales(n, per_column, k, 4)},
                .constant = {false, true, true},
                .threads = 2};
            if (bias) {
              c.inputs.push_back(random_floats({n}, 5, -1.f, 1.f));
              c.constant.push_back(true);
            }
            Int8Outcome o = run_int8_case(c, best_isa());
            ASSERT_EQ(o.kernel.rfind("dnnl-dynamic-qmatmul", 0), 0u) << what << ": chose " << o.kernel;
            expect_fast_implementation(o, what);
            expect_identical(o, what);
          }
}

TEST(Int8Kernels, MaxPoolResizeAndConcatOn8BitTensorsAreExact) {
  struct Pool {
    Shape x;
    std::vector<Attribute> attrs;
  };
  std::vector<Pool> pools = {
      {{1, 16, 9, 9}, {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("strides", {2, 2}),
                       Attribute::of_ints("pads", {1, 1, 1, 1})}},
      {{2, 24, 10, 7}, {Attribute::of_ints("kernel_shape", {2, 2}), Attribute::of_ints("strides", {2, 2}),
                        Attribute::of_int("ceil_mode", 1)}},
      {{1, 5, 11, 11}, {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("pads", {1, 0, 1, 2})}}};
  for (const Pool& p : pools)
    for (DType t : {DType::UInt8, DType::Int8})
      for (Layout layout : {Layout::Plain, Layout::ChannelsLast})
        for (int threads : {1, 2}) {
          std::string what = fmt::format("MaxPool [{}] {} {} {} threads", shape_str(p.x), dtype_name(t),
                                         layout_name(layout), threads);
          Int8Case c{.domain = "", .op = "MaxPool", .opset = 12, .inputs = {random_q8(t, p.x, 3)},
                     .constant = {false}, .attrs = p.attrs, .threads = threads, .layout = layout};
          Int8Outcome o = run_int8_case(c, best_isa());
          ASSERT_EQ(o.kernel.rfind("dnnl-maxpool-", 0), 0u) << what << ": chose " << o.kernel;
          expect_fast_implementation(o, what);
          expect_identical(o, what);
        }

  // Dilated 8-bit pooling: oneDNN 2.6 has only its reference loops, so Hone's reference kernel runs it.
  Int8Case dilated{.domain = "", .op = "MaxPool", .opset = 12, .inputs = {random_u8({1, 5, 11, 11}, 3)},
                   .constant = {false},
                   .attrs = {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("dilations", {2, 2})}};
  EXPECT_EQ(run_int8_case(dilated, best_isa()).kernel, "reference");

  auto f32s = [](std::vector<float> v) {
    Tensor t(DType::Float32, {static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data<float>());
    return t;
  };
  auto i64s = [](std::vector<int64_t> v) {
    Tensor t(DType::Int64, {static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data<int64_t>());
    return t;
  };
  struct Resize {
    Shape x;
    Tensor scales, sizes;
    std::string coord, rounding;
  };
  std::vector<Resize> resizes = {{{1, 24, 10, 12}, f32s({1, 1, 2, 2}), Tensor(), "asymmetric", "floor"},
                                 {{2, 3, 7, 9}, Tensor(), i64s({2, 3, 11, 4}), "half_pixel", "round_prefer_floor"},
                                 {{1, 16, 8, 8}, f32s({1, 1, 0.5f, 1.5f}), Tensor(), "align_corners", "ceil"}};
  for (const Resize& r : resizes)
    for (DType t : {DType::UInt8, DType::Int8})
      for (Layout layout : {Layout::Plain, Layout::ChannelsLast}) {
        std::string what =
            fmt::format("Resize [{}] {} {} {}", shape_str(r.x), r.coord, dtype_name(t), layout_name(layout));
        bool sizes = r.sizes.numel() > 0;
        Int8Case c{.domain = "",
                   .op = "Resize",
                   .opset = 13,
                   .inputs = {random_q8(t, r.x, 5), Tensor(DType::Float32, {0}),
                              sizes ? Tensor(DType::Float32, {0}) : r.scales, sizes ? r.sizes : Tensor()},
                   .constant = {false, true, true, true},
                   .omitted = {false, true, sizes, !sizes},
                   .attrs = {Attribute::of_string("mode", "nearest"),
                             Attribute::of_string("coordinate_transformation_mode", r.coord),
                             Attribute::of_string("nearest_mode", r.rounding)},
                   .threads = 2,
                   .layout = layout};
        Int8Outcome o = run_int8_case(c, best_isa());
        ASSERT_EQ(o.kernel.rfind("q8_resize_nearest", 0), 0u) << what << ": chose " << o.kernel;
        expect_identical(o, what);
      }

  for (Layout layout : {Layout::Plain, Layout::ChannelsLast})
    for (int64_t axis : {1, 2}) {
      Int8Case c{
          .domain = "",
          .op = "Concat",
          .opset = 13,
          .inputs = {random_u8({1, 3, 5, 4}, 1), random_u8(axis == 1 ? Shape{1, 7, 5, 4} : Shape{1, 3, 2, 4}, 2)},
          .constant = {false, false},
          .attrs = {Attribute::of_int("axis", axis)},
          .threads = 1,
          .layout = layout};
      Int8Outcome o = run_int8_case(c, best_isa());
      EXPECT_EQ(o.kernel, layout == Layout::Plain ? "copy_concat" : "copy_concat_nhwc");
      expect_identical(o, fmt::format("Concat axis {} {}", axis, layout_name(layout)));
    }
}

TEST(Int8Kernels, UnsupportedFormsStayOnTheReference) {
  // A non-constant weight, and a float32 input to QConv: the reference kernel reports or computes them.
  Int8Case c = conv_case({{1, 8, 5, 5}, 8, 3, 1, 1, 1, 1}, {DType::UInt8, DType::UInt8, true});
  c.constant[1] = false;
  EXPECT_EQ(run_int8_case(c, best_isa()).kernel, "reference");
}

}  // namespace
}  // namespace hone::test
