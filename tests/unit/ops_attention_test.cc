// Attention, loss, signal and detection ops: what the conformance corpus does not cover (error cases, edge shapes,
// opset-version differences), on tiny hand-checked graphs.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "hone/hone.h"

namespace hone {
namespace {

Tensor floats(Shape shape, std::vector<float> v) {
  Tensor t(DType::Float32, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), v.size());
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
  return t;
}
Tensor ints(Shape shape, std::vector<int64_t> v) {
  Tensor t(DType::Int64, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}
Tensor int_scalar(int64_t v) { return scalar_tensor(DType::Int64, v); }

struct Input {
  std::string name;  // "" for an omitted optional input
  Tensor value;
  bool constant = false;  // an initializer rather than a fed input
};

// Runs one node of `op` (ai.onnx opset `opset`) on the given inputs; returns its outputs.
std::vector<Tensor> run_op(const std::string& op, int64_t opset, const std::vector<Input>& inputs, int num_outputs,
                           std::vector<Attribute> attrs = {}) {
  Model m;
  m.ir_version = 10;
  m.opset_import = {{"", opset}};
  Node node;
  node.op_type = op;
  node.name = "n";
  node.attributes = std::move(attrs);
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (const Input& in : inputs) {
    node.inputs.push_back(in.name);
    if (in.name.empty()) continue;
    if (in.constant) {
      m.graph.initializers[in.name] = in.value;
    } else {
      m.graph.inputs.push_back({in.name, TypeInfo::tensor(in.value.dtype(), to_sym_shape(in.value.shape())), ""});
      feeds.push_back({in.name, in.value});
    }
  }
  for (int i = 0; i < num_outputs; ++i) {
    node.outputs.push_back("out" + std::to_string(i));
    m.graph.outputs.push_back({"out" + std::to_string(i), TypeInfo{}, ""});
  }
  m.graph.nodes.push_back(node);
  Session s(std::move(m), {.threads = 1});
  return s.run(feeds);
}

Attribute attr_i(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Int;
  a.i = v;
  return a;
}
Attribute attr_f(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Float;
  a.f = v;
  return a;
}
Attribute attr_s(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::String;
  a.s = v;
  return a;
}

void expect_values(const Tensor& t, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(static_cast<size_t>(t.numel()), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(t.get_double(static_cast<int64_t>(i)), want[i], tol) << "at " << i;
}

// ---- Attention ----

TEST(AttentionOp, SingleKeyCopiesValueAndGroupsHeadsByRepeat) {
  // 4 query heads over 2 KV heads, one key each: softmax over one key is 1, so each query head outputs its KV
  // head's value. Heads 0, 1 read KV head 0 and heads 2, 3 read KV head 1 (repeat, not tile).
  Tensor q = floats({1, 4, 1, 1}, {1, 2, 3, 4});
  Tensor k = floats({1, 2, 1, 1}, {1, 1});
  Tensor v = floats({1, 2, 1, 1}, {10, 20});
  auto out = run_op("Attention", 23, {{"q", q}, {"k", k}, {"v", v}}, 1);
  EXPECT_EQ(out[0].shape(), (Shape{1, 4, 1, 1}));
  expect_values(out[0], {10, 10, 20, 20});
}

TEST(AttentionOp, CausalMaskAndScoresByHand) {
  // One head of size 1, two positions, q = k = [1, 2], v = [1, 3], scale 1, causal:
  // row 0 sees key 0 only -> 1; row 1: scores [2, 4] -> softmax weights e^2, e^4.
  Tensor q = floats({1, 1, 2, 1}, {1, 2});
  Tensor v = floats({1, 1, 2, 1}, {1, 3});
  auto out = run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", v}}, 4, {attr_i("is_causal", 1), attr_f("scale", 1.0f)});
  double w = std::exp(4.0) / (std::exp(2.0) + std::exp(4.0));
  expect_values(out[0], {1.0, (1 - w) * 1 + w * 3});
  EXPECT_EQ(out[1].shape(), (Shape{1, 1, 2, 1}));  // present_key = K
  EXPECT_EQ(out[3].get_double(0), 1.0);  // qk output mode 0: raw scores
  EXPECT_EQ(out[3].get_double(1), 2.0);
}

TEST(AttentionOp, FullyMaskedRowIsZeroNotNan) {
  Tensor q = floats({1, 1, 1, 1}, {1});
  Tensor v = floats({1, 1, 1, 1}, {5});
  Tensor mask(DType::Bool, {1, 1});  // all false
  auto out = run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", v}, {"m", mask}}, 1);
  EXPECT_EQ(out[0].get_double(0), 0.0);
}

TEST(AttentionOp, ShortMaskIsPaddedAsMasked) {
  // The mask covers only the first of two keys; the second is masked out, so the output is value 0.
  Tensor q = floats({1, 1, 1, 1}, {1});
  Tensor k = floats({1, 1, 2, 1}, {1, 1});
  Tensor v = floats({1, 1, 2, 1}, {7, 9});
  Tensor mask = floats({1, 1}, {0});
  auto out = run_op("Attention", 23, {{"q", q}, {"k", k}, {"v", v}, {"m", mask}}, 1);
  expect_values(out[0], {7});
}

TEST(AttentionOp, ThreeDInputsNeedHeadCounts) {
  Tensor q = floats({1, 1, 2}, {1, 2});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", q}}, 1), Error);
  auto out = run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", q}}, 1, {attr_i("q_num_heads", 2), attr_i("kv_num_heads", 2)});
  expect_values(out[0], {1, 2});  // one key per head: output = value
}

TEST(AttentionOp, RejectsBadShapesAndInputs) {
  Tensor q4 = floats({1, 3, 1, 2}, {1, 2, 3, 4, 5, 6});
  Tensor k4 = floats({1, 2, 1, 2}, {1, 2, 3, 4});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q4}, {"k", k4}, {"v", k4}}, 1), Error);  // 3 heads over 2
  Tensor k3 = floats({1, 1, 2}, {1, 2});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q4}, {"k", k3}, {"v", k3}}, 1), Error);  // mixed ranks
  Tensor q = floats({1, 1, 2, 1}, {1, 2});
  Tensor bad_mask = floats({3, 2}, {0, 0, 0, 0, 0, 0});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", q}, {"m", bad_mask}}, 1), Error);
  Tensor seqlen = ints({1}, {5});
  EXPECT_THROW(run_op("Attention", 24, {{"q", q}, {"k", q}, {"v", q}, {""}, {""}, {""}, {"s", seqlen}}, 1), Error);
  Tensor ok_len = ints({1}, {1});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", q}, {""}, {""}, {""}, {"s", ok_len}}, 1), Error);
  auto out = run_op("Attention", 24, {{"q", q}, {"k", q}, {"v", q}, {""}, {""}, {""}, {"s", ok_len}}, 1);
  expect_values(out[0], {1, 1});  // only key 0 is valid
}

