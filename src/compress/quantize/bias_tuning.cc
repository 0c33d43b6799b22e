#include "compress/quantize/bias_tuning.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace hone::quant {

namespace {

// A layer whose bias can take the correction, in the quantized model.
struct Target {
  std::string node, output;
  int axis = 1;             // channel axis of the output: Conv 1, Gemm -1
  std::string bias;         // initializer: int32 (behind `scale`) or float32
  std::string scale;        // int32 biases: the DequantizeLinear's scale initializer; empty for float32
  int64_t channels = 0;
};

std::vector<Target> find_targets(const Model& fp32, const QuantPlan& plan, const Model& qm) {
  std::map<std::string, const Node*> q_nodes, f_nodes;
  std::map<std::string, const Node*> producer;
  for (const Node& n : qm.graph.nodes) {
    q_nodes[n.name] = &n;
    for (const std::string& o : n.outputs) producer[o] = &n;
  }
  for (const Node& n : fp32.graph.nodes) f_nodes[n.name] = &n;
  std::vector<Target> out;
  for (const std::string& name : plan.compute) {
    auto qi = q_nodes.find(name), fi = f_nodes.find(name);
    if (qi == q_nodes.end() || fi == f_nodes.end()) continue;
    const Node& n = *qi->second;
    if (n.op_type != "Conv" && !(n.op_type == "Gemm" && n.attr_int("transA", 0) == 0)) continue;
    if (!n.has_input(2) || n.outputs.empty() || fi->second->outputs.empty() ||
        fi->second->outputs[0] != n.outputs[0])
      continue;
    Target t;
    t.node = name;
    t.output = n.outputs[0];
    t.axis = n.op_type == "Conv" ? 1 : -1;
    const std::string& b = n.inputs[2];
    if (const Tensor* f = qm.graph.find_initializer(b)) {
      if (f->dtype() != DType::Float32) continue;
      t.bias = b;
      t.channels = f->numel();
    } else {
      auto p = producer.find(b);
      if (p == producer.end() || p->second->op_type != "DequantizeLinear" || p->second->inputs.size() < 2) continue;
      const Node& dq = *p->second;
      const Tensor* qb = qm.graph.find_initializer(dq.inputs[0]);
      const Tensor* s = qm.graph.find_initializer(dq.inputs[1]);
      if (!qb || !s || qb->dtype() != DType::Int32 || s->dtype() != DType::Float32) continue;
      if (dq.inputs.size() > 2 && !dq.inputs[2].empty()) {
        const Tensor* z = qm.graph.find_initializer(dq.inputs[2]);
        if (!z) continue;
        bool zero = true;
        for (int64_t k = 0; k < z->numel(); ++k) zero = zero && z->get_double(k) == 0;
        if (!zero) continue;
      }
      if (s->numel() != 1 && s->numel() != qb->numel()) continue;
      t.bias = dq.inputs[0];
      t.scale = dq.inputs[1];
      t.channels = qb->numel();
    }
    out.push_back(t);
  }
  return out;
}

std::map<std::string, std::vector<double>> output_means(const Model& m, const std::vector<Target>& targets,
                                                        const data::Dataset& data, ObserveOptions run,
                                                        const std::string& label) {
  run.histograms = false;
  run.label = label;
  run.channel_axes.clear();
  for (const Target& t : targets) run.channel_axes[t.output] = t.axis;
  std::map<std::string, TensorObserver> obs = observe_tensors(m, {}, data, run);
  std::map<std::string, std::vector<double>> means;
  for (const Target& t : targets) means[t.output] = obs.at(t.output).channel_means();
  return means;
}

}  // namespace

EmpiricalBiasReport correct_bias_empirically(const Model& fp32, const QuantPlan& plan, QuantizedModel& q,
                                             const data::Dataset& data, const ObserveOptions& run, int passes) {
  EmpiricalBiasReport report;
  std::vector<Target> targets = find_targets(fp32, plan, q.model);
  if (targets.empty() || passes <= 0) return report;
  auto ref = output_means(fp32, targets, data, run, "bias correction: fp32");
  Graph& g = q.model.graph;
  passes = std::min<int>(passes, static_cast<int>(targets.size()));
  const size_t n_targets = targets.size();
  for (int pass = 0; pass < passes; ++pass) {
    // This pass's group: the layers [first, last) in graph order.
    const size_t first = n_targets * static_cast<size_t>(pass) / static_cast<size_t>(passes);
    const size_t last = n_targets * static_cast<size_t>(pass + 1) / static_cast<size_t>(passes);
    std::vector<Target> group(targets.begin() + static_cast<ptrdiff_t>(first),
                              targets.begin() + static_cast<ptrdiff_t>(last));
    auto cur = output_means(q.model, group, data, run, fmt::format("bias correction: pass {}", pass + 1));
    double shift = 0;
    int64_t counted = 0;
    for (const Target& t : group) {
      const std::vector<double>& r = ref.at(t.output);
      const std::vector<double>& c = cur.at(t.output);
      if (static_cast<int64_t>(r.size()) != t.channels || c.size() != r.size()) continue;
      // A fresh tensor: the bias may share its buffer with the fp32 model's.
      Tensor b = g.initializers.at(t.bias).clone();
      if (t.scale.empty()) {
        float* v = b.data<float>();
        for (size_t k = 0; k < r.size(); ++k) v[k] += static_cast<float>(r[k] - c[k]);
      } else {
        const Tensor& s = g.initializers.at(t.scale);
        auto* v = b.data<int32_t>();
        for (size_t k = 0; k < r.size(); ++k) {
          const double sc = s.data<float>()[s.numel() == 1 ? 0 : static_cast<int64_t>(k)];
          if (!(sc > 0)) continue;
          const double moved = static_cast<double>(v[k]) + std::nearbyint((r[k] - c[k]) / sc);
          v[k] = static_cast<int32_t>(std::clamp(moved, -2147483648.0, 2147483647.0));
        }
      }
      g.initializers[t.bias] = std::move(b);
      for (size_t k = 0; k < r.size(); ++k) shift += std::fabs(r[k] - c[k]);
      counted += static_cast<int64_t>(r.size());
      ++report.layers;
    }
    report.mean_shift.push_back(counted ? shift / static_cast<double>(counted) : 0.0);
  }
  return report;
}

}  // namespace hone::quant
