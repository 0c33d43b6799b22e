// The runtime's lowering of QDQ models (passes/fuse_qdq.cc) on small graphs built here in the format `hone quantize`
// writes (Contract 1 of issue 5): which nodes become int8 ops and which stay, and that the outputs agree
//   - with the QDQ graph itself on the reference kernels (what the model means), within the quantization steps the
//     fusion skips or oneDNN rounds the other way, and
//   - with the lowered graph on the int8 ops' reference kernels (what the fast kernels must compute), within one
//     quantization step and identical almost everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "hone/hone.h"
#include "passes/runtime_lowering.h"
#include "runtime/plan.h"

namespace hone {
namespace {

Tensor uniform(Shape s, std::mt19937& rng, float lo, float hi) {
  Tensor t(DType::Float32, std::move(s));
  std::uniform_real_distribution<float> d(lo, hi);
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

Tensor scalar_of(DType type, double v) {
  Tensor t(type, {});
  t.set_double(0, v);
  return t;
}

// Builds QDQ models: activations quantized per tensor (uint8 asymmetric unless told), weights int8 symmetric per
// output channel (or per tensor), biases int32 at x_scale * w_scale, all behind DequantizeLinear.
struct QdqBuilder {
  Model m;
  std::mt19937 rng{17};
  int next = 0;

  explicit QdqBuilder(Shape input, int64_t opset = 13) {
    m.ir_version = 8;
    m.opset_import = {{"", opset}};
    m.graph.name = "qdq";
    m.graph.inputs.push_back({"x", TypeInfo::tensor(DType::Float32, to_sym_shape(input)), ""});
  }
  std::string name(const char* p) { return std::string(p) + std::to_string(next++); }
  std::string init(const char* p, Tensor t) {
    std::string n = name(p);
    m.graph.initializers[n] = std::move(t);
    return n;
  }
  std::string node(const std::string& op, std::vector<std::string> in, std::vector<Attribute> attrs = {}) {
    std::string y = name("v");
    m.graph.nodes.push_back({name("n"), op, "", std::move(in), {y}, std::move(attrs), ""});
    return y;
  }
  std::string quantize(const std::string& x, float scale, int zp, DType type = DType::UInt8) {
    return node("QuantizeLinear", {x, init("s", scalar_of(DType::Float32, scale)), init("z", scalar_of(type, zp))});
  }
  std::string dequantize(const std::string& q, float scale, int zp, DType type = DType::UInt8) {
    return node("DequantizeLinear", {q, init("s", scalar_of(DType::Float32, scale)), init("z", scalar_of(type, zp))});
  }
  // x -> Q -> DQ.
  std::string qdq(const std::string& x, float scale, int zp, DType type = DType::UInt8) {
    return dequantize(quantize(x, scale, zp, type), scale, zp, type);
  }

  // int8 weights of `shape` quantized symmetrically per slice of `axis` (or per tensor), behind a DQ.
  std::string weight(const Shape& shape, int64_t axis, bool per_channel, std::vector<float>* scales = nullptr) {
    int64_t fan = shape_numel(shape) / shape[static_cast<size_t>(axis)];
    Tensor w =
        uniform(shape, rng, -1.5f / std::sqrt(static_cast<float>(fan)), 1.5f / std::sqrt(static_cast<float>(fan)));
    int64_t channels = shape[static_cast<size_t>(axis)], inner = 1;
    for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
    std::vector<float> s(static_cast<size_t>(per_channel ? channels : 1), 0.f);
    for (int64_t i = 0; i < w.numel(); ++i) {
      size_t c = per_channel ? static_cast<size_t>((i / inner) % channels) : 0;
      s[c] = std::max(s[c], std::fabs(w.data<float>()[i]) / 127.f);
    }
    Tensor q(DType::Int8, shape);
    for (int64_t i = 0; i < w.numel(); ++i) {
      size_t c = per_channel ? static_cast<size_t>((i / inner) % channels) : 0;
      q.data<int8_t>()[i] = static_cast<int8_t>(std::nearbyint(w.data<float>()[i] / s[c]));
    }
    Tensor st(DType::Float32, per_channel ? Shape{channels} : Shape{});
    std::copy(s.begin(), s.end(), st.data<float>());
    Tensor zp(DType::Int8, per_channel ? Shape{channels} : Shape{});
    if (scales) *scales = s;
    std::vector<Attribute> a;
    if (per_channel) a.push_back(Attribute::of_int("axis", axis));
    return node("DequantizeLinear", {init("wq", q), init("ws", st), init("wz", zp)}, a);
  }
  std::string bias(int64_t n, float x_scale, const std::vector<float>& w_scale) {
    Tensor b(DType::Int32, {n});
    Tensor s(DType::Float32, {n});
    std::uniform_int_distribution<int> d(-2000, 2000);
    for (int64_t i = 0; i < n; ++i) {
      b.data<int32_t>()[i] = d(rng);
      s.data<float>()[i] = x_scale * w_scale[w_scale.size() == 1 ? 0 : static_cast<size_t>(i)];
    }
    return node("DequantizeLinear", {init("bq", b), init("bs", s), init("bz", Tensor(DType::Int32, {n}))},
                {Attribute::of_int("axis", 0)});
  }
  std::string conv(const std::string& x_dq, float x_scale, int64_t cin, int64_t cout, int64_t k, int64_t group = 1,
                   bool per_channel = true, bool with_bias = true, int64_t stride = 1) {
    std::vector<float> ws;
    std::string w = weight({cout, cin / group, k, k}, 0, per_channel, &ws);
    std::vector<std::string> in = {x_dq, w};
    if (with_bias) in.push_back(bias(cout, x_scale, ws));
    return node("Conv", in,
                {Attribute::of_ints("kernel_shape", {k, k}), Attribute::of_ints("pads", {k / 2, k / 2, k / 2, k / 2}),
                 Attribute::of_int("group", group), Attribute::of_ints("strides", {stride, stride})});
  }
  // x * Clip(x + 3, 0, 6) / 6, as PaddleOCR's exporter writes HardSwish.
  std::string decomposed_hardswish(const std::string& x) {
    std::string clip =
        node("Clip", {node("Add", {x, init("c", scalar_of(DType::Float32, 3.f))}),
                      init("c", scalar_of(DType::Float32, 0.f)), init("c", scalar_of(DType::Float32, 6.f))});
    return node("Div", {node("Mul", {x, clip}), init("c", scalar_of(DType::Float32, 6.f))});
  }
  Model finish(const std::vector<std::string>& outs) {
    for (const std::string& o : outs) m.graph.outputs.push_back({o, TypeInfo::tensor(DType::Float32), ""});
    return m;
  }
};

std::function<int64_t(const std::string&)> opset_of(const Model& m) {
  return [&m](const std::string& d) { return d == "hone" ? kHoneOpset : m.opset(d); };
}

int count(const Graph& g, const std::string& domain, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.domain == domain && node.op_type == op;
  return n;
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes)
    if (n.op_type == op) return &n;
  return nullptr;
}

// |a - b| <= steps * scale everywhere; returns the fraction of identical elements.
double compare(const Tensor& a, const Tensor& b, double tolerance, const std::string& what) {
  EXPECT_EQ(a.shape(), b.shape()) << what;
  if (a.shape() != b.shape()) return 0;
  int64_t same = 0, bad = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    double x = a.get_double(i), y = b.get_double(i);
    same += x == y;
    if (std::fabs(x - y) > tolerance && ++bad <= 5) ADD_FAILURE() << what << " [" << i << "]: " << x << " vs " << y;
  }
  return static_cast<double>(same) / static_cast<double>(std::max<int64_t>(a.numel(), 1));
}

struct Agreement {
  double vs_qdq_exact = 0, vs_lowered_exact = 0;
};

// Runs `m` fast (lowered, int8 kernels), as written on the reference kernels (the QDQ semantics), and lowered on the
// reference kernels; checks the outputs within `qdq_tol` and `lowered_tol` (one quantization step of a quantized
// output; for a float output, what one step of the last quantized input moves it), and that at least `min_exact` of
// the elements are identical to the lowered reference's.
Agreement check_outputs(const Model& m, const Shape& input, double qdq_tol, double lowered_tol, double min_exact = 0.95,
                        int threads = 2) {
  std::mt19937 rng(3);
  Tensor x = uniform(input, rng, -1.f, 1.f);
  Session fast(m, {.threads = threads});
  Session qdq(m, {.threads = 1, .reference_kernels = true});
  Model lowered = m;
  lowered.graph = *lower_for_runtime(m.graph, opset_of(m));
  lowered.opset_import.push_back({"hone", kHoneOpset});
  Session lowered_ref(lowered, {.threads = 1, .reference_kernels = true});
  std::vector<Tensor> a = fast.run({{"x", x}}), b = qdq.run({{"x", x}}), c = lowered_ref.run({{"x", x}});
  Agreement r;
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    r.vs_qdq_exact = compare(a[i], b[i], qdq_tol, "fast vs QDQ reference, output " + std::to_string(i));
    r.vs_lowered_exact =
        compare(a[i], c[i], lowered_tol * 1.001, "fast vs lowered reference, output " + std::to_string(i));
    EXPECT_GE(r.vs_lowered_exact, min_exact) << "output " << i;
  }
  return r;
}