TEST(AttentionOp, PastKeyWithoutPastValueThrows) {
  Tensor q = floats({1, 1, 1, 1}, {1});
  EXPECT_THROW(run_op("Attention", 23, {{"q", q}, {"k", q}, {"v", q}, {""}, {"pk", q}}, 3), Error);
}

// ---- RotaryEmbedding ----

TEST(RotaryEmbeddingOp, QuarterTurnAndBadPositionIds) {
  // cos = 0, sin = 1 rotates (x1, x2) to (-x2, x1); head 2 (one pair), non-interleaved.
  Tensor x = floats({1, 1, 1, 2}, {3, 4});
  Tensor c = floats({2, 1}, {1, 0});
  Tensor s = floats({2, 1}, {0, 1});
  auto out = run_op("RotaryEmbedding", 23, {{"x", x}, {"c", c}, {"s", s}, {"p", ints({1, 1}, {1})}}, 1);
  expect_values(out[0], {-4, 3});
  EXPECT_THROW(run_op("RotaryEmbedding", 23, {{"x", x}, {"c", c}, {"s", s}, {"p", ints({1, 1}, {2})}}, 1), Error);
  EXPECT_THROW(run_op("RotaryEmbedding", 23, {{"x", x}, {"c", c}, {"s", s}, {"p", ints({1, 1}, {0})}}, 1,
                      {attr_i("rotary_embedding_dim", 3)}),
               Error);
}

// ---- Losses ----

TEST(LossOps, NllReductionsByHand) {
  Tensor x = floats({2, 3}, {-1, -2, -3, -4, -5, -6});
  Tensor t = ints({2}, {2, 0});
  Tensor w = floats({3}, {1, 1, 3});
  expect_values(run_op("NegativeLogLikelihoodLoss", 13, {{"x", x}, {"t", t}}, 1, {attr_s("reduction", "none")})[0], {3, 4});
  expect_values(run_op("NegativeLogLikelihoodLoss", 13, {{"x", x}, {"t", t}}, 1, {attr_s("reduction", "sum")})[0], {7});
  // weighted mean: (3 * 3 + 1 * 4) / (3 + 1)
  expect_values(run_op("NegativeLogLikelihoodLoss", 13, {{"x", x}, {"t", t}, {"w", w}}, 1)[0], {13.0 / 4});
  // ignore_index drops the element from the sum and from the mean's denominator
  expect_values(run_op("NegativeLogLikelihoodLoss", 22, {{"x", x}, {"t", t}}, 1, {attr_i("ignore_index", 0)})[0], {3});
}

