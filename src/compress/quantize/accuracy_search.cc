#include "compress/quantize/accuracy_search.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <unordered_map>

#include <fmt/ranges.h>

#include "bench/cost_model.h"
#include "bench/evaluate.h"
#include "bench/fidelity.h"
#include "bench/progress.h"
#include "compress/quantize/equalize_depthwise.h"
#include "compress/quantize/qdq.h"
#include "data/dataset.h"
#include "hone/hone.h"
#include "ops/infer_graph.h"
#include "passes/pass.h"

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

// FLOPs of every node at the shape of `data`'s first batch (empty when the model's types cannot be inferred).
std::map<std::string, double> layer_flops(const Model& m, const data::Dataset* data, int64_t batch) {
  std::map<std::string, double> out;
  if (!data || m.graph.inputs.size() != 1) return out;
  try {
    data::InputBatcher batcher(*data, m.graph.inputs[0], batch);
    Shape shape = batcher.batch(0).shape();
    const int64_t opset = m.opset("");
    InferOptions io;
    io.opset = [&](const std::string& d) { return d.empty() || d == "ai.onnx" ? opset : m.opset(d); };
    io.fold_constants = false;
    io.throw_on_unsupported = false;
    std::unordered_map<std::string, TypeInfo> inputs;
    inputs[m.graph.inputs[0].name] = TypeInfo::tensor(m.graph.inputs[0].type.elem, to_sym_shape(shape));
    GraphTypes types = infer_graph(m.graph, io, inputs);
    TypeLookup type_of = [&](const std::string& v) -> const TypeInfo* {
      auto it = types.types.find(v);
      return it == types.types.end() ? nullptr : &it->second;
    };
    for (const Node& n : m.graph.nodes) out[n.name] = static_cast<double>(node_cost(n, type_of).flops);
  } catch (const Error&) {
    out.clear();  // no costs: the search ranks by sensitivity alone
  }
  return out;
}

// The Smoothing move (see the header): tries a kept convolution int8 with its input smoothed, on the model as the
// moves taken so far left it.
class InputSmoother {
 public:
  InputSmoother(const Model& fp32, const QuantizeConfig& config, const std::map<std::string, Range>& ranges,
                const ChannelMeans* means, Smoothing& smoothing)
      : fp32_(fp32), config_(config), ranges_(&ranges), means_(means), smoothing_(smoothing) {
    HONE_CHECK(smoothing.calibration, "smoothing needs calibration data");
  }

  // The model, ranges and channel means every evaluation starts from.
  const Model& model() const { return smoothing_.model ? *smoothing_.model : fp32_; }
  const std::map<std::string, Range>& ranges() const { return *ranges_; }
  const ChannelMeans* means() const { return means_; }

  // `node` lowered with its input smoothed, each alpha in turn until `meets`; the best trial is kept for take().
  KeepSearchProblem::Otherwise lower(const std::set<std::string>& keep, const std::string& node,
                                     const std::function<double(const Model&, const std::string&)>& metric,
                                     const std::function<bool(double)>& meets, const ObserveOptions& run) {
    KeepSearchProblem::Otherwise out;
    trial_.reset();
    std::optional<DepthwiseInput> input = eligible(node);
    if (!input) return out;
    const ChannelStats& stats = stats_of(*input, keep, run);
    for (double alpha : smoothing_.alphas) {
      std::vector<float> s = smoothing_scales(stats, *model().graph.find_initializer(weight_name(node)), alpha);
      auto trial = std::make_unique<Trial>();
      trial->model = model();
      std::vector<EqualizedInput> done = apply_channel_scales(trial->model, {*input}, {s});
      if (done.empty()) break;  // every channel alike: nothing to smooth
      const std::string& scaled = done[0].scaled;
      ObserveOptions o = run;
      o.histograms = smoothing_.method.method != CalibrationMethod::MinMax;
      o.label = fmt::format("smoothing {}: calibrating", node);
      o.channel_axes.clear();
      trial->ranges = *ranges_;
      trial->ranges[scaled] =
          observe_tensors(trial->model, {scaled}, *smoothing_.calibration, o).at(scaled).range(smoothing_.method);
      if (means_) {
        trial->means = *means_;
        if (auto mu = means_->find(input->tensor); mu != means_->end() && mu->second.size() == s.size()) {
          std::vector<double>& m = trial->means[scaled] = mu->second;
          for (size_t k = 0; k < m.size(); ++k) m[k] /= s[k];
        }
      }
      QuantPlan plan = plan_quantization(trial->model, config_, keep, &trial->ranges);
      const double v = metric(write_quantized(trial->model, plan, config_, means_ ? &trial->means : nullptr).model,
                              fmt::format("smoothing {} (alpha {:g})", node, alpha));
      ++out.evaluations;
      if (std::isnan(out.metric) || v > out.metric) {
        out.metric = v;
        out.how = fmt::format("input smoothed, alpha {:g}", alpha);
        trial_ = std::move(trial);
      }
      if (meets(v)) break;
    }
    return out;
  }

