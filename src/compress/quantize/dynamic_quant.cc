// Dynamic quantization of MatMul / Gemm with constant weights, in ONNX Runtime's dynamic format (qdq.h).
#include <map>
#include <set>

#include "compress/quantize/qdq.h"
#include "compress/quantize/quant_math.h"
#include "passes/pass.h"

namespace hone::quant {
namespace {

Tensor transposed_2d(const Tensor& w) {
  const int64_t r = w.dim(0), c = w.dim(1);
  Tensor t(DType::Float32, {c, r});
  const float* x = w.data<float>();
  float* y = t.data<float>();
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) y[j * r + i] = x[i * c + j];
  return t;
}

struct DynamicInput {
  std::string q, scale, zero_point;
};

}  // namespace

QuantizedModel write_dynamic(const Model& m, const QuantPlan& plan, const QuantizeConfig& config) {
  QuantizedModel out;
  out.model = m;
  Graph& g = out.model.graph;
  NameAllocator names(g);
  std::set<std::string> compute(plan.compute.begin(), plan.compute.end());
  std::map<std::string, DynamicInput> quantized_inputs;  // activation -> its DynamicQuantizeLinear outputs
  auto add_initializer = [&](const std::string& base, Tensor t) {
    std::string name = names.fresh(base);
    g.initializers[name] = std::move(t);
    return name;
  };
  std::vector<Node> nodes;
  for (Node& n : g.nodes) {
    if (!compute.count(n.name)) {
      nodes.push_back(std::move(n));
      continue;
    }
    HONE_CHECK(n.op_type == "MatMul" || n.op_type == "Gemm", "dynamic mode cannot quantize {}", n.label());
    const bool gemm = n.op_type == "Gemm";
    const std::string base = n.name;
    std::string a = n.inputs[0];
    if (gemm && n.attr_int("transA", 0) != 0) {
      std::string at = names.fresh(a + "_transposed");
      nodes.push_back(make_quant_node(names.fresh(base + "_TransposeA"), "Transpose", {a}, {at},
                                {Attribute::of_ints("perm", {1, 0})}));
      a = at;
    }
    auto qi = quantized_inputs.find(a);
    if (qi == quantized_inputs.end()) {
      DynamicInput d{names.fresh(a + "_quantized"), names.fresh(a + "_scale"), names.fresh(a + "_zero_point")};
      nodes.push_back(make_quant_node(names.fresh(a + "_DynamicQuantizeLinear"), "DynamicQuantizeLinear", {a},
                                {d.q, d.scale, d.zero_point}));
      qi = quantized_inputs.emplace(a, d).first;
    }
    Tensor w = *g.find_initializer(n.inputs[1]);
    if (gemm && n.attr_int("transB", 0) != 0) w = transposed_2d(w);  // MatMulInteger takes [K, N]
    QuantizedWeight qw = quantize_weight(w, config.per_channel ? 1 : -1, nullptr, config.weight_mse_clip);
    // Gemm's alpha scales the product: folded into the weight scale.
    float alpha = gemm ? n.attr_float("alpha", 1) : 1.0f;
    if (alpha != 1)
      for (float& s : qw.scale.span<float>()) s *= alpha;
    std::string wq = add_initializer(n.inputs[1] + "_quantized", qw.q);
    std::string ws = add_initializer(n.inputs[1] + "_scale", qw.scale);
    std::string wz = add_initializer(n.inputs[1] + "_zero_point", Tensor(DType::Int8, {}));
    ++out.quantized_weights;
    std::string acc = names.fresh(base + "_int32"), as_float = names.fresh(base + "_int32_float"),
                mult = names.fresh(base + "_output_scale");
    nodes.push_back(make_quant_node(names.fresh(base + "_MatMulInteger"), "MatMulInteger",
                              {qi->second.q, wq, qi->second.zero_point, wz}, {acc}));
    nodes.push_back(make_quant_node(names.fresh(base + "_Cast"), "Cast", {acc}, {as_float},
                              {Attribute::of_int("to", static_cast<int64_t>(DType::Float32))}));
    nodes.push_back(make_quant_node(names.fresh(base + "_ScaleProduct"), "Mul", {qi->second.scale, ws}, {mult}));
    const std::string y = n.outputs[0];
    bool bias = gemm && n.has_input(2);
    std::string product = bias ? names.fresh(base + "_product") : y;
    nodes.push_back(make_quant_node(names.fresh(base + "_Rescale"), "Mul", {as_float, mult}, {product}));
    if (bias) {
      std::string c = n.inputs[2];
      float beta = n.attr_float("beta", 1);
      if (beta != 1) {
        const Tensor* ct = g.find_initializer(c);
        if (!ct || ct->dtype() != DType::Float32) {
          std::string scaled = names.fresh(c + "_times_beta");
          std::string b = add_initializer(c + "_beta", Tensor(DType::Float32, {}));
          g.initializers[b].data<float>()[0] = beta;
          nodes.push_back(make_quant_node(names.fresh(base + "_Beta"), "Mul", {c, b}, {scaled}));
          c = scaled;
        } else {
          Tensor scaled = ct->clone();
          for (float& v : scaled.span<float>()) v *= beta;
          c = add_initializer(c + "_times_beta", scaled);
        }
      }
      nodes.push_back(make_quant_node(names.fresh(base + "_Bias"), "Add", {product, c}, {y}));
    }
    out.result_tensor[n.name] = y;
  }
  g.nodes = std::move(nodes);
  remove_unused_initializers(g);
  verify_graph(g);
  return out;
}

}  // namespace hone::quant