TEST(LossOps, RejectsOutOfRangeTargetsAndBadReduction) {
  Tensor x = floats({1, 2}, {-1, -2});
  EXPECT_THROW(run_op("NegativeLogLikelihoodLoss", 13, {{"x", x}, {"t", ints({1}, {2})}}, 1), Error);
  EXPECT_THROW(run_op("SoftmaxCrossEntropyLoss", 13, {{"x", x}, {"t", ints({1}, {-1})}}, 1), Error);
  EXPECT_THROW(run_op("SoftmaxCrossEntropyLoss", 13, {{"x", x}, {"t", ints({1}, {0})}}, 1, {attr_s("reduction", "avg")}), Error);
  EXPECT_THROW(run_op("SoftmaxCrossEntropyLoss", 13, {{"x", x}, {"t", ints({2}, {0, 0})}}, 1), Error);
}

TEST(LossOps, SoftmaxCrossEntropyWithLogProb) {
  Tensor x = floats({1, 2}, {0, 0});
  auto out = run_op("SoftmaxCrossEntropyLoss", 12, {{"x", x}, {"t", ints({1}, {1})}}, 2);
  expect_values(out[0], {std::log(2.0)});
  EXPECT_EQ(out[0].rank(), 0);
  expect_values(out[1], {-std::log(2.0), -std::log(2.0)});
}

// ---- Signal ----

TEST(SignalOps, DftAxisAttributeVsInputAndRoundTrip) {
  // [1, 4, 1] real signal; opset 17 takes axis as an attribute (default 1), opset 20 as an input (default -2).
  Tensor x = floats({1, 4, 1}, {1, 2, 3, 4});
  auto f17 = run_op("DFT", 17, {{"x", x}}, 1);
  auto f20 = run_op("DFT", 20, {{"x", x}}, 1);
  std::vector<double> want = {10, 0, -2, 2, -2, 0, -2, -2};
  expect_values(f17[0], want);
  expect_values(f20[0], want);
  auto back = run_op("DFT", 20, {{"x", f20[0]}}, 1, {attr_i("inverse", 1)});
  expect_values(back[0], {1, 0, 2, 0, 3, 0, 4, 0});
  auto half = run_op("DFT", 20, {{"x", x}}, 1, {attr_i("onesided", 1)});
  EXPECT_EQ(half[0].shape(), (Shape{1, 3, 2}));
  auto real = run_op("DFT", 20, {{"x", half[0]}}, 1, {attr_i("inverse", 1), attr_i("onesided", 1)});
  EXPECT_EQ(real[0].shape(), (Shape{1, 4, 1}));
  expect_values(real[0], {1, 2, 3, 4});
  // zero padding through dft_length
  auto padded = run_op("DFT", 20, {{"x", x}, {"n", int_scalar(8), true}}, 1);
  EXPECT_EQ(padded[0].shape(), (Shape{1, 8, 2}));
  EXPECT_NEAR(padded[0].get_double(0), 10, 1e-5);
  // axis -1 is the complex dimension: invalid
  EXPECT_THROW(run_op("DFT", 20, {{"x", x}, {""}, {"a", int_scalar(-1), true}}, 1), Error);
  EXPECT_THROW(run_op("DFT", 17, {{"x", x}}, 1, {attr_i("axis", 2)}), Error);
}

TEST(SignalOps, WindowsAndEdges) {
  auto hann = run_op("HannWindow", 17, {{"n", int_scalar(4)}}, 1);
  expect_values(hann[0], {0, 0.5, 1, 0.5});
  auto sym = run_op("HammingWindow", 17, {{"n", int_scalar(3)}}, 1, {attr_i("periodic", 0), attr_i("output_datatype", 11)});
  EXPECT_EQ(sym[0].dtype(), DType::Float64);
  expect_values(sym[0], {4.0 / 46, 1, 4.0 / 46}, 1e-12);
  auto empty = run_op("BlackmanWindow", 17, {{"n", int_scalar(0)}}, 1);
  EXPECT_EQ(empty[0].shape(), (Shape{0}));
  EXPECT_THROW(run_op("HannWindow", 17, {{"n", int_scalar(-1)}}, 1), Error);
  EXPECT_THROW(run_op("HannWindow", 17, {{"n", int_scalar(4)}}, 1, {attr_i("output_datatype", 8)}), Error);
}

