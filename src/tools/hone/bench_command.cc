// `hone bench MODEL`: load, plan and run a model repeatedly on fixed inputs, and report how long each phase took:
// load, plan, first run, then the latency distribution of the timed runs, throughput, peak memory and the arena.
// With --profile, where the time went per node, read against the cost model (GFLOP/s, GB/s).
#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "bench/cost_model.h"
#include "bench/latency_stats.h"
#include "bench/progress.h"
#include "bench/rss.h"
#include "hone/hone.h"
#include "runtime/plan.h"
#include "tools/hone/bench_server.h"
#include "tools/hone/commands.h"

namespace hone::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string model;
  std::vector<std::string> inputs;
  std::vector<std::string> shapes;
  int threads = 0;
  int64_t batch = 0;  // 0: not given
  int warmup = 10;
  double warmup_arg = 10;  // --warmup as given: runs here, seconds with --server
  int64_t iterations = 0;  // 0: run for `duration`
  double duration_s = 3.0;
  uint64_t seed = 0;
  bool json = false;
  bool profile = false;
};

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

struct ProfileRow {
  size_t step = 0;
  std::string node, op, kernel;
  int64_t calls = 0;
  int reorders = 0;  // layout reorders: a hone.LayoutTransform step, or reorders inside the kernel
  double ms_per_call = 0, share = 0, gflops = 0, gbs = 0;
  NodeCost cost;
};