TEST(FuseQdq, ConvChainBecomesInt8ConvsWithFusedActivations) {
  // input Q/DQ -> conv -> Q/DQ -> conv -> Q/DQ -> HardSwish (written out) -> Q/DQ -> conv (float output).
  QdqBuilder b({1, 16, 12, 12});
  std::string x = b.qdq("x", 2.f / 255, 128);
  std::string c1 = b.dequantize(b.quantize(b.conv(x, 2.f / 255, 16, 32, 3), 0.02f, 120), 0.02f, 120);
  std::string c2 = b.conv(c1, 0.02f, 32, 32, 3, 32);  // depthwise
  std::string hs = b.decomposed_hardswish(b.dequantize(b.quantize(c2, 0.03f, 128), 0.03f, 128));
  std::string c3 = b.conv(b.qdq(hs, 0.02f, 20), 0.02f, 32, 8, 1);
  Model m = b.finish({c3});
  LoweringStats st;
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m), &st);
  EXPECT_EQ(st.quantized_ops, 3);
  EXPECT_EQ(count(*g, "hone", "QConv"), 3);
  EXPECT_EQ(count(*g, "", "QuantizeLinear"), 1);  // the graph input's
  EXPECT_EQ(count(*g, "", "DequantizeLinear"), 0);
  EXPECT_EQ(count(*g, "", "Conv") + count(*g, "hone", "FusedConv"), 0);
  // The HardSwish after the second conv is its post-op (the rounding between them skipped).
  std::vector<std::vector<std::string>> chains;
  for (const Node& n : g->nodes)
    if (n.op_type == "QConv") chains.push_back(n.attr_strings("post_ops"));
  EXPECT_EQ(chains[1], (std::vector<std::string>{"HardSwish"}));
  EXPECT_EQ(g->nodes.back().attr_int("y_type", 0), 1);  // the last conv's float output
  // One step (0.02) of the last quantized tensor moves the float output by up to ~0.03 * 32 channels.
  check_outputs(m, {1, 16, 12, 12}, 0.15, 0.1, 0.0);
}