TEST(SignalOps, StftFramesAndErrors) {
  Tensor x = floats({1, 6, 1}, {1, 1, 1, 1, 1, 1});
  auto out = run_op("STFT", 17, {{"x", x}, {"step", int_scalar(2), true}, {""}, {"len", int_scalar(4), true}}, 1);
  EXPECT_EQ(out[0].shape(), (Shape{1, 2, 3, 2}));
  expect_values(out[0], {4, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0});
  EXPECT_THROW(run_op("STFT", 17, {{"x", x}, {"step", int_scalar(2)}, {""}, {"len", int_scalar(7)}}, 1), Error);
  EXPECT_THROW(run_op("STFT", 17, {{"x", x}, {"step", int_scalar(0)}, {""}, {"len", int_scalar(4)}}, 1), Error);
}

// ---- Detection ----

TEST(DetectionOps, NmsDefaultsToNoBoxesAndValidatesShapes) {
  Tensor boxes = floats({1, 2, 4}, {0, 0, 1, 1, 0, 0, 1, 1});
  Tensor scores = floats({1, 1, 2}, {0.9f, 0.8f});
  auto none = run_op("NonMaxSuppression", 11, {{"b", boxes}, {"s", scores}}, 1);
  EXPECT_EQ(none[0].shape(), (Shape{0, 3}));
  auto one = run_op("NonMaxSuppression", 11, {{"b", boxes}, {"s", scores}, {"m", int_scalar(5)}, {"iou", floats({1}, {0.5f})}}, 1);
  EXPECT_EQ(one[0].shape(), (Shape{1, 3}));
  expect_values(one[0], {0, 0, 0});
  EXPECT_THROW(run_op("NonMaxSuppression", 11, {{"b", boxes}, {"s", floats({1, 1, 3}, {1, 2, 3})}}, 1), Error);
}

TEST(DetectionOps, RoiAlignOpsetDefaultsAndBadBatchIndex) {
  // A 2x2 ramp image; one ROI over the whole image, 1x1 output, one sample at the ROI centre.
  Tensor x = floats({1, 1, 2, 2}, {0, 1, 2, 3});
  Tensor rois = floats({1, 4}, {0, 0, 2, 2});
  std::vector<Attribute> attrs = {attr_i("sampling_ratio", 1)};
  // opset 10 (output_half_pixel): centre (1, 1) -> clamped corner value 3; opset 16 (half_pixel): centre
  // (0.5, 0.5) -> bilinear mean 1.5.
  expect_values(run_op("RoiAlign", 10, {{"x", x}, {"r", rois}, {"b", ints({1}, {0})}}, 1, attrs)[0], {3});
  expect_values(run_op("RoiAlign", 16, {{"x", x}, {"r", rois}, {"b", ints({1}, {0})}}, 1, attrs)[0], {1.5});
  EXPECT_THROW(run_op("RoiAlign", 16, {{"x", x}, {"r", rois}, {"b", ints({1}, {1})}}, 1, attrs), Error);
  EXPECT_THROW(run_op("RoiAlign", 16, {{"x", x}, {"r", rois}, {"b", ints({1}, {0})}}, 1, {attr_s("mode", "min")}), Error);
}

// ---- Opset 27/28 ops ----

TEST(RecurrentOps, CausalConvKernelOneHasEmptyStateAndLinearAttentionChecksInputs) {
  Tensor x = floats({1, 1, 3}, {1, 2, 3});
  auto out = run_op("CausalConvWithState", 27, {{"x", x}, {"w", floats({1, 1, 1}, {2})}}, 2);
  expect_values(out[0], {2, 4, 6});
  EXPECT_EQ(out[1].shape(), (Shape{1, 1, 0}));
  Tensor q = floats({1, 1, 2}, {1, 1});
  // gated_delta (the default) needs decay and beta
  EXPECT_THROW(run_op("LinearAttention", 27, {{"q", q}, {"k", q}, {"v", q}}, 2, {attr_i("q_num_heads", 1), attr_i("kv_num_heads", 1)}),
               Error);
  // linear rule, one step: S = k v^T = [[1, 1], [1, 1]], output = q^T S / sqrt(2)
  auto la = run_op("LinearAttention", 27, {{"q", q}, {"k", q}, {"v", q}}, 2,
                   {attr_i("q_num_heads", 1), attr_i("kv_num_heads", 1), attr_s("update_rule", "linear")});
  expect_values(la[0], {2 / std::sqrt(2.0), 2 / std::sqrt(2.0)});
  expect_values(la[1], {1, 1, 1, 1});
}

TEST(RecurrentOps, SwiGluBroadcasts) {
  auto out = run_op("SwiGLU", 28, {{"a", floats({2}, {0, 1})}, {"b", floats({}, {2})}}, 1);
  expect_values(out[0], {0, 2 / (1 + std::exp(-1.0))});
}

}  // namespace
}  // namespace hone
