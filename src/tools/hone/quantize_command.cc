// `hone quantize MODEL -o OUT`: post-training quantization. int8 (static with calibration, dynamic, weights-only)
// is written as QDQ ONNX (src/compress/quantize/); fp16 / bf16 go to the float converter
// (src/compress/quantize/float_convert.h). Prints what was quantized and what stayed float and why, the sizes on disk
// and, with --report, the SQNR of every quantized layer's output and of the final outputs against fp32 on the
// calibration data. --max-accuracy-drop / --min-sqnr keep layers float (most gain per FLOP first) until the target holds.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "compress/quantize/accuracy_search.h"
#include "compress/quantize/bias_tuning.h"
#include "compress/quantize/equalize_depthwise.h"
#include "compress/quantize/float_convert.h"
#include "compress/quantize/quantize_model.h"
#include "data/dataset.h"
#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "tools/hone/commands.h"
#include "tools/hone/data_options.h"

namespace hone::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct QuantizeCliOptions {
  std::string model, out;
  std::string mode = "static", dtype, method = "minmax";
  double percentile = 99.99;
  std::string calibration, eval_data, labels;
  bool per_channel = false, symmetric = false, asymmetric = false;
  std::vector<std::string> exclude;
  double max_accuracy_drop = -1, min_sqnr = NAN;
  double max_output_error = 1e-2;  // fp16 / bf16 with calibration data; 0: not checked
  bool report = false, json = false, force = false, list_nodes = false, no_bias_correction = false;
  bool equalize = false;  // depthwise convolutions' inputs equalized (equalize_depthwise.h)
  int bias_passes = 0;  // empirical bias correction: passes over the calibration data (0: off)
  std::string weight_clip = "max";
  int threads = 0;
  int64_t eval_limit = 0;
  int64_t sqnr_limit = 0;
  data::DataOptions data;
};

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string db(double v) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.2f}", v);
}

// Refuses to write over the input (also through another path) or, without --force, over any existing file.
void check_output_path(const QuantizeCliOptions& o) {
  std::error_code ec;
  if (!fs::exists(o.model, ec)) fail("{}: no such file", o.model);
  if (fs::exists(o.out, ec)) {
    if (fs::equivalent(o.model, o.out, ec)) fail("{} is the input model; hone quantize never overwrites it", o.out);
    if (fs::is_directory(o.out, ec)) fail("{} is a directory; -o takes the file to write", o.out);
    if (!o.force) fail("{} exists; pass --force to overwrite it", o.out);
  }
}

quant::QuantMode parse_mode(const std::string& s) {
  if (s == "static") return quant::QuantMode::Static;
  if (s == "dynamic") return quant::QuantMode::Dynamic;
  if (s == "weights-only") return quant::QuantMode::WeightsOnly;
  fail("unknown --mode '{}' (modes: static, dynamic, weights-only)", s);
}

struct Sizes {
  uintmax_t before = 0, after = 0;
};
Sizes file_sizes(const QuantizeCliOptions& o) {
  std::error_code ec;
  return {fs::file_size(o.model, ec), fs::file_size(o.out, ec)};
}

std::string size_line(const QuantizeCliOptions& o, const Sizes& s) {
  double ratio = s.before ? static_cast<double>(s.after) / static_cast<double>(s.before) : 0;
  return fmt::format("wrote {}: {} ({:.1f}% of the input's {})", o.out, human_bytes(static_cast<double>(s.after)),
                     ratio * 100, human_bytes(static_cast<double>(s.before)));
}