TEST(FuseQdq, ResidualAddAndReluBecomePostOpsOfTheConv) {
  // ResNet's block: conv -> Q/DQ -> conv -> Q/DQ -> Add(., x) -> Relu -> Q/DQ -> output.
  for (bool sym : {false, true}) {
    SCOPED_TRACE(sym ? "symmetric int8" : "asymmetric uint8");
    DType t = sym ? DType::Int8 : DType::UInt8;
    int zx = sym ? 0 : 128, zc = sym ? 0 : 100;
    QdqBuilder b({1, 24, 10, 10});
    std::string x = b.qdq("x", 2.f / 255, zx, t);
    std::string c1 =
        b.dequantize(b.quantize(b.node("Relu", {b.conv(x, 2.f / 255, 24, 24, 3)}), 0.01f, zc, t), 0.01f, zc, t);
    std::string c2 = b.qdq(b.conv(c1, 0.01f, 24, 24, 3), 0.02f, zc, t);
    std::string y = b.qdq(b.node("Relu", {b.node("Add", {c2, x})}), 0.02f, sym ? 0 : 5, t);
    Model m = b.finish({y});
    std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
    ASSERT_EQ(count(*g, "hone", "QConv"), 2);
    const Node* second = nullptr;
    for (const Node& n : g->nodes)
      if (n.op_type == "QConv") second = &n;
    EXPECT_EQ(second->attr_strings("post_ops"), (std::vector<std::string>{"Add", "Relu"}));
    ASSERT_EQ(second->inputs.size(), 5u);
    EXPECT_EQ(count(*g, "", "Add") + count(*g, "hone", "QAdd"), 0);
    EXPECT_EQ(count(*g, "", "DequantizeLinear"), 1);  // the graph output's
    check_outputs(m, {1, 24, 10, 10}, 0.02 * 2.01 + 0.01, 0.02);
  }
}

TEST(FuseQdq, AddOfTwoQuantizedTensorsBecomesQAdd) {
  QdqBuilder b({2, 8, 5, 5});
  std::string a = b.qdq("x", 2.f / 255, 128);
  std::string r = b.qdq(b.node("Relu", {"x"}), 1.f / 255, 0);
  std::string y = b.qdq(b.node("Relu", {b.node("Add", {a, r})}), 2.f / 255, 0);
  Model m = b.finish({y});
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
  ASSERT_EQ(count(*g, "hone", "QAdd"), 1);
  EXPECT_EQ(find_op(*g, "QAdd")->attr_strings("post_ops"), (std::vector<std::string>{"Relu"}));
  check_outputs(m, {2, 8, 5, 5}, 2.f / 255 * 1.01, 2.f / 255);
}