  void take() {
    HONE_CHECK(trial_, "no smoothed trial to take");
    undo_ = std::make_unique<Undo>(Undo{smoothing_.model, smoothing_.ranges, smoothing_.means, ranges_, means_});
    smoothing_.model = std::move(trial_->model);
    smoothing_.ranges = std::move(trial_->ranges);
    smoothing_.means = std::move(trial_->means);
    ranges_ = &smoothing_.ranges;
    if (means_) means_ = &smoothing_.means;
    trial_.reset();
  }

  // Back to the state before the last take().
  void undo() {
    HONE_CHECK(undo_, "no smoothing to undo");
    smoothing_.model = std::move(undo_->model);
    smoothing_.ranges = std::move(undo_->ranges);
    smoothing_.means = std::move(undo_->means);
    ranges_ = undo_->ranges_at;
    means_ = undo_->means_at;
    undo_.reset();
  }

 private:
  struct Undo {
    std::optional<Model> model;
    std::map<std::string, Range> ranges;
    ChannelMeans means;
    const std::map<std::string, Range>* ranges_at;
    const ChannelMeans* means_at;
  };
  struct Trial {
    Model model;
    std::map<std::string, Range> ranges;
    ChannelMeans means;
  };

  const std::string& weight_name(const std::string& node) const {
    for (const Node& n : model().graph.nodes)
      if (n.name == node) return n.inputs[1];
    fail("no node '{}'", node);
  }

  // A group-1 Conv with a constant float32 weight whose input is computed in the graph (the Mul goes after its
  // producer).
  std::optional<DepthwiseInput> eligible(const std::string& node) const {
    const Graph& g = model().graph;
    std::set<std::string> overridable(g.overridable_initializers.begin(), g.overridable_initializers.end());
    for (const Node& n : g.nodes) {
      if (n.name != node) continue;
      if (n.op_type != "Conv" || !n.domain.empty() || n.inputs.size() < 2 || n.attr_int("group", 1) != 1)
        return std::nullopt;
      const Tensor* w = overridable.count(n.inputs[1]) ? nullptr : g.find_initializer(n.inputs[1]);
      if (!w || w->dtype() != DType::Float32 || w->rank() < 3) return std::nullopt;
      if (GraphUses(g).producer(n.inputs[0]) < 0) return std::nullopt;
      return DepthwiseInput{n.name, n.inputs[0], w->dim(1)};
    }
    return std::nullopt;
  }

  // Channel extremes of the input, observed on the fp32 model (the values do not change with smoothing elsewhere);
  // the first call observes every eligible kept layer's input in one pass.
  const ChannelStats& stats_of(const DepthwiseInput& input, const std::set<std::string>& keep,
                               const ObserveOptions& run) {
    if (!stats_.count(input.tensor)) {
      ObserveOptions o = run;
      o.histograms = false;
      o.label = "smoothing: channel ranges";
      o.channel_axes = {{input.tensor, 1}};
      for (const std::string& node : keep)
        if (auto e = eligible(node); e && !stats_.count(e->tensor) && fp32_has(e->tensor)) o.channel_axes[e->tensor] = 1;
      for (const auto& [t, obs] : observe_tensors(fp32_, {}, *smoothing_.calibration, o))
        if (obs.tracks_channel_means())
          stats_[t] = {obs.channel_mean_min(), obs.channel_mean_max(), obs.channel_mean_squares()};
    }
    return stats_.at(input.tensor);
  }

  bool fp32_has(const std::string& tensor) const {
    for (const Node& n : fp32_.graph.nodes)
      for (const std::string& o : n.outputs)
        if (o == tensor) return true;
    return false;
  }

  const Model& fp32_;
  const QuantizeConfig& config_;
  const std::map<std::string, Range>* ranges_;
  const ChannelMeans* means_;
  Smoothing& smoothing_;
  std::map<std::string, ChannelStats> stats_;
  std::unique_ptr<Trial> trial_;
  std::unique_ptr<Undo> undo_;
};

}  // namespace

