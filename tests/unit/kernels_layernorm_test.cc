// Hone's vectorized LayerNormalization against the reference kernel (which computes in double), on every ISA tier
// this machine has: row lengths 1..4096 around vector widths, every axis, constant and fed Scale / B (broadcast
// ones too), no B, the Mean and InvStdDev outputs, rows whose mean is far from zero. Results within 1e-5 relative.
#include <gtest/gtest.h>

#include "kernel_test_util.h"

namespace hone {
namespace {

using test::expect_fast;
using test::expect_near;
using test::float_attr;
using test::int_attr;
using test::label;
using test::NodeCase;
using test::Outcome;
using test::random_f32;
using test::tiers;

// |fast - reference| <= 1e-5 * (|reference| + 1) for each output.
void expect_layer_norm(const Outcome& o, const std::string& what) {
  for (size_t k = 0; k < o.reference.size(); ++k)
    expect_near(o, 1e-5, what + " output " + std::to_string(k),
                std::vector<double>(static_cast<size_t>(o.reference[k].numel()), 1.0), k);
}

NodeCase layer_norm(const Tensor& x, const Tensor& scale, const Tensor* bias, int64_t axis, bool constant_params,
                    size_t outputs = 1) {
  NodeCase c{.op = "LayerNormalization", .opset = 17, .inputs = {x, scale}, .attrs = {int_attr("axis", axis)},
             .constant = {false, constant_params}, .outputs = outputs};
  if (bias) {
    c.inputs.push_back(*bias);
    c.constant.push_back(constant_params);
  }
  return c;
}

TEST(KernelsLayerNorm, RowsMatchReference) {
  for (Isa isa : tiers())
    for (int64_t n : {1, 2, 7, 15, 16, 17, 31, 33, 64, 255, 1000, 4096})
      for (int64_t rows : {1, 3})
        for (bool constant : {true, false})
          for (bool with_bias : {true, false}) {
            Shape s = {rows, n};
            Tensor x = random_f32(s, -3, 3, 101 + static_cast<uint32_t>(n), false);
            Tensor scale = random_f32({n}, 0.5f, 2, 102, false), bias = random_f32({n}, -1, 1, 103, false);
            NodeCase c = layer_norm(x, scale, with_bias ? &bias : nullptr, -1, constant, 3);
            std::string what = label(isa, "LayerNormalization", s, std::string(constant ? "constant" : "fed") +
                                                                       (with_bias ? " with B" : " no B"));
            Outcome o = test::run_both(isa, c);
            expect_fast(o, isa, what);
            expect_layer_norm(o, what);
          }
}

TEST(KernelsLayerNorm, AxesAndBroadcastParams) {
  Shape s = {2, 3, 5, 7};
  for (Isa isa : tiers())
    for (int64_t axis : {0, 1, 2, 3, -1, -2})
      for (bool constant : {true, false}) {
        int64_t a = axis < 0 ? axis + 4 : axis;
        Shape norm(s.begin() + a, s.end());
        Tensor x = random_f32(s, -2, 2, 111, false);
        Tensor scale = random_f32(norm, 0.5f, 2, 112, false), bias = random_f32(norm, -1, 1, 113, false);
        NodeCase c = layer_norm(x, scale, &bias, axis, constant, 3);
        std::string what = label(isa, "LayerNormalization", s, "axis " + std::to_string(axis));
        Outcome o = test::run_both(isa, c);
        expect_fast(o, isa, what);
        expect_layer_norm(o, what);
        if (!constant) continue;
        // Constant parameters that broadcast to the normalized shape: expanded at plan time.
        Tensor one = random_f32({1}, 0.5f, 2, 114, false), last = random_f32({7}, -1, 1, 115, false);
        o = test::run_both(isa, layer_norm(x, one, &last, axis, true));
        expect_fast(o, isa, what + " broadcast params");
        expect_layer_norm(o, what + " broadcast params");
      }
  // A fed parameter that would broadcast: the reference.
  Tensor x = random_f32({4, 16}, -1, 1, 116), one = random_f32({1}, 1, 2, 117);
  EXPECT_EQ(test::run_both(test::top_tier(), layer_norm(x, one, nullptr, -1, false)).kernel, "reference");
}

// A mean far from zero (x = 1000 + small noise) and a tiny variance next to epsilon: the statistics stay exact.
TEST(KernelsLayerNorm, OffsetAndEpsilon) {
  for (Isa isa : tiers())
    for (int64_t n : {16, 33, 768}) {
      Tensor x = random_f32({4, n}, -1, 1, 121, false);
      for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] += 1000.0f;
      Tensor scale = random_f32({n}, 0.5f, 2, 122, false), bias = random_f32({n}, -1, 1, 123, false);
      NodeCase c = layer_norm(x, scale, &bias, -1, true, 3);
      Outcome o = test::run_both(isa, c);
      expect_fast(o, isa, label(isa, "LayerNormalization offset", {4, n}));
      expect_layer_norm(o, label(isa, "LayerNormalization offset", {4, n}));
      Tensor flat = random_f32({4, n}, -1e-3f, 1e-3f, 124, false);
      c = layer_norm(flat, scale, &bias, -1, true, 3);
      c.attrs.push_back(float_attr("epsilon", 1e-6f));
      o = test::run_both(isa, c);
      expect_layer_norm(o, label(isa, "LayerNormalization epsilon", {4, n}));
    }
}

TEST(KernelsLayerNorm, ThreadsAndStash) {
  // Enough rows to be split over threads.
  Tensor x = random_f32({512, 384}, -2, 2, 131, false), scale = random_f32({384}, 0.5f, 2, 132, false);
  NodeCase c = layer_norm(x, scale, nullptr, -1, true, 3);
  Outcome o = test::run_both(test::top_tier(), c);
  expect_fast(o, test::top_tier(), "LayerNormalization 512x384");
  expect_layer_norm(o, "LayerNormalization 512x384");
  // Mean / InvStdDev in double: the reference.
  c.attrs.push_back(int_attr("stash_type", 11));
  EXPECT_EQ(test::run_both(test::top_tier(), c).kernel, "reference");
  c.outputs = 1;  // ... unless they are not asked for
  expect_fast(test::run_both(test::top_tier(), c), test::top_tier(), "LayerNormalization stash_type 11, Y only");
}

TEST(KernelsLayerNorm, Timing) {
  for (int threads : {1, 2}) {
    NodeCase c = layer_norm(random_f32({1, 200, 256}, -2, 2, 141, false), random_f32({256}, 0.5f, 2, 142, false),
                            nullptr, -1, true);
    Tensor bias = random_f32({256}, -1, 1, 143, false);
    c.inputs.push_back(bias);
    c.constant.push_back(true);
    c.threads = threads;
    test::print_timing(c, "LayerNormalization 1x200x256 axis -1", 2.0 * 4 * 200 * 256);
  }
}

}  // namespace
}  // namespace hone
