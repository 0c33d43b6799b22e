// `hone bench --server URL --model NAME`: a closed-loop load generator for a KServe v2 server (`hone serve`, Triton,
// any Open Inference protocol server). `concurrency` client threads, each with its own connection, send one request
// after another for `duration_s` seconds after `warmup_s` seconds of untimed load; the report gives the requests,
// failures by kind, throughput (requests/s and rows/s), latency percentiles and, over HTTP, the batch sizes the
// server ran meanwhile (its /metrics hone_batch_size histogram before and after).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace hone::cli {

struct ServerBenchOptions {
  std::string url;            // "http://HOST:PORT" or "HOST:PORT"
  std::string model;
  std::string version;        // "" = the newest
  std::string protocol = "http";
  int concurrency = 1;
  double duration_s = 10;
  double warmup_s = 2;
  int64_t batch = 0;          // 0: symbolic dims are 1
  std::vector<std::string> inputs;  // "NAME=FILE.npy"
  std::vector<std::string> shapes;  // "NAME=DIMS"
  uint64_t seed = 0;
  bool json_tensors = false;  // JSON tensors on the wire instead of the binary-tensor extension (HTTP)
  bool binary_tensors = false;  // --binary given (the default; an error together with --json)
  bool json_out = false;      // print the report as one JSON object
};

// Registers the options only the server mode has (--server, --model, --version, --concurrency, --protocol, --binary,
// --json-out) on `hone bench`; the shared ones (--batch, --shape, --input, --duration, --warmup, --seed, --json) stay
// with bench_command.cc, which copies them over. Returns the --server option, for the local options to exclude.
CLI::Option* add_server_bench_options(CLI::App& app, ServerBenchOptions& o);

// Runs the load and prints the report. Exit status 0 when every timed request succeeded, 1 otherwise (after the
// report). Throws hone::Error when the server cannot be reached or the model's metadata cannot be read.
int bench_server(const ServerBenchOptions& o);

}  // namespace hone::cli
