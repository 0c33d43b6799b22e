// `hone optimize MODEL -o OUT`: run the graph passes (src/passes/pass_manager.h) over a model and write the result as
// standard ONNX. Prints what each pass changed (rewrites, nodes and parameters before and after, time) and the sizes
// on disk; with --report, the latency of both files measured in this run with bench's timing loop and how far their
// outputs are apart on the same random input.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "bench/latency_stats.h"
#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "passes/pass_manager.h"
#include "passes/upgrade_opset.h"
#include "tools/hone/commands.h"

namespace hone::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The tolerance the issue sets for optimized models; --report says whether the outputs stay within it.
constexpr double kReportRtol = 1e-4, kReportAtol = 1e-5;

struct OptimizeCliOptions {
  std::string model, out;
  std::vector<std::string> passes;
  std::vector<std::string> shapes;
  bool report = false;
  bool force = false;
  bool list_passes = false;
  uint64_t seed = 0;
  double report_duration_s = 1.0;
  int64_t opset = 0;  // 0: keep the model's
};

std::string known_pass_names() {
  std::string names;
  for (const PassInfo& p : PassRegistry::instance().all()) names += (names.empty() ? "" : ", ") + p.name;
  return names;
}

int list_passes() {
  size_t w = 4;
  for (const PassInfo& p : PassRegistry::instance().all()) w = std::max(w, p.name.size());
  fmt::print("passes, in default order:\n");
  for (const PassInfo& p : PassRegistry::instance().all()) fmt::print("  {:<{}}  {}\n", p.name, w, p.summary);
  return 0;
}

// Refuses to write over the input (also through another path: a link, "./", "..") or, without --force, over any
// existing file.
void check_output_path(const OptimizeCliOptions& o) {
  std::error_code ec;
  if (!fs::exists(o.model, ec)) fail("{}: no such file", o.model);
  if (fs::exists(o.out, ec)) {
    if (fs::equivalent(o.model, o.out, ec)) fail("{} is the input model; hone optimize never overwrites it", o.out);
    if (fs::is_directory(o.out, ec)) fail("{} is a directory; -o takes the file to write", o.out);
    if (!o.force) fail("{} exists; pass --force to overwrite it", o.out);
  }
}

std::unordered_map<std::string, Shape> parse_input_shapes(const OptimizeCliOptions& o, const Model& m) {
  std::unordered_map<std::string, Shape> shapes;
  for (const std::string& arg : o.shapes) {
    auto [name, text] = split_assignment(arg, m.graph.inputs, "--shape");
    find_input(m.graph.inputs, name);
    if (shapes.count(name)) fail("input '{}' is given twice with --shape", name);
    shapes[name] = parse_shape(text, fmt::format("--shape for input '{}'", name));
  }
  return shapes;
}

std::string count_text(int64_t v, bool human) {
  return human ? human_count(static_cast<double>(v)) : std::to_string(v);
}

// "1021 -> 709", with " (-312)" for what the pass itself changed when given.
std::string count_arrow(int64_t before, int64_t after, bool human, const int64_t* own_removed = nullptr) {
  std::string s = fmt::format("{} -> {}", count_text(before, human), count_text(after, human));
  if (own_removed) {
    int64_t change = -*own_removed;
    s += fmt::format(" ({}{})", change > 0 ? "+" : "", count_text(change, human));
  }
  return s;
}

