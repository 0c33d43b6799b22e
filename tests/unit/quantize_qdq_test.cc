// The QDQ writer (src/compress/quantize/quant_plan.h, qdq.h, quant_math.h) on small models: the arithmetic of scales,
// zero points, int8 weights and int32 biases against hand-computed values; which nodes and tensors the plan quantizes
// (folded Relu, shared-scale pooling / flatten / concat, residual Add, exclusions); the written graph's structure
// (one pair per tensor, weights and biases behind DequantizeLinear, graph names kept); and its numbers: close to fp32
// in Hone, and ONNX Runtime running the same file agrees with Hone's reference kernels within a quantization step.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "compress/quantize/qdq.h"
#include "compress/quantize/quant_math.h"
#include "compress/quantize/quantize_model.h"
#include "ir/onnx/onnx_io.h"
#include "quantize_test_util.h"

namespace hone::quant {
namespace {

using namespace testing;  // NOLINT
namespace fs = std::filesystem;

TEST(QuantizeMath, ActivationParams) {
  ActivationParams a = activation_params({-1, 3}, false);
  EXPECT_EQ(a.type, DType::UInt8);
  EXPECT_FLOAT_EQ(a.scale, 4.0f / 255);
  EXPECT_EQ(a.zero_point, 64);  // 1 / (4 / 255) = 63.75
  ActivationParams s = activation_params({-1, 3}, true);
  EXPECT_EQ(s.type, DType::Int8);
  EXPECT_FLOAT_EQ(s.scale, 3.0f / 127);
  EXPECT_EQ(s.zero_point, 0);
  // A range not holding 0 is widened to hold it: [2, 5] -> [0, 5].
  ActivationParams w = activation_params({2, 5}, false);
  EXPECT_FLOAT_EQ(w.scale, 5.0f / 255);
  EXPECT_EQ(w.zero_point, 0);
  // An empty range gets scale 1.
  EXPECT_EQ(activation_params({0, 0}, false).scale, 1.0f);
  EXPECT_EQ(activation_params({0, 1e-45}, true).scale, 1.0f);
}

TEST(QuantizeMath, WeightsPerTensorAndPerChannel) {
  Tensor w(DType::Float32, {2, 3});
  float v[] = {127, -254, 63.5f, 0, 0, 0};
  std::copy(v, v + 6, w.data<float>());
  QuantizedWeight pc = quantize_weight(w, 0);
  ASSERT_EQ(pc.scale.shape(), Shape{2});
  EXPECT_FLOAT_EQ(pc.scale.data<float>()[0], 2);
  EXPECT_FLOAT_EQ(pc.scale.data<float>()[1], 1);  // a zero channel
  const int8_t* q = pc.q.data<int8_t>();
  EXPECT_EQ(q[0], 64);    // 63.5 rounds half to even
  EXPECT_EQ(q[1], -127);
  EXPECT_EQ(q[2], 32);    // 31.75
  EXPECT_EQ(q[3], 0);
  EXPECT_EQ(pc.zero_point.dtype(), DType::Int8);
  EXPECT_EQ(pc.zero_point.shape(), Shape{2});
  QuantizedWeight pt = quantize_weight(w, -1);
  EXPECT_EQ(pt.scale.rank(), 0);
  EXPECT_FLOAT_EQ(pt.scale.data<float>()[0], 2);
  // Axis 1 of a [K, N] matrix: one scale per column.
  QuantizedWeight cols = quantize_weight(w, 1);
  ASSERT_EQ(cols.scale.shape(), Shape{3});
  EXPECT_FLOAT_EQ(cols.scale.data<float>()[1], 2);
  EXPECT_EQ(cols.q.data<int8_t>()[1], -127);
  EXPECT_EQ(cols.q.data<int8_t>()[0], 127);
  Tensor bad = w.clone();
  bad.data<float>()[2] = NAN;
  EXPECT_THROW(quantize_weight(bad, 0), Error);
}

TEST(QuantizeMath, BiasInt32WithProductScaleAndClamping) {
  Tensor b(DType::Float32, {2});
  b.data<float>()[0] = 1;
  b.data<float>()[1] = -1000;
  Tensor ws(DType::Float32, {2});
  ws.data<float>()[0] = 2;
  ws.data<float>()[1] = 0.001f;
  QuantizedBias qb = quantize_bias(b, 0.5f, ws);
  EXPECT_EQ(qb.q.dtype(), DType::Int32);
  EXPECT_FLOAT_EQ(qb.scale.data<float>()[0], 1);
  EXPECT_FLOAT_EQ(qb.scale.data<float>()[1], 0.5f * 0.001f);
  EXPECT_EQ(qb.q.data<int32_t>()[0], 1);
  EXPECT_NEAR(qb.q.data<int32_t>()[1], -2000000, 1);
  EXPECT_EQ(qb.clamped, 0);
  b.data<float>()[0] = 1e10f;
  QuantizedBias big = quantize_bias(b, 1, ws);
  EXPECT_EQ(big.clamped, 1);
  EXPECT_EQ(big.q.data<int32_t>()[0], 2147483647);
  // One weight scale: a scalar bias scale.
  QuantizedBias one = quantize_bias(b, 0.25f, Tensor(DType::Float32, {}));
  EXPECT_EQ(one.scale.rank(), 0);
}

// Ranges for every tensor a plan might need, from running the model on random data.
std::map<std::string, Range> ranges_for(const Model& m, const QuantizeConfig& config, const Shape& input_shape,
                                        CalibrationMethod method = CalibrationMethod::MinMax) {
  MemoryDataset data(random_tensor(input_shape, 99));
  CalibrationOptions co{.method = method, .percentile = 99.99, .symmetric = config.symmetric};
  return calibrate(m, config, data, co, {.batch = 4, .threads = 1, .histograms = true, .progress = false, .label = ""});
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

TEST(QuantizePlan, ConvReluPoolFlattenGemm) {
  Model m = cnn_model();
  QuantizeConfig c;
  QuantPlan p = plan_quantization(m, c, {}, nullptr);
  EXPECT_EQ(p.compute, (std::vector<std::string>{"conv", "gemm"}));
  ASSERT_EQ(p.folded.size(), 1u);
  EXPECT_EQ(p.folded.at("relu"), "conv");
  EXPECT_EQ(p.shared, (std::vector<std::string>{"pool", "flatten"}));
  // The input, the Relu's output and what pooling and flattening make of it; not the float graph output.
  EXPECT_EQ(as_set(p.tensors()), (std::set<std::string>{"x", "r", "p", "f"}));
  EXPECT_EQ(p.tensor_group.at("r"), p.tensor_group.at("p"));
  EXPECT_EQ(p.tensor_group.at("p"), p.tensor_group.at("f"));
  EXPECT_NE(p.tensor_group.at("x"), p.tensor_group.at("r"));
  EXPECT_EQ(p.result_tensor.at("conv"), "r");
  EXPECT_EQ(p.result_tensor.at("gemm"), "logits");

  // Symmetric activations: the Relu stays (int8 with zero point 0 cannot clamp at 0), so the conv's own output is
  // quantized, the Relu, pooling and flatten run float, and the Gemm's input gets its own pair.
  c.symmetric = true;
  QuantPlan s = plan_quantization(m, c, {}, nullptr);
  EXPECT_TRUE(s.folded.empty());
  EXPECT_TRUE(s.shared.empty());
  EXPECT_EQ(as_set(s.tensors()), (std::set<std::string>{"x", "c", "f"}));
}

TEST(QuantizePlan, ExclusionsByNameAndOpType) {
  Model m = cnn_model();
  QuantizeConfig c;
  c.exclude = {"gemm"};
  QuantPlan p = plan_quantization(m, c, {}, nullptr);
  EXPECT_EQ(p.compute, std::vector<std::string>{"conv"});
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].node, "gemm");
  EXPECT_EQ(p.skipped[0].reason, "excluded (--exclude)");
  c.exclude = {"Conv"};
  QuantPlan q = plan_quantization(m, c, {}, nullptr);
  EXPECT_EQ(q.compute, std::vector<std::string>{"gemm"});
  // Nothing before the Gemm is quantized any more: pooling and flatten run float and only f is quantized.
  EXPECT_TRUE(q.shared.empty());
  EXPECT_EQ(as_set(q.tensors()), std::set<std::string>{"f"});
  QuantPlan k = plan_quantization(m, QuantizeConfig{}, {"conv"}, nullptr);
  EXPECT_EQ(k.skipped[0].reason, "kept float (accuracy target)");
  EXPECT_NO_THROW(check_exclusions(m.graph, {"conv", "Gemm"}));
  EXPECT_THROW(check_exclusions(m.graph, {"nonesuch"}), Error);
}

TEST(QuantizePlan, ResidualAddIsQuantizedAndItsReluFolded) {
  Model m = residual_model();
  QuantPlan p = plan_quantization(m, {}, {}, nullptr);
  EXPECT_EQ(p.compute, (std::vector<std::string>{"conv_a", "conv_b", "add", "conv_c"}));
  EXPECT_EQ(p.folded.at("relu_a"), "conv_a");
  EXPECT_EQ(p.folded.at("relu_s"), "add");
  // The conv before the Add keeps its own output quantized (the Add reads it), x feeds conv a and the Add.
  EXPECT_EQ(as_set(p.tensors()), (std::set<std::string>{"x", "ar", "b", "sr"}));
}

TEST(QuantizePlan, ConcatSharesItsScaleOnlyWhenThatKeepsFoldedReluExact) {
  Model both = concat_model(true);
  QuantizeConfig c;
  auto r1 = ranges_for(both, c, {4, 2, 6, 6});
  QuantPlan p = plan_quantization(both, c, {}, &r1);
  EXPECT_EQ(p.shared, std::vector<std::string>{"concat"});
  EXPECT_EQ(p.tensor_group.at("lr"), p.tensor_group.at("rr"));
  EXPECT_EQ(p.tensor_group.at("lr"), p.tensor_group.at("cat"));
  EXPECT_EQ(p.group_range[static_cast<size_t>(p.tensor_group.at("cat"))].lo, 0);
  // One branch signed: joining it would move the Relu branch's zero point off 0, so the Concat stays float.
  Model mixed = concat_model(false);
  auto r2 = ranges_for(mixed, c, {4, 2, 6, 6});
  QuantPlan q = plan_quantization(mixed, c, {}, &r2);
  EXPECT_TRUE(q.shared.empty());
  EXPECT_NE(q.tensor_group.at("lr"), q.tensor_group.at("rr"));
  bool noted = false;
  for (const SkippedNode& s : q.skipped) noted = noted || s.node == "concat";
  EXPECT_TRUE(noted);
  // Planned without ranges (to learn what to observe) the Concat may share.
  EXPECT_EQ(plan_quantization(mixed, c, {}, nullptr).shared, std::vector<std::string>{"concat"});
  // Symmetric: nothing is folded, the left Relu runs float, so the Concat has an input no quantized node produces
  // and runs float too; the Relu's output is quantized for the Concat's sake only if something quantized reads it.
  c.symmetric = true;
  auto r3 = ranges_for(mixed, c, {4, 2, 6, 6});
  QuantPlan s = plan_quantization(mixed, c, {}, &r3);
  EXPECT_TRUE(s.shared.empty());
  EXPECT_EQ(as_set(s.tensors()), (std::set<std::string>{"x", "l", "rr", "cat"}));
}

TEST(QuantizePlan, DynamicAndWeightsOnlyPickWeightOps) {
  Model mlp = mlp_model();
  QuantizeConfig d{.mode = QuantMode::Dynamic, .per_channel = false, .symmetric = false, .exclude = {}};
  QuantPlan p = plan_quantization(mlp, d, {}, nullptr);
  EXPECT_EQ(p.compute, (std::vector<std::string>{"fc1", "fc2", "mm"}));
  EXPECT_TRUE(p.tensors().empty());
  Model cnn = cnn_model();
  QuantPlan pc = plan_quantization(cnn, d, {}, nullptr);
  EXPECT_EQ(pc.compute, std::vector<std::string>{"gemm"});
  ASSERT_FALSE(pc.skipped.empty());
  EXPECT_EQ(pc.skipped[0].reason, "dynamic mode quantizes MatMul and Gemm only");
  QuantizeConfig w{.mode = QuantMode::WeightsOnly, .per_channel = true, .symmetric = false, .exclude = {}};
  EXPECT_EQ(plan_quantization(cnn, w, {}, nullptr).compute, (std::vector<std::string>{"conv", "gemm"}));
}

const Node& node_named(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes)
    if (n.name == name) return n;
  throw Error("no node " + name);
}

