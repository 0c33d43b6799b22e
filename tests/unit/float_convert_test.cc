// The float16 / bfloat16 converter (compress/quantize/float_convert.h): the file it writes (types, Casts at the graph
// boundary and around kept nodes, graph input/output names, opset 22 for bfloat16 convolutions), which nodes stay
// float32 and why (range on the calibration data, constants, ops ONNX has no low-precision form of, exclusions),
// that the converted models compute what the float32 ones do within the type's precision and never overflow where
// the calibration data said they would, and its errors. ONNX Runtime loads the float16 file (tests/peer/ort_agree.js).
//
// Fidelity is judged against the output's scale: max |converted - fp32| <= tol * max |fp32| over the whole output.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

#include "compress/quantize/float_convert.h"
#include "data/npy.h"
#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "ops/infer_graph.h"
#include "test_paths.h"

namespace hone {
namespace {

namespace fs = std::filesystem;

// Samples held in memory, for calibration.
class TensorDataset final : public data::Dataset {
 public:
  explicit TensorDataset(Tensor all) : all_(std::move(all)), sample_(all_.shape().begin() + 1, all_.shape().end()) {}
  int64_t size() const override { return all_.dim(0); }
  const Shape& sample_shape() const override { return sample_; }
  Tensor batch(int64_t first, int64_t count) const override {
    Shape s = sample_;
    s.insert(s.begin(), count);
    Tensor t(DType::Float32, s);
    int64_t per = shape_numel(sample_);
    std::copy(all_.data<float>() + first * per, all_.data<float>() + (first + count) * per, t.data<float>());
    return t;
  }
  std::string describe() const override { return "test samples"; }

