// `hone compare MODEL... --data DATA`: variants of one model (fp32, optimized, int8, bf16, ...) side by side in one
// table: accuracy on the data, fidelity to a reference, p50 latency at a small batch, throughput at a large one, size
// on disk, the ratios to the first variant and which variants are on the Pareto frontier. Accuracy and fidelity are
// bench/evaluate.h's; the timing loop is `hone bench`'s, run round-robin over the variants so that a noisy machine
// slows every variant alike instead of whichever happened to run during a disturbance.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "bench/evaluate.h"
#include "bench/latency_stats.h"
#include "bench/pareto.h"
#include "tools/hone/commands.h"
#include "tools/hone/data_options.h"

namespace hone::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Each variant's timed runs are cut into rounds of about this long, alternating with the other variants'.
constexpr double kRoundSeconds = 0.3;
constexpr int kMinRounds = 3;

struct CompareOptions {
  std::vector<std::string> models;  // "PATH" or "LABEL=PATH"
  std::string data, labels, reference;
  int threads = 0;
  std::string batch_sizes = "1,64";
  double duration_s = 1.5;
  bool json = false, markdown = false;
  data::DataOptions data_options;
};

struct Timing {
  int64_t batch = 0;  // the batch actually run (a fixed batch dimension overrides the one asked for)
  std::vector<double> p50_ms, throughput;  // one per round
  double median_p50_ms = NAN, median_throughput = NAN;
};

struct Variant {
  std::string label, path;
  uintmax_t size_bytes = 0;
  std::unique_ptr<Session> session;
  EvalResult eval;
  Timing latency, throughput;  // at the first and the second of --batch-sizes
  double speedup_p50 = NAN, speedup_throughput = NAN, size_ratio = NAN;
  bool pareto_latency = false, pareto_size = false;
};

// "LABEL=PATH", or a path labelled by its file's stem. An argument naming an existing file is a path even when it
// holds '='.
std::pair<std::string, std::string> parse_variant(const std::string& arg) {
  std::error_code ec;
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || fs::exists(arg, ec)) return {fs::path(arg).stem().string(), arg};
  std::string label = arg.substr(0, eq), path = arg.substr(eq + 1);
  if (label.empty() || path.empty()) fail("'{}': a variant is PATH or LABEL=PATH, with neither part empty", arg);
  return {label, path};
}

std::pair<int64_t, int64_t> parse_batch_sizes(const std::string& text) {
  const size_t comma = text.find(',');
  auto number = [&](const std::string& part) -> int64_t {
    const bool digits = !part.empty() && part.size() <= 6 &&
                        std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    const int64_t v = digits ? std::stoll(part) : 0;
    if (v < 1)
      throw CLI::ValidationError("--batch-sizes",
                                 fmt::format("'{}' is not LATENCY,THROUGHPUT (two positive batch sizes)", text));
    return v;
  };
  if (comma == std::string::npos) number("");
  return {number(text.substr(0, comma)), number(text.substr(comma + 1))};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return nearest_rank_percentile(v, 50);
}

// The first `batch` samples of the data shaped for `input`: the batcher's first batch, its real samples repeated
// when the data set holds fewer (so a padded or short batch is never timed).
Tensor timing_batch(const data::Dataset& data, const ValueInfo& input, int64_t batch, int64_t* batch_run) {
  data::InputBatcher batcher(data, input, batch);
  Tensor first = batcher.batch(0);
  const int64_t want = batcher.batch_size(), have = batcher.count(0);
  *batch_run = want;
  if (have == want && first.shape()[0] == want) return first;
  Shape shape = first.shape();
  const size_t row = first.nbytes() / static_cast<size_t>(shape[0]);
  shape[0] = want;
  Tensor full(first.dtype(), shape);
  for (int64_t r = 0; r < want; ++r)
    std::memcpy(static_cast<char*>(full.raw()) + static_cast<size_t>(r) * row,
                static_cast<const char*>(first.raw()) + static_cast<size_t>(r % have) * row, row);
  return full;
}

