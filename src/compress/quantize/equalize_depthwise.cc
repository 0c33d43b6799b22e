#include "compress/quantize/equalize_depthwise.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "compress/quantize/qdq.h"
#include "passes/pass.h"

namespace hone::quant {

namespace {

constexpr double kMinScale = 1.0 / 64;

bool is_excluded(const Node& n, const QuantizeConfig& config) {
  return std::any_of(config.exclude.begin(), config.exclude.end(),
                     [&n](const std::string& e) { return e == n.name || e == n.op_type; });
}

}  // namespace

std::vector<DepthwiseInput> find_depthwise_inputs(const Model& m, const QuantizeConfig& config) {
  const Graph& g = m.graph;
  std::set<std::string> graph_inputs, overridable(g.overridable_initializers.begin(), g.overridable_initializers.end());
  for (const ValueInfo& v : g.inputs) graph_inputs.insert(v.name);
  GraphUses uses(g);
  std::vector<DepthwiseInput> found;
  for (const Node& n : g.nodes) {
    if (n.op_type != "Conv" || !n.domain.empty() || n.inputs.size() < 2 || is_excluded(n, config)) continue;
    const std::string& x = n.inputs[0];
    if (x.empty() || graph_inputs.count(x) || g.find_initializer(x) || uses.producer(x) < 0) continue;
    const Tensor* w = overridable.count(n.inputs[1]) ? nullptr : g.find_initializer(n.inputs[1]);
    if (!w || w->dtype() != DType::Float32 || w->rank() < 3) continue;
    const int64_t group = n.attr_int("group", 1), c = w->dim(0);
    if (group < 2 || group != c || w->dim(1) != 1) continue;
    found.push_back({n.name, x, c});
  }
  return found;
}

std::vector<float> equalization_scales(const ChannelStats& st) {
  const size_t n = st.max.size();
  HONE_CHECK(st.min.size() == n && st.mean_square.size() == n, "channel statistics of unequal lengths");
  std::vector<double> lo(n), hi(n), power(n);
  double top = 0;
  for (size_t c = 0; c < n; ++c) {
    lo[c] = std::min(st.min[c], 0.0);
    hi[c] = std::max(st.max[c], 0.0);
    power[c] = std::max(st.mean_square[c], 1e-12);
    top = std::max(top, std::max(-lo[c], hi[c]));
  }
  std::vector<float> s(n, 1.f);
  if (!(top > 0) || !std::isfinite(top)) return s;
  // Candidate ratios rho = -lo / hi of the channels themselves, 1 (each channel scaled by its largest |x|) and 0
  // (by its maximum).
  std::vector<double> ratios = {0, 1};
  for (size_t c = 0; c < n; ++c)
    if (hi[c] > 0 && lo[c] < 0) ratios.push_back(-lo[c] / hi[c]);
  std::sort(ratios.begin(), ratios.end());
  ratios.erase(std::unique(ratios.begin(), ratios.end()), ratios.end());
  double best_loss = INFINITY;
  std::vector<double> best(n, 1.0), cur(n);
  for (double rho : ratios) {
    double largest = 0;
    for (size_t c = 0; c < n; ++c) {
      cur[c] = rho > 0 ? std::max(-lo[c] / rho, hi[c]) : (hi[c] > 0 ? hi[c] : -lo[c]);
      largest = std::max(largest, cur[c]);
    }
    if (!(largest > 0)) continue;
    // The scaled tensor's range [min lo / s, max hi / s] sets the step every channel gets: noise s_c * width.
    double low = 0, high = 0, sum = 0;
    for (size_t c = 0; c < n; ++c) {
      cur[c] = std::max(cur[c] / largest, kMinScale);
      low = std::min(low, lo[c] / cur[c]);
      high = std::max(high, hi[c] / cur[c]);
      sum += cur[c] * cur[c] / power[c];
    }
    const double width = high - low, loss = width * width * sum;
    if (loss < best_loss) best_loss = loss, best = cur;
  }
  for (size_t c = 0; c < n; ++c) s[c] = static_cast<float>(best[c]);
  return s;
}

std::vector<float> smoothing_scales(const ChannelStats& st, const Tensor& w, double alpha) {
  const size_t n = st.max.size();
  HONE_CHECK(st.min.size() == n && w.dtype() == DType::Float32 && w.rank() >= 2 &&
                 w.dim(1) == static_cast<int64_t>(n),
             "smoothing a convolution of {} input channels with weights {}", n, shape_str(w.shape()));
  const int64_t rows = w.dim(0), per_row = w.numel() / rows, per_channel = per_row / static_cast<int64_t>(n);
  std::vector<double> s(n);
  double top = 0;
  for (size_t c = 0; c < n; ++c) {
    double wmax = 0;
    for (int64_t o = 0; o < rows; ++o)
      for (int64_t k = 0; k < per_channel; ++k)
        wmax = std::max(wmax, std::fabs(static_cast<double>(
                                  w.data<float>()[o * per_row + static_cast<int64_t>(c) * per_channel + k])));
    const double amax = std::max(-st.min[c], st.max[c]);
    s[c] = amax > 0 && wmax > 0 ? std::pow(amax, alpha) / std::pow(wmax, 1 - alpha) : 0;
    if (!std::isfinite(s[c])) s[c] = 0;
    top = std::max(top, s[c]);
  }
  std::vector<float> out(n, 1.f);
  if (!(top > 0)) return out;
  for (size_t c = 0; c < n; ++c) out[c] = static_cast<float>(std::max(s[c] / top, kMinScale));
  return out;
}

std::vector<EqualizedInput> apply_equalization(Model& m, const std::vector<DepthwiseInput>& inputs,
                                               const std::vector<ChannelStats>& stats) {
  HONE_CHECK(inputs.size() == stats.size(), "{} depthwise inputs but {} statistics", inputs.size(), stats.size());
  std::vector<std::vector<float>> scales;
  for (const ChannelStats& st : stats) scales.push_back(equalization_scales(st));
  return apply_channel_scales(m, inputs, scales);
}

std::vector<EqualizedInput> apply_channel_scales(Model& m, const std::vector<DepthwiseInput>& inputs,
                                                 const std::vector<std::vector<float>>& scales) {
  HONE_CHECK(inputs.size() == scales.size(), "{} convolution inputs but {} sets of scales", inputs.size(),
             scales.size());
  Graph& g = m.graph;
  NameAllocator names(g);
  std::map<std::string, int> weight_readers;
  for (const Node& n : g.nodes)
    for (const std::string& in : n.inputs) ++weight_readers[in];
  std::map<std::string, std::vector<Node>> muls_after;  // producer output -> Mul nodes to insert after it
  std::vector<EqualizedInput> done;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const DepthwiseInput& d = inputs[i];
    const std::vector<float>& s = scales[i];
    if (static_cast<int64_t>(s.size()) != d.channels) continue;
    if (std::all_of(s.begin(), s.end(), [](float v) { return v == 1.f; })) continue;
    auto node = std::find_if(g.nodes.begin(), g.nodes.end(), [&d](const Node& n) { return n.name == d.node; });
    HONE_CHECK(node != g.nodes.end(), "no node '{}' to equalize", d.node);
    // Weights times s along their input-channel axis (a copy when another node reads them too): [C, 1, k...] of a
    // depthwise convolution, [O, C, k...] of a group-1 one.
    std::string w_name = node->inputs[1];
    Tensor w = g.initializers.at(w_name).clone();
    const bool depthwise = node->attr_int("group", 1) != 1;
    HONE_CHECK(w.dim(depthwise ? 0 : 1) == d.channels, "weights {} of '{}' do not have {} input channels",
               shape_str(w.shape()), d.node, d.channels);
    const int64_t per_channel = w.numel() / w.dim(0) / (depthwise ? 1 : d.channels);
    float* wd = w.data<float>();
    for (int64_t i0 = 0; i0 < w.numel(); i0 += per_channel) {
      const int64_t c = depthwise ? i0 / per_channel : (i0 / per_channel) % d.channels;
      for (int64_t k = 0; k < per_channel; ++k) wd[i0 + k] *= s[static_cast<size_t>(c)];
    }
    if (weight_readers[w_name] > 1) w_name = names.fresh(w_name + "_equalized");
    g.initializers[w_name] = std::move(w);
    node->inputs[1] = w_name;
    // x * (1 / s), shape [1, C, 1...] to broadcast over the input.
    Shape inv_shape(static_cast<size_t>(g.initializers.at(w_name).rank()), 1);
    inv_shape[1] = d.channels;
    Tensor inv(DType::Float32, inv_shape);
    for (int64_t c = 0; c < d.channels; ++c) inv.data<float>()[c] = 1.f / s[static_cast<size_t>(c)];
    const std::string inv_name = names.fresh(d.tensor + "_equalization");
    g.initializers[inv_name] = std::move(inv);
    const std::string scaled = names.fresh(d.tensor + "_equalized");
    muls_after[d.tensor].push_back(
        make_quant_node(names.fresh(d.tensor + "_Equalize"), "Mul", {d.tensor, inv_name}, {scaled}));
    node->inputs[0] = scaled;
    done.push_back({d.node, d.tensor, scaled, *std::min_element(s.begin(), s.end())});
  }
  if (done.empty()) return done;
  std::vector<Node> nodes;
  nodes.reserve(g.nodes.size() + done.size());
  for (Node& n : g.nodes) {
    std::vector<std::string> outs = n.outputs;
    nodes.push_back(std::move(n));
    for (const std::string& o : outs) {
      auto it = muls_after.find(o);
      if (it == muls_after.end()) continue;
      for (Node& mul : it->second) nodes.push_back(std::move(mul));
      muls_after.erase(it);
    }
  }
  HONE_CHECK(muls_after.empty(), "cannot place the equalization Mul of '{}'", muls_after.begin()->first);
  g.nodes = std::move(nodes);
  remove_unused_initializers(g);
  verify_graph(g);
  return done;
}

std::vector<EqualizedInput> equalize_depthwise_inputs(Model& m, const QuantizeConfig& config,
                                                      const data::Dataset& data, const ObserveOptions& run) {
  std::vector<DepthwiseInput> inputs = find_depthwise_inputs(m, config);
  if (inputs.empty()) return {};
  ObserveOptions o = run;
  o.histograms = false;
  o.label = "equalizing";
  for (const DepthwiseInput& d : inputs) o.channel_axes[d.tensor] = 1;
  std::map<std::string, TensorObserver> obs = observe_tensors(m, {}, data, o);
  std::vector<ChannelStats> stats;
  for (const DepthwiseInput& d : inputs) {
    const TensorObserver& t = obs.at(d.tensor);
    stats.push_back({t.channel_mean_min(), t.channel_mean_max(), t.channel_mean_squares()});
  }
  return apply_equalization(m, inputs, stats);
}

}  // namespace hone::quant