 private:
  Tensor all_;
  Shape sample_;
};

Tensor uniform(Shape s, float lo, float hi, uint32_t seed) {
  Tensor t(DType::Float32, std::move(s));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

// A small float32 model built node by node.
struct Builder {
  Model m;
  int next = 0;
  explicit Builder(int64_t opset = 13) {
    m.ir_version = 8;
    m.opset_import = {{"", opset}};
  }
  std::string input(const std::string& name, Shape s) {
    m.graph.inputs.push_back({name, TypeInfo::tensor(DType::Float32, to_sym_shape(s)), ""});
    return name;
  }
  std::string constant(Tensor t) {
    std::string n = "c" + std::to_string(next++);
    m.graph.initializers[n] = std::move(t);
    return n;
  }
  std::string op(const std::string& type, std::vector<std::string> in, std::vector<Attribute> attrs = {},
                 const std::string& name = "") {
    std::string y = "v" + std::to_string(next++);
    m.graph.nodes.push_back({name.empty() ? "n" + std::to_string(next++) : name, type, "", std::move(in), {y},
                             std::move(attrs), ""});
    return y;
  }
  void output(const std::string& v) { m.graph.outputs.push_back({v, TypeInfo::tensor(DType::Float32), ""}); }
};

// conv 3x3 -> relu -> conv 1x1 -> global average pool -> flatten -> gemm -> softmax.
Model small_cnn() {
  Builder b;
  std::string x = b.input("image", {2, 3, 8, 8});
  std::string w1 = b.constant(uniform({8, 3, 3, 3}, -0.5f, 0.5f, 1)), b1 = b.constant(uniform({8}, -0.1f, 0.1f, 2));
  std::string y = b.op("Conv", {x, w1, b1}, {Attribute::of_ints("pads", {1, 1, 1, 1})}, "conv1");
  y = b.op("Relu", {y}, {}, "relu1");
  std::string w2 = b.constant(uniform({16, 8, 1, 1}, -0.5f, 0.5f, 3));
  y = b.op("Conv", {y, w2}, {}, "conv2");
  y = b.op("GlobalAveragePool", {y});
  y = b.op("Flatten", {y});
  std::string w3 = b.constant(uniform({16, 10}, -0.5f, 0.5f, 4)), b3 = b.constant(uniform({10}, -0.1f, 0.1f, 5));
  y = b.op("Gemm", {y, w3, b3}, {}, "fc");
  y = b.op("Softmax", {y}, {Attribute::of_int("axis", -1)});
  b.output(y);
  return b.m;
}

std::vector<Tensor> run(const Model& m, const Tensor& x, bool reference = false) {
  Session s(m, {.threads = 1, .reference_kernels = reference});
  std::vector<Value> out = s.run_values({Value::of(x)});
  std::vector<Tensor> r;
  for (Value& v : out) r.push_back(v.tensor);
  return r;
}

struct Fidelity {
  double max_abs_ref = 0, max_abs_diff = 0;
  int64_t nonfinite = 0;
  double relative() const { return max_abs_diff / std::max(max_abs_ref, 1e-30); }
};
Fidelity compare(const Tensor& ref, const Tensor& got) {
  EXPECT_EQ(got.dtype(), DType::Float32);
  EXPECT_EQ(ref.shape(), got.shape());
  Fidelity f;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    double r = ref.get_double(i), g = got.get_double(i);
    if (!std::isfinite(g)) ++f.nonfinite;
    f.max_abs_ref = std::max(f.max_abs_ref, std::fabs(r));
    if (std::isfinite(g)) f.max_abs_diff = std::max(f.max_abs_diff, std::fabs(r - g));
  }
  return f;
}

int count(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_type == op;
  return n;
}

DType elem_of(const Model& m, const std::string& v) {
  InferOptions io;
  io.opset = [&](const std::string& d) { return m.opset(d); };
  GraphTypes t = infer_graph(m.graph, io, {});
  return t.types.at(v).elem;
}

const Node& node_named(const Model& m, const std::string& name) {
  for (const Node& n : m.graph.nodes)
    if (n.name == name) return n;
  throw std::runtime_error("no node " + name);
}

bool kept(const FloatConvertReport& r, const std::string& node, const std::string& reason_part = "") {
  for (const auto& k : r.kept)
    if (k.node == node && k.reason.find(reason_part) != std::string::npos) return true;
  return false;
}

TEST(FloatConvert, Float16FileStructure) {
  Model m = small_cnn();
  FloatConvertReport r = convert_float_precision(m, {.target = DType::Float16}, nullptr);
  EXPECT_EQ(r.kept.size(), 0u) << r.kept[0].node << ": " << r.kept[0].reason;
  EXPECT_EQ(r.converted_nodes, 7);
  EXPECT_EQ(r.casts_added, 2);  // after the input, before the output
  EXPECT_EQ(r.converted_initializers, 5);
  EXPECT_EQ(r.initializer_bytes_after * 2, r.initializer_bytes_before);
  EXPECT_EQ(r.opset_after, 13);
  // Graph inputs and outputs keep their names and float32; everything inside is float16.
  ASSERT_EQ(m.graph.inputs.size(), 1u);
  EXPECT_EQ(m.graph.inputs[0].name, "image");
  EXPECT_EQ(m.graph.inputs[0].type.elem, DType::Float32);
  EXPECT_EQ(m.graph.outputs[0].type.elem, DType::Float32);
  for (const auto& [name, t] : m.graph.initializers) EXPECT_EQ(t.dtype(), DType::Float16) << name;
  EXPECT_EQ(count(m.graph, "Cast"), 2);
  EXPECT_EQ(m.graph.nodes.front().op_type, "Cast");
  EXPECT_EQ(m.graph.nodes.back().op_type, "Cast");
  EXPECT_EQ(m.graph.nodes.back().outputs[0], m.graph.outputs[0].name);
  for (const Node& n : m.graph.nodes)
    if (n.op_type == "Conv") EXPECT_EQ(elem_of(m, n.outputs[0]), DType::Float16);
  // It round-trips through the ONNX writer and loads.
  Model back = load_onnx_bytes(save_onnx_bytes(m).data(), save_onnx_bytes(m).size(), "", "converted");
  EXPECT_EQ(back.graph.nodes.size(), m.graph.nodes.size());
}

TEST(FloatConvert, BFloat16RaisesTheOpsetForConvolutions) {
  Model m = small_cnn();
  FloatConvertReport r = convert_float_precision(m, {.target = DType::BFloat16}, nullptr);
  EXPECT_EQ(r.opset_before, 13);
  EXPECT_EQ(r.opset_after, 22);
  EXPECT_EQ(m.opset(""), 22);
  EXPECT_GE(m.ir_version, 10);
  EXPECT_TRUE(r.kept.empty());
  for (const auto& [name, t] : m.graph.initializers) EXPECT_EQ(t.dtype(), DType::BFloat16) << name;

  // Without raising, ONNX has no bfloat16 Conv / GlobalAveragePool at 13: they stay float32, with Casts around.
  Model low = small_cnn();
  FloatConvertOptions o{.target = DType::BFloat16};
  o.raise_opset = false;
  FloatConvertReport lr = convert_float_precision(low, o, nullptr);
  EXPECT_EQ(lr.opset_after, 13);
  EXPECT_FALSE(lr.opset_note.empty());
  EXPECT_TRUE(kept(lr, "conv1", "no bfloat16 form of Conv at opset 13"));
  EXPECT_TRUE(kept(lr, "conv2"));
  EXPECT_FALSE(kept(lr, "fc"));  // Gemm has bfloat16 from 13
  EXPECT_EQ(elem_of(low, node_named(low, "conv1").outputs[0]), DType::Float32);
  EXPECT_EQ(elem_of(low, node_named(low, "fc").outputs[0]), DType::BFloat16);
}

TEST(FloatConvert, OpsetRaiseRewritesReductionAxes) {
  Builder b(13);
  std::string x = b.input("x", {2, 6, 5});
  std::string w = b.constant(uniform({5, 4}, -1, 1, 7));
  std::string y = b.op("MatMul", {x, w});
  y = b.op("ReduceMean", {y}, {Attribute::of_ints("axes", {1}), Attribute::of_int("keepdims", 0)}, "mean");
  y = b.op("AveragePool", {b.op("Unsqueeze", {y, b.constant(Tensor(DType::Int64, {1}))})},
           {Attribute::of_ints("kernel_shape", {2})});
  b.output(y);
  Model m = b.m;
  FloatConvertReport r = convert_float_precision(m, {.target = DType::BFloat16}, nullptr);
  EXPECT_EQ(r.opset_after, 22);
  ASSERT_EQ(r.opset_rewrites.size(), 1u);
  const Node* mean = nullptr;
  for (const Node& n : m.graph.nodes)
    if (n.name == "mean") mean = &n;
  ASSERT_NE(mean, nullptr);
  EXPECT_FALSE(mean->has_attr("axes"));
  ASSERT_EQ(mean->inputs.size(), 2u);
  EXPECT_EQ(m.graph.initializers.at(mean->inputs[1]).to_int64_vector(), std::vector<int64_t>{1});
  Tensor in = uniform({2, 6, 5}, -1, 1, 8);
  Fidelity f = compare(run(b.m, in)[0], run(m, in)[0]);
  EXPECT_LE(f.relative(), 2e-2);
}

TEST(FloatConvert, ConvertedModelsStayCloseToFloat32) {
  Model fp32 = small_cnn();
  Tensor in = uniform({2, 3, 8, 8}, -1, 1, 9);
  Tensor ref = run(fp32, in)[0];
  for (DType t : {DType::Float16, DType::BFloat16}) {
    Model m = fp32;
    convert_float_precision(m, {.target = t}, nullptr);
    for (bool reference : {false, true}) {
      Fidelity f = compare(ref, run(m, in, reference)[0]);
      EXPECT_EQ(f.nonfinite, 0);
      // float16 keeps ~11 bits, bfloat16 ~8: a handful of roundings per layer.
      EXPECT_LE(f.relative(), t == DType::Float16 ? 2e-3 : 2e-2) << dtype_name(t) << (reference ? " reference" : "");
      EXPECT_GT(f.max_abs_diff, 0.0) << "the converted model computes exactly what float32 does";
    }
  }
}

TEST(FloatConvert, FashionMnistFixtures) {
  for (const char* name : {"fashion_mnist_cnn.onnx", "fashion_mnist_mlp.onnx"}) {
    Model fp32 = load_onnx_file(test::fixture(name));
    // 64 test images, as the fixtures' PyTorch training normalized them.
    Tensor images = read_npy_file(test::fixture("fashion_mnist_test_1000_images.npy"));
    Shape shape = fp32.graph.inputs[0].type.shape->size() == 4 ? Shape{64, 1, 28, 28} : Shape{64, 784};
    Tensor in(DType::Float32, shape);
    std::copy(images.data<float>(), images.data<float>() + in.numel(), in.data<float>());
    Tensor ref = run(fp32, in)[0];
    for (DType t : {DType::Float16, DType::BFloat16}) {
      Model m = fp32;
      FloatConvertReport r = convert_float_precision(m, {.target = t}, nullptr);
      EXPECT_TRUE(r.kept.empty()) << name;
      EXPECT_LT(r.initializer_bytes_after * 1.9, r.initializer_bytes_before) << name;
      Fidelity f = compare(ref, run(m, in)[0]);
      EXPECT_EQ(f.nonfinite, 0) << name;
      EXPECT_LE(f.relative(), 1e-2) << name << " " << dtype_name(t);
    }
  }
}

// x * 400 -> Relu -> * 400: the second product reaches 1.6e5 for |x| near 1, beyond float16.
Model overflowing_model() {
  Builder b;
  std::string x = b.input("x", {4, 16});
  Tensor k(DType::Float32, {});
  k.data<float>()[0] = 400.f;
  std::string y = b.op("Mul", {x, b.constant(k)}, {}, "scale1");
  y = b.op("Relu", {y}, {}, "relu");
  y = b.op("Mul", {y, b.constant(k)}, {}, "scale2");
  y = b.op("Div", {y, b.constant(k)}, {}, "unscale");
  y = b.op("Tanh", {b.op("Div", {y, b.constant(k)}, {}, "unscale2")}, {}, "tanh");
  b.output(y);
  return b.m;
}

TEST(FloatConvert, CalibrationKeepsOverflowingNodesFloat32) {
  Model fp32 = overflowing_model();
  Tensor data = uniform({16, 16}, -1, 1, 11);
  TensorDataset calib(data);
  Tensor in = uniform({4, 16}, -1, 1, 12);
  Tensor ref = run(fp32, in)[0];

  Model m = fp32;
  FloatConvertReport r = convert_float_precision(m, {.target = DType::Float16}, &calib);
  EXPECT_EQ(r.calibration_samples, 16);
  EXPECT_GT(r.max_abs_seen, 32752.0);
  EXPECT_TRUE(kept(r, "scale2", "on the calibration data")) << (r.kept.empty() ? "" : r.kept[0].reason);
  EXPECT_TRUE(kept(r, "unscale", "reads"));  // reads the value float16 cannot hold
  EXPECT_FALSE(kept(r, "scale1"));
  EXPECT_FALSE(kept(r, "tanh"));
  for (bool reference : {false, true}) {
    Fidelity f = compare(ref, run(m, in, reference)[0]);
    EXPECT_EQ(f.nonfinite, 0);
    EXPECT_LE(f.relative(), 2e-3);
  }
  // Without the data the converter cannot know: the float16 model overflows to inf (and Tanh(inf / k) to 1 or NaN).
  Model blind = fp32;
  FloatConvertReport br = convert_float_precision(blind, {.target = DType::Float16}, nullptr);
  EXPECT_TRUE(br.kept.empty());
  Fidelity bf = compare(ref, run(blind, in)[0]);
  EXPECT_GT(bf.relative(), 0.05) << "the overflow this test is about did not happen";
  // bfloat16 has float32's range: nothing to keep.
  Model b16 = fp32;
  FloatConvertReport b16r = convert_float_precision(b16, {.target = DType::BFloat16}, &calib);
  EXPECT_TRUE(b16r.kept.empty());
}

// y = ((x + 1000) - 1000) * 2 + 0.5 with x in [-1, 1): in bfloat16, x + 1000 rounds to a multiple of 4, so the Add
// and the Sub (which reads that sum) must stay float32; the Mul and the last Add need not.
Model cancelling_model() {
  Builder b;
  std::string x = b.input("x", {4, 16});
  std::string y = b.op("Add", {x, b.constant(scalar_tensor(DType::Float32, 1000.f))}, {}, "shift");
  y = b.op("Sub", {y, b.constant(scalar_tensor(DType::Float32, 1000.f))}, {}, "unshift");
  y = b.op("Mul", {y, b.constant(scalar_tensor(DType::Float32, 2.f))}, {}, "twice");
  y = b.op("Add", {y, b.constant(scalar_tensor(DType::Float32, 0.5f))}, {}, "offset");
  b.output(y);
  return b.m;
}

TEST(FloatConvert, AccuracyAwareKeepsTheSensitiveNodesFloat32) {
  Model fp32 = cancelling_model();
  TensorDataset calib(uniform({8, 16}, -1, 1, 21));
  Tensor in = uniform({4, 16}, -1, 1, 22);
  Tensor ref = run(fp32, in)[0];
  // Range-only conversion: nothing leaves bfloat16's range, and the result is off by far more than 1e-2.
  Model plain = fp32;
  FloatConvertReport pr = convert_float_precision(plain, {.target = DType::BFloat16, .max_output_error = 0}, &calib);
  EXPECT_TRUE(pr.kept.empty());
  EXPECT_TRUE(std::isnan(pr.output_error));
  EXPECT_GT(compare(ref, run(plain, in)[0]).relative(), 0.05);
  // Accuracy-aware (the default with data): the Add and Sub stay float32, the rest is bfloat16, and it holds.
  Model m = fp32;
  FloatConvertReport r = convert_float_precision(m, {.target = DType::BFloat16}, &calib);
  ASSERT_TRUE(r.search.has_value());
  EXPECT_TRUE(r.search->met);
  EXPECT_GT(r.search->quantized, 0.05);  // the first conversion's error
  EXPECT_LE(r.output_error, 1e-2);
  EXPECT_TRUE(kept(r, "shift", "kept for accuracy")) << r.kept.size();
  EXPECT_TRUE(kept(r, "unshift", "kept for accuracy"));
  EXPECT_FALSE(kept(r, "twice"));
  EXPECT_FALSE(kept(r, "offset"));
  ASSERT_EQ(r.search->steps.size(), 2u);
  EXPECT_LT(r.search->steps.back().after, r.search->steps.front().before);
  EXPECT_LE(compare(ref, run(m, in)[0]).relative(), 1e-2);
  EXPECT_LE(compare(ref, run(m, in, true)[0]).relative(), 1e-2);
  // float16 (11 bits) holds x + 1000 to 0.5: also too coarse, the same two nodes stay.
  Model h = fp32;
  FloatConvertReport hr = convert_float_precision(h, {.target = DType::Float16}, &calib);
  EXPECT_TRUE(kept(hr, "shift") && kept(hr, "unshift"));
  EXPECT_LE(compare(ref, run(h, in)[0]).relative(), 1e-2);
}

TEST(FloatConvert, AccuracyAwareSkipsTheSearchWhenTheInputRoundingAloneMissesIt) {
  // A target tighter than rounding the input to bfloat16 allows (2^-9 relative): no search, a warning, the
  // range-only model.
  Model m = cancelling_model();
  TensorDataset calib(uniform({8, 16}, -1, 1, 23));
  FloatConvertReport r =
      convert_float_precision(m, {.target = DType::BFloat16, .max_output_error = 1e-5}, &calib);
  EXPECT_FALSE(r.search.has_value());
  EXPECT_GT(r.output_error_floor, 1e-5);
  EXPECT_GT(r.output_error, 1e-5);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("rounding the input alone"), std::string::npos) << r.warnings[0];
  EXPECT_TRUE(r.kept.empty());
}

TEST(FloatConvert, WithoutCalibrationFloat16WarnsThatRangesWereNotChecked) {
  Model m = cancelling_model();
  FloatConvertReport r = convert_float_precision(m, {.target = DType::Float16}, nullptr);
  EXPECT_FALSE(r.ranges_checked);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("--calibration"), std::string::npos) << r.warnings[0];
  Model b = cancelling_model();  // bfloat16 has float32's range: nothing to warn about
  EXPECT_TRUE(convert_float_precision(b, {.target = DType::BFloat16}, nullptr).warnings.empty());
  TensorDataset calib(uniform({8, 16}, -1, 1, 24));
  Model c = cancelling_model();
  FloatConvertReport cr = convert_float_precision(c, {.target = DType::Float16}, &calib);
  EXPECT_TRUE(cr.ranges_checked);
  EXPECT_TRUE(cr.warnings.empty());
}

