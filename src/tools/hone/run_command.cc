// `hone run MODEL`: load a model, feed it (.npy files or seeded random data), run it once, summarize and optionally
// save every output.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "data/npy.h"
#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "runtime/plan.h"
#include "tools/hone/commands.h"

namespace hone::cli {
namespace {

namespace fs = std::filesystem;

struct RunOptions {
  std::string model;
  std::vector<std::string> inputs;
  std::vector<std::string> shapes;
  std::string output_dir;
  int threads = 0;
  uint64_t seed = 0;
  bool force = false;
};

std::string summarize(const Tensor& t) {
  if (t.dtype() == DType::String) return fmt::format("{} strings", t.numel());
  if (t.numel() == 0) return "empty";
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  int64_t nan = 0, finite = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = t.get_double(i);
    if (std::isnan(v)) {
      ++nan;
      continue;
    }
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
    ++finite;
  }
  std::string s = finite ? fmt::format("min {:<11.6g} max {:<11.6g} mean {:.6g}", lo, hi, sum / finite)
                         : std::string("all NaN");
  if (nan && finite) s += fmt::format("  ({} NaN)", nan);
  return s;
}

// Output name -> a file name inside the output folder: [A-Za-z0-9._-] kept, anything else '_'; names of dots only
// ("." and "..") have their dots replaced too, so nothing can point outside the folder.
std::string safe_file_stem(const std::string& name) {
  std::string out;
  for (char c : name) {
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-';
    out += keep ? c : '_';
  }
  if (out.empty()) out = "output";
  if (out.find_first_not_of('.') == std::string::npos) std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

int run_model(const RunOptions& o) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  Session session = Session::load(o.model, {.threads = o.threads});
  double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const std::vector<ValueInfo>& decl = session.inputs();
  fmt::print("{}\n", describe_model_header(session.model(), o.model));
  fmt::print("loaded in {:.1f} ms, {} thread{}\n", load_ms, session.threads(), session.threads() == 1 ? "" : "s");

  Feeds f = make_feeds(decl, {.inputs = o.inputs, .shapes = o.shapes, .seed = o.seed, .batch = std::nullopt});
  std::vector<Value>& feeds = f.values;
  for (const std::string& l : f.file_lines) fmt::print("{}\n", l);
  if (!f.random_lines.empty()) {
    fmt::print("filled {} input{} with random data (seed {}; change it with --seed):\n", f.random_lines.size(),
               f.random_lines.size() == 1 ? "" : "s", o.seed);
    for (const std::string& l : f.random_lines) fmt::print("{}\n", l);
  }
  for (const std::string& n : f.notes) fmt::print("note: {}\n", n);

  auto t1 = Clock::now();
  session.plan_for(feeds);
  auto t2 = Clock::now();
  std::vector<Value> outs = session.run_values(feeds);
  auto t3 = Clock::now();
  fmt::print("planned in {:.2f} ms, ran once in {:.2f} ms ({} thread{}; a first run, not a benchmark)\n",
             std::chrono::duration<double, std::milli>(t2 - t1).count(),
             std::chrono::duration<double, std::milli>(t3 - t2).count(), session.threads(),
             session.threads() == 1 ? "" : "s");

  const std::vector<ValueInfo>& out_decl = session.outputs();
  size_t name_w = 6, shape_w = 5;
  for (size_t i = 0; i < outs.size(); ++i) {
    name_w = std::max(name_w, out_decl[i].name.size());
    if (outs[i].is_tensor()) shape_w = std::max(shape_w, shape_str(outs[i].tensor.shape()).size());
  }
  fmt::print("{} output{}:\n", outs.size(), outs.size() == 1 ? "" : "s");
  fmt::print("  {:<{}}  {:<{}}  {:<8}  {}\n", "output", name_w, "shape", shape_w, "dtype", "values");
  for (size_t i = 0; i < outs.size(); ++i) {
    const Value& v = outs[i];
    if (v.is_tensor())
      fmt::print("  {:<{}}  {:<{}}  {:<8}  {}\n", out_decl[i].name, name_w, shape_str(v.tensor.shape()), shape_w,
                 dtype_label(v.tensor.dtype()), summarize(v.tensor));
    else if (v.is_sequence())
      fmt::print("  {:<{}}  {:<{}}  {:<8}  sequence of {} tensors\n", out_decl[i].name, name_w, "-", shape_w,
                 dtype_label(v.sequence_elem), v.sequence.size());
    else
      fmt::print("  {:<{}}  {:<{}}  {:<8}  none\n", out_decl[i].name, name_w, "-", shape_w, "-");
  }

  if (o.output_dir.empty()) return 0;
  // Check everything before writing anything, so a refused run leaves the folder as it was.
  std::vector<std::pair<fs::path, const Tensor*>> files;
  std::set<std::string> used;
  for (size_t i = 0; i < outs.size(); ++i) {
    const std::string& name = out_decl[i].name;
    if (!outs[i].is_tensor()) fail("output '{}' is not a tensor; .npy holds one tensor", name);
    if (!npy_supports(outs[i].tensor.dtype()))
      fail("output '{}' has element type {}, which .npy cannot hold", name, dtype_label(outs[i].tensor.dtype()));
    std::string stem = safe_file_stem(name), file = stem + ".npy";
    for (int n = 2; used.count(file); ++n) file = fmt::format("{}_{}.npy", stem, n);
    used.insert(file);
    files.emplace_back(fs::path(o.output_dir) / file, &outs[i].tensor);
  }
  std::error_code ec;
  fs::create_directories(o.output_dir, ec);
  if (!fs::is_directory(o.output_dir))
    fail("cannot create output folder '{}': {}", o.output_dir, ec ? ec.message() : "a file of that name exists");
  for (const auto& [path, t] : files) {
    auto st = fs::symlink_status(path, ec);
    if (fs::exists(st)) {
      if (fs::is_directory(st)) fail("'{}' is a folder; cannot write an output there", path.string());
      if (!o.force) fail("'{}' already exists; refusing to overwrite it (use --force)", path.string());
    }
  }
  for (const auto& [path, t] : files) {
    write_npy_file(*t, path.string(), o.force);
    fmt::print("wrote {}\n", path.string());
  }
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& root) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* app = root.add_subcommand("run", "Run a model once on given or random inputs and summarize its outputs");
  app->add_option("MODEL", o->model, "ONNX model file")->required();
  app->add_option("--input", o->inputs, "Feed an input from a .npy file (repeatable)")->type_name("NAME=FILE.npy");
  app->add_option("--shape", o->shapes, "Shape of a randomly filled input with symbolic dims (repeatable)")
      ->type_name("NAME=D0xD1x...");
  app->add_option("--output-dir", o->output_dir, "Write each output to DIR/<output name>.npy")->type_name("DIR");
  app->add_flag("--force", o->force, "Overwrite existing files in the output folder");
  app->add_option("--threads", o->threads, "Intra-op threads (default: all cores)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--seed", o->seed, "Seed for inputs filled with random data (default 0)")->type_name("N");
  app->footer(
      "Inputs not given with --input are filled with seeded random data of their declared shape and type; symbolic "
      "dimensions are set to 1 unless --shape gives them.");
  return {app, [o] { return run_model(*o); }};
}

}  // namespace hone::cli
