// `hone eval MODEL --data DATA`: run a model over a data set and report top-1 / top-5 accuracy against labels and,
// with --reference, how closely every output follows a reference model's (cosine, max abs error, SQNR, top-1
// agreement). The work is bench/evaluate.h's; this file reads the options and prints.
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "bench/evaluate.h"
#include "tools/hone/commands.h"
#include "tools/hone/data_options.h"

namespace hone::cli {
namespace {

using nlohmann::json;

struct EvalCommandOptions {
  std::string model, data, labels, reference;
  int threads = 0;
  bool json = false;
  data::DataOptions data_options;
  bool batch_given = false;
};

// JSON has no NaN or infinity: both print as null.
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json fidelity_json(const FidelityAccumulator& f) {
  return {{"cosine", number_or_null(f.cosine())},
          {"max_abs_error", number_or_null(f.max_abs_error())},
          {"sqnr_db", number_or_null(f.sqnr_db())},
          {"top1_agreement", number_or_null(f.top1_agreement())},
          {"elements", f.elements()}};
}

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{:.{}f}", v, digits);
}

std::string sci(double v) {
  if (std::isnan(v)) return "nan";
  return v == 0 ? "0" : fmt::format("{:.4g}", v);
}

int eval_model(const EvalCommandOptions& o) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  Session model = Session::load(o.model, {.threads = o.threads});
  std::optional<Session> reference;
  if (!o.reference.empty()) reference.emplace(Session::load(o.reference, {.threads = o.threads}));
  std::unique_ptr<data::Dataset> dataset = data::open_dataset(o.data, o.data_options);

  // Labels: --labels, else the folder's own; a labels file for the whole set also serves a --limit'ed part of it.
  std::vector<int64_t> labels;
  const std::vector<int64_t>* use_labels = nullptr;
  std::string labels_source;
  if (!o.labels.empty()) {
    labels = data::read_labels(o.labels);
    const auto n = static_cast<int64_t>(labels.size());
    if (n != dataset->size() && !(n == dataset->full_size() && n > dataset->size()))
      fail("{} holds {} labels but {} ({}); there must be one label per sample", o.labels, n,
           dataset->full_size() == dataset->size() ? fmt::format("the data has {} samples", dataset->size())
                                                   : fmt::format("the data has {} samples before --limit", dataset->full_size()),
           dataset->describe());
    labels.resize(static_cast<size_t>(dataset->size()));
    use_labels = &labels;
    labels_source = o.labels;
  } else if (dataset->labels()) {
    use_labels = dataset->labels();
    labels_source = "the class subfolders";
  }

  EvalResult r = evaluate(model, *dataset, use_labels, reference ? &*reference : nullptr,
                          {.batch = o.data_options.batch, .progress = true, .progress_label = "hone eval"});
  const double total_s = std::chrono::duration<double>(Clock::now() - t0).count();

  if (o.json) {
    json j = {{"model", o.model},
              {"data", o.data},
              {"samples", r.samples},
              {"input", r.input},
              {"batch", r.batch_size},
              {"threads", model.threads()},
              {"seconds", r.model_seconds},
              {"samples_per_s", r.model_seconds > 0 ? json(static_cast<double>(r.samples) / r.model_seconds)
                                                    : json(nullptr)},
              {"labels", use_labels ? json(labels_source) : json(nullptr)},
              {"accuracy_output", r.accuracy ? json(r.accuracy_output) : json(nullptr)},
              {"top1", r.accuracy ? number_or_null(r.accuracy->top1()) : json(nullptr)},
              {"top5", r.accuracy ? number_or_null(r.accuracy->top5()) : json(nullptr)},
              {"reference", reference ? json(o.reference) : json(nullptr)}};
    json overall = r.has_reference ? fidelity_json(r.overall) : json::object();
    for (const char* key : {"cosine", "max_abs_error", "sqnr_db", "top1_agreement"})
      j[key] = r.has_reference ? overall[key] : json(nullptr);
    json per = json::array();
    for (const OutputFidelity& f : r.per_output) {
      json e = fidelity_json(f.fidelity);
      e["name"] = f.name;
      per.push_back(e);
    }
    j["per_output"] = per;
    j["not_compared"] = r.not_compared;
    fmt::print("{}\n", j.dump(2));
    return 0;
  }