TEST(FloatConvert, ReportsTheShareOfWorkInTheTargetType) {
  Model m = small_cnn();
  FloatConvertReport r = convert_float_precision(m, {.target = DType::Float16, .exclude_nodes = {"conv1"}}, nullptr);
  // conv1: 2 x 8 x 8 x 8 outputs x 27 MACs; conv2: 2 x 16 x 8 x 8 x 8; fc: 2 x 10 x 16 (x 2 FLOPs each).
  EXPECT_GT(r.flops, 2 * (2 * 8 * 64 * 27 + 2 * 16 * 64 * 8 + 2 * 10 * 16));
  EXPECT_LT(r.low_precision_flops, r.flops - 2 * 2 * 8 * 64 * 27);
  EXPECT_GT(r.low_precision_flops, 2 * (2 * 16 * 64 * 8 + 2 * 10 * 16));
}

TEST(FloatConvert, ConstantsTheTypeCannotHold) {
  Builder b;
  std::string x = b.input("x", {3, 5});
  Tensor big(DType::Float32, {5});
  for (int i = 0; i < 5; ++i) big.data<float>()[i] = i == 2 ? 1e5f : 1.f;
  std::string y = b.op("Mul", {x, b.constant(big)}, {}, "big_scale");
  Tensor eps(DType::Float32, {});
  eps.data<float>()[0] = 1e-10f;  // log(max(x, 1e-10)): float16 rounds it to 0 and log gives -inf
  y = b.op("Max", {b.op("Abs", {y}), b.constant(eps)}, {}, "clamp");
  y = b.op("Log", {y}, {}, "log");
  // A weight tensor whose tiny entries flush to zero next to its large ones: negligible, converted.
  Tensor w = uniform({5, 4}, -1, 1, 13);
  w.data<float>()[3] = 1e-9f;
  y = b.op("MatMul", {y, b.constant(w)}, {}, "matmul");
  b.output(y);
  Model m = b.m;
  FloatConvertReport r = convert_float_precision(m, {.target = DType::Float16}, nullptr);
  EXPECT_TRUE(kept(r, "big_scale", "beyond the float16 safe range"));
  EXPECT_TRUE(kept(r, "clamp", "rounds to 0"));
  EXPECT_TRUE(kept(r, "log", "can carry"));  // log(1e-10) must not become log(0)
  EXPECT_FALSE(kept(r, "matmul"));
  // Where the big product goes next only data can tell: with it, every value beyond the range stays float32 and
  // nothing overflows (zeros in the input reach the log through the clamp).
  Tensor in = uniform({3, 5}, -1, 1, 14);
  in.data<float>()[0] = 0.f;
  TensorDataset calib(in);
  Model checked = b.m;
  FloatConvertReport cr = convert_float_precision(checked, {.target = DType::Float16}, &calib);
  EXPECT_TRUE(kept(cr, "clamp"));
  EXPECT_TRUE(kept(cr, "log"));
  Fidelity f = compare(run(b.m, in)[0], run(checked, in)[0]);
  EXPECT_EQ(f.nonfinite, 0);
  EXPECT_LE(f.relative(), 2e-3);
}

