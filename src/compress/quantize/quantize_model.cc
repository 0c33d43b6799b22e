#include "compress/quantize/quantize_model.h"

#include <optional>
#include <set>

#include "bench/fidelity.h"
#include "bench/progress.h"
#include "data/dataset.h"
#include "hone/hone.h"

namespace hone::quant {

int64_t required_opset(const QuantizeConfig& config) {
  switch (config.mode) {
    case QuantMode::Dynamic: return 11;  // DynamicQuantizeLinear
    case QuantMode::Static:
    case QuantMode::WeightsOnly: return config.per_channel ? 13 : 10;
  }
  return 13;
}

PrepareReport prepare_for_quantization(Model& m, const QuantizeConfig& config) {
  PrepareReport r;
  r.optimize = optimize_model(m);
  r.named_nodes = name_nodes(m.graph);
  const int64_t need = required_opset(config), have = m.opset("");
  if (have < need) {
    try {
      r.upgrade = upgrade_opset(m, 13);
    } catch (const Error& e) {
      std::string why = config.per_channel && config.mode != QuantMode::Dynamic
                            ? "per-channel quantization needs DequantizeLinear's axis (opset 13)"
                            : fmt::format("{} quantization needs opset {}", mode_name(config.mode), need);
      fail("{}; the model is opset {} and cannot be raised: {}", why, have, e.what());
    }
  }
  check_exclusions(m.graph, config.exclude);
  return r;
}

std::map<std::string, Range> ranges_from(const std::map<std::string, TensorObserver>& observers,
                                         const CalibrationOptions& method) {
  std::map<std::string, Range> ranges;
  for (const auto& [name, o] : observers)
    if (method.method == CalibrationMethod::MinMax || o.has_histogram()) ranges[name] = o.range(method);
  return ranges;
}

std::map<std::string, Range> calibrate(const Model& m, const QuantizeConfig& config, const data::Dataset& data,
                                       const CalibrationOptions& method, const ObserveOptions& run,
                                       std::map<std::string, TensorObserver>* observers, ChannelMeans* means) {
  QuantPlan all = plan_quantization(m, config, {}, nullptr);
  ObserveOptions o = run;
  o.histograms = o.histograms && method.method != CalibrationMethod::MinMax;
  if (observers) o.histograms = run.histograms;  // the caller may try other methods later
  if (means && config.mode != QuantMode::Dynamic) {
    std::map<std::string, const Node*> by_name;
    for (const Node& n : m.graph.nodes) by_name[n.name] = &n;
    for (const std::string& name : all.compute) {
      const Node& n = *by_name.at(name);
      if (n.op_type == "Conv") o.channel_axes[n.inputs[0]] = 1;
      if (n.op_type == "Gemm" && n.attr_int("transA", 0) == 0) o.channel_axes[n.inputs[0]] = -1;
    }
  }
  std::vector<std::string> tensors = config.mode == QuantMode::Static ? all.tensors() : std::vector<std::string>{};
  std::map<std::string, TensorObserver> obs = observe_tensors(m, tensors, data, o);
  std::map<std::string, Range> ranges;
  for (const std::string& t : tensors) ranges[t] = obs.at(t).range(method);
  if (means) {
    means->clear();
    for (const auto& [t, axis] : o.channel_axes) (*means)[t] = obs.at(t).channel_means();
  }
  if (observers) *observers = std::move(obs);
  return ranges;
}

QuantizedModel quantize(const Model& m, const QuantizeConfig& config, const std::map<std::string, Range>* ranges,
                        const std::set<std::string>& keep_float, QuantPlan* plan_out, const ChannelMeans* means) {
  HONE_CHECK(config.mode != QuantMode::Static || ranges, "static quantization needs calibrated ranges");
  QuantPlan plan = plan_quantization(m, config, keep_float, config.mode == QuantMode::Static ? ranges : nullptr);
  QuantizedModel q = write_quantized(m, plan, config, means);
  if (plan_out) *plan_out = std::move(plan);
  return q;
}

FidelityReport compare_models(const Model& fp32, const QuantPlan& plan, const QuantizedModel& quantized,
                              const data::Dataset& data, const ObserveOptions& run, bool layers) {
  const Graph& g = fp32.graph;
  if (g.inputs.size() != 1) fail("comparing models feeds one input; the model has {}", g.inputs.size());
  // Layers in graph order, each with its tensor in both models.
  std::vector<Fidelity> rows;
  std::vector<std::string> ref_names, q_names;
  if (layers) {
    for (const std::string& node : plan.compute) {
      auto r = plan.result_tensor.find(node);
      auto q = quantized.result_tensor.find(node);
      if (r == plan.result_tensor.end() || q == quantized.result_tensor.end()) continue;
      Fidelity f;
      f.name = node;
      for (const Node& n : g.nodes)
        if (n.name == node) f.op = n.op_type;
      f.tensor = r->second;
      rows.push_back(f);
      ref_names.push_back(r->second);
      q_names.push_back(q->second);
    }
  }
  Model ref_model = with_outputs(fp32, ref_names), q_model = with_outputs(quantized.model, q_names);
  auto index_of = [](const Model& m) {
    std::map<std::string, size_t> idx;
    for (size_t i = 0; i < m.graph.outputs.size(); ++i) idx.emplace(m.graph.outputs[i].name, i);
    return idx;
  };
  std::map<std::string, size_t> ref_idx = index_of(ref_model), q_idx = index_of(q_model);
  const size_t n_outputs = g.outputs.size();
  Session ref(std::move(ref_model), {.threads = run.threads});
  Session qs(std::move(q_model), {.threads = run.threads});
  // Exposing a layer's result keeps the runtime from fusing across it (an int8 conv and the activation after it),
  // which changes the roundings: the outputs are compared from the file as written, run on its own.
  std::optional<Session> plain;
  if (!rows.empty()) plain.emplace(quantized.model, SessionOptions{.threads = run.threads});
  data::InputBatcher batcher(data, g.inputs[0], run.batch);
  std::vector<FidelityAccumulator> layer_acc(rows.size()), out_acc(n_outputs);
  FidelityAccumulator overall;
  std::vector<bool> compared(n_outputs, false);
  ProgressBar bar(run.label, run.progress);
  int64_t samples = 0;
  for (int64_t b = 0; b < batcher.batches(); ++b) {
    std::vector<Value> in = {Value::of(batcher.batch(b))};
    std::vector<Value> yr = ref.run_values(in), yq = qs.run_values(in);
    std::vector<Value> yo = plain ? plain->run_values(in) : yq;
    auto add = [](FidelityAccumulator& acc, const Value& a, const Value& r) {
      if (!a.is_tensor() || !r.is_tensor() || a.tensor.dtype() != DType::Float32 ||
          r.tensor.dtype() != DType::Float32)
        return false;
      acc.add(a.tensor, r.tensor);
      return true;
    };
    for (size_t k = 0; k < rows.size(); ++k)
      add(layer_acc[k], yq[q_idx.at(q_names[k])], yr[ref_idx.at(ref_names[k])]);
    for (size_t k = 0; k < n_outputs; ++k) {
      const std::string& name = g.outputs[k].name;
      if (add(out_acc[k], yo[k], yr[ref_idx.at(name)])) {
        compared[k] = true;
        overall.add(yo[k].tensor, yr[ref_idx.at(name)].tensor);
      }
    }
    samples += batcher.count(b);
    bar.update(static_cast<double>(b + 1) / static_cast<double>(batcher.batches()),
               fmt::format("{} / {} samples", samples, data.size()));
  }
  auto fill = [](Fidelity& f, const FidelityAccumulator& a) {
    f.sqnr_db = a.sqnr_db();
    f.cosine = a.cosine();
    f.max_abs_error = a.max_abs_error();
    f.top1_agreement = a.top1_agreement();
    f.elements = a.elements();
  };
  FidelityReport report;
  report.samples = samples;
  for (size_t k = 0; k < rows.size(); ++k) {
    fill(rows[k], layer_acc[k]);
    report.layers.push_back(rows[k]);
  }
  for (size_t k = 0; k < n_outputs; ++k) {
    if (!compared[k]) continue;
    Fidelity f;
    f.name = f.tensor = g.outputs[k].name;
    fill(f, out_acc[k]);
    report.outputs.push_back(f);
  }
  report.overall.name = "all outputs";
  fill(report.overall, overall);
  return report;
}

}  // namespace hone::quant