  fmt::print("{}\n", describe_model_header(model.model(), o.model));
  fmt::print("data {}\n", dataset->describe());
  if (std::string p = describe_data_options(o.data_options); !p.empty()) fmt::print("preprocessing: {}\n", p);
  fmt::print("input '{}': batches of {} x [{}]{} ({} batch{}), {} thread{}\n", r.input, r.batch_size,
             shape_str(r.input_sample_shape),
             r.fixed_batch ? " (fixed batch dimension; a short last batch is padded)" : "", r.batches,
             r.batches == 1 ? "" : "es", model.threads(), model.threads() == 1 ? "" : "s");
  if (o.batch_given && r.fixed_batch && r.batch_size != o.data_options.batch)
    fmt::print("note: input '{}' has a fixed batch dimension of {}; --batch {} does not apply\n", r.input,
               r.batch_size, o.data_options.batch);
  fmt::print("ran {} samples in {:.2f} s ({:.0f} samples/s; {:.2f} s in all, loading included)\n", r.samples,
             r.model_seconds, r.model_seconds > 0 ? static_cast<double>(r.samples) / r.model_seconds : 0.0, total_s);

  if (r.accuracy) {
    const AccuracyAccumulator& a = *r.accuracy;
    fmt::print("\naccuracy of output '{}' against {} ({} samples, {} classes)\n", r.accuracy_output, labels_source,
               a.count(), a.classes());
    fmt::print("  top-1  {}  ({} correct)\n", fixed(a.top1(), 4), std::llround(a.top1() * static_cast<double>(a.count())));
    if (a.has_top5()) fmt::print("  top-5  {}\n", fixed(a.top5(), 4));
    else fmt::print("  top-5  n/a (fewer than 5 classes)\n");
  } else {
    fmt::print("\nno labels (give --labels FILE, or a folder with one subfolder per class): accuracy not measured\n");
  }

  if (reference) {
    fmt::print("\nfidelity against {} ({:.2f} s of runs)\n", o.reference, r.reference_seconds);
    size_t w = 7;
    for (const OutputFidelity& f : r.per_output) w = std::max(w, f.name.size());
    fmt::print("  {:<{}}  {:>10}  {:>13}  {:>9}  {:>15}  {:>10}\n", "output", w, "cosine", "max abs error", "SQNR dB",
               "top-1 agreement", "values");
    auto row = [&](const std::string& name, const FidelityAccumulator& f) {
      fmt::print("  {:<{}}  {:>10}  {:>13}  {:>9}  {:>15}  {:>10}\n", name, w, fixed(f.cosine(), 6),
                 sci(f.max_abs_error()), fixed(f.sqnr_db(), 2), fixed(f.top1_agreement(), 4), f.elements());
    };
    for (const OutputFidelity& f : r.per_output) row(f.name, f.fidelity);
    if (r.per_output.size() > 1) row("overall", r.overall);
    for (const std::string& n : r.not_compared) fmt::print("  {}: not floating-point, not compared\n", n);
  }
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& root) {
  auto o = std::make_shared<EvalCommandOptions>();
  CLI::App* app = root.add_subcommand(
      "eval", "Accuracy of a model on a data set, and its fidelity to a reference model on the same samples");
  app->add_option("MODEL", o->model, "ONNX model file")->required();
  app->add_option("--data", o->data,
                  "Samples: .npy, .npz (FILE.npz:NAME picks an array), IDX (plain or .gz), or a folder of PNG/JPEG "
                  "images (one subfolder per class gives labels)")
      ->type_name("DATA")
      ->required();
  app->add_option("--labels", o->labels, "Class labels, one per sample: .npy / .npz:NAME integers or IDX uint8")
      ->type_name("FILE");
  app->add_option("--reference", o->reference, "Compare every float output with this model's on the same samples")
      ->type_name("MODEL");
  app->add_flag("--json", o->json, "Print one JSON object instead of the tables");
  app->add_option("--threads", o->threads, "Intra-op threads (default: all cores)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  add_data_options(*app, o->data_options);
  app->footer(
      "The data feeds the model's single input, cut into batches of its fixed batch dimension or of --batch when it "
      "is symbolic; a sample must match the input's other dimensions or hold as many values (28x28 feeds 1x28x28). "
      "Accuracy scores the model's first float output, one row of class scores per sample. --json keys: top1, top5 "
      "(fractions), samples; with --reference cosine, max_abs_error, sqnr_db (null when the outputs are identical), "
      "top1_agreement and per_output.");
  return {app, [o, app] {
            o->batch_given = app->count("--batch") > 0;
            return eval_model(*o);
          }};
}

}  // namespace hone::cli