TEST(FloatConvert, OpsWithoutLowPrecisionFormsAndInputsFixedToFloat32) {
  Builder b;
  std::string x = b.input("x", {1, 2, 4, 4});
  Tensor scales(DType::Float32, {4});
  float sv[] = {1, 1, 2, 2};
  std::copy(sv, sv + 4, scales.data<float>());
  std::string y = b.op("Resize", {x, "", b.constant(scales)}, {Attribute::of_string("mode", "nearest")}, "resize");
  std::string start = b.constant(scalar_tensor(DType::Float32, 0.f)), limit = b.constant(scalar_tensor(DType::Float32, 8.f));
  std::string delta = b.constant(scalar_tensor(DType::Float32, 1.f));
  std::string r = b.op("Range", {start, limit, delta}, {}, "range");
  y = b.op("Add", {y, r}, {}, "add");
  b.output(y);
  Model m = b.m;
  FloatConvertReport rep = convert_float_precision(m, {.target = DType::Float16}, nullptr);
  EXPECT_TRUE(kept(rep, "range", "no float16 form of Range"));
  EXPECT_FALSE(kept(rep, "resize"));
  const Node& resize = node_named(m, "resize");
  EXPECT_EQ(m.graph.initializers.at(resize.inputs[2]).dtype(), DType::Float32);  // scales: float32 in every opset
  EXPECT_EQ(elem_of(m, resize.outputs[0]), DType::Float16);
  Tensor in = uniform({1, 2, 4, 4}, -1, 1, 15);
  Fidelity f = compare(run(b.m, in)[0], run(m, in)[0]);
  EXPECT_LE(f.relative(), 1e-3);
}