// Times every variant at `batch` with `hone bench`'s loop: one plan-and-warm pass each, then `rounds` rounds in which
// every variant runs for `round_s` seconds after one untimed run (which brings its weights back into the caches),
// the starting variant rotating each round.
void time_round_robin(std::vector<Variant>& variants, const data::Dataset& data, int64_t batch, bool latency_row,
                      int rounds, double round_s) {
  struct Feed {
    std::vector<Value> inputs, outputs;
  };
  std::vector<Feed> feeds(variants.size());
  for (size_t i = 0; i < variants.size(); ++i) {
    Variant& v = variants[i];
    Timing& t = latency_row ? v.latency : v.throughput;
    try {
      feeds[i].inputs = {Value::of(timing_batch(data, v.session->inputs()[0], batch, &t.batch))};
      v.session->run_into(feeds[i].inputs, feeds[i].outputs);  // plans this shape and warms the caches
      measure_latency(*v.session, feeds[i].inputs, feeds[i].outputs,
                      {.warmup = 2, .iterations = 1, .duration_s = 1, .label = "hone compare: " + v.label,
                       .before_timed = {}});
    } catch (const Error& e) {
      fail("variant '{}' ({}), batch {}: {}", v.label, v.path, batch, e.what());
    }
  }
  const size_t n = variants.size();
  for (int r = 0; r < rounds; ++r) {
    for (size_t k = 0; k < n; ++k) {
      const size_t i = (static_cast<size_t>(r) + k) % n;
      Variant& v = variants[i];
      Timing& t = latency_row ? v.latency : v.throughput;
      LatencyRun run = measure_latency(*v.session, feeds[i].inputs, feeds[i].outputs,
                                       {.warmup = 1,
                                        .iterations = 0,
                                        .duration_s = round_s,
                                        .label = fmt::format("hone compare: {}, batch {}, round {}/{}", v.label,
                                                             t.batch, r + 1, rounds),
                                        .before_timed = {}});
      LatencyStats st = summarize_latencies(run.samples_ms);
      t.p50_ms.push_back(st.p50);
      t.throughput.push_back(static_cast<double>(t.batch) * 1000.0 / st.mean);
    }
  }
  for (Variant& v : variants) {
    Timing& t = latency_row ? v.latency : v.throughput;
    t.median_p50_ms = median(t.p50_ms);
    t.median_throughput = median(t.throughput);
  }
}

// Ratios to the first variant and the Pareto marks. Quality is top-1 accuracy when labels are known, else the SQNR
// against the reference.
void derive_columns(std::vector<Variant>& variants, bool by_accuracy) {
  const Variant& base = variants.front();
  std::vector<QualityCost> by_latency, by_size;
  for (Variant& v : variants) {
    v.speedup_p50 = base.latency.median_p50_ms / v.latency.median_p50_ms;
    v.speedup_throughput = v.throughput.median_throughput / base.throughput.median_throughput;
    v.size_ratio = static_cast<double>(v.size_bytes) / static_cast<double>(base.size_bytes);
    double quality = NAN;
    if (by_accuracy && v.eval.accuracy) quality = v.eval.accuracy->top1();
    if (!by_accuracy && v.eval.has_reference) quality = v.eval.overall.sqnr_db();
    // A per-sample latency keeps variants that had to run a different batch comparable.
    by_latency.push_back({quality, v.latency.median_p50_ms / static_cast<double>(v.latency.batch)});
    by_size.push_back({quality, static_cast<double>(v.size_bytes)});
  }
  std::vector<bool> lat = pareto_frontier(by_latency), size = pareto_frontier(by_size);
  for (size_t i = 0; i < variants.size(); ++i) {
    variants[i].pareto_latency = lat[i];
    variants[i].pareto_size = size[i];
  }
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.{}f}", v, digits);
}

// Four significant digits or so, without exponents: 0.01803, 0.1803, 1.803, 18.03, 180.3.
std::string milliseconds(double v) {
  const int digits = v >= 100 ? 1 : v >= 10 ? 2 : v >= 1 ? 3 : v >= 0.1 ? 4 : 5;
  return fmt::format("{:.{}f}", v, digits);
}

std::string pareto_mark(const Variant& v) {
  if (v.pareto_latency && v.pareto_size) return "latency+size";
  if (v.pareto_latency) return "latency";
  if (v.pareto_size) return "size";
  return "-";
}

struct Context {
  const data::Dataset* data = nullptr;
  std::string labels_source, reference_label, reference_path;
  int threads = 0, rounds = 0;
  double round_s = 0;
  int64_t latency_batch = 0, throughput_batch = 0;
  bool by_accuracy = false;
};