TEST(FuseQdq, MatMulAndGemmWithConstantWeightsBecomeQMatMul) {
  // PaddleOCR rec's shape: a [1, T, C] activation times [C, N] weights, then Add(bias) -> Q/DQ -> Gemm(transB).
  QdqBuilder b({1, 7, 24});
  std::string x = b.qdq("x", 2.f / 255, 128);
  std::vector<float> ws;
  std::string mm = b.node("MatMul", {x, b.weight({24, 40}, 1, true, &ws)});
  Tensor bias = uniform({40}, b.rng, -0.5f, 0.5f);
  std::string h = b.qdq(b.node("Add", {mm, b.init("bias", bias)}), 0.02f, 128);
  std::string flat = b.node("Reshape", {h, b.init("shape", [] {
                                          Tensor t(DType::Int64, {2});
                                          t.data<int64_t>()[0] = 7;
                                          t.data<int64_t>()[1] = 40;
                                          return t;
                                        }())});
  std::string fq = b.qdq(flat, 0.02f, 128);  // the same scale: the Reshape runs on the uint8 tensor
  std::vector<float> ws2;
  std::string w2 = b.weight({16, 40}, 0, true, &ws2);
  std::string gemm = b.node("Gemm", {fq, w2, b.bias(16, 0.02f, ws2)},
                            {Attribute::of_int("transB", 1), Attribute::of_float("alpha", 0.5f)});
  Model m = b.finish({gemm});
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
  EXPECT_EQ(count(*g, "hone", "QMatMul"), 2);
  EXPECT_EQ(count(*g, "", "Add"), 0);
  EXPECT_EQ(count(*g, "", "DequantizeLinear"), 0);
  EXPECT_EQ(count(*g, "", "QuantizeLinear"), 1);
  check_outputs(m, {1, 7, 24}, 0.06, 0.03, 0.0);
}

TEST(FuseQdq, SwishAndABiasBehindItsOwnPairFuse) {
  // PaddleOCR rec's SVTR block as `hone quantize` writes it: conv -> Q/DQ -> x * Sigmoid(x) -> Q/DQ, and
  // MatMul -> Q/DQ -> Add(bias) (kept float) -> x * Sigmoid(1.0 * x) -> Q/DQ.
  QdqBuilder b({1, 8, 4, 10});
  std::string c = b.dequantize(b.quantize(b.conv(b.qdq("x", 2.f / 255, 128), 2.f / 255, 8, 12, 3), 0.02f, 128),
                               0.02f, 128);
  std::string sw = b.qdq(b.node("Mul", {c, b.node("Sigmoid", {c})}), 0.02f, 40);
  Tensor shape(DType::Int64, {3});
  std::vector<int64_t> sv = {1, 12, 40};
  std::copy(sv.begin(), sv.end(), shape.data<int64_t>());
  std::string seq = b.qdq(b.node("Transpose", {b.node("Reshape", {sw, b.init("shape", shape)})},
                                 {Attribute::of_ints("perm", {0, 2, 1})}), 0.02f, 40);
  std::string mm = b.qdq(b.node("MatMul", {seq, b.weight({12, 16}, 1, true)}), 0.03f, 128);
  std::string biased = b.node("Add", {mm, b.init("bias", uniform({16}, b.rng, -0.5f, 0.5f))});
  std::string beta_x = b.node("Mul", {biased, b.init("one", scalar_of(DType::Float32, 1.f))});
  std::string y = b.qdq(b.node("Mul", {biased, b.node("Sigmoid", {beta_x})}), 0.02f, 40);
  Model m = b.finish({y});
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
  ASSERT_EQ(count(*g, "hone", "QConv"), 1);
  ASSERT_EQ(count(*g, "hone", "QMatMul"), 1);
  EXPECT_EQ(find_op(*g, "QConv")->attr_strings("post_ops"), (std::vector<std::string>{"Swish"}));
  const Node* qm = find_op(*g, "QMatMul");
  EXPECT_EQ(qm->attr_strings("post_ops"), (std::vector<std::string>{"Swish"}));
  EXPECT_EQ(qm->inputs.size(), 4u);  // the bias
  EXPECT_EQ(count(*g, "", "Sigmoid") + count(*g, "", "Mul") + count(*g, "", "Add"), 0);
  check_outputs(m, {1, 8, 4, 10}, 0.05, 0.02);
}

