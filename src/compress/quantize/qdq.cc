#include "compress/quantize/qdq.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <optional>
#include <set>

#include "compress/quantize/quant_math.h"
#include "passes/pass.h"

namespace hone::quant {

NameAllocator::NameAllocator(const Graph& g) {
  for (const Node& n : g.nodes) {
    used_.insert(n.name);
    for (const std::string& s : n.inputs) used_.insert(s);
    for (const std::string& s : n.outputs) used_.insert(s);
  }
  for (const ValueInfo& v : g.inputs) used_.insert(v.name);
  for (const ValueInfo& v : g.outputs) used_.insert(v.name);
  for (const ValueInfo& v : g.value_info) used_.insert(v.name);
  for (const auto& [name, t] : g.initializers) used_.insert(name);
  for (const std::string& s : names_defined_in_subgraphs(g)) used_.insert(s);
  used_.erase("");
}

Node make_quant_node(std::string name, std::string op, std::vector<std::string> inputs,
                     std::vector<std::string> outputs, std::vector<Attribute> attributes) {
  Node n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attributes = std::move(attributes);
  return n;
}

std::string NameAllocator::fresh(const std::string& base) {
  std::string name = base;
  for (int k = 1; used_.count(name); ++k) name = fmt::format("{}_{}", base, k);
  used_.insert(name);
  return name;
}

namespace {

Tensor scalar_of(DType t, double v) {
  Tensor s(t, {});
  s.set_double(0, v);
  return s;
}

// The per-channel axis of a weight, or -1 for per-tensor quantization.
int64_t weight_axis(const Node& n, bool per_channel) {
  if (!per_channel) return -1;
  if (n.op_type == "Conv") return 0;
  if (n.op_type == "Gemm") return n.attr_int("transB", 0) != 0 ? 0 : 1;
  return 1;  // MatMul: B is [K, N]
}

class QdqWriter {
 public:
  QdqWriter(const Model& m, const QuantPlan& plan, const QuantizeConfig& config, const ChannelMeans* means)
      : plan_(plan), config_(config), means_(means), names_(m.graph) {
    out_.model = m;
  }

  QuantizedModel run() {
    Graph& g = out_.model.graph;
    for (const Node& n : g.nodes) node_index_[n.name] = &n - g.nodes.data();
    for (const std::string& name : plan_.compute) {
      auto it = node_index_.find(name);
      if (it == node_index_.end()) fail("the plan names node '{}', which the model does not have", name);
    }
    if (config_.mode == QuantMode::Static) make_activation_pairs();
    for (const std::string& name : plan_.compute) quantize_node_weights(g.nodes[node_index_.at(name)]);
    emit();
    remove_unused_initializers(g);
    verify_graph(g);
    for (const auto& [node, tensor] : plan_.result_tensor) {
      auto it = consumer_name_.find(tensor);
      out_.result_tensor[node] = it == consumer_name_.end() ? tensor : it->second;
    }
    return std::move(out_);
  }

 private:
  struct Pair {
    std::string tensor, source, dequantized;
    Node q, dq;
  };

  std::string add_initializer(const std::string& base, Tensor t) {
    std::string name = names_.fresh(base);
    out_.model.graph.initializers[name] = std::move(t);
    return name;
  }

