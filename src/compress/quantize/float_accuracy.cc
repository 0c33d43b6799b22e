// Accuracy-aware float16 / bfloat16 conversion (FloatConvertOptions::max_output_error): convert by the ranges
// (float_convert.cc), measure the converted model's output error against float32 on the calibration data, and when it
// misses the target keep the most sensitive nodes float32 until it holds, with the search int8 uses
// (accuracy_search.h: all-but-one sensitivity, then most sensitive first, every step measured).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "bench/progress.h"
#include "compress/quantize/float_convert.h"
#include "compress/quantize/quant_plan.h"
#include "hone/hone.h"

namespace hone {
namespace {

// Per output: the largest |candidate - float32| over every sample relative to the largest |float32|; the worst
// output's. inf when the candidate gives inf/NaN where float32 does not. The float32 outputs are computed once and
// kept while they fit in a budget, else recomputed for each candidate.
class OutputError {
 public:
  OutputError(const Model& fp32, const data::Dataset& data, const FloatConvertOptions& opt)
      : fp32_(fp32), data_(data), opt_(opt) {}

  double operator()(const Model& candidate, const std::string& label) {
    Session s(candidate, {.threads = opt_.threads});
    if (!cached_ && !ref_) ref_ = std::make_unique<Session>(fp32_, SessionOptions{.threads = opt_.threads});
    data::InputBatcher batcher(data_, fp32_.graph.inputs.at(0), opt_.calibration_batch);
    ProgressBar bar(label, opt_.progress_bar);
    const bool fill = !cached_;
    size_t bytes = 0;
    std::vector<double> max_diff, max_ref;
    bool nonfinite = false;
    for (int64_t b = 0; b < batcher.batches(); ++b) {
      std::vector<Value> in = {Value::of(batcher.batch(b))};
      std::vector<Value> y = s.run_values(in);
      std::vector<Value> r;
      if (cached_) {
        r = cache_[static_cast<size_t>(b)];
      } else {
        r = ref_->run_values(in);
        if (fill) {
          for (const Value& v : r) bytes += v.is_tensor() ? v.tensor.nbytes() : 0;
          if (bytes <= kCacheBudget) cache_.push_back(r);
        }
      }
      max_diff.resize(std::max(max_diff.size(), y.size()), 0.0);
      max_ref.resize(max_diff.size(), 0.0);
      // A fixed batch padded with zero samples: only the real rows count.
      const int64_t count = batcher.count(b), rows = batcher.batch_size();
      for (size_t k = 0; k < y.size() && k < r.size(); ++k) {
        if (!y[k].is_tensor() || !r[k].is_tensor() || y[k].tensor.dtype() != DType::Float32 ||
            r[k].tensor.dtype() != DType::Float32 || y[k].tensor.numel() != r[k].tensor.numel())
          continue;
        const Tensor& yt = y[k].tensor;
        int64_t n = yt.numel();
        if (count < rows && yt.rank() >= 1 && yt.dim(0) == rows) n = n / rows * count;
        const float* p = yt.data<float>();
        const float* q = r[k].tensor.data<float>();
        for (int64_t i = 0; i < n; ++i) {
          if (!std::isfinite(q[i])) continue;  // the float32 model's own inf/NaN: nothing to compare
          if (!std::isfinite(p[i])) {
            nonfinite = true;
            continue;
          }
          max_diff[k] = std::max(max_diff[k], std::fabs(static_cast<double>(p[i]) - q[i]));
          max_ref[k] = std::max(max_ref[k], std::fabs(static_cast<double>(q[i])));
        }
      }
      bar.update(static_cast<double>(b + 1) / static_cast<double>(batcher.batches()), "");
    }
    if (fill) {
      cached_ = bytes <= kCacheBudget;
      if (cached_) ref_.reset();
      else cache_.clear();
    }
    if (nonfinite) return std::numeric_limits<double>::infinity();
    double worst = 0;
    for (size_t k = 0; k < max_diff.size(); ++k)
      worst = std::max(worst, max_diff[k] / std::max(max_ref[k], 1e-30));
    return worst;
  }