TEST(FuseQdq, DynamicQuantizationBecomesOneOpThatMatchesBitForBit) {
  // ONNX Runtime's dynamic format: DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(x_scale * W_scale) -> Add.
  QdqBuilder b({3, 20});
  Model& m = b.m;
  m.graph.nodes.push_back({"dql", "DynamicQuantizeLinear", "", {"x"}, {"xq", "xs", "xz"}, {}, ""});
  Tensor wq(DType::Int8, {20, 12});
  std::uniform_int_distribution<int> d(-127, 127);
  for (int64_t i = 0; i < wq.numel(); ++i) wq.data<int8_t>()[i] = static_cast<int8_t>(d(b.rng));
  m.graph.initializers["wq"] = wq;
  m.graph.initializers["wz"] = Tensor(DType::Int8, {});
  m.graph.initializers["wscale"] = uniform({12}, b.rng, 0.001f, 0.01f);
  m.graph.initializers["bias"] = uniform({12}, b.rng, -1.f, 1.f);
  m.graph.nodes.push_back({"mmi", "MatMulInteger", "", {"xq", "wq", "xz", "wz"}, {"acc"}, {}, ""});
  m.graph.nodes.push_back({"cast", "Cast", "", {"acc"}, {"accf"}, {Attribute::of_int("to", 1)}, ""});
  m.graph.nodes.push_back({"scale", "Mul", "", {"xs", "wscale"}, {"mult"}, {}, ""});
  m.graph.nodes.push_back({"mul", "Mul", "", {"accf", "mult"}, {"prod"}, {}, ""});
  m.graph.nodes.push_back({"add", "Add", "", {"prod", "bias"}, {"y"}, {}, ""});
  Model model = b.finish({"y"});
  std::shared_ptr<Graph> g = lower_for_runtime(model.graph, opset_of(model));
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(g->nodes[0].op_type, "DynamicQMatMul");
  Agreement a = check_outputs(model, {3, 20}, 0, 0);
  EXPECT_EQ(a.vs_qdq_exact, 1.0);
}

TEST(FuseQdq, PoolResizeAndConcatBetweenSameScalePairsRunOn8BitTensors) {
  // conv -> Q/DQ -> MaxPool -> Q/DQ -> Resize (nearest, 2x) -> Q/DQ, Concat with the pooled tensor -> Q/DQ -> conv:
  // every pair between them shares one scale, as `hone quantize` writes data-movement ops.
  QdqBuilder b({1, 8, 12, 12});
  float s = 0.02f;
  std::string c = b.qdq(b.conv(b.qdq("x", 2.f / 255, 128), 2.f / 255, 8, 16, 3), s, 128);
  std::string pool = b.qdq(b.node("MaxPool", {c}, {Attribute::of_ints("kernel_shape", {2, 2}),
                                                   Attribute::of_ints("strides", {2, 2})}), s, 128);
  Tensor scales(DType::Float32, {4});
  std::vector<float> sv = {1, 1, 2, 2};
  std::copy(sv.begin(), sv.end(), scales.data<float>());
  std::string up = b.qdq(b.node("Resize", {pool, "", b.init("scales", scales)},
                                {Attribute::of_string("mode", "nearest"),
                                 Attribute::of_string("coordinate_transformation_mode", "asymmetric"),
                                 Attribute::of_string("nearest_mode", "floor")}), s, 128);
  std::string cat = b.qdq(b.node("Concat", {up, c}, {Attribute::of_int("axis", 1)}), s, 128);
  std::string y = b.conv(cat, s, 32, 4, 1);
  Model m = b.finish({y});
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
  EXPECT_EQ(count(*g, "", "DequantizeLinear"), 0);
  EXPECT_EQ(count(*g, "", "QuantizeLinear"), 1);
  for (const char* op : {"MaxPool", "Resize", "Concat"}) {
    const Node* n = find_op(*g, op);
    ASSERT_NE(n, nullptr) << op;
    for (const Node& p : g->nodes)
      for (const std::string& o : p.outputs)
        if (o == n->inputs[0]) EXPECT_TRUE(p.op_type == "QConv" || p.op_type == "MaxPool" || p.op_type == "Resize") << op;
  }
  Session fast(m, {.threads = 2});
  std::mt19937 rng(1);
  const Plan& p = fast.plan_for({Value::of(uniform({1, 8, 12, 12}, rng, -1, 1))});
  for (const PlanStep& st : p.steps) {
    const std::string& op = st.node->op_type;
    if (op == "MaxPool") EXPECT_EQ(st.kernel->name().rfind("dnnl-maxpool-u8", 0), 0u) << st.kernel->name();
    if (op == "Resize") EXPECT_EQ(st.kernel->name(), "q8_resize_nearest_nhwc");
    if (op == "Concat") EXPECT_EQ(st.kernel->name(), "copy_concat_nhwc");
  }
  EXPECT_LE(p.layout_transforms, 2);
  check_outputs(m, {1, 8, 12, 12}, 0.05, 0.05, 0.0);
}

