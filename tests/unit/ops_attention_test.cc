// Attention, loss, signal and detection ops: what the conformance corpus does not cover (error cases, edge shapes,
// opset-version differences), on tiny hand-checked graphs.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "op_test_util.h"

namespace hone::test {
namespace {

// ---- Attention ----

TEST(AttentionOp, SingleKeyCopiesValueAndGroupsHeadsByRepeat) {
  // 4 query heads over 2 KV heads, one key each: softmax over one key is 1, so each query head outputs its KV
  // head's value. Heads 0, 1 read KV head 0 and heads 2, 3 read KV head 1 (repeat, not tile).
  Tensor q = f32({1, 4, 1, 1}, {1, 2, 3, 4});
  Tensor k = f32({1, 2, 1, 1}, {1, 1});
  Tensor v = f32({1, 2, 1, 1}, {10, 20});
  auto out = run_op("Attention", 23, {{"q", q}, {"k", k}, {"v", v}});
  EXPECT_EQ(out[0].shape(), (Shape{1, 4, 1, 1}));
  expect_values(out[0], {10, 10, 20, 20});
}

TEST(AttentionOp, CausalMaskAndScoresByHand) {
  // One head of size 1, two positions, q = k = [1, 2], v = [1, 3], scale 1, causal:
  // row 0 sees key 0 only -> 1; row 1: scores [2, 4] -> softmax weights e^2, e^4.
  Tensor q = f32({1, 1, 2, 1}, {1, 2});
  Tensor v = f32({1, 1, 2, 1}, {1, 3});
  auto out = run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", v}},
                    {Attribute::of_int("is_causal", 1), Attribute::of_float("scale", 1.0f)}, 4);
  double w = std::exp(4.0) / (std::exp(2.0) + std::exp(4.0));
  expect_values(out[0], {1.0, (1 - w) * 1 + w * 3});
  EXPECT_EQ(out[1].shape(), (Shape{1, 1, 2, 1}));  // present_key = K
  EXPECT_EQ(out[3].get_double(0), 1.0);  // qk output mode 0: raw scores
  EXPECT_EQ(out[3].get_double(1), 2.0);
}

TEST(AttentionOp, FullyMaskedRowIsZeroNotNan) {
  Tensor q = f32({1, 1, 1, 1}, {1});
  Tensor v = f32({1, 1, 1, 1}, {5});
  Tensor mask(DType::Bool, {1, 1});  // all false
  auto out = run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", v}, {"m", mask}});
  EXPECT_EQ(out[0].get_double(0), 0.0);
}

TEST(AttentionOp, ShortMaskIsPaddedAsMasked) {
  // The mask covers only the first of two keys; the second is masked out, so the output is value 0.
  Tensor q = f32({1, 1, 1, 1}, {1});
  Tensor k = f32({1, 1, 2, 1}, {1, 1});
  Tensor v = f32({1, 1, 2, 1}, {7, 9});
  Tensor mask = f32({1, 1}, {0});
  auto out = run_op("Attention", 23, {{"q", q}, {"k", k}, {"v", v}, {"m", mask}});
  expect_values(out[0], {7});
}

TEST(AttentionOp, ThreeDInputsNeedHeadCounts) {
  Tensor q = f32({1, 1, 2}, {1, 2});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", q}}), Error);
  auto out = run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", q}},
                    {Attribute::of_int("q_num_heads", 2), Attribute::of_int("kv_num_heads", 2)});
  expect_values(out[0], {1, 2});  // one key per head: output = value
}

