// The BatchNormalization (inference) and InstanceNormalization kernels (src/kernels/cpu/norm_kernels.cc) against the
// reference kernels they replace: one node at a time, every ISA tier, 1 and 2 threads, channel counts and plane sizes
// around vector widths (1, 3, 15, 16, 17, 33, 64; planes 1, 7, 8, 9, 17 and long ones), ranks 2-5,
// BatchNormalization in both layouts (the channels-last input permuted by kernel_test_util.h's run_both, the result
// permuted back), with fixed seeds. Cases the kernels must not claim (training, per-element parameters, parameters
// that are not constants) stay on the reference.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>

#include "kernel_test_util.h"

namespace hone {
namespace {

using test::NodeCase;
using test::Outcome;
using test::run_both;
using test::top_tier;

Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo = -2.f, float hi = 2.f,
                     DType dtype = DType::Float32) {
  Tensor t(dtype, shape);
  std::uniform_real_distribution<double> f(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, f(rng));
  return t;
}

::testing::AssertionResult close(const Tensor& want, const Tensor& got, double rtol = 1e-4, double atol = 1e-5) {
  if (want.shape() != got.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    double w = want.data<float>()[i], g = got.data<float>()[i];
    if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w)))
      return ::testing::AssertionFailure() << "element " << i << ": " << g << " vs reference " << w;
  }
  return ::testing::AssertionSuccess();
}

// The fast kernel `want` must claim the node on tier `isa` and match the reference with 1 and 2 threads; channels-last
// too when `channels_last` (and must decline it otherwise).
void expect_fast_matches(NodeCase c, Isa isa, const std::string& want, bool channels_last, const std::string& what) {
  SCOPED_TRACE(what);
  for (Layout layout : {Layout::Plain, Layout::ChannelsLast})
    for (int threads : {1, 2}) {
      c.layout = layout;
      c.threads = threads;
      Outcome o = run_both(isa, c);
      ASSERT_TRUE(o.reference_error.empty()) << o.reference_error;
      if (layout == Layout::ChannelsLast && !channels_last) {
        EXPECT_EQ(o.kernel, "declined");
        break;
      }
      ASSERT_EQ(o.kernel, want) << layout_name(layout);
      EXPECT_TRUE(close(o.reference[0], o.fast[0])) << layout_name(layout) << ", threads " << threads;
    }
}

std::string chosen(const NodeCase& c) { return run_both(top_tier(), c).kernel; }

// ---------------------------------------------------------------------------------------------------- BatchNorm

NodeCase batch_norm(const Shape& x, int64_t opset, std::mt19937& rng, std::vector<Attribute> attrs = {},
                    DType param_dtype = DType::Float32) {
  int64_t ch = x[1];
  return NodeCase{.op = "BatchNormalization",
                  .opset = opset,
                  .inputs = {random_tensor(x, rng), random_tensor({ch}, rng, 0.5f, 2.f, param_dtype),
                             random_tensor({ch}, rng, -1.f, 1.f, param_dtype),
                             random_tensor({ch}, rng, -1.f, 1.f, param_dtype),
                             random_tensor({ch}, rng, 0.1f, 3.f, param_dtype)},
                  .attrs = std::move(attrs),
                  .constant = {false, true, true, true, true}};
}

std::string bn_kernel(Isa isa) { return std::string("f32_batchnorm_") + isa_name(isa); }

TEST(BatchNormKernel, MatchesReferenceOnEveryTierAndLayout) {
  std::mt19937 rng(29);
  int ran = 0;
  for (Isa isa : test::tiers()) {
    auto check = [&](const Shape& x) {
      expect_fast_matches(batch_norm(x, 15, rng), isa, bn_kernel(isa), x.size() == 4,
                          fmt::format("{} x[{}]", isa_name(isa), shape_str(x)));
      ++ran;
    };
    int v = 0;
    for (int64_t c : {1, 3, 15, 16, 17, 33, 64})
      for (int64_t s : {1, 7, 8, 9, 17}) {
        ++v;
        check({v % 4 == 0 ? 2 : 1, c, s, s == 9 ? 4 : s});
        check({2, c, s * 3});
        check({1, c, 2, s, 3});
      }
    // Rank 2, 1x1 planes, and a channel count whose repeat to whole vectors would be too long (period C itself).
    for (Shape x : {Shape{5, 3}, Shape{4, 17}, Shape{3, 2048}, Shape{1, 16, 1, 1}, Shape{2, 40, 3, 3}, Shape{1, 4099, 2, 3}})
      check(x);
    // Large: split over two threads (long planes; many short planes; channels-last rows).
    check({1, 64, 56, 56});
    check({8, 256, 7, 7});
  }
  EXPECT_GE(ran, 100);
}

TEST(BatchNormKernel, OpsetsAndParameterTypes) {
  std::mt19937 rng(31);
  Isa isa = top_tier();
  Shape x = {2, 5, 6, 7};
  expect_fast_matches(batch_norm(x, 6, rng, {Attribute::of_int("is_test", 1)}), isa, bn_kernel(isa), true, "opset 6");
  expect_fast_matches(batch_norm(x, 7, rng), isa, bn_kernel(isa), true, "opset 7");
  expect_fast_matches(batch_norm(x, 7, rng, {Attribute::of_int("spatial", 1)}), isa, bn_kernel(isa), true,
                      "opset 7 spatial");
  expect_fast_matches(batch_norm(x, 9, rng, {Attribute::of_float("epsilon", 1e-3f)}), isa, bn_kernel(isa), true,
                      "opset 9");
  expect_fast_matches(batch_norm(x, 14, rng, {Attribute::of_int("training_mode", 0)}), isa, bn_kernel(isa), true,
                      "opset 14 inference");
  // Opset 15 lets the parameters be other float types.
  expect_fast_matches(batch_norm(x, 15, rng, {}, DType::Float64), isa, bn_kernel(isa), true, "double params");
  expect_fast_matches(batch_norm(x, 15, rng, {}, DType::Float16), isa, bn_kernel(isa), true, "half params");
}