// Every activation DequantizeLinear reads a QuantizeLinear with the same scale and zero point.
void expect_pairs_well_formed(const Graph& g) {
  for (const Node& dq : g.nodes) {
    if (dq.op_type != "DequantizeLinear") continue;
    const Node* q = find_node_by_output(g, dq.inputs[0]);
    if (!q) {
      EXPECT_TRUE(g.find_initializer(dq.inputs[0])) << dq.name;  // a weight or bias
      continue;
    }
    EXPECT_EQ(q->op_type, "QuantizeLinear") << dq.name;
    EXPECT_EQ(q->inputs[1], dq.inputs[1]) << dq.name;
    EXPECT_EQ(q->inputs[2], dq.inputs[2]) << dq.name;
  }
}

TEST(QuantizeQdq, StaticPerChannelStructure) {
  Model m = cnn_model();
  QuantizeConfig c{.mode = QuantMode::Static, .per_channel = true, .symmetric = false, .exclude = {}};
  auto ranges = ranges_for(m, c, {8, 1, 8, 8});
  QuantPlan plan;
  QuantizedModel q = quantize(m, c, &ranges, {}, &plan);
  const Graph& g = q.model.graph;
  EXPECT_EQ(q.pairs, 4);
  EXPECT_EQ(count_ops(g, "QuantizeLinear"), 4);
  EXPECT_EQ(count_ops(g, "DequantizeLinear"), 8);  // 4 pairs, 2 weights, 2 biases
  EXPECT_EQ(count_ops(g, "Relu"), 0);
  EXPECT_EQ(q.quantized_weights, 2);
  EXPECT_EQ(q.quantized_biases, 2);
  expect_pairs_well_formed(g);
  // Graph inputs and outputs keep their names; the output stays float32 and is the Gemm's own.
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "x");
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "logits");
  EXPECT_EQ(find_node_by_output(g, "logits")->op_type, "Gemm");
  // The conv reads dequantized int8 weights (axis 0) and an int32 bias with scale x_scale * w_scale.
  const Node& conv = node_named(g, "conv");
  const Node* wdq = find_node_by_output(g, conv.inputs[1]);
  ASSERT_TRUE(wdq && wdq->op_type == "DequantizeLinear");
  EXPECT_EQ(wdq->attr_int("axis", -1), 0);
  const Tensor& wq = *g.find_initializer(wdq->inputs[0]);
  EXPECT_EQ(wq.dtype(), DType::Int8);
  EXPECT_EQ(wq.shape(), (Shape{4, 1, 3, 3}));
  EXPECT_EQ(g.find_initializer(wdq->inputs[1])->shape(), Shape{4});
  const Node* bdq = find_node_by_output(g, conv.inputs[2]);
  ASSERT_TRUE(bdq && bdq->op_type == "DequantizeLinear");
  const Tensor& bq = *g.find_initializer(bdq->inputs[0]);
  EXPECT_EQ(bq.dtype(), DType::Int32);
  const Node* xdq = find_node_by_output(g, conv.inputs[0]);
  ASSERT_TRUE(xdq && xdq->op_type == "DequantizeLinear");
  float xs = g.find_initializer(xdq->inputs[1])->data<float>()[0];
  const Tensor& ws = *g.find_initializer(wdq->inputs[1]);
  const Tensor& b = *m.graph.find_initializer("b1");
  for (int k = 0; k < 4; ++k) {
    float s = xs * ws.data<float>()[k];
    EXPECT_FLOAT_EQ(g.find_initializer(bdq->inputs[1])->data<float>()[k], s);
    EXPECT_EQ(bq.data<int32_t>()[k], static_cast<int32_t>(std::nearbyint(b.data<float>()[k] / s)));
  }
  // The pair after the removed Relu has zero point 0 (uint8) and is what pooling reads.
  const Node& pool = node_named(g, "pool");
  EXPECT_EQ(pool.inputs[0], "r");
  const Node* rdq = find_node_by_output(g, "r");
  ASSERT_TRUE(rdq && rdq->op_type == "DequantizeLinear");
  const Tensor& zp = *g.find_initializer(rdq->inputs[2]);
  EXPECT_EQ(zp.dtype(), DType::UInt8);
  EXPECT_EQ(zp.data<uint8_t>()[0], 0);
  // Gemm's weight (transB = 1): per channel along axis 0.
  const Node* gw = find_node_by_output(g, node_named(g, "gemm").inputs[1]);
  EXPECT_EQ(gw->attr_int("axis", -1), 0);
  // Pooling and flatten share the Relu output's scale and zero point.
  const Node* pdq = find_node_by_output(g, node_named(g, "flatten").inputs[0]);
  EXPECT_EQ(pdq->inputs[1], rdq->inputs[1]);
  EXPECT_EQ(pdq->inputs[2], rdq->inputs[2]);
  // The original float weights are gone.
  EXPECT_FALSE(g.find_initializer("w1"));
  EXPECT_FALSE(g.find_initializer("w2"));
}

