// `hone bench --server`: see bench_server.h. Closed loop: each client thread waits for its answer before it sends the
// next request, so the offered load is exactly `concurrency` requests in flight; nothing is counted that was not
// answered, and every request sent in the timed window is waited for (a request that never came back would hang the
// run rather than vanish from the counts).
#include "tools/hone/bench_server.h"

#include <httplib.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/latency_stats.h"
#include "bench/progress.h"
#include "bench/prometheus_histogram.h"
#include "serve/infer_client.h"
#include "tools/hone/commands.h"

namespace hone::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using serve::InferClient;
using serve::InferRequest;
using serve::InferResponse;
using serve::ServeError;

constexpr const char* kBatchHistogram = "hone_batch_size";

// What one client thread saw.
struct Tally {
  std::vector<double> latencies_ms;  // successful requests only
  std::map<std::string, int64_t> failures;
  std::map<std::string, std::string> first_message;  // per failure kind, the first error's text
  int64_t sent = 0;
  Clock::time_point last_done{};
};

// What a response must look like to count as a success: the request's id echoed, every output of the model, each
// with the request's rows when its leading dim varies.
struct Expectation {
  size_t outputs = 0;
  std::vector<bool> batched_output;  // per output: declared leading dim is -1
  int64_t rows = 1;
};

std::string check_response(const InferResponse& r, const std::string& id, const Expectation& e) {
  if (r.id != id) return fmt::format("response id '{}' answers request '{}'", r.id, id);
  if (r.outputs.size() != e.outputs)
    return fmt::format("{} output{} returned, the model has {}", r.outputs.size(), r.outputs.size() == 1 ? "" : "s",
                       e.outputs);
  for (size_t k = 0; k < r.outputs.size(); ++k) {
    const Tensor& t = r.outputs[k].tensor;
    if (e.batched_output[k] && (t.rank() == 0 || t.shape()[0] != e.rows))
      return fmt::format("output '{}' has shape [{}] for a request of {} row{}", r.outputs[k].name,
                         shape_str(t.shape()), e.rows, e.rows == 1 ? "" : "s");
  }
  return "";
}

std::unique_ptr<InferClient> connect(const ServerBenchOptions& o) {
  return o.protocol == "grpc" ? serve::make_grpc_client(o.url) : serve::make_http_client(o.url);
}

// Runs every client until `stop_at`, one thread each; the calling thread draws the progress bar (when `bar`).
std::vector<Tally> run_load(std::vector<std::unique_ptr<InferClient>>& clients, const InferRequest& base,
                            const Expectation& expect, bool binary, Clock::time_point start, Clock::time_point stop_at,
                            ProgressBar* bar) {
  std::vector<Tally> tallies(clients.size());
  std::atomic<int64_t> answered{0}, failed{0};
  std::atomic<size_t> running{clients.size()};
  auto work = [&](size_t i) {
    Tally& t = tallies[i];
    InferRequest request = base;  // shares the input buffers, which nobody writes
    InferClient& client = *clients[i];
    while (Clock::now() < stop_at) {
      request.id = fmt::format("{}-{}", i, t.sent++);
      std::string kind, message;
      auto t0 = Clock::now();
      try {
        InferResponse r = client.infer(request, binary);
        message = check_response(r, request.id, expect);
        if (!message.empty()) kind = "bad_response";
      } catch (const ServeError& e) {
        kind = serve::error_kind_name(e.kind());
        message = e.what();
      } catch (const Error& e) {
        kind = "transport";
        message = e.what();
      } catch (const std::exception& e) {
        kind = "other";
        message = e.what();
      }
      t.last_done = Clock::now();
      if (kind.empty()) {
        t.latencies_ms.push_back(std::chrono::duration<double, std::milli>(t.last_done - t0).count());
      } else {
        if (t.failures[kind]++ == 0) t.first_message[kind] = message;
        failed.fetch_add(1, std::memory_order_relaxed);
      }
      answered.fetch_add(1, std::memory_order_relaxed);
    }
    running.fetch_sub(1);
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < clients.size(); ++i) threads.emplace_back(work, i);
  const double span_s = std::chrono::duration<double>(stop_at - start).count();
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!bar) continue;
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    bar->update(span_s > 0 ? elapsed / span_s : 1,
                fmt::format("{} requests, {} failed", answered.load(std::memory_order_relaxed),
                            failed.load(std::memory_order_relaxed)));
  }
  for (std::thread& th : threads) th.join();
  if (bar) bar->finish();
  return tallies;
}