  // One pair per planned tensor; the groups' scales and zero points are shared initializers.
  void make_activation_pairs() {
    const Graph& g = out_.model.graph;
    std::map<std::string, std::string> folded_source;  // activation output -> its input
    for (const auto& [act, producer] : plan_.folded) {
      const Node& n = g.nodes[node_index_.at(act)];
      folded_source[n.outputs[0]] = n.inputs[0];
      removed_.insert(act);
    }
    std::map<int, std::pair<std::string, std::string>> group_params;  // scale, zero point initializer names
    for (const auto& [t, group] : plan_.tensor_group) {
      HONE_CHECK(static_cast<size_t>(group) < plan_.group_range.size(), "no range for quantized tensor '{}'", t);
      auto gp = group_params.find(group);
      if (gp == group_params.end()) {
        ActivationParams p = activation_params(plan_.group_range[static_cast<size_t>(group)], config_.symmetric);
        std::string s = add_initializer(t + "_scale", scalar_of(DType::Float32, p.scale));
        std::string z = add_initializer(t + "_zero_point", scalar_of(p.type, p.zero_point));
        gp = group_params.emplace(group, std::make_pair(s, z)).first;
        params_[group] = p;
      }
      const auto& [scale, zp] = gp->second;
      Pair pair;
      pair.tensor = t;
      auto f = folded_source.find(t);
      pair.source = f == folded_source.end() ? t : f->second;
      pair.dequantized = f == folded_source.end() ? names_.fresh(t + "_dequantized") : t;
      std::string q = names_.fresh(t + "_quantized");
      pair.q = make_quant_node(names_.fresh(t + "_QuantizeLinear"), "QuantizeLinear", {pair.source, scale, zp}, {q});
      pair.dq = make_quant_node(names_.fresh(t + "_DequantizeLinear"), "DequantizeLinear", {q, scale, zp},
                          {pair.dequantized});
      if (pair.dequantized != t) consumer_name_[t] = pair.dequantized;
      pairs_by_source_[pair.source].push_back(std::move(pair));
      ++out_.pairs;
    }
  }

  // int8 weight (and, static, int32 bias) behind DequantizeLinear nodes, emitted at the top of the graph.
  void quantize_node_weights(const Node& n) {
    if (n.op_type == "Add") return;
    const Graph& g = out_.model.graph;
    const std::string w_name = n.inputs[1];
    const Tensor& w = *g.find_initializer(w_name);
    int64_t axis = weight_axis(n, config_.per_channel);
    std::optional<std::vector<float>> floor = bias_scale_floor(n, w, axis);
    // A floor makes the weight this node's own.
    std::string key = floor ? fmt::format("{}#{}#{}", w_name, axis, n.name) : fmt::format("{}#{}", w_name, axis);
    auto cached = weights_.find(key);
    if (cached == weights_.end()) {
      WeightInfo info;
      info.q = quantize_weight(w, axis, floor ? &*floor : nullptr, config_.weight_mse_clip);
      std::string q = add_initializer(w_name + "_quantized", info.q.q);
      std::string s = add_initializer(w_name + "_scale", info.q.scale);
      std::string z = add_initializer(w_name + "_zero_point", info.q.zero_point);
      info.dequantized = names_.fresh(w_name + "_dequantized");
      std::vector<Attribute> attrs;
      if (axis >= 0) attrs.push_back(Attribute::of_int("axis", axis));
      top_nodes_.push_back(make_quant_node(names_.fresh(w_name + "_DequantizeLinear"), "DequantizeLinear", {q, s, z},
                                     {info.dequantized}, attrs));
      ++out_.quantized_weights;
      cached = weights_.emplace(key, std::move(info)).first;
    }
    rewrites_[n.name][1] = cached->second.dequantized;
    std::optional<Tensor> corrected = corrected_bias(n, w, cached->second.q);
    if (corrected) ++out_.bias_corrected;
    if (config_.mode == QuantMode::Static) {
      quantize_bias_of(n, cached->second.q.scale, corrected ? &*corrected : nullptr);
    } else if (corrected) {
      write_float_bias(n, *corrected);
    }
  }