TEST(QuantizeQdq, SymmetricAndPerTensor) {
  Model m = cnn_model();
  QuantizeConfig c{.mode = QuantMode::Static, .per_channel = false, .symmetric = true, .exclude = {}};
  auto ranges = ranges_for(m, c, {8, 1, 8, 8});
  QuantizedModel q = quantize(m, c, &ranges, {});
  const Graph& g = q.model.graph;
  EXPECT_EQ(count_ops(g, "Relu"), 1);
  for (const Node& n : g.nodes) {
    if (n.op_type == "QuantizeLinear") {
      const Tensor& zp = *g.find_initializer(n.inputs[2]);
      EXPECT_EQ(zp.dtype(), DType::Int8);
      EXPECT_EQ(zp.data<int8_t>()[0], 0);
    }
    if (n.op_type == "DequantizeLinear") EXPECT_FALSE(n.has_attr("axis")) << n.name;
  }
}

// Largest |a - b| over two float tensors of one shape.
double max_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double d = 0;
  for (int64_t i = 0; i < a.numel() && i < b.numel(); ++i)
    d = std::max(d, std::fabs(a.get_double(i) - b.get_double(i)));
  return d;
}

double max_abs(const Tensor& a) {
  double d = 0;
  for (int64_t i = 0; i < a.numel(); ++i) d = std::max(d, std::fabs(a.get_double(i)));
  return d;
}