TEST(AttentionOp, RejectsBadShapesAndInputs) {
  Tensor q4 = f32({1, 3, 1, 2}, {1, 2, 3, 4, 5, 6});
  Tensor k4 = f32({1, 2, 1, 2}, {1, 2, 3, 4});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q4}, {"k", k4}, {"v", k4}}), Error);  // 3 heads over 2
  Tensor k3 = f32({1, 1, 2}, {1, 2});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q4}, {"k", k3}, {"v", k3}}), Error);  // mixed ranks
  Tensor q = f32({1, 1, 2, 1}, {1, 2});
  Tensor bad_mask = f32({3, 2}, {0, 0, 0, 0, 0, 0});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", q}, {"m", bad_mask}}), Error);
  Tensor seqlen = i64({1}, {5});
  EXPECT_THROW(run_op("Attention", 24, {{"q", q}, {"k", q}, {"v", q}, {""}, {""}, {""}, {"s", seqlen}}), Error);
  Tensor ok_len = i64({1}, {1});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", q}, {""}, {""}, {""}, {"s", ok_len}}), Error);
  auto out = run_op("Attention", 24, {{"q", q}, {"k", q}, {"v", q}, {""}, {""}, {""}, {"s", ok_len}});
  expect_values(out[0], {1, 1});  // only key 0 is valid
}

TEST(AttentionOp, PastKeyWithoutPastValueThrows) {
  Tensor q = f32({1, 1, 1, 1}, {1});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", q}, {""}, {"pk", q}}, {}, 3), Error);
}

// ---- RotaryEmbedding ----

TEST(RotaryEmbeddingOp, QuarterTurnAndBadPositionIds) {
  // cos = 0, sin = 1 rotates (x1, x2) to (-x2, x1); head 2 (one pair), non-interleaved.
  Tensor x = f32({1, 1, 1, 2}, {3, 4});
  Tensor c = f32({2, 1}, {1, 0});
  Tensor s = f32({2, 1}, {0, 1});
  auto out = run_op("RotaryEmbedding", 23, {{"x", x}, {"c", c}, {"s", s}, {"p", i64({1, 1}, {1})}});
  expect_values(out[0], {-4, 3});
  EXPECT_THROW(run_op("RotaryEmbedding", 23, {{"x", x}, {"c", c}, {"s", s}, {"p", i64({1, 1}, {2})}}), Error);
  EXPECT_THROW(run_op("RotaryEmbedding", 23, {{"x", x}, {"c", c}, {"s", s}, {"p", i64({1, 1}, {0})}},
                      {Attribute::of_int("rotary_embedding_dim", 3)}),
               Error);
}

// ---- Losses ----

TEST(LossOps, NllReductionsByHand) {
  Tensor x = f32({2, 3}, {-1, -2, -3, -4, -5, -6});
  Tensor t = i64({2}, {2, 0});
  Tensor w = f32({3}, {1, 1, 3});
  expect_values(
      run_op("NegativeLogLikelihoodLoss", 13, {{"x", x}, {"t", t}}, {Attribute::of_string("reduction", "none")})[0],
      {3, 4});
  expect_values(
      run_op("NegativeLogLikelihoodLoss", 13, {{"x", x}, {"t", t}}, {Attribute::of_string("reduction", "sum")})[0],
      {7});
  // weighted mean: (3 * 3 + 1 * 4) / (3 + 1)
  expect_values(run_op("NegativeLogLikelihoodLoss", 13, {{"x", x}, {"t", t}, {"w", w}})[0], {13.0 / 4});
  // ignore_index drops the element from the sum and from the mean's denominator
  expect_values(
      run_op("NegativeLogLikelihoodLoss", 22, {{"x", x}, {"t", t}}, {Attribute::of_int("ignore_index", 0)})[0], {3});
}

TEST(LossOps, RejectsOutOfRangeTargetsAndBadReduction) {
  Tensor x = f32({1, 2}, {-1, -2});
  EXPECT_THROW(run_op("NegativeLogLikelihoodLoss", 13, {{"x", x}, {"t", i64({1}, {2})}}), Error);
  EXPECT_THROW(run_op("SoftmaxCrossEntropyLoss", 13, {{"x", x}, {"t", i64({1}, {-1})}}), Error);
  EXPECT_THROW(run_op("SoftmaxCrossEntropyLoss", 13, {{"x", x}, {"t", i64({1}, {0})}},
                      {Attribute::of_string("reduction", "avg")}),
               Error);
  EXPECT_THROW(run_op("SoftmaxCrossEntropyLoss", 13, {{"x", x}, {"t", i64({2}, {0, 0})}}), Error);
}