 private:
  static constexpr size_t kCacheBudget = size_t{512} << 20;
  const Model& fp32_;
  const data::Dataset& data_;
  const FloatConvertOptions& opt_;
  std::unique_ptr<Session> ref_;
  std::vector<std::vector<Value>> cache_;
  bool cached_ = false;
};

// No candidates: constants (one stays float32 when all its readers do, float_convert.cc) and ops whose result holds
// only values of their inputs (keeping them float32 moves a rounding, it does not remove one).
bool is_candidate_op(const std::string& op) {
  static const std::set<std::string> ops = {
      "Constant", "ConstantOfShape", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity",
      "Concat", "Split", "Slice", "Gather", "GatherElements", "GatherND", "Expand", "Tile", "Pad",
      "DepthToSpace", "SpaceToDepth", "MaxPool", "GlobalMaxPool", "ReduceMax", "ReduceMin", "Max", "Min", "Relu",
      "Neg", "Abs", "Where", "Shape", "Size", "Dropout"};
  return ops.count(op) == 0;
}

// `m` with its first input rounded to `target` before anything reads it (a Cast there and back, which the runtime
// computes as a rounding).
Model with_input_rounded(const Model& m, DType target) {
  Model out = m;
  Graph& g = out.graph;
  const std::string x = g.inputs.at(0).name;
  std::set<std::string> names;
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs) names.insert(o);
  std::string lp = x + "_rounded_lp", back = x + "_rounded";
  while (names.count(lp) || names.count(back)) lp += "_", back += "_";
  for (Node& n : g.nodes)
    for (std::string& v : n.inputs)
      if (v == x) v = back;
  Node to_lp, to_f32;
  to_lp.op_type = to_f32.op_type = "Cast";
  to_lp.name = lp + "_cast";
  to_f32.name = back + "_cast";
  to_lp.inputs = {x};
  to_lp.outputs = {lp};
  to_lp.attributes.push_back(Attribute::of_int("to", static_cast<int64_t>(target)));
  to_f32.inputs = {lp};
  to_f32.outputs = {back};
  to_f32.attributes.push_back(Attribute::of_int("to", static_cast<int64_t>(DType::Float32)));
  g.nodes.insert(g.nodes.begin(), {to_lp, to_f32});
  return out;
}

}  // namespace