std::vector<Tensor> run_hone(const Model& m, const Tensor& x, bool reference) {
  Session s(m, {.threads = 1, .optimize_graph = !reference, .reference_kernels = reference});
  std::vector<Value> out = s.run_values({Value::of(x)});
  std::vector<Tensor> t;
  for (Value& v : out) t.push_back(v.tensor);
  return t;
}

TEST(QuantizeQdq, CloseToFp32InHoneAndRoundTripsThroughOnnx) {
  for (auto [model, shape] : {std::pair{cnn_model(), Shape{8, 1, 8, 8}}, std::pair{residual_model(), Shape{8, 4, 6, 6}},
                              std::pair{concat_model(false), Shape{8, 2, 6, 6}}}) {
    for (bool sym : {false, true}) {
      QuantizeConfig c{.mode = QuantMode::Static, .per_channel = true, .symmetric = sym, .exclude = {}};
      auto ranges = ranges_for(model, c, shape);
      QuantizedModel q = quantize(model, c, &ranges, {});
      Model back = load_onnx_bytes(save_onnx_bytes(q.model).data(), save_onnx_bytes(q.model).size(), "", "qdq");
      Tensor x = random_tensor(shape, 5);
      Tensor want = run_hone(model, x, true)[0];
      Tensor got = run_hone(back, x, true)[0];
      // 8-bit activations through three layers: within a few percent of the output's scale.
      EXPECT_LT(max_diff(got, want), 0.05 * max_abs(want)) << model.graph.nodes.size() << " sym " << sym;
      Tensor fast = run_hone(back, x, false)[0];
      // The runtime runs the QDQ patterns as int8 ops that skip roundings the graph makes (an activation or the
      // residual Add fused into the conv before it; passes/fuse_qdq.h): as close to fp32 as the reference kernels,
      // and from them at most what those roundings moved (a few steps at the output's scale).
      EXPECT_LT(max_diff(fast, want), 0.05 * max_abs(want)) << "Hone's lowered run vs fp32";
      EXPECT_LT(max_diff(fast, got), 0.04 * max_abs(want)) << "Hone's lowered run vs its reference kernels";
    }
  }
}

