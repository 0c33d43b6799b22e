// Hone's depthwise 8-bit convolution (kernels/cpu/q8_dwconv_kernel.cc, AVX-512 VNNI) against the reference kernel
// of hone.QConv: kernel sizes from 5 to 8 wide (one and two tap groups of four, oblong), strides, dilations and
// padding along either axis, channel counts that fill 16-channel blocks or leave a tail (or less than one block),
// batch 2, uint8 / int8 inputs and outputs and float32 outputs, per-tensor and per-channel weight scales, every
// post-op it runs in registers (and chains whose affine steps it folds into the scales), residuals of each type, a
// chain it hands to SplitEpilogue, 1 and 2 threads (by rows and by channel blocks). And what it leaves to oneDNN:
// narrow kernels, plain layouts, CPUs without VNNI.
#include "int8_test_util.h"

namespace hone::test {
namespace {

struct DwShape {
  Shape x;  // N, C, H, W
  int64_t kh, kw, sh, sw, dh, dw;
  std::vector<int64_t> pads;  // top, left, bottom, right
};

int64_t out_dim(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1) {
  return (in + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

Shape out_shape(const DwShape& s) {
  return {s.x[0], s.x[1], out_dim(s.x[2], s.kh, s.sh, s.dh, s.pads[0], s.pads[2]),
          out_dim(s.x[3], s.kw, s.sw, s.dw, s.pads[1], s.pads[3])};
}

struct Scheme {
  DType x, y;
  bool per_channel;
};

Int8Case dw_case(const DwShape& s, Scheme sc, std::vector<std::string> post = {}, std::vector<float> params = {},
                 DType z = DType::Undefined, bool channel_mul = false) {
  int64_t c = s.x[1];
  std::vector<Attribute> a = {Attribute::of_ints("kernel_shape", {s.kh, s.kw}),
                              Attribute::of_ints("strides", {s.sh, s.sw}),
                              Attribute::of_ints("dilations", {s.dh, s.dw}),
                              Attribute::of_ints("pads", s.pads),
                              Attribute::of_int("group", c),
                              Attribute::of_float("x_scale", 0.02f),
                              Attribute::of_int("x_zero_point", sc.x == DType::UInt8 ? 131 : -5),
                              Attribute::of_int("y_type", static_cast<int64_t>(sc.y))};
  if (sc.y != DType::Float32) {
    a.push_back(Attribute::of_float("y_scale", 0.05f));
    a.push_back(Attribute::of_int("y_zero_point", sc.y == DType::UInt8 ? 70 : -4));
  }
  if (!post.empty()) {
    a.push_back(Attribute::of_strings("post_ops", post));
    a.push_back(Attribute::of_floats("post_op_params", params));
  }
  // The accumulator of kh * kw products of uniform 8-bit values spreads about 5500 * sqrt(taps): scales that make
  // that about 40 steps of y_scale spread the outputs over the range, a few saturating.
  float base = 0.018f / std::sqrt(static_cast<float>(s.kh * s.kw));
  Tensor ws = sc.per_channel ? random_floats({c}, 3, 0.5f * base, 1.5f * base) : f32_scalar(base);
  Int8Case cc{.op = "QConv",
              .inputs = {random_q8(sc.x, s.x, 7), random_s8({c, 1, s.kh, s.kw}, 11), ws,
                         random_floats({c}, 5, -0.5f, 0.5f)},
              .constant = {false, true, true, true},
              .attrs = a};
  Shape ys = out_shape(s);
  if (z != DType::Undefined) {
    cc.inputs.push_back(z == DType::Float32 ? random_floats(ys, 9, -2.f, 2.f) : random_q8(z, ys, 9));
    cc.constant.push_back(false);
    if (z != DType::Float32) {
      cc.attrs.push_back(Attribute::of_float("z_scale", 0.04f));
      cc.attrs.push_back(Attribute::of_int("z_zero_point", z == DType::UInt8 ? 128 : 3));
    }
  }
  if (channel_mul) {
    if (z == DType::Undefined) {
      cc.inputs.push_back(f32_scalar(0.f));
      cc.constant.push_back(false);
      cc.omitted = {false, false, false, false, true};
    }
    Tensor f = random_floats({c}, 13, 0.25f, 4.f);
    f.data<float>()[1] = -1.5f;
    f.data<float>()[2] = 0.f;
    cc.inputs.push_back(f);
    cc.constant.push_back(true);
  }
  cc.layout = Layout::ChannelsLast;
  return cc;
}

std::string describe(const DwShape& s) {
  return fmt::format("x [{}] k {}x{} s {}x{} d {}x{} pads {}", shape_str(s.x), s.kh, s.kw, s.sh, s.sw, s.dh, s.dw,
                     fmt::join(s.pads, ","));
}

bool has_vnni() { return best_isa() == Isa::Avx512Vnni; }

TEST(KernelsQ8DwConv, MatchesReferenceOnShapesSchemesAndThreads) {
  if (!has_vnni()) GTEST_SKIP() << "needs AVX-512 VNNI";
  std::vector<DwShape> shapes = {
      {{1, 16, 9, 9}, 5, 5, 1, 1, 1, 1, {2, 2, 2, 2}},     // one block, two tap groups (5 of 8 taps)
      {{1, 24, 7, 11}, 5, 5, 2, 2, 1, 1, {2, 2, 2, 2}},    // a channel tail, stride 2
      {{1, 7, 8, 8}, 7, 7, 1, 1, 1, 1, {3, 3, 3, 3}},      // less than one block, 7x7
      {{1, 32, 10, 12}, 5, 5, 2, 1, 1, 1, {2, 2, 2, 2}},   // PaddleOCR rec's vertical stride
      {{1, 48, 9, 9}, 5, 5, 1, 1, 2, 2, {4, 4, 4, 4}},     // dilation 2
      {{2, 20, 6, 7}, 3, 6, 1, 2, 1, 1, {1, 0, 2, 3}},     // oblong, asymmetric padding, batch 2
      {{1, 64, 4, 21}, 1, 8, 1, 1, 1, 1, {0, 3, 0, 4}},    // one row, eight wide
      {{1, 240, 5, 20}, 5, 5, 1, 1, 1, 1, {2, 2, 2, 2}}};  // 15 blocks: threads take blocks
  std::vector<Scheme> schemes = {{DType::UInt8, DType::UInt8, true}, {DType::Int8, DType::Int8, true},
                                 {DType::UInt8, DType::Float32, false}, {DType::Int8, DType::UInt8, false}};
  int ran = 0;
  for (const DwShape& s : shapes)
    for (Scheme sc : schemes)
      for (int threads : {1, 2}) {
        std::string what = fmt::format("{} {}->{} {} {} threads", describe(s), dtype_name(sc.x), dtype_name(sc.y),
                                       sc.per_channel ? "per-channel" : "per-tensor", threads);
        Int8Case c = dw_case(s, sc);
        c.threads = threads;
        Int8Outcome o = run_int8_case(c, Isa::Avx512Vnni);
        EXPECT_EQ(o.kernel, fmt::format("q8-dwconv-{}{}-avx512_vnni", sc.x == DType::UInt8 ? "u8" : "s8",
                                        sc.y == DType::UInt8 ? "u8" : sc.y == DType::Int8 ? "s8" : "f32"))
            << what;
        expect_close_q8(o, what);
        ++ran;
      }
  EXPECT_EQ(ran, static_cast<int>(shapes.size() * schemes.size() * 2));
}

TEST(KernelsQ8DwConv, PostOpsResidualsAndChannelFactors) {
  if (!has_vnni()) GTEST_SKIP() << "needs AVX-512 VNNI";
  struct Post {
    std::vector<std::string> ops;
    std::vector<float> params;
    DType z = DType::Undefined;
    bool channel_mul = false;
    bool split = false;  // handed to SplitEpilogue
  };
  std::vector<Post> posts = {
      {{"Relu"}, {}},
      {{"LeakyRelu"}, {0.1f}},
      {{"Clip"}, {-0.5f, 0.8f}},
      {{"HardSigmoid"}, {0.2f, 0.5f}},
      {{"HardSwish"}, {}},
      {{"Linear"}, {-1.3f, 0.2f}},                      // folded whole into Y's quantization
      {{"HardSwish", "Linear"}, {0.9f, 0.1f}},          // PP-LCNetV3's chain: the Linear folded after
      {{"Linear", "Relu"}, {-0.7f, 0.2f}},              // folded before
      {{"Linear", "Relu", "Linear"}, {-0.7f, 0.2f, 1.1f, -0.3f}},
      {{"Relu", "Linear", "Clip"}, {2.f, -1.f, -0.5f, 1.5f}},  // a Linear between two others: in registers
      {{"HardSwish", "Linear", "ChannelMul"}, {0.8f, 0.1f}, DType::Undefined, true},
      {{"ChannelMul", "HardSwish"}, {}, DType::Undefined, true},
      {{"Clip", "ChannelMul", "HardSwish"}, {-1.f, 2.f}, DType::Undefined, true},
      {{"Add"}, {}, DType::UInt8},
      {{"Add", "Relu"}, {}, DType::Int8},
      {{"Relu", "Add"}, {}, DType::Float32},
      {{"HardSwish", "Linear", "Add", "Relu"}, {-1.3f, 0.1f}, DType::UInt8},
      {{"Add", "ChannelMul"}, {}, DType::UInt8, true},
      {{"Sigmoid"}, {}, DType::Undefined, false, true},
      {{"Linear", "Swish"}, {0.5f, 0.1f, 1.7f}, DType::Undefined, false, true},
      {{"Add", "Tanh"}, {}, DType::Int8, false, true}};
  DwShape s{{1, 40, 9, 10}, 5, 5, 1, 1, 1, 1, {2, 2, 2, 2}};
  for (const Post& p : posts)
    for (DType y : {DType::UInt8, DType::Int8, DType::Float32})
      for (int threads : {1, 2}) {
        std::string what = fmt::format("{} z {}{} -> {}, {} threads", fmt::join(p.ops, ","), dtype_name(p.z),
                                       p.channel_mul ? " with factors" : "", dtype_name(y), threads);
        Int8Case c = dw_case(s, {DType::UInt8, y, true}, p.ops, p.params, p.z, p.channel_mul);
        c.threads = threads;
        Int8Outcome o = run_int8_case(c, Isa::Avx512Vnni);
        EXPECT_EQ(o.kernel.rfind("q8-dwconv-", 0), 0u) << what << ": chose " << o.kernel;
        EXPECT_EQ(o.kernel.find("(split)") != std::string::npos, p.split) << what << ": chose " << o.kernel;
        // Fused multiply-adds and reciprocals instead of the reference's rounded products and divisions: a value
        // may round the other way where it lies within a few ulp of a half step.
        expect_close_q8(o, what, 1, 0.97, 2e-4);
      }
}

TEST(KernelsQ8DwConv, LeavesOtherConvolutionsToOneDnn) {
  DwShape narrow{{1, 32, 9, 9}, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}};
  DwShape wide{{1, 32, 9, 9}, 5, 5, 1, 1, 1, 1, {2, 2, 2, 2}};
  auto kernel = [](const DwShape& s, Layout layout, Isa isa) {
    Int8Case c = dw_case(s, {DType::UInt8, DType::UInt8, true});
    c.layout = layout;
    Int8Outcome o = run_int8_case(c, isa);
    expect_close_q8(o, o.kernel);
    return o.kernel;
  };
  // 3 wide: one group of four taps, too few products per output for the packing to pay.
  EXPECT_EQ(kernel(narrow, Layout::ChannelsLast, best_isa()).rfind("dnnl-qconv-", 0), 0u);
  // A plain layout (an output that must stay N,C,H,W): the factory hands the query to oneDNN's kernel.
  EXPECT_EQ(kernel(wide, Layout::Plain, best_isa()).rfind("dnnl-qconv-", 0), 0u);
  // Without VNNI.
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx512))
    EXPECT_EQ(kernel(wide, Layout::ChannelsLast, Isa::Avx512).rfind("dnnl-qconv-", 0), 0u);
  if (has_vnni()) EXPECT_EQ(kernel(wide, Layout::ChannelsLast, Isa::Avx512Vnni).rfind("q8-dwconv-", 0), 0u);
}

}  // namespace
}  // namespace hone::test