  // Static: the smallest weight scale per channel (axis < 0: one for all) for which the bias, with scale
  // x_scale * w_scale, fits int32 with a margin (and that product stays a normal float), as ONNX Runtime's quantizer
  // also raises weight scales; nullopt when no channel needs it. The channels raised have tiny weights beside a large
  // bias, so the coarser weight step costs little, where a clamped bias would be plainly wrong.
  std::optional<std::vector<float>> bias_scale_floor(const Node& n, const Tensor& w, int64_t axis) {
    if (config_.mode != QuantMode::Static || !n.has_input(2)) return std::nullopt;
    auto x = plan_.tensor_group.find(n.inputs[0]);
    if (x == plan_.tensor_group.end()) return std::nullopt;
    const Tensor* b = out_.model.graph.find_initializer(n.inputs[2]);
    if (!b || b->dtype() != DType::Float32) return std::nullopt;
    const double xs = params_.at(x->second).scale;
    const int64_t channels = axis >= 0 ? w.dim(static_cast<int>(axis)) : 1;
    if (axis >= 0 && b->numel() != channels) return std::nullopt;
    std::vector<float> floor(static_cast<size_t>(channels), 0.0f);
    bool needed = false;
    for (int64_t i = 0; i < b->numel(); ++i) {
      // A quarter of int32's range: room for bias correction and rounding.
      double need = std::max(std::fabs(static_cast<double>(b->data<float>()[i])) / (xs * 536870912.0),
                             static_cast<double>(FLT_MIN) / xs * 2);
      float& f = floor[static_cast<size_t>(axis >= 0 ? i : 0)];
      f = std::max(f, static_cast<float>(need));
    }
    // Only worth a node-specific weight when some channel's own scale is below its floor.
    QuantizedWeight plain = quantize_weight(w, axis, nullptr, config_.weight_mse_clip);
    for (int64_t c = 0; c < channels; ++c) needed = needed || plain.scale.data<float>()[c] < floor[static_cast<size_t>(c)];
    if (!needed) return std::nullopt;
    int64_t raised = 0;
    for (int64_t c = 0; c < channels; ++c) raised += plain.scale.data<float>()[c] < floor[static_cast<size_t>(c)];
    out_.warnings.push_back(fmt::format("{}: weight scale raised on {} of {} channels so that the int32 bias holds "
                                        "the bias (input scale {:g})",
                                        n.label(), raised, channels, xs));
    return floor;
  }

  // The layer's bias minus the mean its weights' rounding adds to each output channel (qdq.h), as a float32 vector
  // of the output channels; nullopt when there are no means for its input or the layout does not allow it.
  std::optional<Tensor> corrected_bias(const Node& n, const Tensor& w, const QuantizedWeight& qw) {
    if (!means_) return std::nullopt;
    auto mu_it = means_->find(n.inputs[0]);
    if (mu_it == means_->end()) return std::nullopt;
    const std::vector<double>& mu = mu_it->second;
    const Graph& g = out_.model.graph;
    const float* wf = w.data<float>();
    const int8_t* q = qw.q.data<int8_t>();
    const float* sc = qw.scale.data<float>();
    const bool per_channel = qw.scale.numel() > 1;
    std::vector<double> delta;  // dW . E[x] per output channel
    if (n.op_type == "Conv") {
      const int64_t m = w.dim(0), cg = w.dim(1), groups = n.attr_int("group", 1);
      int64_t k = 1;
      for (int d = 2; d < w.rank(); ++d) k *= w.dim(d);
      if (groups <= 0 || m % groups != 0 || static_cast<int64_t>(mu.size()) != cg * groups) return std::nullopt;
      delta.assign(static_cast<size_t>(m), 0.0);
      for (int64_t o = 0; o < m; ++o) {
        const int64_t group = o / (m / groups);
        const double s = sc[per_channel ? o : 0];
        double acc = 0;
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t j = 0; j < k; ++j) {
            const int64_t i = (o * cg + c) * k + j;
            acc += (q[i] * s - wf[i]) * mu[static_cast<size_t>(group * cg + c)];
          }
        delta[static_cast<size_t>(o)] = acc;
      }
    } else if (n.op_type == "Gemm") {
      if (n.attr_int("transA", 0) != 0) return std::nullopt;
      const bool tb = n.attr_int("transB", 0) != 0;
      const int64_t kdim = tb ? w.dim(1) : w.dim(0), ndim = tb ? w.dim(0) : w.dim(1);
      if (static_cast<int64_t>(mu.size()) != kdim) return std::nullopt;
      const double alpha = n.attr_float("alpha", 1), beta = n.attr_float("beta", 1);
      if (beta == 0) return std::nullopt;
      delta.assign(static_cast<size_t>(ndim), 0.0);
      for (int64_t kk = 0; kk < kdim; ++kk)
        for (int64_t j = 0; j < ndim; ++j) {
          const int64_t i = tb ? j * kdim + kk : kk * ndim + j;
          delta[static_cast<size_t>(j)] += (q[i] * sc[per_channel ? j : 0] - wf[i]) * mu[static_cast<size_t>(kk)];
        }
      for (double& d : delta) d *= alpha / beta;  // C enters as beta * C
    } else {
      return std::nullopt;  // MatMul has no bias input to absorb it
    }
    const int64_t channels = static_cast<int64_t>(delta.size());
    Tensor b(DType::Float32, {channels});
    if (n.has_input(2)) {
      const Tensor* old = g.find_initializer(n.inputs[2]);
      bool vector_shape = old && (old->rank() == 1 || (old->rank() == 2 && old->dim(0) == 1));
      if (!old || old->dtype() != DType::Float32 || !vector_shape || old->numel() != channels) return std::nullopt;
      std::copy(old->data<float>(), old->data<float>() + channels, b.data<float>());
    }
    for (int64_t o = 0; o < channels; ++o)
      b.data<float>()[o] = static_cast<float>(b.data<float>()[o] - delta[static_cast<size_t>(o)]);
    return b;
  }