std::vector<ProfileRow> profile_rows(const Plan& plan) {
  TypeLookup type_of = [&](const std::string& name) -> const TypeInfo* {
    auto it = plan.types.types.find(name);
    return it != plan.types.types.end() && it->second.kind != TypeInfo::Kind::Unknown ? &it->second : nullptr;
  };
  int64_t total_ns = 0;
  for (const PlanStep& st : plan.steps) total_ns += st.profile_ns;
  std::vector<ProfileRow> rows;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const PlanStep& st = plan.steps[i];
    ProfileRow r;
    r.step = i;
    r.node = st.node->name;
    r.op = st.node->domain.empty() || st.node->domain == "ai.onnx" ? st.node->op_type
                                                                    : st.node->domain + "." + st.node->op_type;
    r.kernel = st.kernel ? st.kernel->name() : "?";
    r.calls = st.profile_calls;
    r.reorders = st.node->domain == "hone" && st.node->op_type == "LayoutTransform" ? 1
                 : st.kernel                                                      ? st.kernel->reorders()
                                                                                  : 0;
    r.cost = node_cost(*st.node, type_of);
    double ns = r.calls ? static_cast<double>(st.profile_ns) / static_cast<double>(r.calls) : 0;
    r.ms_per_call = ns / 1e6;
    r.share = total_ns ? static_cast<double>(st.profile_ns) / static_cast<double>(total_ns) : 0;
    if (ns > 0 && r.cost.known) {
      r.gflops = static_cast<double>(r.cost.flops) / ns;  // FLOP per ns = GFLOP/s
      r.gbs = static_cast<double>(r.cost.bytes_read + r.cost.bytes_written) / ns;
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

int bench_model(const BenchOptions& o) {
  auto t_load = Clock::now();
  Session session = Session::load(o.model, {.threads = o.threads});
  double load_ms = ms_since(t_load);
  const std::vector<ValueInfo>& decl = session.inputs();

  FeedRequest request{.inputs = o.inputs, .shapes = o.shapes, .seed = o.seed, .batch = std::nullopt};
  if (o.batch > 0) request.batch = o.batch;
  Feeds feeds = make_feeds(decl, request);
  int64_t batch = o.batch;
  if (batch == 0) {  // the leading dim of the first tensor input, as given or defaulted
    batch = 1;
    for (const Value& v : feeds.values)
      if (v.is_tensor() && v.tensor.rank() > 0) {
        batch = v.tensor.shape()[0];
        break;
      }
  }

  auto t_plan = Clock::now();
  const Plan& plan = session.plan_for(feeds.values);
  double plan_ms = ms_since(t_plan);
  auto t_first = Clock::now();
  std::vector<Value> outputs;  // reused: later runs write into the first run's outputs
  session.run_into(feeds.values, outputs);
  double first_run_ms = ms_since(t_first);

  LatencyRun timed = measure_latency(session, feeds.values, outputs,
                                     {.warmup = o.warmup,
                                      .iterations = o.iterations,
                                      .duration_s = o.duration_s,
                                      .label = "hone bench",
                                      .before_timed = [&] {
                                        if (!o.profile) return;
                                        session.set_profiling(true);
                                        session.reset_profile();
                                      }});
  session.set_profiling(false);
  double timed_s = timed.timed_s;
  LatencyStats st = summarize_latencies(timed.samples_ms);
  double throughput = st.mean > 0 ? static_cast<double>(batch) * 1000.0 / st.mean : 0;
  double rss_mb = static_cast<double>(peak_rss_bytes()) / (1024.0 * 1024.0);
  std::vector<ProfileRow> rows;
  if (o.profile) rows = profile_rows(plan);

  if (o.json) {
    json j;
    j["model"] = o.model;
    json ins = json::array();
    for (size_t k = 0; k < decl.size(); ++k) {
      const Value& v = feeds.values[k];
      ins.push_back({{"name", decl[k].name},
                     {"dtype", v.is_tensor() ? dtype_label(v.tensor.dtype()) : "?"},
                     {"shape", v.is_tensor() ? json(v.tensor.shape()) : json(nullptr)}});
    }
    j["inputs"] = ins;
    j["threads"] = session.threads();
    j["batch"] = batch;
    j["warmup"] = o.warmup;
    j["iterations"] = st.count;
    j["timed_s"] = timed_s;
    j["load_ms"] = load_ms;
    j["plan_ms"] = plan_ms;
    j["first_run_ms"] = first_run_ms;
    j["latency_ms"] = {{"min", st.min}, {"p50", st.p50}, {"p90", st.p90}, {"p99", st.p99},
                       {"mean", st.mean}, {"max", st.max}, {"std", st.std}};
    j["percentile_method"] = "nearest-rank";
    j["throughput_per_s"] = throughput;
    j["peak_rss_mb"] = rss_mb;
    j["arena_bytes"] = plan.arena_bytes;
    if (o.profile) {
      json p = json::array();
      for (const ProfileRow& r : rows)
        p.push_back({{"step", r.step}, {"node", r.node}, {"op", r.op}, {"kernel", r.kernel}, {"calls", r.calls},
                     {"ms_per_call", r.ms_per_call}, {"share", r.share}, {"flops", r.cost.known ? json(r.cost.flops) : json(nullptr)},
                     {"bytes", r.cost.known ? json(r.cost.bytes_read + r.cost.bytes_written) : json(nullptr)},
                     {"gflops_per_s", r.gflops}, {"gb_per_s", r.gbs}, {"reorders", r.reorders}});
      j["profile"] = p;
    }
    fmt::print("{}\n", j.dump(2));
    return 0;
  }

  fmt::print("{}\n", describe_model_header(session.model(), o.model));
  for (const std::string& l : feeds.file_lines) fmt::print("{}\n", l);
  if (!feeds.random_lines.empty()) {
    fmt::print("random input{} (seed {}):\n", feeds.random_lines.size() == 1 ? "" : "s", o.seed);
    for (const std::string& l : feeds.random_lines) fmt::print("{}\n", l);
  }
  for (const std::string& n : feeds.notes) fmt::print("note: {}\n", n);
  fmt::print("threads {}, batch {}, {} warm-up run{}, {} timed run{} in {:.2f} s\n", session.threads(), batch,
             o.warmup, o.warmup == 1 ? "" : "s", st.count, st.count == 1 ? "" : "s", timed_s);
  fmt::print("  load            {:10.2f} ms\n", load_ms);
  fmt::print("  plan            {:10.2f} ms\n", plan_ms);
  fmt::print("  first run       {:10.2f} ms\n", first_run_ms);
  fmt::print("  latency (ms)    min {:.3f}  p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  max {:.3f}\n", st.min, st.p50, st.p90,
             st.p99, st.max);
  fmt::print("                  mean {:.3f}  std {:.3f}  (percentiles: nearest rank)\n", st.mean, st.std);
  fmt::print("  throughput      {:10.1f} samples/s (batch {} / mean latency)\n", throughput, batch);
  fmt::print("  peak RSS        {:10.1f} MiB\n", rss_mb);
  fmt::print("  arena           {:>10}\n", human_bytes(static_cast<double>(plan.arena_bytes)));
  if (!o.profile) return 0;

  std::vector<const ProfileRow*> order;
  for (const ProfileRow& r : rows) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(),
                   [](const ProfileRow* a, const ProfileRow* b) { return a->ms_per_call * static_cast<double>(a->calls) >
                                                                         b->ms_per_call * static_cast<double>(b->calls); });
  size_t shown = std::min<size_t>(order.size(), 30);
  size_t name_w = 4, op_w = 2, kernel_w = 6;
  for (size_t i = 0; i < shown; ++i) {
    name_w = std::min<size_t>(std::max(name_w, order[i]->node.size()), 32);
    op_w = std::max(op_w, order[i]->op.size());
    kernel_w = std::max(kernel_w, order[i]->kernel.size());
  }
  fmt::print("\nper node, {} of {} steps by time (time per call over {} profiled runs):\n", shown, rows.size(),
             st.count);
  fmt::print("  {:>4}  {:<{}}  {:<{}}  {:<{}}  {:>10}  {:>6}  {:>8}  {:>7}  {:>8}\n", "step", "node", name_w, "op",
             op_w, "kernel", kernel_w, "ms/call", "share", "GFLOP/s", "GB/s", "reorders");
  for (size_t i = 0; i < shown; ++i) {
    const ProfileRow& r = *order[i];
    std::string name = r.node.empty() ? "(unnamed)" : r.node;
    if (name.size() > name_w) name = name.substr(0, name_w - 1) + "~";
    fmt::print("  {:>4}  {:<{}}  {:<{}}  {:<{}}  {:>10.4f}  {:>5.1f}%  {:>8.2f}  {:>7.2f}  {:>8}\n", r.step, name,
               name_w, r.op, op_w, r.kernel, kernel_w, r.ms_per_call, r.share * 100, r.gflops, r.gbs,
               r.reorders ? std::to_string(r.reorders) : "");
  }
  int steps_reordering = 0, kernel_reorders = 0, transforms = 0;
  double reorder_ms = 0;
  for (const ProfileRow& r : rows) {
    if (r.op == "hone.LayoutTransform") {
      ++transforms;
      reorder_ms += r.ms_per_call;
    } else if (r.reorders) {
      ++steps_reordering;
      kernel_reorders += r.reorders;
    }
  }
  fmt::print("layout reorders per run: {} planned layout transform{} ({:.3f} ms), {} inside {} kernel{}\n", transforms,
             transforms == 1 ? "" : "s", reorder_ms, kernel_reorders, steps_reordering, steps_reordering == 1 ? "" : "s");
  return 0;
}

}  // namespace