json to_json(const CompareOptions& o, const Context& c, const std::vector<Variant>& variants) {
  json vs = json::array();
  for (const Variant& v : variants) {
    const bool acc = v.eval.accuracy.has_value();
    vs.push_back({{"label", v.label},
                  {"path", v.path},
                  {"samples", v.eval.samples},
                  {"top1", acc ? number_or_null(v.eval.accuracy->top1()) : json(nullptr)},
                  {"top5", acc && v.eval.accuracy->has_top5() ? number_or_null(v.eval.accuracy->top5()) : json(nullptr)},
                  {"cosine", number_or_null(v.eval.overall.cosine())},
                  {"sqnr_db", number_or_null(v.eval.overall.sqnr_db())},
                  {"top1_agreement", number_or_null(v.eval.overall.top1_agreement())},
                  {"max_abs_error", number_or_null(v.eval.overall.max_abs_error())},
                  {"p50_ms_batch1", v.latency.median_p50_ms},
                  {"throughput_batch64", v.throughput.median_throughput},
                  {"latency_batch", v.latency.batch},
                  {"throughput_batch", v.throughput.batch},
                  {"p50_ms_rounds", v.latency.p50_ms},
                  {"throughput_rounds", v.throughput.throughput},
                  {"size_bytes", v.size_bytes},
                  {"speedup_p50", number_or_null(v.speedup_p50)},
                  {"speedup_throughput", number_or_null(v.speedup_throughput)},
                  {"size_ratio", number_or_null(v.size_ratio)},
                  {"pareto_latency", v.pareto_latency},
                  {"pareto_size", v.pareto_size}});
  }
  return {{"data", o.data},
          {"samples", c.data->size()},
          {"labels", c.labels_source.empty() ? json(nullptr) : json(c.labels_source)},
          {"reference", {{"label", c.reference_label.empty() ? json(nullptr) : json(c.reference_label)},
                         {"path", c.reference_path}}},
          {"threads", c.threads},
          {"latency_batch", c.latency_batch},
          {"throughput_batch", c.throughput_batch},
          {"rounds", c.rounds},
          {"round_s", c.round_s},
          {"timing", "round-robin"},
          {"pareto_quality", c.by_accuracy ? "top1" : "sqnr_db"},
          {"variants", vs}};
}

// The table as rows of cells; text and Markdown print the same cells.
std::vector<std::vector<std::string>> table_cells(const Context& c, const std::vector<Variant>& variants) {
  auto batch_note = [](const Timing& t, int64_t asked) {
    return t.batch == asked ? std::string() : fmt::format(" (b{})", t.batch);
  };
  std::vector<std::vector<std::string>> rows = {
      {"variant", "top-1", "cosine", "SQNR dB", "top-1 agree", fmt::format("p50 ms b{}", c.latency_batch),
       "speed-up", fmt::format("samples/s b{}", c.throughput_batch), "speed-up", "size", "size ratio", "pareto"}};
  for (const Variant& v : variants) {
    rows.push_back({v.label, v.eval.accuracy ? fixed(v.eval.accuracy->top1(), 4) : "n/a",
                    fixed(v.eval.overall.cosine(), 6), fixed(v.eval.overall.sqnr_db(), 2),
                    fixed(v.eval.overall.top1_agreement(), 4),
                    milliseconds(v.latency.median_p50_ms) + batch_note(v.latency, c.latency_batch),
                    fixed(v.speedup_p50, 2) + "x",
                    fmt::format("{:.0f}{}", v.throughput.median_throughput, batch_note(v.throughput, c.throughput_batch)),
                    fixed(v.speedup_throughput, 2) + "x", human_bytes(static_cast<double>(v.size_bytes)),
                    fixed(v.size_ratio, 3), pareto_mark(v)});
  }
  return rows;
}

void print_table(const std::vector<std::vector<std::string>>& rows, bool markdown) {
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t k = 0; k < r.size(); ++k) w[k] = std::max(w[k], r[k].size());
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string line = markdown ? "|" : " ";
    for (size_t k = 0; k < rows[i].size(); ++k) {
      // The label and pareto columns read left-aligned, numbers right-aligned.
      const bool left = k == 0 || k + 1 == rows[i].size();
      std::string cell = left ? fmt::format("{:<{}}", rows[i][k], w[k]) : fmt::format("{:>{}}", rows[i][k], w[k]);
      line += markdown ? " " + cell + " |" : " " + cell + " ";
    }
    while (!markdown && !line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
    if (markdown && i == 0) {
      std::string rule = "|";
      for (size_t k = 0; k < w.size(); ++k) {
        const bool left = k == 0 || k + 1 == w.size();
        rule += left ? " " + std::string(w[k], '-') + " |" : " " + std::string(w[k] - 1, '-') + ": |";
      }
      fmt::print("{}\n", rule);
    }
  }
}