void print_pass_table(const OptimizeReport& r, double total_ms) {
  std::string total_label = fmt::format("total, {} round{}", r.rounds, r.rounds == 1 ? "" : "s");
  std::vector<std::array<std::string, 3>> rows;  // name, nodes, parameters
  for (const PassStats& p : r.passes)
    rows.push_back({p.name, count_arrow(p.nodes_before, p.nodes_after, false, &p.nodes_removed),
                    count_arrow(p.params_before, p.params_after, true, &p.params_removed)});
  rows.push_back({total_label, count_arrow(r.nodes_before, r.nodes_after, false),
                  count_arrow(r.params_before, r.params_after, true)});
  size_t w[3] = {4, 5, 10};
  for (const auto& row : rows)
    for (size_t k = 0; k < 3; ++k) w[k] = std::max(w[k], row[k].size());
  fmt::print("  {:<{}}  {:>8}  {:>{}}  {:>{}}  {:>9}\n", "pass", w[0], "rewrites", "nodes", w[1], "parameters", w[2],
             "ms");
  int rewrites = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    bool total = i == r.passes.size();
    int n = total ? rewrites : r.passes[i].rewrites;
    double ms = total ? total_ms : r.passes[i].ms;
    rewrites += n;
    fmt::print("  {:<{}}  {:>8}  {:>{}}  {:>{}}  {:>9.1f}\n", rows[i][0], w[0], n, rows[i][1], w[1], rows[i][2], w[2],
               ms);
  }
  fmt::print("  (per pass: before its first run -> after its last, with other passes' runs between; in parentheses\n"
             "   what its own runs changed; ms summed over its runs, each with the type inference before it)\n");
}

// Largest |a - b| over the elements of two outputs and the largest |a - b| / |a| where a != 0; "" or why they
// cannot be compared.
struct OutputDiff {
  double max_abs = 0, max_rel = 0;
  bool within = true;
  std::string mismatch;
};

OutputDiff diff_outputs(const Value& a, const Value& b) {
  OutputDiff d;
  if (!a.is_tensor() || !b.is_tensor()) {
    if (a.is_tensor() != b.is_tensor()) d.mismatch = "one output is not a tensor";
    return d;  // sequences and optionals: not compared
  }
  const Tensor& x = a.tensor;
  const Tensor& y = b.tensor;
  if (x.dtype() != y.dtype())
    d.mismatch = fmt::format("element type {} became {}", dtype_label(x.dtype()), dtype_label(y.dtype()));
  else if (x.shape() != y.shape())
    d.mismatch = fmt::format("shape [{}] became [{}]", shape_str(x.shape()), shape_str(y.shape()));
  if (!d.mismatch.empty() || x.dtype() == DType::String) {
    d.within = d.mismatch.empty();
    return d;
  }
  for (int64_t i = 0; i < x.numel(); ++i) {
    double u = x.get_double(i), v = y.get_double(i);
    if (std::isnan(u) && std::isnan(v)) continue;
    double e = std::fabs(u - v);
    if (std::isnan(e)) e = INFINITY;
    d.max_abs = std::max(d.max_abs, e);
    if (u != 0) d.max_rel = std::max(d.max_rel, e / std::fabs(u));
    if (!(e <= kReportAtol + kReportRtol * std::fabs(u))) d.within = false;
  }
  return d;
}

struct Timing {
  int threads = 0;
  LatencyStats before, after;
};

LatencyStats time_file(const std::string& path, int threads, const std::vector<Value>& feeds,
                       const std::string& label, double duration_s) {
  Session s = Session::load(path, {.threads = threads});
  std::vector<Value> outputs;
  s.run_into(feeds, outputs);  // plans and warms the caches; the timing loop warms up further
  LatencyRun run = measure_latency(
      s, feeds, outputs, {.warmup = 3, .iterations = 0, .duration_s = duration_s, .label = label, .before_timed = {}});
  return summarize_latencies(run.samples_ms);
}