TEST(QuantizeQdq, OnnxRuntimeAgreesWithinAQuantizationStep) {
  if (!ort_available()) GTEST_SKIP() << "node / onnxruntime-node not available";
  fs::path dir = fs::temp_directory_path() / ("hone-qdq-ort-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Model m = residual_model();
  for (bool sym : {false, true}) {
    QuantizeConfig c{.mode = QuantMode::Static, .per_channel = true, .symmetric = sym, .exclude = {}};
    auto ranges = ranges_for(m, c, {8, 4, 6, 6});
    QuantPlan plan;
    QuantizedModel q = quantize(m, c, &ranges, {}, &plan);
    // Expose every dequantized activation, so both runtimes' intermediate values can be compared step by step.
    std::vector<std::string> dq;
    std::map<std::string, float> step;
    for (const Node& n : q.model.graph.nodes)
      if (n.op_type == "DequantizeLinear" && find_node_by_output(q.model.graph, n.inputs[0])) {
        dq.push_back(n.outputs[0]);
        step[n.outputs[0]] = q.model.graph.find_initializer(n.inputs[1])->data<float>()[0];
      }
    Model exposed = with_outputs(q.model, dq);
    std::string file = (dir / (sym ? "sym.onnx" : "asym.onnx")).string();
    save_onnx_file(exposed, file, true);
    Tensor x = random_tensor({2, 4, 6, 6}, 8);
    std::vector<Tensor> ort = run_ort(file, "x", x, dir.string());
    std::vector<Tensor> hone = run_hone(load_onnx_file(file), x, true);
    ASSERT_EQ(ort.size(), hone.size());
    for (size_t k = 1; k < hone.size(); ++k) {
      const std::string& name = exposed.graph.outputs[k].name;
      // Integer accumulation (ONNX Runtime) and float accumulation (Hone's reference) can round an activation to
      // neighbouring levels; never further.
      EXPECT_LE(max_diff(ort[k], hone[k]), step.at(name) * 1.001) << name << " sym " << sym;
    }
    EXPECT_LT(max_diff(ort[0], hone[0]), 0.02 * max_abs(hone[0])) << "final output, sym " << sym;
  }
  fs::remove_all(dir);
}

TEST(QuantizeQdq, WeightsOnly) {
  Model m = cnn_model();
  QuantizeConfig c{.mode = QuantMode::WeightsOnly, .per_channel = true, .symmetric = false, .exclude = {}};
  QuantizedModel q = quantize(m, c, nullptr, {});
  const Graph& g = q.model.graph;
  EXPECT_EQ(count_ops(g, "QuantizeLinear"), 0);
  EXPECT_EQ(count_ops(g, "DequantizeLinear"), 2);
  EXPECT_EQ(count_ops(g, "Relu"), 1);
  EXPECT_TRUE(g.find_initializer("b1"));  // biases stay float
  Tensor x = random_tensor({4, 1, 8, 8}, 6);
  Tensor want = run_hone(m, x, true)[0];
  EXPECT_LT(max_diff(run_hone(q.model, x, true)[0], want), 0.02 * max_abs(want));
}

}  // namespace
}  // namespace hone::quant