void print_text(const CompareOptions& o, const Context& c, const std::vector<Variant>& variants) {
  const std::string bullet = o.markdown ? "- " : "";
  fmt::print("{}{} variants on {} samples, {} thread{}\n", bullet, variants.size(), c.data->size(), c.threads,
             c.threads == 1 ? "" : "s");
  fmt::print("{}data {}\n", bullet, c.data->describe());
  if (std::string p = describe_data_options(o.data_options); !p.empty()) fmt::print("{}preprocessing: {}\n", bullet, p);
  if (c.by_accuracy)
    fmt::print("{}accuracy: top-1 of each model's first float output against {}\n", bullet, c.labels_source);
  else
    fmt::print("{}accuracy: not measured (no labels: give --labels, or a folder with one subfolder per class)\n", bullet);
  fmt::print("{}fidelity: every float output against {} ({})\n", bullet,
             c.reference_label.empty() ? "the reference" : "'" + c.reference_label + "'", c.reference_path);
  const std::string indent = o.markdown ? "  " : "        ";
  fmt::print("{}timing: p50 latency at batch {} and throughput (batch / mean latency) at batch {}, on the first samples\n"
             "{}of the data with hone bench's loop; the variants alternate round-robin ({} rounds of {:.2f} s each, the\n"
             "{}first variant rotating) and each figure is the median of a variant's per-round values\n",
             bullet, c.latency_batch, c.throughput_batch, indent, c.rounds, c.round_s, indent);
  fmt::print("{}ratios: to '{}'; speed-up > 1 is faster, size ratio < 1 is smaller\n", bullet, variants.front().label);
  for (const Variant& v : variants) {
    if (v.latency.batch != c.latency_batch || v.throughput.batch != c.throughput_batch)
      fmt::print("{}note: '{}' has a fixed batch dimension of {}; its timings are at that batch (bN in the table)\n",
                 bullet, v.label, v.latency.batch);
  }
  fmt::print("\n");
  print_table(table_cells(c, variants), o.markdown);
  fmt::print("\n{}pareto: 'latency' marks the variants that no other one matches or beats on both {} and p50\n"
             "{}latency per sample while beating it on one of them; 'size' the same with size on disk\n",
             bullet, c.by_accuracy ? "top-1 accuracy" : "SQNR", o.markdown ? "  " : "        ");
}

int compare_models(const CompareOptions& o) {
  // Variants, their labels and files first: a missing file stops the command before any work.
  std::vector<Variant> variants;
  for (const std::string& arg : o.models) {
    auto [label, path] = parse_variant(arg);
    for (const Variant& v : variants)
      if (v.label == label)
        fail("two variants are labelled '{}' ({} and {}); name them with LABEL=PATH", label, v.path, path);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) fail("variant '{}': {}: no such file", label, path);
    Variant v;
    v.label = label;
    v.path = path;
    v.size_bytes = fs::file_size(path, ec);
    if (ec) fail("variant '{}': {}: {}", label, path, ec.message());
    variants.push_back(std::move(v));
  }
  const auto [latency_batch, throughput_batch] = parse_batch_sizes(o.batch_sizes);

  Context c;
  c.latency_batch = latency_batch;
  c.throughput_batch = throughput_batch;
  c.reference_path = variants.front().path;
  c.reference_label = variants.front().label;
  if (!o.reference.empty()) {
    auto named = std::find_if(variants.begin(), variants.end(), [&](const Variant& v) { return v.label == o.reference; });
    c.reference_path = named != variants.end() ? named->path : o.reference;
    c.reference_label = named != variants.end() ? named->label : "";
    std::error_code ec;
    if (named == variants.end() && !fs::is_regular_file(o.reference, ec))
      fail("--reference {}: no such file (nor the label of a variant)", o.reference);
  }

  std::unique_ptr<data::Dataset> dataset = data::open_dataset(o.data, o.data_options);
  c.data = dataset.get();
  std::vector<int64_t> labels;
  const std::vector<int64_t>* use_labels = nullptr;
  if (!o.labels.empty()) {
    labels = data::read_labels(o.labels);
    const auto n = static_cast<int64_t>(labels.size());
    if (n != dataset->size() && !(n == dataset->full_size() && n > dataset->size()))
      fail("{} holds {} labels but the data has {} samples{} ({}); there must be one label per sample", o.labels, n,
           dataset->full_size(), dataset->full_size() == dataset->size() ? "" : " before --limit",
           dataset->describe());
    labels.resize(static_cast<size_t>(dataset->size()));
    use_labels = &labels;
    c.labels_source = o.labels;
  } else if (dataset->labels()) {
    use_labels = dataset->labels();
    c.labels_source = "the class subfolders";
  }
  c.by_accuracy = use_labels != nullptr;

  // A session of its own for the reference, so that its outputs never share a session with the variant compared.
  Session reference = [&] {
    try {
      return Session::load(c.reference_path, {.threads = o.threads});
    } catch (const Error& e) {
      fail("reference model {}: {}", c.reference_path, e.what());
    }
  }();
  c.threads = reference.threads();

  for (size_t i = 0; i < variants.size(); ++i) {
    Variant& v = variants[i];
    fmt::print(stderr, "hone compare: [{}/{}] {}: loading {} and evaluating {} samples\n", i + 1, variants.size(),
               v.label, v.path, dataset->size());
    try {
      v.session = std::make_unique<Session>(Session::load(v.path, {.threads = o.threads}));
      v.eval = evaluate(*v.session, *dataset, use_labels, &reference,
                        {.batch = o.data_options.batch, .progress = true, .progress_label = "hone compare: " + v.label});
    } catch (const Error& e) {
      fail("variant '{}' ({}): {}", v.label, v.path, e.what());
    }
  }

  c.rounds = std::max(kMinRounds, static_cast<int>(std::lround(o.duration_s / kRoundSeconds)));
  c.round_s = o.duration_s / c.rounds;
  for (const bool latency_row : {true, false}) {
    const int64_t batch = latency_row ? latency_batch : throughput_batch;
    fmt::print(stderr, "hone compare: timing batch {}: {} variants alternating, {} rounds of {:.2f} s (about {:.0f} s)\n",
               batch, variants.size(), c.rounds, c.round_s,
               std::ceil(static_cast<double>(variants.size()) * o.duration_s));
    time_round_robin(variants, *dataset, batch, latency_row, c.rounds, c.round_s);
  }
  derive_columns(variants, c.by_accuracy);

  if (o.json) {
    fmt::print("{}\n", to_json(o, c, variants).dump(2));
    return 0;
  }
  print_text(o, c, variants);
  return 0;
}

}  // namespace