TEST(FuseQdq, SqueezeExcitationRunsInInt8) {
  // PaddleOCR det's SE block as `hone quantize` writes it: x -> GlobalAveragePool -> Q/DQ -> conv -> Q/DQ -> conv ->
  // Q/DQ -> HardSigmoid -> Mul(x, gate) -> Q/DQ. The pool reads x as uint8, the gate conv keeps its HardSigmoid
  // (float32 out, the Mul being no quantized op), and the Mul scales the uint8 map by it.
  QdqBuilder b({1, 16, 10, 10});
  std::string x = b.qdq(b.conv(b.qdq("x", 2.f / 255, 128), 2.f / 255, 16, 16, 3), 0.02f, 128);
  std::string pooled = b.qdq(b.node("GlobalAveragePool", {x}), 0.005f, 128);
  std::string squeezed = b.qdq(b.node("Relu", {b.conv(pooled, 0.005f, 16, 4, 1)}), 0.002f, 0);
  std::string gate = b.node("HardSigmoid", {b.qdq(b.conv(squeezed, 0.002f, 4, 16, 1), 0.01f, 128)},
                            {Attribute::of_float("alpha", 0.2f), Attribute::of_float("beta", 0.5f)});
  std::string y = b.qdq(b.node("Mul", {x, gate}), 0.02f, 128);
  Model m = b.finish({y});
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
  EXPECT_EQ(count(*g, "hone", "QGlobalAveragePool"), 1);
  EXPECT_EQ(count(*g, "hone", "QMul"), 1);
  EXPECT_EQ(count(*g, "hone", "QConv"), 3);
  EXPECT_EQ(count(*g, "", "Mul") + count(*g, "", "GlobalAveragePool") + count(*g, "", "HardSigmoid"), 0);
  Session fast(m, {.threads = 2});
  std::mt19937 rng(1);
  const Plan& p = fast.plan_for({Value::of(uniform({1, 16, 10, 10}, rng, -1, 1))});
  for (const PlanStep& st : p.steps) {
    if (st.node->op_type == "QMul") EXPECT_EQ(st.kernel->name().rfind("q8_qmul_gate_nhwc", 0), 0u) << st.kernel->name();
    if (st.node->op_type == "QGlobalAveragePool")
      EXPECT_EQ(st.kernel->name().rfind("q8_global_avgpool_nhwc", 0), 0u) << st.kernel->name();
  }
  check_outputs(m, {1, 16, 10, 10}, 0.06, 0.02);
}

// A per-channel constant [1, C, 1, 1] (depthwise input equalization's 1 / s, equalize_depthwise.h).
Tensor channel_factors(QdqBuilder& b, int64_t c, Shape shape = {}) {
  Tensor f = uniform(shape.empty() ? Shape{1, c, 1, 1} : shape, b.rng, 1.f, 4.f);
  f.data<float>()[0] = 16.f;  // one small channel amplified a lot, as equalization does
  return f;
}

TEST(FuseQdq, EqualizationMulFusesIntoTheProducingConv) {
  // PP-LCNetV3 as `hone quantize --equalize` writes it: conv -> Q/DQ -> HardSwish -> Mul(k) -> Add(q) (learnable
  // affine) -> Mul(1 / s) -> Q/DQ -> depthwise conv; and conv -> Q/DQ -> Mul(1 / s [C, 1, 1]) -> Q/DQ -> conv.
  for (bool sym : {false, true}) {
    SCOPED_TRACE(sym ? "symmetric int8" : "asymmetric uint8");
    DType t = sym ? DType::Int8 : DType::UInt8;
    int zp = sym ? 0 : 128;
    QdqBuilder b({2, 16, 10, 10});
    std::string x = b.qdq("x", 2.f / 255, zp, t);
    std::string c1 = b.dequantize(b.quantize(b.conv(x, 2.f / 255, 16, 24, 1), 0.03f, zp, t), 0.03f, zp, t);
    std::string hs = b.decomposed_hardswish(c1);
    std::string affine = b.node("Add", {b.node("Mul", {b.init("k", scalar_of(DType::Float32, 0.9f)), hs}),
                                        b.init("q", scalar_of(DType::Float32, 0.05f))});
    std::string eq = b.node("Mul", {affine, b.init("inv_s", channel_factors(b, 24))});
    std::string dw = b.conv(b.qdq(eq, 0.05f, sym ? 0 : 10, t), 0.05f, 24, 24, 3, 24);
    std::string c2 = b.dequantize(b.quantize(dw, 0.05f, zp, t), 0.05f, zp, t);
    std::string eq2 = b.node("Mul", {b.init("inv_s", channel_factors(b, 24, {24, 1, 1})), c2});
    std::string y = b.qdq(b.conv(b.qdq(eq2, 0.2f, zp, t), 0.2f, 24, 8, 1), 0.1f, zp, t);
    Model m = b.finish({y});
    std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
    ASSERT_EQ(count(*g, "hone", "QConv"), 3);
    EXPECT_EQ(count(*g, "", "Mul") + count(*g, "hone", "QMul") + count(*g, "", "QuantizeLinear"), 1);  // x's Q
    std::vector<const Node*> convs;
    for (const Node& n : g->nodes)
      if (n.op_type == "QConv") convs.push_back(&n);
    EXPECT_EQ(convs[0]->attr_strings("post_ops"), (std::vector<std::string>{"HardSwish", "Linear", "ChannelMul"}));
    EXPECT_EQ(convs[1]->attr_strings("post_ops"), (std::vector<std::string>{"ChannelMul"}));
    for (int k = 0; k < 2; ++k) {
      ASSERT_EQ(convs[k]->inputs.size(), 6u);
      EXPECT_EQ(convs[k]->inputs[4], "");
      EXPECT_EQ(g->initializers.at(convs[k]->inputs[5]).shape(), (Shape{24}));
    }
    Session fast(m, {.threads = 2});
    std::mt19937 rng(1);
    const Plan& p = fast.plan_for({Value::of(uniform({2, 16, 10, 10}, rng, -1, 1))});
    for (const PlanStep& st : p.steps)
      if (st.node->op_type == "QConv" && !st.node->attr_strings("post_ops").empty())
        EXPECT_NE(st.kernel->name().find("+channel_mul"), std::string::npos) << st.kernel->name();
    // Against the QDQ graph: the fusion skips the rounding of the first conv's result before its HardSwish (half a
    // step, 0.015, times up to 0.9 * 16 at the Mul: 0.2, several steps of the next tensor), which the two convs
    // after it sum over their taps. Against the lowered graph: one step (0.1), nearly all identical.
    Agreement a = check_outputs(m, {2, 16, 10, 10}, 1.5, 0.1);
    EXPECT_GE(a.vs_qdq_exact, 0.0);
  }
}