LatencyRun measure_latency(Session& session, const std::vector<Value>& inputs, std::vector<Value>& outputs,
                           const LatencyRequest& r) {
  LatencyRun out;
  ProgressBar bar(r.label, true);
  for (int i = 0; i < r.warmup; ++i) {
    session.run_into(inputs, outputs);
    bar.update(0, fmt::format("warm-up {}/{}", i + 1, r.warmup));
  }
  if (r.before_timed) r.before_timed();
  out.samples_ms.reserve(r.iterations > 0 ? static_cast<size_t>(r.iterations) : 1024);
  auto t_timed = Clock::now();
  for (;;) {
    auto t = Clock::now();
    session.run_into(inputs, outputs);
    out.samples_ms.push_back(ms_since(t));
    double elapsed = std::chrono::duration<double>(Clock::now() - t_timed).count();
    auto n = static_cast<int64_t>(out.samples_ms.size());
    double done = r.iterations > 0 ? static_cast<double>(n) / static_cast<double>(r.iterations) : elapsed / r.duration_s;
    bar.update(done, fmt::format("{} runs", n));
    if (done >= 1) {
      out.timed_s = elapsed;
      return out;
    }
  }
}

Command add_bench_command(CLI::App& root) {
  auto o = std::make_shared<BenchOptions>();
  auto server = std::make_shared<ServerBenchOptions>();
  CLI::App* app = root.add_subcommand(
      "bench", "Measure a model's load, plan and run times, latency and memory, or load a server (--server)");
  CLI::Option* server_opt = add_server_bench_options(*app, *server);
  app->add_option("MODEL", o->model, "ONNX model file")->excludes(server_opt);
  app->add_option("--threads", o->threads, "Intra-op threads (default: all cores)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber)
      ->excludes(server_opt);
  app->add_option("--batch", o->batch, "Leading dimension of the inputs (sets symbolic batch dims)")
      ->type_name("B")
      ->check(CLI::PositiveNumber);
  app->add_option("--shape", o->shapes, "Shape of a randomly filled input with symbolic dims (repeatable)")
      ->type_name("NAME=D0xD1x...");
  app->add_option("--input", o->inputs, "Feed an input from a .npy file (repeatable)")->type_name("NAME=FILE.npy");
  app->add_option("--warmup", o->warmup_arg,
                  "Untimed runs before measuring (default 10); with --server, seconds of untimed load (default 2)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  auto* iters = app->add_option("--iterations", o->iterations, "Timed runs (default: as many as --duration allows)")
                    ->type_name("N")
                    ->check(CLI::PositiveNumber)
                    ->excludes(server_opt);
  auto* dur = app->add_option("--duration", o->duration_s, "Seconds of timed runs (default 3; with --server 10)")
                  ->type_name("S")
                  ->check(CLI::PositiveNumber);
  iters->excludes(dur);
  app->add_option("--seed", o->seed, "Seed for inputs filled with random data (default 0)")->type_name("N");
  app->add_flag("--json", o->json,
                "Print one JSON object instead of the table; with --server, send JSON tensors (report: --json-out)");
  app->add_flag("--profile", o->profile, "Time every node: per-call time, share, GFLOP/s, GB/s, kernel")
      ->excludes(server_opt);
  app->footer(
      "Latency percentiles are nearest-rank (always one of the measured runs). Throughput is batch / mean latency. "
      "Inputs not given with --input are seeded random data; symbolic dims are 1 unless --batch or --shape say "
      "otherwise. A progress bar shows on stderr when it is a terminal and the measurement takes over a second.\n"
      "With --server URL --model NAME: a closed-loop load of --concurrency clients on a KServe v2 server; inputs "
      "follow the model's metadata the same way. Exit status 1 when any timed request failed.");
  app->callback([o, server] {
    if (server->url.empty() && o->model.empty())
      throw CLI::RequiredError("MODEL is required (or --server URL --model NAME to load a server)",
                               CLI::ExitCodes::RequiredError);
    if (server->url.empty() && o->warmup_arg != static_cast<double>(static_cast<int>(o->warmup_arg)))
      throw CLI::ValidationError("--warmup", "counts runs (a whole number) unless --server is given");
  });
  return {app, [o, server, app] {
            if (server->url.empty()) {
              o->warmup = static_cast<int>(o->warmup_arg);
              return bench_model(*o);
            }
            server->inputs = o->inputs;
            server->shapes = o->shapes;
            server->seed = o->seed;
            server->batch = o->batch;
            server->json_tensors = o->json;
            if (app->count("--duration")) server->duration_s = o->duration_s;
            if (app->count("--warmup")) server->warmup_s = o->warmup_arg;
            return bench_server(*server);
          }};
}

}  // namespace hone::cli