std::string base_url(const std::string& url) {
  return url.find("://") == std::string::npos ? "http://" + url : url;
}

// The server's batch-size histogram for the model, or why there is none.
struct Scrape {
  PrometheusHistogram histogram;
  std::string problem;  // "" when scraped
};

Scrape scrape_batch_sizes(const ServerBenchOptions& o) {
  Scrape s;
  try {
    httplib::Client http(base_url(o.url));
    http.set_connection_timeout(5);
    http.set_read_timeout(10);
    httplib::Result res = http.Get("/metrics");
    if (!res) return {{}, "GET /metrics failed: " + httplib::to_string(res.error())};
    if (res->status != 200) return {{}, fmt::format("GET /metrics answered HTTP {}", res->status)};
    LabelMatch match = {{"model", o.model}};
    if (!o.version.empty()) match.emplace_back("version", o.version);
    s.histogram = read_prometheus_histogram(res->body, kBatchHistogram, match);
    if (!s.histogram.found) s.problem = fmt::format("/metrics has no {} series for model '{}'", kBatchHistogram, o.model);
  } catch (const std::exception& e) {
    s.problem = e.what();
  }
  return s;
}

// The model's metadata as the declarations make_feeds() fills inputs from (-1 dims are symbolic).
std::vector<ValueInfo> declared_inputs(const serve::ModelMetadata& m) {
  std::vector<ValueInfo> decl;
  for (const serve::TensorMetadata& t : m.inputs) {
    SymShape shape;
    for (int64_t d : t.shape) shape.push_back(d < 0 ? Dim() : Dim(d));
    decl.push_back({t.name, TypeInfo::tensor(serve::dtype_from_kserve(t.datatype), shape), ""});
  }
  return decl;
}

json latency_json(const LatencyStats& s) {
  return {{"min", s.min}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99},
          {"mean", s.mean}, {"max", s.max}, {"std", s.std}};
}

}  // namespace

CLI::Option* add_server_bench_options(CLI::App& app, ServerBenchOptions& o) {
  CLI::Option* server =
      app.add_option("--server", o.url, "Load a KServe v2 server instead of running MODEL here")->type_name("URL");
  app.add_option("--model", o.model, "With --server: the model to load")->type_name("NAME")->needs(server);
  app.add_option("--version", o.version, "With --server: the model version (default: the newest)")
      ->type_name("V")
      ->needs(server);
  app.add_option("--concurrency", o.concurrency, "With --server: client threads, one request in flight each (default 1)")
      ->type_name("C")
      ->check(CLI::Range(1, 4096))
      ->needs(server);
  app.add_option("--protocol", o.protocol, "With --server: http (default) or grpc")
      ->type_name("P")
      ->check(CLI::IsMember({"http", "grpc"}))
      ->needs(server);
  app.add_flag("--binary", o.binary_tensors, "With --server: tensors in the binary-tensor extension (the default over HTTP)")
      ->needs(server);
  app.add_flag("--json-out", o.json_out, "With --server: print one JSON object instead of the table")->needs(server);
  return server;
}