SearchResult search_keep_set(const KeepSearchProblem& problem) {
  SearchResult r;
  r.target = problem.target;
  // Small tolerance: a fraction of one sample (accuracy) or of a rounding step, so that float noise never decides.
  auto meets = [&](double v) {
    return problem.lower_is_better ? v <= r.target * (1 + 1e-12) : v >= r.target - 1e-12;
  };
  auto gain = [&](double v, double base) {
    double g = problem.lower_is_better ? base - v : v - base;
    return std::isnan(g) ? -std::numeric_limits<double>::infinity() : g;  // inf - inf: no measurable gain
  };
  auto op_of = [&](const std::string& node) {
    auto it = problem.op_of.find(node);
    return it == problem.op_of.end() ? std::string() : it->second;
  };
  r.quantized = problem.evaluate({}, "quantized model");
  ++r.evaluations;
  r.final_metric = r.quantized;
  if (meets(r.quantized)) {
    r.met = true;
    return r;
  }
  const size_t layers = problem.candidates.size();
  for (size_t i = 0; i < layers; ++i) {
    const std::string& node = problem.candidates[i];
    std::set<std::string> keep = {node};
    if (problem.only_one) {
      keep = std::set<std::string>(problem.candidates.begin(), problem.candidates.end());
      keep.erase(node);
    }
    double v = problem.evaluate(keep, fmt::format("sensitivity {}/{}", i + 1, layers));
    ++r.evaluations;
    // Only-one: how much this node alone makes the metric worse than with every candidate kept (the ideal).
    double g = gain(v, r.quantized);
    if (problem.only_one) g = std::isnan(v) ? 0.0 : problem.lower_is_better ? v : -v;
    r.sensitivity.push_back({node, op_of(node), v, g});
  }
  std::map<std::string, double> cost;
  double total_cost = 0;
  if (problem.cost)
    for (const std::string& node : problem.candidates) total_cost += cost[node] = std::max(0.0, problem.cost(node));
  if (total_cost > 0)
    for (LayerSensitivity& s : r.sensitivity) s.cost_share = cost[s.node] / total_cost;
  const double cost_floor = total_cost / (10.0 * static_cast<double>(std::max<size_t>(1, layers)));
  const bool by_efficiency = problem.by_efficiency && total_cost > 0;
  auto efficiency = [&](const LayerSensitivity& s) { return s.gain / (cost[s.node] + cost_floor); };
  auto by_gain = [&](const LayerSensitivity& a, const LayerSensitivity& b) {
    if (a.gain != b.gain || !problem.cost) return a.gain > b.gain;
    return cost[a.node] < cost[b.node];
  };
  std::stable_sort(r.sensitivity.begin(), r.sensitivity.end(),
                   [&](const LayerSensitivity& a, const LayerSensitivity& b) {
                     if (by_efficiency && (a.gain > 0 || b.gain > 0)) {
                       if ((a.gain > 0) != (b.gain > 0)) return a.gain > 0;
                       if (efficiency(a) != efficiency(b)) return efficiency(a) > efficiency(b);
                     }
                     return by_gain(a, b);
                   });

  // One greedy pass: candidates kept in `order` until the target holds.
  struct Pass {
    std::set<std::string> keep;
    std::vector<SearchStep> steps;
    double current = 0;
    bool met = false;
  };
  auto greedy = [&](const std::vector<LayerSensitivity>& order) {
    Pass p;
    p.current = r.quantized;
    double best = r.quantized;
    int stale = 0;
    // Keeping every layer float would "meet" any target: that is no quantized model, so the search stops one short.
    for (size_t i = 0; i + 1 < order.size(); ++i) {
      const LayerSensitivity& s = order[i];
      std::set<std::string> next = p.keep;
      next.insert(s.node);
      if (problem.may_keep && !problem.may_keep(next)) continue;  // over the budget: the cheaper ones may still fit
      p.keep = std::move(next);
      double v = s.metric;  // keeping only this one: the sensitivity run itself (all-but-one)
      if (p.keep.size() > 1 || problem.only_one) {
        v = problem.evaluate(p.keep, fmt::format("keeping {} layers", p.keep.size()));
        ++r.evaluations;
      }
      if (problem.drop_worsening && gain(v, p.current) < 0) {
        p.keep.erase(s.node);
        p.steps.push_back({s.node, s.op, p.current, v, false});
        if (problem.patience > 0 && ++stale >= problem.patience) break;
        continue;
      }
      p.steps.push_back({s.node, s.op, p.current, v});
      p.current = v;
      if (gain(v, best) > 0) {
        best = v;
        stale = 0;
      } else if (problem.patience > 0 && ++stale >= problem.patience) {
        break;
      }
      if (meets(v)) {
        p.met = true;
        break;
      }
    }
    return p;
  };
  Pass pass = greedy(r.sensitivity);
  r.by_efficiency = by_efficiency;
  if (by_efficiency && !pass.met) {
    // The cheap layers first may leave the target out of reach (stopping one short of keeping every layer); the
    // most sensitive first may still reach it.
    std::vector<LayerSensitivity> order = r.sensitivity;
    std::stable_sort(order.begin(), order.end(), by_gain);
    Pass second = greedy(order);
    if (second.met || gain(second.current, pass.current) > 0) {
      pass = std::move(second);
      r.sensitivity = std::move(order);
      r.by_efficiency = false;
    }
  }
  // The undo_otherwise move: cheaper candidates kept float, the most gain per cost first, while the target misses.
  // Two at most, together under a quarter of the node's cost: each float layer inside an int8 model also costs the
  // conversions around it and runs small, which FLOPs do not count (on PaddleOCR det, three 0.1-0.4% layers kept
  // for one of 1.3% made the model slower).
  auto compensate = [&](std::set<std::string>& keep, const std::string& node, double current,
                        std::vector<std::string>& added) {
    constexpr int kTries = 6;
    constexpr size_t kInstead = 2;
    double spent = 0;
    int tries = 0;
    std::vector<LayerSensitivity> order = r.sensitivity;
    std::stable_sort(order.begin(), order.end(), [&](const LayerSensitivity& a, const LayerSensitivity& b) {
      return efficiency(a) > efficiency(b);
    });
    for (const LayerSensitivity& s : order) {
      if (meets(current) || tries >= kTries || added.size() >= kInstead) break;
      if (s.node == node || keep.count(s.node) || s.gain <= 0 || spent + cost[s.node] >= cost[node] / 4) continue;
      if (problem.may_keep && !problem.may_keep(keep)) continue;
      keep.insert(s.node);
      const double w = problem.evaluate(keep, fmt::format("{} lowered, keeping {} float", node, s.node));
      ++r.evaluations;
      ++tries;
      if (gain(w, current) <= 0) {
        keep.erase(s.node);
        continue;
      }
      current = w;
      spent += cost[s.node];
      added.push_back(s.node);
    }
    return current;
  };
  if (problem.trim && pass.met && total_cost > 0) {
    std::vector<std::string> kept(pass.keep.begin(), pass.keep.end());
    std::stable_sort(kept.begin(), kept.end(),
                     [&](const std::string& a, const std::string& b) { return cost[a] > cost[b]; });
    // Passes until one lowers nothing: a layer that missed may fit once a later one raised the metric (the metric is
    // not additive; lowering one way or another can also raise it).
    std::map<std::string, double> missed_at;  // the metric when a layer last could not be lowered
    for (bool lowered = true; lowered;) {
      lowered = false;
      for (const std::string& node : kept) {
        if (cost[node] <= cost_floor || !pass.keep.count(node)) continue;
        if (auto m = missed_at.find(node); m != missed_at.end() && gain(pass.current, m->second) <= 0) continue;
        std::set<std::string> fewer = pass.keep;
        fewer.erase(node);
        double v = problem.evaluate(fewer, fmt::format("without {}", node));
        ++r.evaluations;
        std::string how;
        if (!meets(v) && problem.lower_otherwise) {
          KeepSearchProblem::Otherwise other = problem.lower_otherwise(fewer, node);
          r.evaluations += other.evaluations;
          if (meets(other.metric)) {
            problem.take_otherwise(node);
            v = other.metric;
            how = other.how;
          } else if (problem.undo_otherwise && gain(other.metric, v) > 0) {
            problem.take_otherwise(node);
            std::vector<std::string> instead;
            double w = compensate(fewer, node, other.metric, instead);
            if (meets(w)) {
              v = w;
              how = fmt::format("{}; kept float instead: {}", other.how, fmt::join(instead, ", "));
            } else {
              problem.undo_otherwise();
              fewer = pass.keep;
              fewer.erase(node);
            }
          }
        }
        if (!meets(v)) {
          missed_at[node] = pass.current;
          continue;
        }
        pass.steps.push_back({node, op_of(node), pass.current, v, false, true, how});
        pass.keep = std::move(fewer);
        pass.current = v;
        lowered = true;
      }
    }
  }
  r.keep_float = std::move(pass.keep);
  r.steps = std::move(pass.steps);
  r.met = pass.met;
  r.final_metric = pass.current;
  return r;
}