  std::string bias_base(const Node& n) const { return n.has_input(2) ? n.inputs[2] : n.name + "_bias"; }

  void write_float_bias(const Node& n, const Tensor& b) {
    rewrites_[n.name][2] = add_initializer(bias_base(n) + "_corrected", b);
  }

  // `corrected`: the bias to quantize instead of the node's own (bias correction), or null.
  void quantize_bias_of(const Node& n, const Tensor& w_scale, const Tensor* corrected) {
    if (!n.has_input(2) && !corrected) return;
    const Graph& g = out_.model.graph;
    const std::string b_name = bias_base(n);
    const Tensor* b = corrected ? corrected : g.find_initializer(b_name);
    const Tensor& w = *g.find_initializer(n.inputs[1]);
    int64_t channels = n.op_type == "Conv" ? w.dim(0) : (n.attr_int("transB", 0) ? w.dim(0) : w.dim(1));
    auto leave = [&](const std::string& why) {
      out_.warnings.push_back(fmt::format("{}: bias '{}' stays float32 ({})", n.label(), b_name, why));
      if (corrected) write_float_bias(n, *corrected);
    };
    if (!b || b->dtype() != DType::Float32) return leave("it is not a constant float32 tensor");
    bool vector_shape = b->rank() == 1 || (b->rank() == 2 && b->dim(0) == 1);
    if (!vector_shape || b->numel() != channels) return leave(fmt::format("shape [{}] is not one value per output "
                                                                          "channel", shape_str(b->shape())));
    if (n.op_type == "Gemm" && (n.attr_float("alpha", 1) != 1 || n.attr_float("beta", 1) != 1))
      return leave("Gemm alpha or beta is not 1");
    auto x = plan_.tensor_group.find(n.inputs[0]);
    if (x == plan_.tensor_group.end()) return leave("its input is not quantized");
    float x_scale = params_.at(x->second).scale;
    QuantizedBias qb = quantize_bias(b->reshaped({channels}), x_scale, w_scale);
    for (float s : qb.scale.span<float>())
      if (!(s >= FLT_MIN)) return leave("input scale times weight scale underflows");
    if (qb.clamped)
      out_.warnings.push_back(fmt::format("{}: {} of {} bias values clamped to the int32 range (input scale {:g})",
                                          n.label(), qb.clamped, channels, x_scale));
    std::string q = add_initializer(b_name + "_quantized", qb.q);
    std::string s = add_initializer(b_name + "_scale", qb.scale);
    std::string z = add_initializer(b_name + "_zero_point", qb.zero_point);
    std::string dq = names_.fresh(b_name + "_dequantized");
    std::vector<Attribute> attrs;
    if (qb.scale.rank() == 1) attrs.push_back(Attribute::of_int("axis", 0));
    top_nodes_.push_back(make_quant_node(names_.fresh(b_name + "_DequantizeLinear"), "DequantizeLinear", {q, s, z}, {dq},
                                   attrs));
    rewrites_[n.name][2] = dq;
    ++out_.quantized_biases;
  }