// Returns false when an output changed its type or shape (the optimized model is wrong).
bool print_report(const OptimizeCliOptions& o, const Feeds& feeds) {
  std::vector<int> thread_counts = {1};
  int all = available_cores();
  if (all > 1) thread_counts.push_back(all);
  fmt::print("\nreport: both files, the same inputs (seed {}), bench's timing loop: 3 warm-up runs, then {:g} s\n",
             o.seed, o.report_duration_s);
  for (const std::string& l : feeds.random_lines) fmt::print("{}\n", l);
  for (const std::string& n : feeds.notes) fmt::print("note: {}\n", n);
  std::vector<Timing> timings;
  for (int t : thread_counts) {
    Timing tm{.threads = t, .before = {}, .after = {}};
    std::string th = fmt::format("{} thread{}", t, t == 1 ? "" : "s");
    tm.before = time_file(o.model, t, feeds.values, "original, " + th, o.report_duration_s);
    tm.after = time_file(o.out, t, feeds.values, "optimized, " + th, o.report_duration_s);
    timings.push_back(tm);
  }
  fmt::print("  {:>7}  {:>26}  {:>26}  {:>10}\n", "threads", "original p50 (min) ms", "optimized p50 (min) ms",
             "p50 change");
  for (const Timing& tm : timings) {
    double change = tm.before.p50 > 0 ? (tm.after.p50 / tm.before.p50 - 1) * 100 : 0;
    fmt::print("  {:>7}  {:>26}  {:>26}  {:>+9.1f}%\n", tm.threads,
               fmt::format("{:.3f} ({:.3f}), {} runs", tm.before.p50, tm.before.min, tm.before.count),
               fmt::format("{:.3f} ({:.3f}), {} runs", tm.after.p50, tm.after.min, tm.after.count), change);
  }

  Session a = Session::load(o.model, {.threads = all});
  Session b = Session::load(o.out, {.threads = all});
  std::vector<Value> ya = a.run_values(feeds.values), yb = b.run_values(feeds.values);
  if (ya.size() != yb.size()) {
    fmt::print("outputs: the original has {} and the optimized model {}\n", ya.size(), yb.size());
    return false;
  }
  fmt::print("outputs, original vs optimized on the same input:\n");
  double worst = 0;
  bool ok = true, within = true;
  for (size_t i = 0; i < ya.size(); ++i) {
    OutputDiff d = diff_outputs(ya[i], yb[i]);
    const std::string& name = a.outputs()[i].name;
    if (!d.mismatch.empty()) {
      fmt::print("  '{}': {}\n", name, d.mismatch);
      ok = false;
      continue;
    }
    worst = std::max(worst, d.max_abs);
    within = within && d.within;
    if (ya[i].is_tensor())
      fmt::print("  '{}' {} [{}]: max abs difference {:.3g}, max relative {:.3g}\n", name,
                 dtype_label(ya[i].tensor.dtype()), shape_str(ya[i].tensor.shape()), d.max_abs, d.max_rel);
  }
  fmt::print("max abs difference of the outputs: {:.3g} ({} rtol {:g} / atol {:g})\n", worst,
             within ? "within" : "NOT within", kReportRtol, kReportAtol);
  return ok;
}

