// Accuracy-aware quantization: which layers must stay float for a target to hold.
//
// The metric is top-1 accuracy on labelled evaluation data (target: at most PCT points below fp32) or the SQNR of the
// final outputs against fp32 on the calibration data (target: at least DB). When the fully quantized model misses it,
// each quantized layer's sensitivity is measured "all but one": the model with every layer quantized except that
// one. That measures exactly the choice the search then makes (the benefit of keeping one layer float while the
// others stay quantized, including how its error grows through the layers after it), which quantizing one layer at a
// time would only estimate. Layers are then kept float, the most gained per FLOP first, until the target holds;
// every step is measured, and the report names each layer kept and the metric before and after it.
#pragma once
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compress/quantize/calibration.h"
#include "compress/quantize/qdq.h"
#include "compress/quantize/quant_plan.h"
#include "ir/graph.h"

namespace hone::data {
class Dataset;
}

namespace hone::quant {

struct AccuracyGoal {
  enum class Kind { MaxAccuracyDrop, MinSqnr };
  Kind kind = Kind::MinSqnr;
  double value = 0;  // MaxAccuracyDrop: top-1 points (percent); MinSqnr: dB
  const data::Dataset* eval = nullptr;           // MaxAccuracyDrop: the evaluation data
  const std::vector<int64_t>* labels = nullptr;  //   and its labels
  const data::Dataset* calibration = nullptr;    // MinSqnr: the data the SQNR is measured on
};

struct LayerSensitivity {
  std::string node, op;
  double metric = 0;  // the metric with every other layer quantized and this one float
  double gain = 0;    // how much better than the fully quantized model's (metric - it, or it - metric when lower is better)
  double cost_share = 0;  // the layer's share of the candidates' work (FLOPs) when the problem has a cost, else 0
};

struct SearchStep {
  std::string node, op;
  double before = 0, after = 0;  // the metric before and after keeping this layer float too
  bool kept = true;              // false: it made the metric worse (drop_worsening), so it stayed lowered
  bool trimmed = false;          // (kept false) lowered again once the target held: the target holds without it
  std::string how;               // (trimmed) lowered another way (KeepSearchProblem::lower_otherwise), e.g. smoothed
};

struct SearchResult {
  std::string metric;    // "top1" (a fraction) or "sqnr_db"
  double fp32 = 0;       // the fp32 model's metric (sqnr: +inf)
  double target = 0;     // the value the metric must reach
  double quantized = 0;  // every planned layer quantized
  std::vector<LayerSensitivity> sensitivity;  // in the order kept (by_efficiency); empty when met at once
  std::vector<SearchStep> steps;
  bool by_efficiency = false;  // the steps went by gain per unit of cost (else by gain alone)
  std::set<std::string> keep_float;
  double final_metric = 0;
  bool met = false;
  int evaluations = 0;  // models run over the data
};

// The search itself, for any kind of lowered model (int8 layers, float16/bfloat16 nodes): `evaluate(keep)` builds the
// model with the nodes in `keep` left in higher precision and returns its metric (`label` names the run for a progress
// bar). Every candidate's sensitivity is measured all-but-one; then candidates are kept, most sensitive first, until
// the metric meets `target` (>= it, or <= it with lower_is_better). `may_keep(keep)` (may be empty) says whether a
// keep set is still allowed (a budget on how much may stay in higher precision): the search stops before one that is
// not. Keeping every candidate would meet any target and lower nothing, so the search stops one short. Fills every
// field of the result but `metric` and `fp32`.
struct KeepSearchProblem {
  std::vector<std::string> candidates;  // graph order
  std::map<std::string, std::string> op_of;  // node -> op type, for the report
  std::function<double(const std::set<std::string>& keep, const std::string& label)> evaluate;
  double target = 0;
  bool lower_is_better = false;
  std::function<bool(const std::set<std::string>& keep)> may_keep;
  // Sensitivity measured "only this one lowered" (every other candidate kept) instead of all-but-one: for metrics
  // where many small errors add up (float16/bfloat16 rounding), keeping any single node changes little, while its
  // own error is what keeping it removes. The gain is then how much worse than keeping them all.
  bool only_one = false;
  std::function<double(const std::string&)> cost;  // ties in sensitivity: the cheaper to keep first (may be empty)
  // With `cost`: candidates are kept in order of gain per unit of cost (the most metric for the least work left in
  // higher precision), not of gain alone. A floor of a tenth of the mean candidate's cost keeps near-free layers with
  // a gain too small to matter from jumping the queue; candidates without a gain come last, by gain.
  bool by_efficiency = false;
  // A candidate whose keeping measurably worsens the metric (on real data the metric is not additive: rounding
  // errors partly cancel) is left lowered and the search goes on; its step is reported with kept = false.
  bool drop_worsening = false;
  // Stop after this many steps in a row that did not improve on the best metric so far (0: never).
  int patience = 0;
  // With `cost`, once the target holds: each kept candidate, the costliest first, is lowered again where the target
  // still holds without it (one kept early may be unneeded once later ones are kept; the metric is not additive).
  // Candidates cheaper than the efficiency floor are not tried: lowering them again saves nothing that matters. The
  // trim repeats while a pass lowered something; a candidate that missed is tried again once the metric rose.
  bool trim = false;
  // In the trim step (may be empty): a kept candidate whose lowering misses the target is tried lowered another way.
  // `lower_otherwise(keep, node)` measures the model with `node` lowered that way (and the candidates in `keep`
  // kept); when the target holds, `take_otherwise(node)` commits it and every later evaluation builds on it.
  struct Otherwise {
    double metric = std::numeric_limits<double>::quiet_NaN();  // NaN: no other way for this node
    std::string how;  // for the report
    int evaluations = 0;
  };
  std::function<Otherwise(const std::set<std::string>& keep, const std::string& node)> lower_otherwise;
  std::function<void(const std::string& node)> take_otherwise;
  // (may be empty) Undoes the last take_otherwise. With it, a node that lowered the other way misses the target but
  // does better than lowered as it is, is taken on trial while cheaper candidates (two at most, together under a
  // quarter of its cost, the most gain per cost first) are kept float instead; without the target met, it is undone.
  std::function<void()> undo_otherwise;
};
SearchResult search_keep_set(const KeepSearchProblem& problem);

// Another way to lower a layer the search kept float, in static per-channel mode (`hone quantize --equalize` with a
// target): in the trim step, a kept group-1 convolution that cannot be lowered as it is, is tried int8 with its input
// smoothed (equalize_depthwise.h: a Mul by 1/s before it and its weights times s, s from smoothing_scales for each
// alpha in turn, the new tensor calibrated like the others), and lowered where the target holds, or holds with a few
// cheaper layers kept float instead (KeepSearchProblem::undo_otherwise). On PaddleOCR rec the pointwise convolutions after
// depthwise ones have outlier input channels that one per-tensor scale cannot serve; smoothing every such input
// lowers det's SQNR though, hence a per-layer move, measured before it is taken. The fp32 model changes (it computes
// the same function): when a layer was lowered this way, the rewritten model, its ranges and channel means come back
// here, for the caller to quantize.
struct Smoothing {
  const data::Dataset* calibration = nullptr;  // the data the smoothed inputs are calibrated on
  CalibrationOptions method;
  // SmoothQuant's alpha, tried in turn until the target holds: on PaddleOCR rec 0.75 did best on each of its four
  // pointwise candidates (0.3: below plain int8; 0.5 - 0.9: within 0.6 dB of 0.75).
  std::vector<double> alphas = {0.75, 0.5, 0.9};
  std::optional<Model> model;  // out: set when a layer was lowered with its input smoothed
  std::map<std::string, Range> ranges;
  ChannelMeans means;
};

// Searches which layers to keep float. `ranges`: calibrated ranges (static mode; null otherwise). Does not throw
// when the target cannot be met with at least one layer quantized: `met` says so (keep_float then holds every layer
// but the least sensitive, and final_metric what that reached). `smoothing` (may be null): see Smoothing.
SearchResult search_keep_float(const Model& fp32, const QuantizeConfig& config,
                               const std::map<std::string, Range>* ranges, const AccuracyGoal& goal,
                               const ObserveOptions& run, const ChannelMeans* means = nullptr,
                               Smoothing* smoothing = nullptr);

// Top-1 accuracy (a fraction) of `m`'s first output over `data` with `labels` (one per sample, at least data.size()).
double top1_accuracy(const Model& m, const data::Dataset& data, const std::vector<int64_t>& labels,
                     const ObserveOptions& run);

}  // namespace hone::quant