int bench_server(const ServerBenchOptions& o) {
  if (o.model.empty()) fail("--server needs --model NAME (the model to send requests to)");
  if (o.json_tensors && o.binary_tensors) fail("--binary and --json exclude each other (tensor encoding on the wire)");
  if (o.json_tensors && o.protocol == "grpc") fail("--json chooses JSON tensors over HTTP; gRPC has only one encoding");
  const bool binary = !o.json_tensors;

  std::vector<std::unique_ptr<InferClient>> clients;
  clients.push_back(connect(o));
  serve::ModelMetadata meta = clients[0]->model_metadata(o.model, o.version);
  std::vector<ValueInfo> decl = declared_inputs(meta);
  FeedRequest feed{.inputs = o.inputs, .shapes = o.shapes, .seed = o.seed, .batch = std::nullopt};
  if (o.batch > 0) feed.batch = o.batch;
  Feeds feeds = make_feeds(decl, feed);

  InferRequest base;
  base.model = o.model;
  base.version = o.version;
  Expectation expect;
  expect.outputs = meta.outputs.size();
  for (const serve::TensorMetadata& t : meta.outputs) expect.batched_output.push_back(!t.shape.empty() && t.shape[0] < 0);
  for (size_t k = 0; k < decl.size(); ++k) base.inputs.push_back({decl[k].name, feeds.values[k].tensor});
  if (!base.inputs.empty() && base.inputs[0].tensor.rank() > 0) expect.rows = base.inputs[0].tensor.shape()[0];
  for (int i = 1; i < o.concurrency; ++i) clients.push_back(connect(o));

  int64_t warmup_requests = 0, warmup_failed = 0;
  if (o.warmup_s > 0) {
    auto now = Clock::now();
    auto stop = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup_s));
    ProgressBar bar("warm-up", true);
    for (const Tally& t : run_load(clients, base, expect, binary, now, stop, &bar)) {
      warmup_requests += t.sent;
      for (const auto& [kind, n] : t.failures) warmup_failed += n;
    }
  }
  Scrape before, after;
  if (o.protocol == "http") before = scrape_batch_sizes(o);
  auto start = Clock::now();
  auto stop = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  ProgressBar bar("hone bench --server", true);
  std::vector<Tally> tallies = run_load(clients, base, expect, binary, start, stop, &bar);
  if (o.protocol == "http") after = scrape_batch_sizes(o);

  std::vector<double> latencies;
  std::map<std::string, int64_t> failures;
  std::map<std::string, std::string> first_message;
  int64_t sent = 0, failed = 0;
  Clock::time_point last = start;
  for (const Tally& t : tallies) {
    sent += t.sent;
    latencies.insert(latencies.end(), t.latencies_ms.begin(), t.latencies_ms.end());
    for (const auto& [kind, n] : t.failures) {
      failures[kind] += n;
      failed += n;
      first_message.emplace(kind, t.first_message.at(kind));
    }
    last = std::max(last, t.last_done);
  }
  const auto succeeded = static_cast<int64_t>(latencies.size());
  const double measured_s = std::chrono::duration<double>(last - start).count();
  const double requests_per_s = measured_s > 0 ? static_cast<double>(succeeded) / measured_s : 0;
  const double rows_per_s = requests_per_s * static_cast<double>(expect.rows);
  std::optional<LatencyStats> stats;
  if (!latencies.empty()) stats = summarize_latencies(latencies);
  std::string batches_problem = o.protocol != "http" ? "only read over HTTP (GET /metrics)"
                                : !before.problem.empty() ? before.problem
                                                          : after.problem;
  PrometheusHistogram batches;
  if (batches_problem.empty()) batches = histogram_delta(after.histogram, before.histogram);

  if (o.json_out) {
    json j;
    j["server"] = o.url;
    j["protocol"] = o.protocol;
    j["encoding"] = o.protocol == "grpc" ? "protobuf" : binary ? "binary" : "json";
    j["model"] = o.model;
    j["version"] = o.version;
    json ins = json::array();
    for (const serve::NamedTensor& in : base.inputs)
      ins.push_back({{"name", in.name}, {"dtype", dtype_label(in.tensor.dtype())}, {"shape", in.tensor.shape()}});
    j["inputs"] = ins;
    j["concurrency"] = o.concurrency;
    j["rows_per_request"] = expect.rows;
    j["warmup_s"] = o.warmup_s;
    j["warmup_requests"] = warmup_requests;
    j["warmup_failed"] = warmup_failed;
    j["duration_s"] = o.duration_s;
    j["measured_s"] = measured_s;
    j["requests"] = sent;
    j["succeeded"] = succeeded;
    j["failed"] = failed;
    json f = json::object();
    for (const auto& [kind, n] : failures) f[kind] = {{"count", n}, {"first_error", first_message[kind]}};
    j["failures"] = f;
    j["requests_per_s"] = requests_per_s;
    j["rows_per_s"] = rows_per_s;
    j["latency_ms"] = stats ? latency_json(*stats) : json(nullptr);
    j["percentile_method"] = "nearest-rank";
    if (batches_problem.empty()) {
      json b = json::array();
      for (const HistogramBucket& h : per_bucket_counts(batches)) b.push_back({{"le", h.le}, {"batches", h.count}});
      j["server_batches"] = {{"batches", batches.count}, {"rows", batches.sum},
                             {"mean_rows", batches.count > 0 ? batches.sum / batches.count : 0.0}, {"histogram", b}};
    } else {
      j["server_batches"] = nullptr;
      j["server_batches_problem"] = batches_problem;
    }
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("server {} ({}, {}), model '{}' version {}\n", o.url, o.protocol,
               o.protocol == "grpc" ? "protobuf tensors" : binary ? "binary tensors" : "JSON tensors", o.model,
               o.version.empty() ? "newest (" + (meta.versions.empty() ? std::string("?") : meta.versions.back()) + ")"
                                 : o.version);
    for (const std::string& l : feeds.file_lines) fmt::print("{}\n", l);
    if (!feeds.random_lines.empty()) {
      fmt::print("random input{} (seed {}):\n", feeds.random_lines.size() == 1 ? "" : "s", o.seed);
      for (const std::string& l : feeds.random_lines) fmt::print("{}\n", l);
    }
    for (const std::string& n : feeds.notes) fmt::print("note: {}\n", n);
    fmt::print("concurrency {}, {} row{} per request, warm-up {:.1f} s ({} requests, {} failed), timed {:.2f} s\n",
               o.concurrency, expect.rows, expect.rows == 1 ? "" : "s", o.warmup_s, warmup_requests, warmup_failed,
               measured_s);
    fmt::print("  requests        {} ({} succeeded, {} failed)\n", sent, succeeded, failed);
    for (const auto& [kind, n] : failures)
      fmt::print("    {:<14}{} (first: {})\n", kind, n, first_message[kind]);
    fmt::print("  throughput      {:.1f} requests/s, {:.1f} rows/s (succeeded / timed seconds)\n", requests_per_s,
               rows_per_s);
    if (stats) {
      fmt::print("  latency (ms)    min {:.3f}  p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  max {:.3f}\n", stats->min,
                 stats->p50, stats->p90, stats->p99, stats->max);
      fmt::print("                  mean {:.3f}  std {:.3f}  (succeeded requests; percentiles: nearest rank)\n",
                 stats->mean, stats->std);
    }
    if (batches_problem.empty()) {
      fmt::print("  server batches  {:.0f} batches, {:.0f} rows, mean {:.2f} rows per batch ({})\n", batches.count,
                 batches.sum, batches.count > 0 ? batches.sum / batches.count : 0.0, kBatchHistogram);
      std::string hist;
      for (const HistogramBucket& h : per_bucket_counts(batches))
        hist += fmt::format("{}<={}: {:.0f}", hist.empty() ? "" : ", ", h.le, h.count);
      if (!hist.empty()) fmt::print("                  {}\n", hist);
    } else {
      fmt::print("  server batches  not reported: {}\n", batches_problem);
    }
  }
  if (failed > 0) {
    fmt::print(stderr, "hone: error: {} of {} requests failed\n", failed, sent);
    return 1;
  }
  return 0;
}

}  // namespace hone::cli
