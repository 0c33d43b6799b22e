// The small-channel direct convolution (kernels/cpu/conv_small_kernel.cc) against the reference Conv / FusedConv
// kernels: 1-4 input and 1-16 output channels, kernels 1x1 to 7x7 with and without padding, widths around the
// 16-pixel block, every ISA tier, both layouts, 1 and 2 threads; and the cases it must leave to other kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernel_run_util.h"

namespace hone {
namespace {

using test::Arg;
using test::random_floats;

struct Case {
  int64_t n, ic, oc, h, w, k, pad;
  bool bias, relu;
  std::string str() const {
    return fmt::format("N{} IC{} OC{} {}x{} k{} pad{}{}{}", n, ic, oc, h, w, k, pad, bias ? " bias" : "",
                       relu ? " relu" : "");
  }
};

test::KernelRun run(const Case& c, Isa isa, bool channels_last, int threads, std::mt19937& rng) {
  std::vector<Arg> args = {Arg(random_floats({c.n, c.ic, c.h, c.w}, rng)),
                           Arg::constant(random_floats({c.oc, c.ic, c.k, c.k}, rng))};
  if (c.bias) args.push_back(Arg::constant(random_floats({c.oc}, rng)));
  std::vector<Attribute> attrs = {Attribute::of_ints("pads", {c.pad, c.pad, c.pad, c.pad})};
  test::RunOptions o{.isa = isa, .threads = threads, .channels_last = channels_last};
  if (c.relu) {
    attrs.push_back(Attribute::of_strings("post_ops", {"Relu"}));
    attrs.push_back(Attribute::of_floats("post_op_params", {}));
    o.domain = "hone";
    return test::run_kernel_and_reference("FusedConv", 1, args, attrs, o);
  }
  return test::run_kernel_and_reference("Conv", 13, args, attrs, o);
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  for (int64_t i = 0; i < want.numel(); ++i) {
    float w = want.data<float>()[i], g = got.data<float>()[i];
    ASSERT_NEAR(g, w, 1e-5f * (1 + std::fabs(w))) << what << " element " << i;
  }
}

TEST(KernelsConvSmall, MatchesReferenceOnEveryTierAndLayout) {
  std::mt19937 rng(11);
  std::vector<Case> cases = {
      {1, 1, 6, 28, 28, 5, 2, true, true},   // Fashion-MNIST's first conv
      {3, 1, 1, 5, 1, 1, 0, false, false},   // one pixel wide, 1x1
      {2, 3, 16, 9, 16, 3, 1, true, false},  // exactly one block of 16
      {1, 3, 15, 7, 17, 3, 0, false, true},  // one pixel past a block, no padding
      {2, 2, 8, 11, 33, 7, 3, true, true},   // 7x7, three blocks
      {1, 4, 7, 6, 31, 4, 1, true, false},   // even kernel, asymmetric reach
      {5, 1, 16, 32, 40, 5, 2, true, true},  // enough work (8 MFLOP) for 2 threads to split the images
  };
  int ran = 0;
  for (const Case& c : cases)
    for (Isa isa : test::isa_tiers())
      for (bool cl : {false, true})
        for (int threads : {1, 2}) {
          std::string what = c.str() + " " + isa_name(isa) + (cl ? " channels-last" : " plain") +
                             " threads " + std::to_string(threads);
          test::KernelRun r = run(c, isa, cl, threads, rng);
          ASSERT_EQ(r.fast.size(), 1u) << what;
          EXPECT_TRUE(r.kernel.starts_with(std::string("conv-small-f32-") + isa_name(isa))) << what << ": " << r.kernel;
          expect_close(r.fast[0], r.reference[0], what);
          ++ran;
        }
  EXPECT_EQ(ran, static_cast<int>(cases.size() * test::isa_tiers().size() * 4));
}

TEST(KernelsConvSmall, LeavesOtherConvolutionsToOtherKernels) {
  std::mt19937 rng(12);
  auto chosen = [&](int64_t ic, int64_t oc, int64_t k, std::vector<Attribute> attrs) {
    std::vector<Arg> args = {Arg(random_floats({1, ic, 12, 12}, rng)),
                             Arg::constant(random_floats({oc, ic, k, k}, rng))};
    return test::run_kernel_and_reference("Conv", 13, args, std::move(attrs), {.isa = best_isa()}).kernel;
  };
  EXPECT_TRUE(chosen(1, 6, 3, {}).starts_with("conv-small"));
  EXPECT_FALSE(chosen(5, 6, 3, {}).starts_with("conv-small"));   // 5 input channels
  EXPECT_FALSE(chosen(3, 17, 3, {}).starts_with("conv-small"));  // 17 output channels
  EXPECT_FALSE(chosen(1, 6, 9, {}).starts_with("conv-small"));   // a 9x9 kernel
  EXPECT_FALSE(chosen(1, 6, 3, {Attribute::of_ints("strides", {2, 2})}).starts_with("conv-small"));
  EXPECT_FALSE(chosen(1, 6, 3, {Attribute::of_ints("dilations", {2, 2})}).starts_with("conv-small"));
  // Weights known only at run time.
  std::vector<Arg> args = {Arg(random_floats({1, 1, 12, 12}, rng)), Arg(random_floats({6, 1, 3, 3}, rng))};
  EXPECT_FALSE(
      test::run_kernel_and_reference("Conv", 13, args, {}, {.isa = best_isa()}).kernel.starts_with("conv-small"));
}

}  // namespace
}  // namespace hone