TEST(FuseQdq, EqualizationMulOfASharedTensorBecomesQMul) {
  // det's neck reads some equalized backbone outputs too: conv -> Q -> DQ -> {Mul(1 / s) -> Q/DQ -> depthwise conv,
  // conv}. The conv's output stays quantized; the Mul rescales the 8-bit tensor (QMul with a constant gate).
  QdqBuilder b({2, 8, 9, 9});
  std::string x = b.qdq("x", 2.f / 255, 128);
  std::string c = b.qdq(b.conv(x, 2.f / 255, 8, 16, 3), 0.02f, 128);
  std::string eq = b.node("Mul", {c, b.init("inv_s", channel_factors(b, 16))});
  std::string dw = b.conv(b.qdq(eq, 0.1f, 128), 0.1f, 16, 16, 3, 16);
  std::string side = b.conv(c, 0.02f, 16, 4, 1);
  Model m = b.finish({dw, side});
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
  EXPECT_EQ(count(*g, "hone", "QConv"), 3);
  ASSERT_EQ(count(*g, "hone", "QMul"), 1);
  EXPECT_EQ(count(*g, "", "Mul") + count(*g, "", "DequantizeLinear"), 0);
  Session fast(m, {.threads = 2});
  std::mt19937 rng(1);
  const Plan& p = fast.plan_for({Value::of(uniform({2, 8, 9, 9}, rng, -1, 1))});
  for (const PlanStep& st : p.steps)
    if (st.node->op_type == "QMul") EXPECT_EQ(st.kernel->name().rfind("q8_qmul_gate_nhwc", 0), 0u) << st.kernel->name();
  check_outputs(m, {2, 8, 9, 9}, 0.5, 0.2, 0.0);
}