FloatConvertReport convert_float_precision(Model& m, const FloatConvertOptions& options,
                                           const data::Dataset* calibration) {
  const bool check = calibration && options.max_output_error > 0;
  if (!check) return convert_float_by_range(m, options, calibration);
  if (!(options.min_low_precision_share >= 0 && options.min_low_precision_share <= 1))
    fail("the smallest share of work kept in the low-precision type must be in [0, 1], not {}",
         options.min_low_precision_share);
  Model fp32 = m;
  quant::name_nodes(fp32.graph);  // the search keeps nodes by name
  Model out = fp32;
  FloatConvertReport report = convert_float_by_range(out, options, calibration);
  report.output_error_target = options.max_output_error;
  OutputError error(fp32, *calibration, options);
  report.output_error = error(out, "output error");
  if (report.output_error <= options.max_output_error) {
    m = std::move(out);
    return report;
  }

  // Candidates: the converted nodes that round something; their work, for the budget.
  std::map<std::string, std::string> op_of;
  for (const Node& n : fp32.graph.nodes) op_of[n.name] = n.op_type;
  FloatConvertOptions each = options;
  each.observed = &report.observed;
  each.max_output_error = 0;
  each.input_shape = report.input_shape;
  std::map<std::string, int64_t> flops_of;
  std::vector<std::string> candidates;
  for (const std::string& node : report.converted) {
    if (!is_candidate_op(op_of[node])) continue;
    candidates.push_back(node);
  }
  // Each node's work: converting with it kept float32 moves exactly its FLOPs out of the target type.
  auto convert_keeping = [&](const std::set<std::string>& keep, FloatConvertReport* r) {
    Model c = fp32;
    FloatConvertOptions o = each;
    o.exclude_nodes.insert(o.exclude_nodes.end(), keep.begin(), keep.end());
    FloatConvertReport cr = convert_float_by_range(c, o, nullptr);
    if (r) *r = std::move(cr);
    return c;
  };
  if (candidates.empty()) {
    m = std::move(out);
    return report;
  }
  quant::KeepSearchProblem problem;
  problem.candidates = candidates;
  problem.op_of = op_of;
  problem.target = options.max_output_error;
  problem.lower_is_better = true;
  problem.only_one = true;
  problem.patience = 16;
  problem.cost = [&](const std::string& node) { return static_cast<double>(flops_of[node]); };
  // The work still lowered with every candidate kept float32 (Constants, data movement): each node's only-one run
  // adds its own work to it.
  int64_t base_flops = 0;
  try {
    FloatConvertReport r;
    convert_keeping(std::set<std::string>(candidates.begin(), candidates.end()), &r);
    base_flops = r.low_precision_flops;
  } catch (const Error&) {  // nothing left to convert: no work is lowered
  }
  // How sensitive the model is to the type's rounding: the float32 model fed its input rounded to the type (what the
  // converted model's first node reads). When that alone misses the target, every rounding inside does about as
  // much, so no model that computes in the type meets it: the search (one model run per candidate, minutes on large
  // models) is skipped and the report says so. (PaddleOCR det: 0.022 in bfloat16, 0.002 in float16.)
  report.output_error_floor = error(with_input_rounded(fp32, options.target), "input rounding");
  if (report.output_error_floor > options.max_output_error) {
    report.warnings.push_back(fmt::format(
        "the output error on the calibration data is {:.3g}, above the {:.3g} asked for (--max-output-error), and "
        "keeping nodes float32 cannot meet it: rounding the input alone to {} moves the float32 model's outputs by "
        "{:.3g}, and every rounding inside the model does about as much. The model is written as converted by the "
        "ranges alone; {}",
        report.output_error, options.max_output_error, dtype_name(options.target), report.output_error_floor,
        options.target == DType::BFloat16 ? "fp16 has 3 more mantissa bits" : "keep it float32"));
    m = std::move(out);
    return report;
  }
  problem.evaluate = [&](const std::set<std::string>& keep, const std::string& label) {
    FloatConvertReport r;
    Model c = convert_keeping(keep, &r);
    if (label.starts_with("sensitivity")) {  // only this node converted: its work is all that is lowered
      std::set<std::string> all(candidates.begin(), candidates.end());
      for (const std::string& k : all)
        if (!keep.count(k)) flops_of[k] = r.low_precision_flops - base_flops;
    }
    return error(c, label);
  };
  const double min_flops = options.min_low_precision_share * static_cast<double>(report.flops);
  problem.may_keep = [&](const std::set<std::string>& keep) {
    int64_t moved = 0;
    for (const std::string& k : keep) moved += flops_of[k];
    return static_cast<double>(report.low_precision_flops - moved) >= min_flops;
  };
  quant::SearchResult search = quant::search_keep_set(problem);
  search.metric = "output_error";
  search.fp32 = 0;
  // Steps need not lower the error monotonically (rounding errors partly cancel): the model written is the shortest
  // prefix of the steps that meets the target. When none does, nothing is kept for accuracy: keeping nodes float32
  // that do not bring the target within reach costs speed for an error change the data cannot tell from noise
  // (PaddleOCR rec bf16: 7.7% of the work kept for 0.036 -> 0.032 on one input, 0.043 on another).
  size_t best = 0;
  double best_error = search.quantized;
  for (size_t i = 0; i < search.steps.size(); ++i)
    if (search.steps[i].after <= options.max_output_error) {
      best = i + 1, best_error = search.steps[i].after;
      break;
    }
  search.met = best > 0;
  std::set<std::string> keep;
  for (size_t i = 0; i < best; ++i) keep.insert(search.steps[i].node);
  if (search.met) search.steps.resize(best);
  search.keep_float = keep;
  search.final_metric = best_error;
  FloatConvertReport final_report;
  out = convert_keeping(keep, &final_report);
  final_report.output_error_floor = report.output_error_floor;
  // The final report: the first conversion's facts, this model's nodes, and why the searched nodes were kept.
  final_report.calibration_samples = report.calibration_samples;
  final_report.max_abs_seen = report.max_abs_seen;
  final_report.nonfinite_values = report.nonfinite_values;
  final_report.output_error_target = options.max_output_error;
  final_report.output_error = search.final_metric;
  for (auto& k : final_report.kept)
    for (const quant::SearchStep& s : search.steps)
      if (s.node == k.node)
        k.reason = fmt::format("kept for accuracy: the output error went from {:.3g} to {:.3g} on the calibration "
                               "data",
                               s.before, s.after);
  if (!search.met)
    final_report.warnings.push_back(fmt::format(
        "the output error on the calibration data is {:.3g}, above the {:.3g} asked for (--max-output-error): "
        "keeping the most sensitive nodes float32 (within {:.0f}% of the work left in {}) did not meet it, so none "
        "is kept for accuracy. Check that the calibration data is representative, or use {}",
        search.final_metric, options.max_output_error, options.min_low_precision_share * 100,
        dtype_name(options.target), options.target == DType::BFloat16 ? "fp16 (more mantissa bits)" : "float32"));
  final_report.search = std::move(search);
  m = std::move(out);
  return final_report;
}

}  // namespace hone