Command add_compare_command(CLI::App& root) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* app = root.add_subcommand(
      "compare", "Variants of a model side by side: accuracy, fidelity, latency, throughput, size and their ratios");
  app->add_option("MODEL", o->models, "ONNX model files, as PATH or LABEL=PATH; the first is the baseline")
      ->type_name("[LABEL=]MODEL")
      ->required();
  app->add_option("--data", o->data,
                  "Samples: .npy, .npz (FILE.npz:NAME picks an array), IDX (plain or .gz), or a folder of PNG/JPEG "
                  "images (one subfolder per class gives labels)")
      ->type_name("DATA")
      ->required();
  app->add_option("--labels", o->labels, "Class labels, one per sample: .npy / .npz:NAME integers or IDX uint8")
      ->type_name("FILE");
  app->add_option("--reference", o->reference,
                  "Fidelity reference: a variant's label or a model file (default: the first variant)")
      ->type_name("LABEL|MODEL");
  app->add_option("--threads", o->threads, "Intra-op threads (default: all cores)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  app->add_option_function<std::string>(
         "--batch-sizes",
         [o](const std::string& s) {
           parse_batch_sizes(s);  // a usage error now rather than after the evaluation
           o->batch_sizes = s;
         },
         "Batch of the latency column and of the throughput column (default 1,64)")
      ->type_name("L,T");
  app->add_option("--duration", o->duration_s,
                  "Seconds of timed runs per variant and batch size, cut into rounds of about 0.3 s (default 1.5)")
      ->type_name("S")
      ->check(CLI::PositiveNumber);
  auto* json_flag = app->add_flag("--json", o->json, "Print one JSON object instead of the table");
  auto* md_flag = app->add_flag("--markdown", o->markdown, "Print the table in Markdown");
  json_flag->excludes(md_flag);
  add_data_options(*app, o->data_options);
  app->footer(
      "Each variant runs over the data (hone eval's evaluation: --batch samples per run when its batch dimension is "
      "symbolic) for top-1 accuracy and for fidelity to the reference (cosine, SQNR, top-1 agreement), then is timed "
      "on the first samples of the data at both --batch-sizes, alternating with the other variants round by round "
      "(the median of its per-round p50 and throughput is kept), so that a noisy machine slows every variant alike. "
      "Size is the model file's size on disk (external data files not counted). Ratios are to the first variant. "
      "pareto marks the variants no other one matches or beats on both accuracy (SQNR without labels) and p50 "
      "latency per sample (latency) or size (size) while beating it on one. --json keys: variants [label, path, top1, "
      "top5, cosine, sqnr_db, top1_agreement, p50_ms_batch1, throughput_batch64 (at --batch-sizes), size_bytes, "
      "speedup_p50, speedup_throughput, size_ratio, pareto_latency, pareto_size]; null where not measured or "
      "infinite.");
  return {app, [o] { return compare_models(*o); }};
}

}  // namespace hone::cli