int optimize(const OptimizeCliOptions& o) {
  if (o.list_passes) return list_passes();
  check_output_path(o);
  Model m = load_onnx_file(o.model);
  OptimizeOptions opt;
  opt.passes = o.passes;
  opt.input_shapes = parse_input_shapes(o, m);
  Feeds feeds;
  if (o.report) {  // before the work, so that an input that cannot be filled stops it early
    FeedRequest request{.inputs = {}, .shapes = o.shapes, .seed = o.seed, .batch = std::nullopt};
    feeds = make_feeds(m.graph.inputs, request);
  }
  std::set<std::string> domains_before;
  for (const Node& n : m.graph.nodes) domains_before.insert(n.domain);

  fmt::print("{}\n", describe_model_header(m, o.model));
  for (const ValueInfo& v : m.graph.inputs) {
    auto it = opt.input_shapes.find(v.name);
    if (it != opt.input_shapes.end())
      fmt::print("input '{}': shape fixed to [{}] (was {})\n", v.name, shape_str(it->second), v.type.str());
  }
  if (o.opset > 0) {
    OpsetUpgrade up = upgrade_opset(m, o.opset);
    if (up.from >= o.opset)
      fmt::print("opset: already {} (--opset {} changes nothing)\n", up.from, o.opset);
    else
      fmt::print("opset: {} -> {} ({} node{} rewritten to the new form)\n", up.from, up.to, up.rewritten.size(),
                 up.rewritten.size() == 1 ? "" : "s");
  }
  auto t0 = Clock::now();
  OptimizeReport r = optimize_model(m, opt);
  double total_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  for (const Node& n : m.graph.nodes)
    if (n.domain == "hone" && !domains_before.count("hone"))
      fail("pass output holds the hone-domain node '{}' ({}); it would not load elsewhere, so nothing was written",
           n.name, n.op_type);
  print_pass_table(r, total_ms);

  save_onnx_file(m, o.out, o.force);
  std::error_code ec;
  auto in_size = fs::file_size(o.model, ec);
  auto out_size = fs::file_size(o.out, ec);
  double ratio = in_size ? static_cast<double>(out_size) / static_cast<double>(in_size) : 0;
  fmt::print("wrote {}: {} ({:.1f}% of the input's {})\n", o.out, human_bytes(static_cast<double>(out_size)),
             ratio * 100, human_bytes(static_cast<double>(in_size)));
  if (!o.report) return 0;
  return print_report(o, feeds) ? 0 : 1;
}

}  // namespace

Command add_optimize_command(CLI::App& root) {
  auto o = std::make_shared<OptimizeCliOptions>();
  CLI::App* app =
      root.add_subcommand("optimize", "Rewrite a model into a cheaper equivalent one (standard ONNX) and write it");
  app->add_option("MODEL", o->model, "ONNX model file (never overwritten)");
  app->add_option("-o,--output", o->out, "Where to write the optimized model")->type_name("OUT");
  app->add_option("--passes", o->passes, "Passes to run, in this order (default: all, see --list-passes)")
      ->type_name("A,B,...")
      ->delimiter(',');
  app->add_option("--shape", o->shapes, "Fix an input's shape, so that shape computations fold (repeatable)")
      ->type_name("NAME=D0xD1x...");
  app->add_flag("--report", o->report,
                "Also measure both files' latency (1 thread and all cores) and their outputs' difference");
  app->add_option("--seed", o->seed, "Seed for --report's random inputs (default 0)")->type_name("N");
  app->add_option("--report-duration", o->report_duration_s, "Seconds of timed runs per measurement (default 1)")
      ->type_name("S")
      ->check(CLI::PositiveNumber);
  app->add_option("--opset", o->opset,
                  "Raise the ai.onnx opset to N first (7..17; ops whose form changed are rewritten, e.g. for "
                  "per-channel quantization, which needs 13)")
      ->type_name("N")
      ->check(CLI::Range(1, 1000));
  app->add_flag("--force", o->force, "Overwrite OUT if it exists (never MODEL)");
  app->add_flag("--list-passes", o->list_passes, "Print the passes with a line each, in default order, and exit");
  app->callback([o] {
    if (o->list_passes) return;
    if (o->model.empty()) throw CLI::RequiredError("MODEL");
    if (o->out.empty()) throw CLI::RequiredError("-o OUT");
    for (const std::string& p : o->passes)
      if (!PassRegistry::instance().find(p))
        throw CLI::ValidationError("--passes", fmt::format("unknown pass '{}' (passes: {})", p, known_pass_names()));
  });
  app->footer(
      "The default pipeline runs every pass in order, round after round until a round changes nothing. --shape fixes "
      "an input's symbolic dims in the written model. The written file keeps the model's opset imports, IR version, "
      "producer and metadata and holds only standard ONNX operators. --report loads both files, times them with "
      "bench's loop (3 warm-up runs, then about 1 s each) on the same seeded random inputs, and prints the largest "
      "difference between their outputs.");
  return {app, [o] { return optimize(*o); }};
}

}  // namespace hone::cli
