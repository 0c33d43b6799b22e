// The patch ConvTranspose (kernels/cpu/deconv_patch_kernel.cc: kernel == stride, no padding) against the reference
// ConvTranspose kernel: square and oblong patches, 1 to 40 output channels (product columns from 4 to 160, over one
// and two passes of the microkernel's six column vectors), widths around its pixel tiles, every ISA tier, both
// layouts, 1 and 2 threads; and the transposed convolutions it must leave to other kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernel_run_util.h"

namespace hone {
namespace {

using test::Arg;
using test::random_floats;

struct Case {
  int64_t n, ic, oc, h, w, kh, kw;
  bool bias;
  std::string str() const {
    return fmt::format("N{} IC{} OC{} {}x{} k{}x{}{}", n, ic, oc, h, w, kh, kw, bias ? " bias" : "");
  }
};

TEST(KernelsDeconvPatch, MatchesReferenceOnEveryTierAndLayout) {
  std::mt19937 rng(31);
  std::vector<Case> cases = {
      {1, 24, 24, 10, 12, 2, 2, true},  // PaddleOCR det's first upsampling (96 columns: one pass of 6 vectors)
      {1, 24, 1, 9, 17, 2, 2, true},    // its last, to one channel (4 columns, 8-pixel tiles and a tail)
      {2, 3, 5, 4, 5, 3, 2, false},     // oblong patch, batch 2, 30 columns
      {1, 1, 40, 3, 7, 2, 2, true},     // one input channel; 160 columns: passes of 6 and 4 vectors
      {1, 7, 3, 1, 1, 1, 1, true},      // a 1x1 "transpose": one pixel
      {2, 16, 8, 40, 48, 2, 2, true},   // enough work (4.9 MFLOP) for 2 threads
  };
  int ran = 0;
  for (const Case& c : cases)
    for (Isa isa : test::isa_tiers())
      for (bool cl : {false, true})
        for (int threads : {1, 2}) {
          std::string what = c.str() + " " + isa_name(isa) + (cl ? " channels-last" : " plain") + " threads " +
                             std::to_string(threads);
          std::vector<Arg> args = {Arg(random_floats({c.n, c.ic, c.h, c.w}, rng)),
                                   Arg::constant(random_floats({c.ic, c.oc, c.kh, c.kw}, rng))};
          if (c.bias) args.push_back(Arg::constant(random_floats({c.oc}, rng)));
          std::vector<Attribute> attrs = {Attribute::of_ints("strides", {c.kh, c.kw})};
          test::KernelRun r = test::run_kernel_and_reference(
              "ConvTranspose", 13, args, attrs, {.isa = isa, .threads = threads, .channels_last = cl});
          ASSERT_EQ(r.fast.size(), 1u) << what;
          EXPECT_EQ(r.kernel, std::string("convtranspose-patch-f32-") + isa_name(isa)) << what;
          const Tensor &got = r.fast[0], &want = r.reference[0];
          ASSERT_EQ(got.shape(), want.shape()) << what;
          EXPECT_EQ(got.shape(), (Shape{c.n, c.oc, c.h * c.kh, c.w * c.kw})) << what;
          for (int64_t i = 0; i < want.numel(); ++i) {
            float wv = want.data<float>()[i], g = got.data<float>()[i];
            ASSERT_NEAR(g, wv, 1e-5f * (1 + std::fabs(wv))) << what << " element " << i;
          }
          ++ran;
        }
  EXPECT_EQ(ran, static_cast<int>(cases.size() * test::isa_tiers().size() * 4));
}

TEST(KernelsDeconvPatch, FusedActivationsMatchReference) {
  // hone.FusedConvTranspose (passes/fuse_conv.cc) with a Relu or a Clip: the results clamped in registers.
  std::mt19937 rng(33);
  struct Chain {
    std::vector<std::string> ops;
    std::vector<float> params;
    std::string suffix;
  };
  for (const Chain& c : {Chain{{"Relu"}, {}, "+relu"}, Chain{{"Clip"}, {-0.5f, 2.f}, "+clip"}})
    for (bool cl : {false, true})
      for (int threads : {1, 2}) {
        std::string what = c.suffix + (cl ? " channels-last" : " plain") + " threads " + std::to_string(threads);
        std::vector<Arg> args = {Arg(random_floats({2, 16, 30, 40}, rng)),
                                 Arg::constant(random_floats({16, 6, 2, 2}, rng)),
                                 Arg::constant(random_floats({6}, rng))};
        std::vector<Attribute> attrs = {Attribute::of_ints("strides", {2, 2}), Attribute::of_strings("post_ops", c.ops),
                                        Attribute::of_floats("post_op_params", c.params)};
        test::KernelRun r = test::run_kernel_and_reference(
            "FusedConvTranspose", 1, args, attrs,
            {.isa = best_isa(), .threads = threads, .channels_last = cl, .domain = "hone"});
        const Isa tier = best_isa() == Isa::Avx512Vnni ? Isa::Avx512 : best_isa();
        EXPECT_EQ(r.kernel, std::string("convtranspose-patch-f32-") + isa_name(tier) + c.suffix) << what;
        ASSERT_EQ(r.fast.at(0).shape(), r.reference.at(0).shape()) << what;
        int64_t changed = 0;
        for (int64_t i = 0; i < r.reference[0].numel(); ++i) {
          float wv = r.reference[0].data<float>()[i], g = r.fast[0].data<float>()[i];
          ASSERT_NEAR(g, wv, 1e-5f * (1 + std::fabs(wv))) << what << " element " << i;
          changed += wv == (c.params.empty() ? 0.f : -0.5f) || wv == 2.f;  // clamped: the post-op ran
        }
        EXPECT_GT(changed, 0) << what;
      }
}

TEST(KernelsDeconvPatch, LeavesOtherFusedChainsToTheReference) {
  std::mt19937 rng(34);
  std::vector<Arg> args = {Arg(random_floats({1, 4, 6, 6}, rng)), Arg::constant(random_floats({4, 3, 2, 2}, rng))};
  std::vector<Attribute> attrs = {Attribute::of_ints("strides", {2, 2}), Attribute::of_strings("post_ops", {"Sigmoid"}),
                                  Attribute::of_floats("post_op_params", {})};
  test::KernelRun r = test::run_kernel_and_reference("FusedConvTranspose", 1, args, attrs,
                                                     {.isa = best_isa(), .domain = "hone"});
  EXPECT_FALSE(r.kernel.starts_with("convtranspose-patch")) << r.kernel;
}

TEST(KernelsDeconvPatch, LeavesOtherTransposedConvolutionsToOtherKernels) {
  std::mt19937 rng(32);
  auto chosen = [&](int64_t k, std::vector<Attribute> attrs, int64_t group = 1) {
    std::vector<Arg> args = {Arg(random_floats({1, 4, 6, 6}, rng)),
                             Arg::constant(random_floats({4, 4 / group, k, k}, rng))};
    if (group > 1) attrs.push_back(Attribute::of_int("group", group));
    return test::run_kernel_and_reference("ConvTranspose", 13, args, std::move(attrs), {.isa = best_isa()}).kernel;
  };
  EXPECT_TRUE(chosen(2, {Attribute::of_ints("strides", {2, 2})}).starts_with("convtranspose-patch"));
  EXPECT_FALSE(chosen(3, {Attribute::of_ints("strides", {2, 2})}).starts_with("convtranspose-patch"));  // overlap
  EXPECT_FALSE(chosen(2, {}).starts_with("convtranspose-patch"));  // stride 1
  EXPECT_FALSE(chosen(2, {Attribute::of_ints("strides", {2, 2}), Attribute::of_ints("pads", {1, 1, 0, 0})})
                   .starts_with("convtranspose-patch"));
  EXPECT_FALSE(chosen(2, {Attribute::of_ints("strides", {2, 2}), Attribute::of_ints("output_padding", {1, 1})})
                   .starts_with("convtranspose-patch"));
  EXPECT_FALSE(chosen(2, {Attribute::of_ints("strides", {2, 2})}, 2).starts_with("convtranspose-patch"));
  // Weights known only at run time.
  std::vector<Arg> args = {Arg(random_floats({1, 4, 6, 6}, rng)), Arg(random_floats({4, 4, 2, 2}, rng))};
  EXPECT_FALSE(test::run_kernel_and_reference("ConvTranspose", 13, args, {Attribute::of_ints("strides", {2, 2})},
                                              {.isa = best_isa()})
                   .kernel.starts_with("convtranspose-patch"));
}

}  // namespace
}  // namespace hone