TEST(FloatConvert, ExclusionsAndIoTypes) {
  Model m = small_cnn();
  FloatConvertOptions o{.target = DType::Float16};
  o.exclude_nodes = {"conv2"};
  o.exclude_op_types = {"Softmax"};
  FloatConvertReport r = convert_float_precision(m, o, nullptr);
  EXPECT_TRUE(kept(r, "conv2", "excluded by name"));
  ASSERT_EQ(r.kept.size(), 2u);
  EXPECT_EQ(r.kept[1].op_type, "Softmax");
  EXPECT_EQ(r.kept[1].reason, "excluded by op type");
  EXPECT_EQ(r.casts_added, 4);  // input; around conv2 (in, out); before Softmax (its output is the graph's, float32)

  Model io = small_cnn();
  FloatConvertOptions lo{.target = DType::Float16};
  lo.keep_io_types = false;
  FloatConvertReport ir = convert_float_precision(io, lo, nullptr);
  EXPECT_EQ(ir.casts_added, 0);
  EXPECT_EQ(io.graph.inputs[0].type.elem, DType::Float16);
  EXPECT_EQ(io.graph.outputs[0].type.elem, DType::Float16);
  Tensor in = uniform({2, 3, 8, 8}, -1, 1, 16);
  Tensor in16(DType::Float16, in.shape());
  for (int64_t i = 0; i < in.numel(); ++i) in16.data<Float16>()[i] = Float16(in.data<float>()[i]);
  Session s(io, {.threads = 1});
  Tensor y = s.run_values({Value::of(in16)})[0].tensor;
  EXPECT_EQ(y.dtype(), DType::Float16);
}