TEST(FuseQdq, WhatMustNotFuse) {
  {  // weights with a zero point: the int8 kernels take symmetric weights only
    QdqBuilder b({1, 4, 6, 6});
    std::string x = b.qdq("x", 2.f / 255, 128);
    std::string w = b.weight({8, 4, 3, 3}, 0, false);
    b.m.graph.nodes.back().inputs[2] = b.init("wz", scalar_of(DType::Int8, 3));
    std::string y = b.qdq(b.node("Conv", {x, w}, {Attribute::of_ints("pads", {1, 1, 1, 1})}), 0.05f, 128);
    Model m = b.finish({y});
    std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
    EXPECT_EQ(count(*g, "hone", "QConv"), 0);
    check_outputs(m, {1, 4, 6, 6}, 0.05, 0.05);
  }
  {  // an activation quantized per channel
    QdqBuilder b({1, 4, 6, 6});
    Tensor s = uniform({4}, b.rng, 0.005f, 0.01f);
    std::string q = b.node("QuantizeLinear", {"x", b.init("s", s), b.init("z", Tensor(DType::UInt8, {4}))},
                           {Attribute::of_int("axis", 1)});
    std::string dq = b.node("DequantizeLinear", {q, b.init("s", s), b.init("z", Tensor(DType::UInt8, {4}))},
                            {Attribute::of_int("axis", 1)});
    std::string y = b.conv(dq, 0.01f, 4, 4, 3);
    Model m = b.finish({y});
    EXPECT_EQ(count(*lower_for_runtime(m.graph, opset_of(m)), "hone", "QConv"), 0);
  }
  {  // a conv result read by another node besides its QuantizeLinear: the Q stays, the conv gives float
    QdqBuilder b({1, 4, 6, 6});
    std::string x = b.qdq("x", 2.f / 255, 128);
    std::string c = b.conv(x, 2.f / 255, 4, 4, 3);
    std::string q = b.qdq(c, 0.05f, 128);
    Model m = b.finish({q, b.node("Sigmoid", {c})});
    std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
    ASSERT_EQ(count(*g, "hone", "QConv"), 1);
    EXPECT_EQ(find_op(*g, "QConv")->attr_int("y_type", 0), 1);
    EXPECT_EQ(count(*g, "", "QuantizeLinear"), 2);
    check_outputs(m, {1, 4, 6, 6}, 0.05, 1e-4, 0.0);
  }
  // A Mul after a conv that is no per-channel constant: by a computed tensor, by a vector along the last axis (W =
  // C) or along H (a [C, 1] constant): the Mul stays, the conv writes float32.
  for (int k = 0; k < 3; ++k) {
    SCOPED_TRACE(k);
    QdqBuilder b({1, 6, 6, 6});
    std::string x = b.qdq("x", 2.f / 255, 128);
    std::string c = b.conv(x, 2.f / 255, 6, 6, 3);
    std::string other =
        k == 0 ? b.node("Sigmoid", {"x"}) : b.init("f", uniform(k == 1 ? Shape{6} : Shape{6, 1}, b.rng, 1, 4));
    std::string y = b.qdq(b.node("Mul", {c, other}), 0.1f, 128);
    Model m = b.finish({y});
    std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
    ASSERT_EQ(count(*g, "hone", "QConv"), 1);
    EXPECT_TRUE(find_op(*g, "QConv")->attr_strings("post_ops").empty());
    EXPECT_EQ(find_op(*g, "QConv")->attr_int("y_type", 0), 1);
    EXPECT_EQ(count(*g, "", "Mul"), 1);
    check_outputs(m, {1, 6, 6, 6}, 0.1 * 1.01, 0.1 * 1.01, 0.9);
  }
  {  // a Reshape between different scales stays float between its DQ and Q
    QdqBuilder b({2, 6});
    std::string r = b.node("Reshape", {b.qdq("x", 2.f / 255, 128), b.init("shape", [] {
                                         Tensor t(DType::Int64, {1});
                                         t.data<int64_t>()[0] = 12;
                                         return t;
                                       }())});
    Model m = b.finish({b.qdq(r, 1.f / 255, 128)});
    std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
    EXPECT_EQ(count(*g, "", "DequantizeLinear"), 2);
    EXPECT_EQ(g->nodes.size(), 5u);
  }
}

TEST(FuseQdq, SymbolicInputShapesStillFuseResiduals) {
  // The runtime lowers once for any input shape: dims unknown at load must still let the residual fuse.
  QdqBuilder b({1, 8, 9, 9});
  b.m.graph.inputs[0].type =
      TypeInfo::tensor(DType::Float32, SymShape{Dim(1), Dim(8), Dim::named("h"), Dim::named("w")});
  std::string x = b.qdq("x", 2.f / 255, 128);
  std::string c = b.qdq(b.conv(x, 2.f / 255, 8, 8, 3), 0.02f, 128);
  std::string y = b.qdq(b.node("Add", {c, x}), 0.02f, 128);
  Model m = b.finish({y});
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
  ASSERT_EQ(count(*g, "hone", "QConv"), 1);
  EXPECT_EQ(find_op(*g, "QConv")->attr_strings("post_ops"), (std::vector<std::string>{"Add"}));
  check_outputs(m, {1, 8, 9, 9}, 0.02 * 2.01, 0.02);
  check_outputs(m, {1, 8, 13, 7}, 0.02 * 2.01, 0.02);
}

TEST(FuseQdq, Int8ActivationsStayChannelsLastBetweenConvs) {
  // conv -> conv -> conv on uint8 tensors: channels-last from the first to the last, one transform at each end.
  QdqBuilder b({1, 16, 14, 14});
  std::string v = b.qdq("x", 2.f / 255, 128);
  for (int i = 0; i < 3; ++i) v = b.qdq(b.conv(v, i == 0 ? 2.f / 255 : 0.02f, 16, 16, 3), 0.02f, 128);
  Model m = b.finish({v});
  Session s(m, {.threads = 2});
  std::mt19937 rng(1);
  const Plan& p = s.plan_for({Value::of(uniform({1, 16, 14, 14}, rng, -1, 1))});
  int qconv = 0;
  for (const PlanStep& st : p.steps)
    if (st.node->op_type == "QConv") {
      ++qconv;
      EXPECT_NE(st.kernel->name().find("dnnl-qconv-u8u8"), std::string::npos) << st.kernel->name();
      EXPECT_EQ(st.kernel->reorders(), 0) << st.kernel->name();
    }
  EXPECT_EQ(qconv, 3);
  EXPECT_LE(p.layout_transforms, 2);
  check_outputs(m, {1, 16, 14, 14}, 0.06, 0.02);
}

}  // namespace
}  // namespace hone