TEST(LossOps, SoftmaxCrossEntropyWithLogProb) {
  Tensor x = f32({1, 2}, {0, 0});
  auto out = run_op("SoftmaxCrossEntropyLoss", 12, {{"x", x}, {"t", i64({1}, {1})}}, {}, 2);
  expect_values(out[0], {std::log(2.0)});
  EXPECT_EQ(out[0].rank(), 0);
  expect_values(out[1], {-std::log(2.0), -std::log(2.0)});
}

// ---- Signal ----

TEST(SignalOps, DftAxisAttributeVsInputAndRoundTrip) {
  // [1, 4, 1] real signal; opset 17 takes axis as an attribute (default 1), opset 20 as an input (default -2).
  Tensor x = f32({1, 4, 1}, {1, 2, 3, 4});
  auto f17 = run_op("DFT", 17, {{"x", x}});
  auto f20 = run_op("DFT", 20, {{"x", x}});
  std::vector<double> want = {10, 0, -2, 2, -2, 0, -2, -2};
  expect_values(f17[0], want);
  expect_values(f20[0], want);
  auto back = run_op("DFT", 20, {{"x", f20[0]}}, {Attribute::of_int("inverse", 1)});
  expect_values(back[0], {1, 0, 2, 0, 3, 0, 4, 0});
  auto half = run_op("DFT", 20, {{"x", x}}, {Attribute::of_int("onesided", 1)});
  EXPECT_EQ(half[0].shape(), (Shape{1, 3, 2}));
  auto real = run_op("DFT", 20, {{"x", half[0]}}, {Attribute::of_int("inverse", 1), Attribute::of_int("onesided", 1)});
  EXPECT_EQ(real[0].shape(), (Shape{1, 4, 1}));
  expect_values(real[0], {1, 2, 3, 4});
  // zero padding through dft_length
  auto padded = run_op("DFT", 20, {{"x", x}, {"n", i64({}, {8}), true}});
  EXPECT_EQ(padded[0].shape(), (Shape{1, 8, 2}));
  EXPECT_NEAR(padded[0].get_double(0), 10, 1e-5);
  // axis -1 is the complex dimension: invalid
  EXPECT_THROW(run_op("DFT", 20, {{"x", x}, {""}, {"a", i64({}, {-1}), true}}), Error);
  EXPECT_THROW(run_op("DFT", 17, {{"x", x}}, {Attribute::of_int("axis", 2)}), Error);
}

TEST(SignalOps, WindowsAndEdges) {
  auto hann = run_op("HannWindow", 17, {{"n", i64({}, {4})}});
  expect_values(hann[0], {0, 0.5, 1, 0.5});
  auto sym = run_op("HammingWindow", 17, {{"n", i64({}, {3})}},
                    {Attribute::of_int("periodic", 0), Attribute::of_int("output_datatype", 11)});
  EXPECT_EQ(sym[0].dtype(), DType::Float64);
  expect_values(sym[0], {4.0 / 46, 1, 4.0 / 46}, 1e-12);
  auto empty = run_op("BlackmanWindow", 17, {{"n", i64({}, {0})}});
  EXPECT_EQ(empty[0].shape(), (Shape{0}));
  EXPECT_THROW(run_op("HannWindow", 17, {{"n", i64({}, {-1})}}), Error);
  EXPECT_THROW(run_op("HannWindow", 17, {{"n", i64({}, {4})}}, {Attribute::of_int("output_datatype", 8)}), Error);
}

TEST(SignalOps, StftFramesAndErrors) {
  Tensor x = f32({1, 6, 1}, {1, 1, 1, 1, 1, 1});
  auto out = run_op("STFT", 17, {{"x", x}, {"step", i64({}, {2}), true}, {""}, {"len", i64({}, {4}), true}});
  EXPECT_EQ(out[0].shape(), (Shape{1, 2, 3, 2}));
  expect_values(out[0], {4, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0});
  EXPECT_THROW(run_op("STFT", 17, {{"x", x}, {"step", i64({}, {2})}, {""}, {"len", i64({}, {7})}}), Error);
  EXPECT_THROW(run_op("STFT", 17, {{"x", x}, {"step", i64({}, {0})}, {""}, {"len", i64({}, {4})}}), Error);
}