SearchResult search_keep_float(const Model& fp32, const QuantizeConfig& config,
                               const std::map<std::string, Range>* ranges, const AccuracyGoal& goal,
                               const ObserveOptions& run, const ChannelMeans* means, Smoothing* smoothing) {
  ObserveOptions quiet = run;
  std::function<double(const Model&)> metric;
  std::unique_ptr<SqnrMetric> sqnr;
  std::string name;
  double fp32_metric = 0, target = 0;
  if (goal.kind == AccuracyGoal::Kind::MaxAccuracyDrop) {
    HONE_CHECK(goal.eval && goal.labels, "--max-accuracy-drop needs evaluation data and labels");
    name = "top1";
    metric = [&](const Model& m) { return top1_accuracy(m, *goal.eval, *goal.labels, quiet); };
    quiet.label = "fp32 accuracy";
    fp32_metric = metric(fp32);
    target = fp32_metric - goal.value / 100;
  } else {
    HONE_CHECK(goal.calibration, "--min-sqnr needs calibration data");
    name = "sqnr_db";
    sqnr = std::make_unique<SqnrMetric>(fp32, *goal.calibration, quiet);
    metric = [&](const Model& m) { return (*sqnr)(m); };
    fp32_metric = std::numeric_limits<double>::infinity();
    target = goal.value;
  }
  // Lowering kept layers with their inputs smoothed changes the model every later evaluation starts from.
  std::optional<InputSmoother> smoother;
  if (smoothing && config.mode == QuantMode::Static && config.per_channel && ranges)
    smoother.emplace(fp32, config, *ranges, means, *smoothing);
  auto build = [&](const std::set<std::string>& keep) {
    const Model& base = smoother ? smoother->model() : fp32;
    const std::map<std::string, Range>* base_ranges = smoother ? &smoother->ranges() : ranges;
    QuantPlan plan = plan_quantization(base, config, keep, config.mode == QuantMode::Static ? base_ranges : nullptr);
    return write_quantized(base, plan, config, smoother ? smoother->means() : means).model;
  };
  KeepSearchProblem problem;
  problem.candidates = plan_quantization(fp32, config, {}, config.mode == QuantMode::Static ? ranges : nullptr).compute;
  for (const Node& n : fp32.graph.nodes) problem.op_of[n.name] = n.op_type;
  // What each candidate costs left float: its FLOPs at the data's sample shape. The layers are kept in order of
  // metric gained per FLOP, so the model keeps as much of its int8 speed as the target allows.
  std::map<std::string, double> flops = layer_flops(fp32, goal.kind == AccuracyGoal::Kind::MaxAccuracyDrop
                                                              ? goal.eval
                                                              : goal.calibration, run.batch);
  if (!flops.empty()) {
    problem.cost = [flops](const std::string& node) {
      auto it = flops.find(node);
      return it == flops.end() ? 0.0 : it->second;
    };
    problem.by_efficiency = true;
  }
  problem.drop_worsening = true;
  problem.trim = true;
  problem.target = target;
  problem.evaluate = [&](const std::set<std::string>& keep, const std::string& label) {
    quiet.label = label.starts_with("keeping") ? label + " float" : label;
    return metric(build(keep));
  };
  if (smoother) {
    problem.lower_otherwise = [&](const std::set<std::string>& keep, const std::string& node) {
      return smoother->lower(
          keep, node,
          [&](const Model& m, const std::string& label) {
            quiet.label = label;
            return metric(m);
          },
          [&](double v) { return v >= target - 1e-12; }, quiet);
    };
    problem.take_otherwise = [&](const std::string&) { smoother->take(); };
    problem.undo_otherwise = [&] { smoother->undo(); };
  }
  SearchResult r = search_keep_set(problem);
  r.metric = name;
  r.fp32 = fp32_metric;
  if (goal.kind == AccuracyGoal::Kind::MaxAccuracyDrop) ++r.evaluations;  // the fp32 model's accuracy
  return r;
}

}  // namespace hone::quant