TEST(BatchNormKernel, LeavesTrainingAndNonConstantParametersToTheReference) {
  std::mt19937 rng(37);
  Shape x = {2, 4, 3, 3};
  EXPECT_EQ(chosen(batch_norm(x, 15, rng, {Attribute::of_int("training_mode", 1)})), "reference");
  NodeCase train14 = batch_norm(x, 14, rng, {Attribute::of_int("training_mode", 1)});
  train14.outputs = 3;  // Y, running_mean, running_var
  EXPECT_EQ(chosen(train14), "reference");
  NodeCase saved = batch_norm(x, 9, rng);  // opsets before 14: asking for the statistics means training
  saved.outputs = 5;
  EXPECT_EQ(chosen(saved), "reference");
  EXPECT_EQ(chosen(batch_norm(x, 6, rng)), "reference");  // is_test defaults to 0
  EXPECT_EQ(chosen(batch_norm(x, 7, rng, {Attribute::of_int("spatial", 0)})), "reference");  // per-element params
  for (size_t i = 1; i < 5; ++i) {
    NodeCase fed = batch_norm(x, 15, rng);
    fed.constant[i] = false;
    EXPECT_EQ(chosen(fed), "reference") << "input " << i << " not constant";
  }
  NodeCase f64 = batch_norm(x, 15, rng);
  f64.inputs[0] = random_tensor(x, rng, -1.f, 1.f, DType::Float64);
  EXPECT_EQ(chosen(f64), "reference");
}

// ---------------------------------------------------------------------------------------------------- InstanceNorm

NodeCase instance_norm(const Shape& x, std::mt19937& rng, float offset = 0.f, bool constant_params = false) {
  return NodeCase{.op = "InstanceNormalization",
                  .opset = 6,
                  .inputs = {random_tensor(x, rng, offset - 2.f, offset + 2.f), random_tensor({x[1]}, rng, 0.5f, 2.f),
                             random_tensor({x[1]}, rng)},
                  .attrs = {Attribute::of_float("epsilon", 1e-5f)},
                  .constant = {false, constant_params, constant_params}};
}

TEST(InstanceNormKernel, MatchesReferenceOnEveryTier) {
  std::mt19937 rng(41);
  for (Isa isa : test::tiers()) {
    std::string want = std::string("f32_instancenorm_") + isa_name(isa);
    int v = 0;
    for (int64_t c : {1, 3, 15, 16, 17, 33, 64})
      for (int64_t s : {1, 7, 8, 9, 17}) {
        ++v;
        Shape x = {v % 3 == 0 ? 2 : 1, c, s, s == 8 ? 5 : s};
        if (s == 1 && v % 2) x = {1, c, 2};  // rank 3
        expect_fast_matches(instance_norm(x, rng, 0.f, v % 2 == 0), isa, want, false,
                            fmt::format("{} x[{}]", isa_name(isa), shape_str(x)));
      }
    expect_fast_matches(instance_norm({1, 3, 2, 9, 17}, rng), isa, want, false, fmt::format("{} rank 5", isa_name(isa)));
    // Long planes (several accumulation blocks) far from zero: the variance must not cancel away.
    expect_fast_matches(instance_norm({1, 3, 256, 257}, rng, 100.f), isa, want, false,
                        fmt::format("{} offset", isa_name(isa)));
    expect_fast_matches(instance_norm({2, 32, 64, 64}, rng, 3.f), isa, want, false, fmt::format("{} large", isa_name(isa)));
  }
}

TEST(InstanceNormKernel, Refusals) {
  std::mt19937 rng(43);
  EXPECT_EQ(chosen(instance_norm({2, 3}, rng)), "reference");
  NodeCase wrong = instance_norm({2, 3, 4}, rng);
  wrong.inputs[1] = random_tensor({4}, rng);
  Outcome o = run_both(top_tier(), wrong);
  EXPECT_EQ(o.kernel, "reference");
  EXPECT_FALSE(o.reference_error.empty());
}

// ---------------------------------------------------------------------------------------------------- timing

// Not run by default (timing is never asserted): --gtest_also_run_disabled_tests --gtest_filter='*NormTiming*'.
TEST(NormTiming, DISABLED_FastVersusReference) {
  std::mt19937 rng(1);
  std::vector<std::pair<NodeCase, bool>> cases = {{batch_norm({1, 64, 112, 112}, 15, rng), true},
                                                  {batch_norm({1, 2048, 7, 7}, 15, rng), true},
                                                  {instance_norm({1, 64, 112, 112}, rng), false}};
  for (auto& [c, channels_last] : cases)
    for (Layout layout : {Layout::Plain, Layout::ChannelsLast})
      for (int threads : {1, 2}) {
        if (layout == Layout::ChannelsLast && !channels_last) continue;
        c.layout = layout;
        c.threads = threads;
        omp_set_num_threads(threads);
        test::print_timing(c, fmt::format("{} {} {}", c.op, shape_str(c.inputs[0].shape()), layout_name(layout)),
                           2.0 * static_cast<double>(c.inputs[0].nbytes()));
      }
}

}  // namespace
}  // namespace hone