// ---- Detection ----

TEST(DetectionOps, NmsDefaultsToNoBoxesAndValidatesShapes) {
  Tensor boxes = f32({1, 2, 4}, {0, 0, 1, 1, 0, 0, 1, 1});
  Tensor scores = f32({1, 1, 2}, {0.9f, 0.8f});
  auto none = run_op("NonMaxSuppression", 11, {{"b", boxes}, {"s", scores}});
  EXPECT_EQ(none[0].shape(), (Shape{0, 3}));
  auto one =
      run_op("NonMaxSuppression", 11, {{"b", boxes}, {"s", scores}, {"m", i64({}, {5})}, {"iou", f32({1}, {0.5f})}});
  EXPECT_EQ(one[0].shape(), (Shape{1, 3}));
  expect_values(one[0], {0, 0, 0});
  EXPECT_THROW(run_op("NonMaxSuppression", 11, {{"b", boxes}, {"s", f32({1, 1, 3}, {1, 2, 3})}}), Error);
}

TEST(DetectionOps, RoiAlignOpsetDefaultsAndBadBatchIndex) {
  // A 2x2 ramp image; one ROI over the whole image, 1x1 output, one sample at the ROI centre.
  Tensor x = f32({1, 1, 2, 2}, {0, 1, 2, 3});
  Tensor rois = f32({1, 4}, {0, 0, 2, 2});
  std::vector<Attribute> attrs = {Attribute::of_int("sampling_ratio", 1)};
  // opset 10 (output_half_pixel): centre (1, 1) -> clamped corner value 3; opset 16 (half_pixel): centre
  // (0.5, 0.5) -> bilinear mean 1.5.
  expect_values(run_op("RoiAlign", 10, {{"x", x}, {"r", rois}, {"b", i64({1}, {0})}}, attrs)[0], {3});
  expect_values(run_op("RoiAlign", 16, {{"x", x}, {"r", rois}, {"b", i64({1}, {0})}}, attrs)[0], {1.5});
  EXPECT_THROW(run_op("RoiAlign", 16, {{"x", x}, {"r", rois}, {"b", i64({1}, {1})}}, attrs), Error);
  EXPECT_THROW(
      run_op("RoiAlign", 16, {{"x", x}, {"r", rois}, {"b", i64({1}, {0})}}, {Attribute::of_string("mode", "min")}),
      Error);
}

// ---- Opset 27/28 ops ----

TEST(RecurrentOps, CausalConvKernelOneHasEmptyStateAndLinearAttentionChecksInputs) {
  Tensor x = f32({1, 1, 3}, {1, 2, 3});
  auto out = run_op("CausalConvWithState", 27, {{"x", x}, {"w", f32({1, 1, 1}, {2})}}, {}, 2);
  expect_values(out[0], {2, 4, 6});
  EXPECT_EQ(out[1].shape(), (Shape{1, 1, 0}));
  Tensor q = f32({1, 1, 2}, {1, 1});
  // gated_delta (the default) needs decay and beta
  EXPECT_THROW(run_op("LinearAttention", 27, {{"q", q}, {"k", q}, {"v", q}},
                      {Attribute::of_int("q_num_heads", 1), Attribute::of_int("kv_num_heads", 1)}, 2),
               Error);
  // linear rule, one step: S = k v^T = [[1, 1], [1, 1]], output = q^T S / sqrt(2)
  auto la = run_op("LinearAttention", 27, {{"q", q}, {"k", q}, {"v", q}},
                   {Attribute::of_int("q_num_heads", 1), Attribute::of_int("kv_num_heads", 1),
                    Attribute::of_string("update_rule", "linear")},
                   2);
  expect_values(la[0], {2 / std::sqrt(2.0), 2 / std::sqrt(2.0)});
  expect_values(la[1], {1, 1, 1, 1});
}

TEST(RecurrentOps, SwiGluBroadcasts) {
  auto out = run_op("SwiGLU", 28, {{"a", f32({2}, {0, 1})}, {"b", f32({}, {2})}});
  expect_values(out[0], {0, 2 / (1 + std::exp(-1.0))});
}

}  // namespace
}  // namespace hone
