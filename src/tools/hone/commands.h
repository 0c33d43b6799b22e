// The `hone` program: one file per subcommand, each registering itself on the root CLI11 app and returning the action
// main() runs when it is chosen. Helpers shared by more than one subcommand live in cli_common.cc.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "ops/value.h"

namespace hone {
class Session;
}

namespace hone::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the exit status
};

Command add_run_command(CLI::App& root);
Command add_inspect_command(CLI::App& root);
Command add_bench_command(CLI::App& root);
Command add_optimize_command(CLI::App& root);
Command add_eval_command(CLI::App& root);
Command add_compare_command(CLI::App& root);
Command add_quantize_command(CLI::App& root);
Command add_serve_command(CLI::App& root);

// The timing loop of `hone bench`, for every command that measures latency: `warmup` untimed runs, then timed runs
// until `iterations` runs (when > 0) or `duration_s` seconds have passed, at least one. `label` names the progress bar
// (stderr, terminals only, after a second); `before_timed` runs between the warm-up and the timed runs.
struct LatencyRequest {
  int warmup = 10;
  int64_t iterations = 0;
  double duration_s = 3.0;
  std::string label = "hone bench";
  std::function<void()> before_timed;
};
struct LatencyRun {
  std::vector<double> samples_ms;  // one per timed run, in order
  double timed_s = 0;              // wall time of the timed runs
};
LatencyRun measure_latency(Session& session, const std::vector<Value>& inputs, std::vector<Value>& outputs,
                           const LatencyRequest& request);

// "NAME=VALUE" given for one of `known` names. The longest known name followed by '=' wins (names may hold '='); a
// name not known splits at the first '='. Throws a usage-style hone::Error naming `flag` when there is no '='.
std::pair<std::string, std::string> split_assignment(const std::string& arg, const std::vector<ValueInfo>& known,
                                                     const std::string& flag);
// "1x3x224x224" (',' also separates; "" is a scalar). Throws naming `what` on anything else.
Shape parse_shape(const std::string& text, const std::string& what);
// The input's declared type or a hone::Error listing the model's inputs.
const ValueInfo& find_input(const std::vector<ValueInfo>& inputs, const std::string& name);

// A concrete shape for an input: `given` when present (checked against the declared rank and fixed dims), else the
// declared shape with every symbolic or unknown dim set to 1. `notes` receives a line per dim so defaulted.
Shape concrete_input_shape(const ValueInfo& input, const std::optional<Shape>& given, std::vector<std::string>* notes);

// Feeds for a session's inputs, as `hone run` and `hone bench` build them: `--input NAME=FILE.npy` files, the rest
// filled with seeded random data of the declared shape (symbolic dims set to 1, or as `--shape NAME=DIMS` gives them).
// With `batch`, the leading dim of every input read or filled is the batch: a symbolic one is set to it, a fixed one
// (or a file's) must equal it.
struct FeedRequest {
  std::vector<std::string> inputs;  // "NAME=FILE.npy"
  std::vector<std::string> shapes;  // "NAME=DIMS"
  uint64_t seed = 0;
  std::optional<int64_t> batch;
};
struct Feeds {
  std::vector<Value> values;              // in the order of the declared inputs
  std::vector<std::string> file_lines;    // "input 'x' from f.npy: float32 [1x4]", one per file
  std::vector<std::string> random_lines;  // "  'x': float32 [1x4], uniform in [-1, 1)", one per random input
  std::vector<std::string> notes;         // dims defaulted to 1
};
Feeds make_feeds(const std::vector<ValueInfo>& decl, const FeedRequest& request);
// Fills `t` with values every op accepts (floats uniform in [-1, 1), integers in [0, 10), bools 0/1); says which.
std::string fill_random(Tensor& t, std::mt19937_64& rng);
// A .npy file for input `decl`, checked against its declared element type and shape.
Tensor read_input_file(const ValueInfo& decl, const std::string& path);

// "1.23 M", "456", "7.8 G": counts with SI prefixes; "12.3 KiB": bytes with binary ones.
std::string human_count(double v);
std::string human_bytes(double v);
std::string dtype_label(DType t);  // "float32" rather than ONNX's "float"
std::string describe_model_header(const Model& m, const std::string& path);

}  // namespace hone::cli