TEST(FloatConvert, Errors) {
  Model m = small_cnn();
  Model before = m;
  auto throws = [&](const FloatConvertOptions& o, const data::Dataset* d, const std::string& part) {
    try {
      convert_float_precision(m, o, d);
      ADD_FAILURE() << "no error, expected one mentioning '" << part << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  throws({.target = DType::Int8}, nullptr, "float16 or bfloat16, not int8");
  FloatConvertOptions bad_range{.target = DType::Float16};
  bad_range.range_fraction = 2;
  throws(bad_range, nullptr, "fraction");
  TensorDataset wrong(uniform({4, 3, 9, 9}, -1, 1, 17));
  throws({.target = DType::Float16}, &wrong, "image");
  FloatConvertOptions all{.target = DType::Float16};
  all.exclude_op_types = {"Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm", "Softmax"};
  throws(all, nullptr, "nothing to convert");
  EXPECT_EQ(save_onnx_bytes(m), save_onnx_bytes(before)) << "a failed conversion changed the model";
}

// The float16 file loads in ONNX Runtime and agrees with the float32 original there.
TEST(FloatConvert, OnnxRuntimeRunsTheFloat16File) {
  const char* env = std::getenv("NODE");
  std::string node = env ? env : "node";
  if (std::system((node + " --version > /dev/null 2>&1").c_str()) != 0) GTEST_SKIP() << "no node program";
  if (!fs::exists(test::source_dir() + "/node_modules/onnxruntime-node/package.json"))
    GTEST_SKIP() << "node_modules/onnxruntime-node is missing (scripts/install_deps.sh)";
  fs::path dir = fs::temp_directory_path() / ("hone_float_convert_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Model m = load_onnx_file(test::fixture("fashion_mnist_cnn.onnx"));
  convert_float_precision(m, {.target = DType::Float16}, nullptr);
  save_onnx_file(m, (dir / "cnn_fp16.onnx").string(), true);
  std::string cmd = node + " " + test::source_dir() + "/tests/peer/ort_agree.js " + test::fixture("fashion_mnist_cnn.onnx") +
                    " " + (dir / "cnn_fp16.onnx").string() + " --rtol 1e-2 --atol 2e-2 > " + (dir / "log").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream log(dir / "log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << text;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hone