int list_nodes(const QuantizeCliOptions& o) {
  Model m = load_onnx_file(o.model);
  optimize_model(m);
  quant::name_nodes(m.graph);
  fmt::print("nodes of {} after hone optimize's passes (names --exclude takes):\n", o.model);
  for (const Node& n : m.graph.nodes) fmt::print("  {:<40}  {}\n", n.name, n.op_type);
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// fp16 / bf16

int convert_float(const QuantizeCliOptions& o) {
  Model m = load_onnx_file(o.model);
  FloatConvertOptions fo;
  fo.target = o.dtype == "fp16" ? DType::Float16 : DType::BFloat16;
  fo.threads = o.threads;
  fo.calibration_batch = o.data.batch;
  fo.max_output_error = o.max_output_error;
  fo.progress_bar = !o.json;
  for (const std::string& e : o.exclude) {
    bool is_node = false;
    for (const Node& n : m.graph.nodes) is_node = is_node || n.name == e;
    (is_node ? fo.exclude_nodes : fo.exclude_op_types).push_back(e);
  }
  std::unique_ptr<data::Dataset> calib;
  if (!o.calibration.empty()) calib = data::open_dataset(o.calibration, o.data);
  if (!o.json) {
    fmt::print("{}\n", describe_model_header(m, o.model));
    if (calib) fmt::print("calibration data: {}\n", calib->describe());
  }
  FloatConvertReport r = convert_float_precision(m, fo, calib.get());
  save_onnx_file(m, o.out, o.force);
  Sizes s = file_sizes(o);
  const char* type = fo.target == DType::Float16 ? "float16" : "bfloat16";
  for (const std::string& w : r.warnings) fmt::print(stderr, "hone quantize: WARNING: {}\n", w);
  const double share = r.flops > 0 ? static_cast<double>(r.low_precision_flops) / static_cast<double>(r.flops) : NAN;
  if (o.json) {
    json kept = json::array();
    for (const auto& k : r.kept) kept.push_back({{"node", k.node}, {"op", k.op_type}, {"reason", k.reason}});
    json j = {{"model", o.model}, {"output", o.out}, {"dtype", o.dtype}, {"converted_nodes", r.converted_nodes},
              {"float_nodes", r.float_nodes}, {"kept_float32", kept}, {"casts_added", r.casts_added},
              {"opset_before", r.opset_before}, {"opset_after", r.opset_after},
              {"calibration_samples", r.calibration_samples}, {"size_before", s.before}, {"size_after", s.after},
              {"ranges_checked", r.ranges_checked}, {"warnings", r.warnings}, {"flops", r.flops},
              {"low_precision_flops", r.low_precision_flops}, {"low_precision_share", number_or_null(share)},
              {"output_error", number_or_null(r.output_error)},
              {"output_error_target", number_or_null(r.output_error_target)},
              {"output_error_floor", number_or_null(r.output_error_floor)}};
    if (r.search) {
      json steps = json::array();
      for (const auto& st : r.search->steps)
        steps.push_back({{"node", st.node}, {"op", st.op}, {"before", number_or_null(st.before)},
                         {"after", number_or_null(st.after)}});
      j["accuracy_search"] = {{"met", r.search->met}, {"first_output_error", number_or_null(r.search->quantized)},
                              {"steps", steps}, {"evaluations", r.search->evaluations}};
    }
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("converted to {}: {} of {} float nodes; {} Casts added; opset {} -> {}\n", type, r.converted_nodes,
             r.float_nodes, r.casts_added, r.opset_before, r.opset_after);
  if (!r.opset_note.empty()) fmt::print("note: {}\n", r.opset_note);
  if (r.flops > 0)
    fmt::print("work in {}: {:.1f}% of {:.3g} GFLOP (the rest stays float32)\n", type, share * 100,
               static_cast<double>(r.flops) * 1e-9);
  if (r.search) {
    fmt::print("output error vs float32 on the calibration data: {:.3g} after the range check; {} (sensitivity: each "
               "node alone converted; {} models run):\n",
               r.search->quantized,
               r.search->met ? fmt::format("the {} nodes most sensitive kept float32", r.search->steps.size())
                             : std::string("the search's steps, none kept since they missed the target"),
               r.search->evaluations);
    for (const auto& st : r.search->steps)
      fmt::print("  {} ({}): {:.3g} -> {:.3g}\n", st.node, st.op, st.before, st.after);
  }
  if (!std::isnan(r.output_error))
    fmt::print("output error vs float32 on the calibration data: {:.3g} (target {:.3g}: {}{})\n", r.output_error,
               r.output_error_target, r.output_error <= r.output_error_target ? "met" : "MISSED",
               std::isnan(r.output_error_floor)
                   ? std::string()
                   : fmt::format("; the float32 model with only its input rounded: {:.3g}", r.output_error_floor));
  if (!r.kept.empty()) {
    fmt::print("kept float32 ({}):\n", r.kept.size());
    for (const auto& k : r.kept) fmt::print("  {} ({}): {}\n", k.node, k.op_type, k.reason);
  }
  fmt::print("{}\n", size_line(o, s));
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// int8

struct Counts {
  std::map<std::string, int> compute, shared, removed;
};

Counts count_plan(const Model& m, const quant::QuantPlan& p) {
  std::map<std::string, std::string> op;
  for (const Node& n : m.graph.nodes) op[n.name] = n.op_type;
  Counts c;
  for (const std::string& n : p.compute) ++c.compute[op[n]];
  for (const std::string& n : p.shared) ++c.shared[op[n]];
  for (const auto& [n, producer] : p.folded) ++c.removed[op[n]];
  return c;
}

std::string count_text(const std::map<std::string, int>& m) {
  std::string s;
  for (const auto& [op, n] : m) s += fmt::format("{}{} {}", s.empty() ? "" : ", ", op, n);
  return s.empty() ? "none" : s;
}

json count_json(const std::map<std::string, int>& m) {
  json j = json::object();
  for (const auto& [op, n] : m) j[op] = n;
  return j;
}

json fidelity_json(const quant::Fidelity& f) {
  return {{"name", f.name},
          {"op", f.op},
          {"tensor", f.tensor},
          {"sqnr_db", number_or_null(f.sqnr_db)},
          {"cosine", number_or_null(f.cosine)},
          {"max_abs_error", number_or_null(f.max_abs_error)},
          {"top1_agreement", number_or_null(f.top1_agreement)}};
}

std::string metric_text(const quant::SearchResult& s, double v) {
  if (s.metric == "top1") return fmt::format("top-1 {:.2f}%", v * 100);
  return fmt::format("SQNR {} dB", db(v));
}

// ", 2.1% of FLOPs" for a layer's share of the quantizable layers' work; "" when not known.
std::string work_share(double share) {
  return share > 0 ? fmt::format(", {:.2g}% of FLOPs", share * 100) : std::string();
}

int quantize_int8(const QuantizeCliOptions& o) {
  quant::QuantizeConfig config;
  config.mode = parse_mode(o.mode);
  config.per_channel = o.per_channel;
  config.symmetric = o.symmetric || o.dtype == "int8";
  config.weight_mse_clip = o.weight_clip == "mse";
  config.exclude = o.exclude;
  if (o.bias_passes > 0 && o.calibration.empty())
    fail("--bias-passes needs --calibration data (it compares the fp32 and quantized models on it)");
  if (o.bias_passes > 0 && config.mode == quant::QuantMode::Dynamic)
    fail("--bias-passes applies to static and weights-only modes");
  const bool is_static = config.mode == quant::QuantMode::Static;
  quant::CalibrationOptions method{.method = quant::parse_method(o.method), .percentile = o.percentile,
                                   .symmetric = config.symmetric};
  const bool accuracy_goal = o.max_accuracy_drop >= 0, sqnr_goal = !std::isnan(o.min_sqnr);
  if (is_static && o.calibration.empty())
    fail("static quantization needs --calibration DATA (or --mode dynamic / weights-only, which need none)");
  if ((o.report || sqnr_goal) && o.calibration.empty())
    fail("{} measures against fp32 on the calibration data; give --calibration DATA",
         o.report ? "--report" : "--min-sqnr");

  auto t0 = Clock::now();
  Model m = load_onnx_file(o.model);
  const size_t nodes_in = m.graph.nodes.size();
  const int64_t opset_in = m.opset("");
  if (!o.json) fmt::print("{}\n", describe_model_header(m, o.model));
  quant::PrepareReport prep = quant::prepare_for_quantization(m, config);
  if (!o.json) {
    fmt::print("prepared: hone optimize's passes {} -> {} nodes", nodes_in, m.graph.nodes.size());
    if (prep.upgrade)
      fmt::print("; opset raised {} -> {} ({} nodes rewritten)", prep.upgrade->from, prep.upgrade->to,
                 prep.upgrade->rewritten.size());
    fmt::print("\n");
  }

  quant::ObserveOptions run;
  run.batch = o.data.batch;
  run.threads = o.threads;
  std::unique_ptr<data::Dataset> calib;
  if (!o.calibration.empty()) calib = data::open_dataset(o.calibration, o.data);
  if (o.equalize) {
    if (!is_static || !config.per_channel)
      fail("--equalize needs static mode and --per-channel (the depthwise weights absorb the scaling per channel)");
    std::vector<quant::EqualizedInput> eq = quant::equalize_depthwise_inputs(m, config, *calib, run);
    if (!o.json) fmt::print("equalized the inputs of {} depthwise convolutions\n", eq.size());
  }
  std::map<std::string, quant::Range> ranges;
  quant::ChannelMeans means;
  const bool correct_bias = calib && !o.no_bias_correction && config.mode != quant::QuantMode::Dynamic;
  double calib_s = 0;
  if (is_static || correct_bias) {
    auto tc = Clock::now();
    ranges = quant::calibrate(m, config, *calib, method, run, nullptr, correct_bias ? &means : nullptr);
    calib_s = std::chrono::duration<double>(Clock::now() - tc).count();
    if (!o.json)
      fmt::print("calibrated {} tensors{} on {}: {} in {:.1f} s\n", ranges.size(),
                 correct_bias ? fmt::format(" and {} layer inputs' channel means", means.size()) : "",
                 calib->describe(), is_static ? (o.method == "percentile" ? fmt::format("percentile {:g}", o.percentile)
                                                                            : o.method)
                                              : "means only",
                 calib_s);
  }
  const quant::ChannelMeans* means_used = correct_bias ? &means : nullptr;

  // Accuracy-aware: which layers stay float.
  std::optional<quant::SearchResult> search;
  std::unique_ptr<data::Dataset> eval;
  std::vector<int64_t> labels;
  if (accuracy_goal || sqnr_goal) {
    quant::AccuracyGoal goal;
    if (accuracy_goal) {
      data::DataOptions eo = o.data;  // --limit is the calibration data's; --eval-limit the evaluation data's
      eo.limit = o.eval_limit;
      eval = data::open_dataset(o.eval_data, eo);
      if (!o.labels.empty()) {
        labels = data::read_labels(o.labels);
        if (static_cast<int64_t>(labels.size()) != eval->size() &&
            static_cast<int64_t>(labels.size()) != eval->full_size())
          fail("{} holds {} labels but {} has {} samples", o.labels, labels.size(), eval->describe(),
               eval->full_size());
      } else if (eval->labels()) {
        labels = *eval->labels();
      } else {
        fail("--max-accuracy-drop needs labels: --labels FILE (or an image folder with one subfolder per class)");
      }
      goal = {.kind = quant::AccuracyGoal::Kind::MaxAccuracyDrop, .value = o.max_accuracy_drop, .eval = eval.get(),
              .labels = &labels, .calibration = nullptr};
    } else {
      if (!o.eval_data.empty()) {
        data::DataOptions eo = o.data;
        eo.limit = o.eval_limit;
        eval = data::open_dataset(o.eval_data, eo);
      } else if (o.sqnr_limit > 0 && o.sqnr_limit < calib->size()) {
        data::DataOptions so = o.data;
        so.limit = o.sqnr_limit;
        eval = data::open_dataset(o.calibration, so);
      }
      goal = {.kind = quant::AccuracyGoal::Kind::MinSqnr, .value = o.min_sqnr, .eval = nullptr, .labels = nullptr,
              .calibration = eval ? eval.get() : calib.get()};
    }
    // With --equalize, kept layers may be lowered again with their inputs smoothed (the model is then rewritten).
    quant::Smoothing smoothing;
    smoothing.calibration = calib.get();
    smoothing.method = method;
    search = quant::search_keep_float(m, config, is_static ? &ranges : nullptr, goal, run, means_used,
                                      o.equalize ? &smoothing : nullptr);
    if (smoothing.model) {
      m = std::move(*smoothing.model);
      ranges = std::move(smoothing.ranges);
      if (means_used) means = std::move(smoothing.means);
    }
  }
  std::set<std::string> keep_float = search ? search->keep_float : std::set<std::string>{};
  if (search && !search->met) {
    std::string target = search->metric == "top1"
                             ? fmt::format("top-1 at least {:.2f}%, fp32's {:.2f}% minus {:g} points",
                                           search->target * 100, search->fp32 * 100, o.max_accuracy_drop)
                             : fmt::format("output SQNR at least {} dB", db(search->target));
    fail("the target ({}) cannot be met: fully quantized, {}; with {} of {} layers float, where the search ended, "
         "{}; nothing written",
         target, metric_text(*search, search->quantized), search->keep_float.size(), search->sensitivity.size(),
         metric_text(*search, search->final_metric));
  }

  quant::QuantPlan plan;
  quant::QuantizedModel q = quant::quantize(m, config, is_static ? &ranges : nullptr, keep_float, &plan, means_used);
  std::optional<quant::EmpiricalBiasReport> tuned;
  if (o.bias_passes > 0) {
    tuned = quant::correct_bias_empirically(m, plan, q, *calib, run, o.bias_passes);
  }
  save_onnx_file(q.model, o.out, o.force);
  Sizes sizes = file_sizes(o);
  Counts counts = count_plan(m, plan);

  std::optional<quant::FidelityReport> fid;
  if (o.report) {
    run.label = "report";
    fid = quant::compare_models(m, plan, q, *calib, run);
  }
  const double total_s = std::chrono::duration<double>(Clock::now() - t0).count();

  const std::string act = config.symmetric ? "int8 symmetric" : "uint8 asymmetric";
  const std::string weights = config.per_channel ? "per-channel" : "per-tensor";
  if (o.json) {
    json left = json::array();
    for (const auto& s : plan.skipped) left.push_back({{"node", s.node}, {"op", s.op}, {"reason", s.reason}});
    json removed = json::array();
    for (const auto& [node, producer] : plan.folded) removed.push_back(node);
    json j = {{"model", o.model},
              {"output", o.out},
              {"mode", o.mode},
              {"activations", is_static ? json(config.symmetric ? "int8" : "uint8") : json(nullptr)},
              {"per_channel", config.per_channel},
              {"method", is_static ? json(o.method) : json(nullptr)},
              {"calibration_samples", calib ? json(calib->size()) : json(nullptr)},
              {"opset_before", opset_in},
              {"opset_after", q.model.opset("")},
              {"nodes_before", nodes_in},
              {"nodes_optimized", m.graph.nodes.size()},
              {"nodes_after", q.model.graph.nodes.size()},
              {"quantized", count_json(counts.compute)},
              {"shared_scale", count_json(counts.shared)},
              {"removed_activations", removed},
              {"left_float", left},
              {"pairs", q.pairs},
              {"weights", q.quantized_weights},
              {"biases", q.quantized_biases},
              {"bias_corrected", q.bias_corrected},
              {"bias_tuned", tuned ? json(tuned->layers) : json(nullptr)},
              {"weight_clip", o.weight_clip},
              {"warnings", q.warnings},
              {"size_before", sizes.before},
              {"size_after", sizes.after},
              {"seconds", total_s}};
    if (fid) {
      json layers = json::array(), outputs = json::array();
      for (const auto& f : fid->layers) layers.push_back(fidelity_json(f));
      for (const auto& f : fid->outputs) outputs.push_back(fidelity_json(f));
      j["layers"] = layers;
      j["outputs"] = outputs;
      j["output_sqnr_db"] = number_or_null(fid->overall.sqnr_db);
    }
    if (search) {
      json sens = json::array(), steps = json::array(), tried = json::array(), trimmed = json::array();
      for (const auto& s : search->sensitivity)
        sens.push_back({{"node", s.node}, {"op", s.op}, {"metric", number_or_null(s.metric)},
                        {"gain", number_or_null(s.gain)}, {"flops_share", s.cost_share}});
      for (const auto& s : search->steps) {
        json step = {{"node", s.node}, {"op", s.op}, {"before", number_or_null(s.before)},
                     {"after", number_or_null(s.after)}};
        if (!s.how.empty()) step["how"] = s.how;
        (s.kept ? steps : s.trimmed ? trimmed : tried).push_back(step);
      }
      j["accuracy_target"] = {{"metric", search->metric},
                              {"target", number_or_null(search->target)},
                              {"fp32", number_or_null(search->fp32)},
                              {"quantized", number_or_null(search->quantized)},
                              {"final", number_or_null(search->final_metric)},
                              {"kept_float", steps},
                              {"tried_not_kept", tried},
                              {"lowered_again", trimmed},
                              {"sensitivity", sens},
                              {"evaluations", search->evaluations}};
    }
    fmt::print("{}\n", j.dump(2));
    return 0;
  }

  fmt::print("quantized ({} mode{}, {} int8 weights):\n", o.mode,
             is_static ? ", " + act + " activations" : "", weights);
  fmt::print("  int8 layers: {}\n", count_text(counts.compute));
  if (is_static) {
    fmt::print("  removed activations (the quantization's clamp does them exactly): {}\n", count_text(counts.removed));
    fmt::print("  on the input's scale (run on int8 values): {}\n", count_text(counts.shared));
    fmt::print("  {} QuantizeLinear/DequantizeLinear pairs; {} int8 weights, {} int32 biases\n", q.pairs,
               q.quantized_weights, q.quantized_biases);
  } else {
    fmt::print("  {} int8 weights\n", q.quantized_weights);
  }
  if (!plan.skipped.empty()) {
    fmt::print("left float ({}):\n", plan.skipped.size());
    for (const auto& s : plan.skipped) fmt::print("  {} ({}): {}\n", s.node, s.op, s.reason);
  }
  if (correct_bias)
    fmt::print("  bias correction: {} layers' biases absorb the mean their weights' rounding adds (E[x] from the "
               "calibration data)\n",
               q.bias_corrected);
  if (tuned) {
    std::string shifts;
    for (double d : tuned->mean_shift) shifts += fmt::format("{}{:.3g}", shifts.empty() ? "" : ", ", d);
    fmt::print("  empirical bias correction: {} layers' biases moved by E[y_fp32 - y_int8] over the calibration data "
               "({} passes; mean |shift| per pass before it: {})\n",
               tuned->layers, tuned->mean_shift.size(), shifts);
  }
  if (o.weight_clip == "mse")
    fmt::print("  weight scales: MSE-optimal clip ratio per {}\n", config.per_channel ? "channel" : "tensor");
  for (const std::string& w : q.warnings) fmt::print("warning: {}\n", w);
  if (search) {
    fmt::print("accuracy target: {} >= {}{}\n", search->metric == "top1" ? "top-1" : "output SQNR",
               search->metric == "top1" ? fmt::format("{:.2f}%", search->target * 100) : db(search->target) + " dB",
               search->metric == "top1" ? fmt::format(" (fp32 {:.2f}% minus {:g} points, on {})", search->fp32 * 100,
                                                      o.max_accuracy_drop, eval->describe())
                                        : !o.eval_data.empty()
                                            ? fmt::format(" (final outputs vs fp32 on {}, data calibration did not see)",
                                                          eval->describe())
                                        : eval ? fmt::format(" (final outputs vs fp32 on the first {} calibration "
                                                             "samples, --sqnr-limit)", eval->size())
                                               : std::string(" (final outputs vs fp32 on the calibration data)"));
    fmt::print("  fully quantized: {}\n", metric_text(*search, search->quantized));
    if (search->steps.empty()) {
      fmt::print("  met with every layer quantized\n");
    } else {
      fmt::print("  sensitivity, all layers quantized but one (the top {} of {}):\n",
                 std::min<size_t>(search->sensitivity.size(), 10), search->sensitivity.size());
      for (size_t i = 0; i < search->sensitivity.size() && i < 10; ++i) {
        const auto& s = search->sensitivity[i];
        fmt::print("    {} ({}) float: {} ({:+.3g}){}\n", s.node, s.op, metric_text(*search, s.metric),
                   search->metric == "top1" ? s.gain * 100 : s.gain, work_share(s.cost_share));
      }
      const bool costed = std::any_of(search->sensitivity.begin(), search->sensitivity.end(),
                                      [](const auto& s) { return s.cost_share > 0; });
      fmt::print("  kept float, {}:\n",
                 search->by_efficiency ? "the most gained per FLOP first"
                 : costed ? "most sensitive first (by gain per FLOP the target was out of reach)"
                          : "most sensitive first");
      auto share_of = [&](const std::string& node) {
        for (const auto& l : search->sensitivity)
          if (l.node == node) return l.cost_share;
        return 0.0;
      };
      double kept_share = 0;
      for (const std::string& node : search->keep_float) kept_share += share_of(node);
      bool trimming = false;
      for (const auto& s : search->steps) {
        if (s.trimmed && !trimming) {
          fmt::print("  lowered again, the costliest first, where the target holds without it:\n");
          trimming = true;
        }
        fmt::print("    {} ({}): {} -> {}{}{}\n", s.node, s.op, metric_text(*search, s.before),
                   metric_text(*search, s.after), work_share(share_of(s.node)),
                   !s.how.empty()           ? " (" + s.how + ")"
                   : s.kept || s.trimmed ? ""
                                         : ": worse, left int8");
      }
      fmt::print("  met with {} layer{} float{}: {} ({} models evaluated)\n", search->keep_float.size(),
                 search->keep_float.size() == 1 ? "" : "s",
                 costed ? fmt::format(" ({:.1f}% of the quantizable layers' FLOPs)", kept_share * 100) : "",
                 metric_text(*search, search->final_metric), search->evaluations);
    }
  }
  if (fid) {
    fmt::print("report: quantized vs fp32 on the calibration data ({} samples); layers with their results exposed "
               "(every rounding of the QDQ graph), outputs from the file as written\n",
               fid->samples);
    size_t w = 4;
    for (const auto& f : fid->layers) w = std::max(w, f.name.size());
    fmt::print("  {:<{}}  {:<10}  {:>9}  {:>9}  {:>12}\n", "layer", w, "op", "SQNR dB", "cosine", "max abs err");
    for (const auto& f : fid->layers)
      fmt::print("  {:<{}}  {:<10}  {:>9}  {:>9.6f}  {:>12.4g}\n", f.name, w, f.op, db(f.sqnr_db), f.cosine,
                 f.max_abs_error);
    for (const auto& f : fid->outputs)
      fmt::print("  output '{}': SQNR {} dB, cosine {:.6f}, max abs error {:.4g}, top-1 agreement {:.2f}%\n", f.name,
                 db(f.sqnr_db), f.cosine, f.max_abs_error, f.top1_agreement * 100);
  }
  fmt::print("{}\n", size_line(o, sizes));
  return 0;
}

int quantize(const QuantizeCliOptions& o) {
  if (o.list_nodes) return list_nodes(o);
  check_output_path(o);
  if (o.dtype == "fp16" || o.dtype == "bf16") return convert_float(o);
  return quantize_int8(o);
}

}  // namespace

Command add_quantize_command(CLI::App& root) {
  auto o = std::make_shared<QuantizeCliOptions>();
  CLI::App* app = root.add_subcommand(
      "quantize", "Quantize a model: int8 (static, dynamic, weights-only) as QDQ ONNX, or fp16 / bf16");
  app->add_option("MODEL", o->model, "ONNX model file (never overwritten)");
  app->add_option("-o,--output", o->out, "Where to write the quantized model")->type_name("OUT");
  app->add_option("--mode", o->mode, "int8: static (calibrated activations; default), dynamic (MatMul/Gemm, "
                                     "activations quantized at run time) or weights-only")
      ->check(CLI::IsMember({"static", "dynamic", "weights-only"}))
      ->type_name("MODE");
  app->add_option("--dtype", o->dtype, "int8 (symmetric int8 activations), uint8 (asymmetric; the default), "
                                       "fp16 or bf16 (float conversion)")
      ->check(CLI::IsMember({"int8", "uint8", "fp16", "bf16"}))
      ->type_name("TYPE");
  app->add_option("--calibration", o->calibration, "Calibration data: .npy, .npz[:NAME], IDX or an image folder")
      ->type_name("DATA");
  app->add_option("--method", o->method, "Calibration method: minmax (default), percentile, entropy, mse")
      ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse"}))
      ->type_name("METHOD");
  app->add_option("--percentile", o->percentile, "Percentile kept by --method percentile (default 99.99)")
      ->check(CLI::Range(1e-9, 100.0))
      ->type_name("P");
  app->add_flag("--per-channel", o->per_channel, "One weight scale per output channel (needs opset 13; raised when "
                                                  "the model's is lower and it can be)");
  auto* sym = app->add_flag("--symmetric", o->symmetric, "Symmetric int8 activations (zero point 0)");
  auto* asym = app->add_flag("--asymmetric", o->asymmetric, "Asymmetric uint8 activations (the default)");
  sym->excludes(asym);
  app->add_option("--exclude", o->exclude, "Nodes (names, see --list-nodes) or op types to leave float")
      ->type_name("NODE,...")
      ->delimiter(',');
  auto* drop = app->add_option("--max-accuracy-drop", o->max_accuracy_drop,
                               "Keep layers float until top-1 on --eval-data is at most PCT points below fp32")
                   ->check(CLI::NonNegativeNumber)
                   ->type_name("PCT");
  auto* sqnr = app->add_option("--min-sqnr", o->min_sqnr,
                               "Keep layers float until the outputs' SQNR vs fp32 on the calibration data (or on "
                               "--eval-data: data calibration did not see, so the number predicts unseen data) is >= DB")
                   ->type_name("DB");
  drop->excludes(sqnr);
  app->add_option("--sqnr-limit", o->sqnr_limit,
                  "--min-sqnr: measure each candidate on the first N calibration samples only (calibration itself "
                  "uses them all; for large models, where the search runs the model over the data ~100 times)")
      ->check(CLI::PositiveNumber)
      ->needs(sqnr)
      ->type_name("N");
  app->add_option("--max-output-error", o->max_output_error,
                  "fp16 / bf16 with --calibration: the largest |output - fp32 output| over the data, relative to the "
                  "largest |fp32 output|, allowed (default 0.01); when the conversion misses it, the most sensitive "
                  "nodes stay float32 until it holds. 0: not checked")
      ->check(CLI::NonNegativeNumber)
      ->type_name("R");
  app->add_option("--eval-data", o->eval_data,
                  "Labelled evaluation data for --max-accuracy-drop; with --min-sqnr, the data the SQNR is measured on "
                  "(default: the calibration data)")
      ->type_name("DATA");
  app->add_option("--labels", o->labels, "Labels of --eval-data (.npy or IDX)")->type_name("LABELS");
  app->add_option("--eval-limit", o->eval_limit, "Use only the first N samples of --eval-data (--limit applies to "
                                                 "the calibration data)")
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  app->add_flag("--equalize", o->equalize,
                "Static, per-channel: equalize the input channels of depthwise convolutions (a per-channel Mul before "
                "the quantized input, absorbed by the weights; one more pass over the calibration data); with --min-sqnr or "
                "--max-accuracy-drop, a convolution the search kept float that cannot be lowered as it is, is tried int8 with "
                "its input smoothed (SmoothQuant's per-channel split between activation and weights), if need be with "
                "a few cheaper layers kept float instead");
  app->add_flag("--no-bias-correction", o->no_bias_correction,
                "Keep the biases as they are (by default, with calibration data, Conv/Gemm biases absorb the mean "
                "shift their weights' rounding causes)");
  app->add_option("--bias-passes", o->bias_passes,
                  "Empirical bias correction: after quantizing, move each Conv/Gemm output channel's mean over the "
                  "calibration data onto fp32's by its bias; the layers in N groups in graph order, a run of the "
                  "quantized model per group (N >= the number of layers: exactly sequential; default 0: off)")
      ->type_name("N")
      ->check(CLI::Range(0, 10000));
  app->add_option("--weight-clip", o->weight_clip,
                  "Weight scales: max (max|w|; default) or mse (the clip ratio minimizing each channel's squared "
                  "rounding and clipping error)")
      ->type_name("max|mse")
      ->check(CLI::IsMember({"max", "mse"}));
  app->add_flag("--report", o->report, "Also the SQNR of every quantized layer and output vs fp32 on the "
                                       "calibration data");
  app->add_flag("--json", o->json, "Print one JSON object (stable keys) instead of text");
  app->add_flag("--force", o->force, "Overwrite OUT if it exists (never MODEL)");
  app->add_option("--threads", o->threads, "Threads for calibration and evaluation runs (default: all cores)")
      ->check(CLI::PositiveNumber);
  app->add_flag("--list-nodes", o->list_nodes, "Print the node names (after hone optimize's passes) and exit");
  add_data_options(*app, o->data);
  app->callback([o] {
    if (o->model.empty()) throw CLI::RequiredError("MODEL");
    if (o->list_nodes) return;
    if (o->out.empty()) throw CLI::RequiredError("-o OUT");
    bool float_type = o->dtype == "fp16" || o->dtype == "bf16";
    if (o->dtype == "int8" && o->asymmetric)
      throw CLI::ValidationError("--dtype", "int8 activations are symmetric; --asymmetric asks for uint8");
    if (o->dtype == "uint8" && o->symmetric)
      throw CLI::ValidationError("--dtype", "uint8 activations are asymmetric; --symmetric asks for int8");
    if (float_type && (o->per_channel || o->symmetric || o->asymmetric || o->mode != "static" ||
                       o->max_accuracy_drop >= 0 || !std::isnan(o->min_sqnr) || o->report))
      throw CLI::ValidationError("--dtype", fmt::format("--dtype {} converts floats; --mode, --per-channel, "
                                                        "--symmetric/--asymmetric, --report and the accuracy "
                                                        "targets apply to int8",
                                                        o->dtype));
    if (o->max_accuracy_drop >= 0 && o->eval_data.empty())
      throw CLI::ValidationError("--max-accuracy-drop", "needs --eval-data DATA (and --labels LABELS)");
    if (o->max_accuracy_drop < 0 && std::isnan(o->min_sqnr) && !o->eval_data.empty())
      throw CLI::ValidationError("--eval-data", "--eval-data is for --max-accuracy-drop or --min-sqnr");
    if (o->max_accuracy_drop < 0 && !o->labels.empty())
      throw CLI::ValidationError("--labels", "--labels is for --max-accuracy-drop");
    if (!o->eval_data.empty() && o->sqnr_limit > 0)
      throw CLI::ValidationError("--sqnr-limit", "--sqnr-limit cuts the calibration data; with --eval-data use "
                                                 "--eval-limit");
    if (o->mode != "static" && (o->method != "minmax" || o->symmetric || o->asymmetric))
      throw CLI::ValidationError("--mode", fmt::format("--method and --symmetric/--asymmetric choose static "
                                                       "activation ranges; --mode {} has none",
                                                       o->mode));
  });
  app->footer(
      "int8 files are QDQ ONNX (QuantizeLinear/DequantizeLinear around the quantized ops) that ONNX Runtime also "
      "runs; hone runs them on int8 kernels. Static mode quantizes Conv, MatMul and Gemm with constant weights and "
      "Adds of two activations, removes a Relu (or Clip at 0) after them when activations are uint8, and runs "
      "MaxPool, Reshape, Transpose, Flatten, Squeeze, Unsqueeze, nearest Resize and Concat on their input's scale. "
      "Weights are symmetric int8 and biases int32. The model first goes through hone optimize's passes, so node "
      "names are those --list-nodes prints. --max-accuracy-drop / --min-sqnr measure each layer's sensitivity "
      "(every layer quantized but that one) and keep layers float, the most gained per FLOP first, until the target "
      "holds.");
  return {app, [o] { return quantize(*o); }};
}

}  // namespace hone::cli
