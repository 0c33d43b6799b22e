#include "compress/quantize/accuracy_search.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>

#include "bench/evaluate.h"
#include "bench/fidelity.h"
#include "bench/progress.h"
#include "compress/quantize/qdq.h"
#include "data/dataset.h"
#include "hone/hone.h"

namespace hone::quant {

double top1_accuracy(const Model& m, const data::Dataset& data, const std::vector<int64_t>& labels,
                     const ObserveOptions& run) {
  if (static_cast<int64_t>(labels.size()) < data.size())
    fail("{} labels for {} samples", labels.size(), data.size());
  std::vector<int64_t> used(labels.begin(), labels.begin() + data.size());  // a --limit'ed part of a labelled set
  Session s(m, {.threads = run.threads});
  EvalResult r = evaluate(s, data, &used, nullptr,
                          {.batch = run.batch, .progress = run.progress, .progress_label = run.label});
  return r.accuracy->top1();
}

namespace {

// SQNR of every float32 output of candidate models against the fp32 model on one data set; the fp32 outputs are
// computed once and kept while they fit in `cache_budget` bytes, else recomputed for each candidate.
class SqnrMetric {
 public:
  SqnrMetric(const Model& fp32, const data::Dataset& data, const ObserveOptions& run)
      : fp32_(fp32), data_(data), run_(run) {
    if (fp32.graph.inputs.size() != 1) fail("SQNR is measured on models with one input; this one has {}",
                                            fp32.graph.inputs.size());
  }

  double operator()(const Model& candidate) {
    Session s(candidate, {.threads = run_.threads});
    if (!ref_ && cache_.empty()) ref_ = std::make_unique<Session>(fp32_, SessionOptions{.threads = run_.threads});
    data::InputBatcher batcher(data_, fp32_.graph.inputs[0], run_.batch);
    FidelityAccumulator acc;
    ProgressBar bar(run_.label, run_.progress);
    const bool fill_cache = !cached_ && ref_;
    size_t bytes = 0;
    for (int64_t b = 0; b < batcher.batches(); ++b) {
      std::vector<Value> in = {Value::of(batcher.batch(b))};
      std::vector<Value> y = s.run_values(in);
      std::vector<Value> r;
      if (cached_) {
        r = cache_[static_cast<size_t>(b)];
      } else {
        r = ref_->run_values(in);
        if (fill_cache) {
          for (const Value& v : r) bytes += v.is_tensor() ? v.tensor.nbytes() : 0;
          if (bytes <= kCacheBudget) cache_.push_back(r);
        }
      }
      for (size_t k = 0; k < y.size() && k < r.size(); ++k)
        if (y[k].is_tensor() && r[k].is_tensor() && y[k].tensor.dtype() == DType::Float32 &&
            r[k].tensor.dtype() == DType::Float32)
          acc.add(y[k].tensor, r[k].tensor);
      bar.update(static_cast<double>(b + 1) / static_cast<double>(batcher.batches()), "");
    }
    if (fill_cache) {
      if (bytes <= kCacheBudget) {
        cached_ = true;
        ref_.reset();
      } else {
        cache_.clear();
      }
    }
    return acc.sqnr_db();
  }

 private:
  static constexpr size_t kCacheBudget = size_t{512} << 20;
  const Model& fp32_;
  const data::Dataset& data_;
  ObserveOptions run_;
  std::unique_ptr<Session> ref_;
  std::vector<std::vector<Value>> cache_;
  bool cached_ = false;
};

}  // namespace

SearchResult search_keep_float(const Model& fp32, const QuantizeConfig& config,
                               const std::map<std::string, Range>* ranges, const AccuracyGoal& goal,
                               const ObserveOptions& run, const ChannelMeans* means) {
  SearchResult r;
  ObserveOptions quiet = run;
  std::function<double(const Model&)> metric;
  std::unique_ptr<SqnrMetric> sqnr;
  if (goal.kind == AccuracyGoal::Kind::MaxAccuracyDrop) {
    HONE_CHECK(goal.eval && goal.labels, "--max-accuracy-drop needs evaluation data and labels");
    r.metric = "top1";
    metric = [&](const Model& m) { return top1_accuracy(m, *goal.eval, *goal.labels, quiet); };
    quiet.label = "fp32 accuracy";
    r.fp32 = metric(fp32);
    ++r.evaluations;
    r.target = r.fp32 - goal.value / 100;
  } else {
    HONE_CHECK(goal.calibration, "--min-sqnr needs calibration data");
    r.metric = "sqnr_db";
    sqnr = std::make_unique<SqnrMetric>(fp32, *goal.calibration, quiet);
    metric = [&](const Model& m) { return (*sqnr)(m); };
    r.fp32 = std::numeric_limits<double>::infinity();
    r.target = goal.value;
  }
  // Small tolerance on accuracy: a fraction of one sample, so that float noise in the target never decides.
  auto meets = [&](double v) { return v >= r.target - 1e-12; };
  auto build = [&](const std::set<std::string>& keep) {
    QuantPlan plan = plan_quantization(fp32, config, keep, config.mode == QuantMode::Static ? ranges : nullptr);
    return write_quantized(fp32, plan, config, means).model;
  };
  QuantPlan full = plan_quantization(fp32, config, {}, config.mode == QuantMode::Static ? ranges : nullptr);
  std::map<std::string, std::string> op_of;
  for (const Node& n : fp32.graph.nodes) op_of[n.name] = n.op_type;

  quiet.label = "quantized model";
  r.quantized = metric(build({}));
  ++r.evaluations;
  r.final_metric = r.quantized;
  if (meets(r.quantized)) {
    r.met = true;
    return r;
  }
  const size_t layers = full.compute.size();
  for (size_t i = 0; i < layers; ++i) {
    const std::string& node = full.compute[i];
    quiet.label = fmt::format("sensitivity {}/{}", i + 1, layers);
    double v = metric(build({node}));
    ++r.evaluations;
    r.sensitivity.push_back({node, op_of[node], v, v - r.quantized});
  }
  std::stable_sort(r.sensitivity.begin(), r.sensitivity.end(),
                   [](const LayerSensitivity& a, const LayerSensitivity& b) { return a.gain > b.gain; });
  double current = r.quantized;
  // Keeping every layer float would "meet" any target: that is no quantized model, so the search stops one short.
  for (size_t i = 0; i + 1 < r.sensitivity.size(); ++i) {
    const LayerSensitivity& s = r.sensitivity[i];
    r.keep_float.insert(s.node);
    double v = s.metric;  // the first step is the sensitivity run itself
    if (i > 0) {
      quiet.label = fmt::format("keeping {} layers float", r.keep_float.size());
      v = metric(build(r.keep_float));
      ++r.evaluations;
    }
    r.steps.push_back({s.node, s.op, current, v});
    current = v;
    if (meets(v)) {
      r.met = true;
      break;
    }
  }
  r.final_metric = current;
  return r;
}

}  // namespace hone::quant
