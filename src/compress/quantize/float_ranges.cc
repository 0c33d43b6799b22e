#include "compress/quantize/float_ranges.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "hone/hone.h"

namespace hone {

// Runs the float32 model over the data with every float value exposed; the largest |value| of each.
ObservedRanges observe_float_ranges(const Model& m, const GraphTypes& types, const data::Dataset& d,
                                    const FloatConvertOptions& opt, FloatConvertReport& report) {
  if (m.graph.inputs.size() != 1)
    fail("calibration data feeds one model input, but the model has {} inputs", m.graph.inputs.size());
  Model probe = m;
  std::set<std::string> exposed;
  for (const ValueInfo& o : probe.graph.outputs) exposed.insert(o.name);
  for (const Node& n : probe.graph.nodes)
    for (const std::string& o : n.outputs) {
      auto it = types.types.find(o);
      if (o.empty() || exposed.count(o) || it == types.types.end() || !it->second.is_tensor() ||
          it->second.elem != DType::Float32)
        continue;
      probe.graph.outputs.push_back({o, TypeInfo::tensor(DType::Float32), ""});
      exposed.insert(o);
    }
  Session s(std::move(probe), {.threads = opt.threads});
  const ValueInfo& input = m.graph.inputs[0];
  data::InputBatcher batcher(d, input, opt.calibration_batch);
  std::unordered_map<std::string, ObservedRange> ranges;
  auto observe = [&](const std::string& name, const Tensor& t, int64_t count, int64_t batch) {
    if (t.dtype() != DType::Float32) return;
    int64_t n = t.numel();
    // A fixed batch padded with zero samples: only the real rows count.
    if (count < batch && t.rank() >= 1 && t.dim(0) == batch) n = n / batch * count;
    ObservedRange& r = ranges[name];
    const float* p = t.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(p[i])) r.nonfinite = true;
      else r.max_abs = std::max(r.max_abs, static_cast<double>(std::fabs(p[i])));
    }
  };
  int64_t done = 0;
  for (int64_t b = 0; b < batcher.batches(); ++b) {
    Tensor x = batcher.batch(b);
    int64_t count = batcher.count(b);
    std::vector<Value> outs = s.run_values({Value::of(x)});
    if (input.type.elem == DType::Float32 || input.type.elem == DType::Undefined)
      observe(input.name, x, count, x.rank() >= 1 ? x.dim(0) : 1);
    for (size_t k = 0; k < outs.size(); ++k)
      if (outs[k].is_tensor()) observe(s.outputs()[k].name, outs[k].tensor, count, x.rank() >= 1 ? x.dim(0) : 1);
    done += count;
    if (opt.progress) opt.progress(done, d.size());
  }
  report.calibration_samples = done;
  for (const auto& [name, r] : ranges) {
    report.max_abs_seen = std::max(report.max_abs_seen, r.max_abs);
    if (r.nonfinite) report.nonfinite_values.push_back(name);
  }
  std::sort(report.nonfinite_values.begin(), report.nonfinite_values.end());
  return ranges;
}

}  // namespace hone