  void emit_pairs_of(const std::string& source, std::vector<Node>& nodes) {
    auto it = pairs_by_source_.find(source);
    if (it == pairs_by_source_.end()) return;
    for (Pair& p : it->second) {
      nodes.push_back(std::move(p.q));
      nodes.push_back(std::move(p.dq));
    }
    pairs_by_source_.erase(it);
  }

  // The new node list: weight / bias dequantization first, then pairs after the graph inputs, then every node
  // (reading dequantized values) followed by the pairs of its outputs.
  void emit() {
    Graph& g = out_.model.graph;
    std::vector<Node> nodes = std::move(top_nodes_);
    for (const ValueInfo& v : g.inputs) emit_pairs_of(v.name, nodes);
    for (Node& n : g.nodes) {
      if (removed_.count(n.name)) continue;
      auto rw = rewrites_.find(n.name);
      if (rw != rewrites_.end() && !rw->second.empty())
        n.inputs.resize(std::max(n.inputs.size(), rw->second.rbegin()->first + 1));  // a bias added
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        if (rw != rewrites_.end() && rw->second.count(k)) {
          n.inputs[k] = rw->second.at(k);
          continue;
        }
        auto c = consumer_name_.find(n.inputs[k]);
        if (c != consumer_name_.end()) n.inputs[k] = c->second;
      }
      std::vector<std::string> outputs = n.outputs;
      nodes.push_back(std::move(n));
      for (const std::string& o : outputs) emit_pairs_of(o, nodes);
    }
    if (!pairs_by_source_.empty())
      fail("cannot place the QuantizeLinear of '{}': no node or graph input produces it",
           pairs_by_source_.begin()->first);
    g.nodes = std::move(nodes);
  }

  struct WeightInfo {
    QuantizedWeight q;
    std::string dequantized;
  };

  const QuantPlan& plan_;
  const QuantizeConfig& config_;
  const ChannelMeans* means_;
  NameAllocator names_;
  QuantizedModel out_;
  std::map<std::string, ptrdiff_t> node_index_;
  std::map<int, ActivationParams> params_;
  std::map<std::string, std::vector<Pair>> pairs_by_source_;
  std::map<std::string, std::string> consumer_name_;  // quantized tensor -> what its readers read now
  std::map<std::string, WeightInfo> weights_;
  std::map<std::string, std::map<size_t, std::string>> rewrites_;  // node -> input index -> new input
  std::set<std::string> removed_;
  std::vector<Node> top_nodes_;
};

}  // namespace

QuantizedModel write_quantized(const Model& m, const QuantPlan& plan, const QuantizeConfig& config,
                               const ChannelMeans* means) {
  HONE_CHECK(plan.mode == config.mode, "the plan was made for {} mode, not {}", mode_name(plan.mode),
             mode_name(config.mode));
  if (config.mode == QuantMode::Dynamic) return write_dynamic(m, plan, config);
  return QdqWriter(m, plan, config, means).run();
}

}  // namespace hone::quant