namespace hone::quant {
namespace {

// Bias correction: on inputs constant over each channel (no padding, so every output position sees the channel
// means), the corrected layer's output equals fp32's up to float rounding, where the uncorrected one is off by
// dW . E[x]. Conv with groups, Gemm with transB / alpha / beta, and a Conv without a bias (one is added).
TEST(QuantizeQdq, BiasCorrectionCancelsTheMeanWeightError) {
  Model m = empty_model(13);
  Graph& g = m.graph;
  g.inputs = {float_input("x", {Dim::named("batch"), 4, 5, 5})};
  g.initializers["wa"] = random_tensor({6, 2, 3, 3}, 61);  // 2 groups
  g.initializers["ba"] = random_tensor({6}, 62);
  g.initializers["wb"] = random_tensor({3, 6, 1, 1}, 63);  // no bias
  g.initializers["shape"] = int64_tensor({-1, 27});
  g.initializers["wg"] = random_tensor({5, 27}, 64);
  g.initializers["bg"] = random_tensor({5}, 65);
  Node a = make_node("Conv", {"x", "wa", "ba"}, {"a"}, "conv_a");
  a.attributes = {int_attr("group", 2)};
  Node gemm = make_node("Gemm", {"f", "wg", "bg"}, {"y"}, "gemm");
  Attribute alpha, beta;
  alpha.name = "alpha";
  alpha.type = Attribute::Type::Float;
  alpha.f = 0.5f;
  beta.name = "beta";
  beta.type = Attribute::Type::Float;
  beta.f = 2.0f;
  gemm.attributes = {int_attr("transB", 1), alpha, beta};
  g.nodes = {a, make_node("Conv", {"a", "wb"}, {"b"}, "conv_b"), make_node("Reshape", {"b", "shape"}, {"f"}, "flat"),
             gemm};
  g.outputs = {{"y", TypeInfo::tensor(DType::Float32), ""}};
  // Every sample: channel c holds the value v_c everywhere.
  Tensor x(DType::Float32, {2, 4, 5, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = 0.3f * static_cast<float>((i / 25) % 4) - 0.4f;
  MemoryDataset data(x);
  QuantizeConfig c{.mode = QuantMode::WeightsOnly, .per_channel = true, .symmetric = false, .exclude = {}};
  ChannelMeans means;
  calibrate(m, c, data, {}, {.batch = 2, .threads = 1, .histograms = false, .progress = false, .label = ""}, nullptr,
            &means);
  ASSERT_EQ(means.size(), 3u);  // the inputs of both convs and of the Gemm
  ASSERT_EQ(means.at("x").size(), 4u);
  EXPECT_NEAR(means.at("x")[2], 0.2, 1e-6);
  QuantizedModel plain = quantize(m, c, nullptr, {});
  QuantizedModel corrected = quantize(m, c, nullptr, {}, nullptr, &means);
  EXPECT_EQ(corrected.bias_corrected, 3);
  EXPECT_EQ(plain.bias_corrected, 0);
  Model expose_fp32 = with_outputs(m, {"a", "b"});
  Model expose_plain = with_outputs(plain.model, {"a", "b"}), expose_corr = with_outputs(corrected.model, {"a", "b"});
  std::vector<Tensor> want = run_hone(expose_fp32, x, true), got = run_hone(expose_corr, x, true),
                      off = run_hone(expose_plain, x, true);
  // conv_a sees exactly the means: corrected to float rounding. Later layers see the corrected (not the fp32)
  // values, so they only come closer.
  EXPECT_LT(max_diff(got[1], want[1]), 1e-5) << "conv_a";
  EXPECT_GT(max_diff(off[1], want[1]), 1e-4) << "conv_a uncorrected";
  for (size_t k : {size_t{0}, size_t{2}}) EXPECT_LT(max_diff(got[k], want[k]), 0.5 * max_diff(off[k], want[k])) << k;
  // The static writer quantizes the corrected conv biases to int32 (conv_b gains one); the Gemm's (alpha, beta not
  // 1) stays a float, corrected, with a warning.
  QuantizeConfig s{.mode = QuantMode::Static, .per_channel = true, .symmetric = false, .exclude = {}};
  auto ranges = calibrate(m, s, data, {}, {.batch = 2, .threads = 1, .histograms = false, .progress = false,
                                           .label = ""});
  QuantizedModel st = quantize(m, s, &ranges, {}, nullptr, &means);
  EXPECT_EQ(st.quantized_biases, 2);
  EXPECT_EQ(st.bias_corrected, 3);
  EXPECT_EQ(node_named(st.model.graph, "conv_b").inputs.size(), 3u);
  ASSERT_EQ(st.warnings.size(), 1u);
  EXPECT_NE(st.warnings[0].find("Gemm alpha or beta is not 1"), std::string::npos) << st.warnings[0];
  const Tensor* c_corr = st.model.graph.find_initializer(node_named(st.model.graph, "gemm").inputs[2]);
  ASSERT_TRUE(c_corr);
  EXPECT_EQ(max_diff(*c_corr, *corrected.model.graph.find_initializer(
                                  node_named(corrected.model.graph, "gemm").inputs[2])),
            0);
}

}  // namespace
}  // namespace hone::quant

namespace hone::quant {
namespace {

// A channel with tiny weights beside a large bias: its weight scale is raised so that the int32 bias holds the bias
// (rather than clamping it), and the layer still computes its output.
TEST(QuantizeQdq, WeightScaleRaisedSoTheInt32BiasHoldsTheBias) {
  Model m = empty_model(13);
  Graph& g = m.graph;
  g.inputs = {float_input("x", {Dim::named("batch"), 2, 4, 4})};
  Tensor w = random_tensor({3, 2, 1, 1}, 71);
  w.data<float>()[2] = 1e-9f;  // channel 1: tiny weights
  w.data<float>()[3] = -1e-9f;
  g.initializers["w"] = w;
  Tensor b(DType::Float32, {3});
  b.data<float>()[0] = 0.1f;
  b.data<float>()[1] = 5.0f;
  b.data<float>()[2] = -0.2f;
  g.initializers["b"] = b;
  g.nodes = {make_node("Conv", {"x", "w", "b"}, {"y0"}, "conv"), make_node("Sigmoid", {"y0"}, {"y"}, "sig")};
  g.outputs = {{"y", TypeInfo::tensor(DType::Float32), ""}};
  MemoryDataset data(random_tensor({4, 2, 4, 4}, 72));
  QuantizeConfig c{.mode = QuantMode::Static, .per_channel = true, .symmetric = false, .exclude = {}};
  auto ranges = calibrate(m, c, data, {}, {.batch = 4, .threads = 1, .histograms = false, .progress = false,
                                           .label = ""});
  QuantizedModel q = quantize(m, c, &ranges, {});
  ASSERT_EQ(q.warnings.size(), 1u);
  EXPECT_NE(q.warnings[0].find("weight scale raised on 1 of 3 channels"), std::string::npos) << q.warnings[0];
  const Node& conv = node_named(q.model.graph, "conv");
  const Node* bdq = find_node_by_output(q.model.graph, conv.inputs[2]);
  ASSERT_TRUE(bdq);
  const Tensor& bq = *q.model.graph.find_initializer(bdq->inputs[0]);
  const Tensor& bs = *q.model.graph.find_initializer(bdq->inputs[1]);
  for (int k = 0; k < 3; ++k) {
    EXPECT_LT(std::abs(static_cast<int64_t>(bq.data<int32_t>()[k])), int64_t{1} << 30) << k;
    EXPECT_NEAR(bq.data<int32_t>()[k] * bs.data<float>()[k], b.data<float>()[k], 1e-3) << k;
  }
  Tensor x = random_tensor({2, 2, 4, 4}, 73);
  Tensor want = run_hone(m, x, true)[0];
  EXPECT_LT(max_diff(run_hone(q.model, x, true)[0], want), 0.02);
}

}  // namespace
}  // namespace hone::quant
