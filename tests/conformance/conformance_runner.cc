// Runs the ONNX backend test corpus (../shared/conformance) through Hone and judges each test by the ONNX rule:
// same output count, shapes and element types; strings, integers and bools exactly; floats within
// atol + rtol * |expected| (NaN matches NaN, infinities match same-signed infinities).
//
// Each test runs in a forked child with a time limit, so a crash or hang is reported as an error and never takes
// the runner down. Known failures and tolerance overrides are reviewed data files next to this source.
//
// --optimize runs every model through `hone optimize`'s default pipeline first (optimize_model, with the input
// shapes of the test data fixed as --shape would), writes it to ONNX bytes and loads it back, then runs it: the
// same tests must pass. For a failure not on the known list it names the first pass of the pipeline whose prefix
// fails.
#include <onnx/onnx-data_pb.h>
#include <onnx/onnx_pb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>

#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "passes/pass_manager.h"

namespace fs = std::filesystem;
using namespace hone;

namespace {

struct Options {
  std::string root = "../shared/conformance";
  std::string known_failures;
  std::string tolerances;
  std::string filter;
  int min_node_passes = 0;
  int timeout_s = 120;
  bool verbose = false;
  std::string report;
  bool optimize = false;
};

// How a test's model is prepared: as loaded, or through the first `passes` passes of the default pipeline
// (-1: all of them).
struct Preparation {
  bool optimize = false;
  int passes = -1;
};

std::vector<std::string> pipeline_prefix(int n) {
  std::vector<std::string> names;
  for (const PassInfo& p : PassRegistry::instance().all())
    if (n < 0 || static_cast<int>(names.size()) < n) names.push_back(p.name);
  return names;
}

// Input shapes as `hone optimize --shape` would give them: each tensor input's shape in the test data, where it
// agrees with the declared rank and fixed dims.
std::unordered_map<std::string, Shape> data_shapes(const std::vector<ValueInfo>& inputs,
                                                   const std::vector<Value>& values) {
  std::unordered_map<std::string, Shape> shapes;
  for (size_t i = 0; i < inputs.size() && i < values.size(); ++i) {
    const TypeInfo& t = inputs[i].type;
    if (!t.is_tensor() || !values[i].is_tensor()) continue;
    const Shape& s = values[i].tensor.shape();
    bool agrees = !t.shape || t.shape->size() == s.size();
    for (size_t k = 0; agrees && t.shape && k < s.size(); ++k)
      agrees = !(*t.shape)[k].known() || (*t.shape)[k].value == s[k];
    if (agrees) shapes[inputs[i].name] = s;
  }
  return shapes;
}

// Nodes of the model before and after the pipeline, set in the child that ran it and sent to the parent with the
// verdict (after a '\x1f').
struct NodeCounts {
  int64_t before = -1, after = -1;
};
NodeCounts optimized_nodes;

// Runs the pass pipeline over `model` and returns it as it would be read back from the file `hone optimize` writes.
Model optimized_model(Model model, const std::vector<Value>& in_values, const Preparation& prep,
                      const std::string& base_dir) {
  OptimizeOptions o;
  o.passes = pipeline_prefix(prep.passes);
  o.input_shapes = data_shapes(model.graph.inputs, in_values);
  try {
    OptimizeReport r = optimize_model(model, o);
    optimized_nodes = {r.nodes_before, r.nodes_after};
  } catch (const Error& e) {
    fail("optimize: {}", e.what());
  }
  std::string bytes = save_onnx_bytes(model);
  return load_onnx_bytes(bytes.data(), bytes.size(), base_dir, "optimized model");
}

struct TestCase {
  std::string suite, name, path, target_op;
};

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Value read_value(const std::string& path, const TypeInfo& declared) {
  std::string bytes = read_all(path);
  if (declared.kind == TypeInfo::Kind::Sequence) {
    onnx::SequenceProto sp;
    if (!sp.ParseFromString(bytes)) fail("{}: not a SequenceProto", path);
    std::vector<Tensor> items;
    for (const auto& t : sp.tensor_values()) items.push_back(tensor_from_proto(t, ""));
    DType elem = declared.inner ? declared.inner->elem : DType::Undefined;
    if (elem == DType::Undefined && sp.elem_type() == onnx::SequenceProto::TENSOR && !items.empty()) elem = items[0].dtype();
    return Value::of_sequence(std::move(items), elem);
  }
  if (declared.kind == TypeInfo::Kind::Optional) {
    onnx::OptionalProto op;
    if (!op.ParseFromString(bytes)) fail("{}: not an OptionalProto", path);
    if (op.has_tensor_value()) return Value::of(tensor_from_proto(op.tensor_value(), ""));
    if (op.has_sequence_value()) {
      std::vector<Tensor> items;
      for (const auto& t : op.sequence_value().tensor_values()) items.push_back(tensor_from_proto(t, ""));
      DType elem = declared.inner && declared.inner->inner ? declared.inner->inner->elem : DType::Undefined;
      return Value::of_sequence(std::move(items), elem);
    }
    return Value{};
  }
  onnx::TensorProto tp;
  if (!tp.ParseFromString(bytes)) fail("{}: not a TensorProto", path);
  return Value::of(tensor_from_proto(tp, ""));
}

// Returns "" when equal, else why not.
std::string compare_tensor(const Tensor& got, const Tensor& want, double rtol, double atol) {
  if (got.dtype() != want.dtype())
    return fmt::format("element type {} but expected {}", dtype_name(got.dtype()), dtype_name(want.dtype()));
  if (got.shape() != want.shape())
    return fmt::format("shape {} but expected {}", shape_str(got.shape()), shape_str(want.shape()));
  int64_t n = want.numel();
  if (want.dtype() == DType::String) {
    for (int64_t i = 0; i < n; ++i)
      if (got.data<std::string>()[i] != want.data<std::string>()[i])
        return fmt::format("string {} is '{}' but expected '{}'", i, got.data<std::string>()[i], want.data<std::string>()[i]);
    return "";
  }
  bool exact = !is_float(want.dtype());
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (exact) {
      if (got.get_int(i) != want.get_int(i) || (want.dtype() == DType::UInt64 && got.data<uint64_t>()[i] != want.data<uint64_t>()[i])) {
        if (first < 0) first = i;
        ++bad;
      }
      continue;
    }
    double g = got.get_double(i), w = want.get_double(i);
    bool ok;
    if (std::isnan(w)) ok = std::isnan(g);
    else if (std::isinf(w)) ok = g == w;
    else ok = !std::isnan(g) && std::fabs(g - w) <= atol + rtol * std::fabs(w);
    if (!ok) {
      if (first < 0) first = i;
      ++bad;
      if (std::isfinite(g) && std::isfinite(w)) worst = std::max(worst, std::fabs(g - w));
    }
  }
  if (bad == 0) return "";
  return fmt::format("{} of {} elements differ; first at {}: got {} expected {} (max abs error {:.3g})", bad, n, first,
                     exact ? std::to_string(got.get_int(first)) : fmt::format("{:.7g}", got.get_double(first)),
                     exact ? std::to_string(want.get_int(first)) : fmt::format("{:.7g}", want.get_double(first)), worst);
}

std::string compare_value(const Value& got, const Value& want, double rtol, double atol) {
  if (want.is_none()) return got.is_none() ? "" : "expected an empty optional";
  if (got.is_none()) return "got no value (empty optional)";
  if (want.is_sequence()) {
    if (!got.is_sequence()) return "expected a sequence";
    if (got.sequence.size() != want.sequence.size())
      return fmt::format("sequence of {} but expected {}", got.sequence.size(), want.sequence.size());
    for (size_t i = 0; i < want.sequence.size(); ++i) {
      std::string r = compare_tensor(got.sequence[i], want.sequence[i], rtol, atol);
      if (!r.empty()) return fmt::format("sequence element {}: {}", i, r);
    }
    return "";
  }
  if (!got.is_tensor()) return "expected a tensor";
  return compare_tensor(got.tensor, want.tensor, rtol, atol);
}

// Runs one test in this process; returns "pass", or "fail: ...", "unsupported: ...", "error: ...".
std::string run_one(const TestCase& tc, double rtol, double atol, const Preparation& prep) {
  try {
    std::string model_path = tc.suite == "onnx-light" ? tc.path : tc.path + "/model.onnx";
    Model model = load_onnx_file(model_path);
    std::vector<ValueInfo> inputs = model.graph.inputs;
    std::vector<ValueInfo> outputs = model.graph.outputs;
    std::vector<Value> in_values;
    std::vector<Value> want;
    if (tc.suite == "onnx-light") {
      // The ONNX runner feeds element k = k / N to the single declared input.
      const ValueInfo& vi = inputs.at(0);
      Shape s = *to_concrete(*vi.type.shape);
      Tensor t(DType::Float32, s);
      for (int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = static_cast<float>(static_cast<double>(k) / static_cast<double>(t.numel()));
      in_values.push_back(Value::of(t));
      std::string out_path = tc.path.substr(0, tc.path.size() - 5) + "_output_0.pb";
      want.push_back(Value::of(load_tensor_pb_file(out_path)));
    } else {
      std::string ds = tc.path + "/test_data_set_0";
      for (size_t i = 0; i < inputs.size(); ++i) {
        std::string f = ds + "/input_" + std::to_string(i) + ".pb";
        if (!fs::exists(f)) fail("missing {}", f);
        in_values.push_back(read_value(f, inputs[i].type));
      }
      for (size_t i = 0; i < outputs.size(); ++i) {
        std::string f = ds + "/output_" + std::to_string(i) + ".pb";
        if (!fs::exists(f)) break;
        want.push_back(read_value(f, outputs[i].type));
      }
    }
    if (prep.optimize)
      model = optimized_model(std::move(model), in_values, prep, fs::path(model_path).parent_path().string());
    Session session(std::move(model), SessionOptions{.threads = 1});
    std::vector<Value> got = session.run_values(in_values);
    if (got.size() != want.size()) return fmt::format("fail: {} outputs but expected {}", got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      std::string r = compare_value(got[i], want[i], rtol, atol);
      if (!r.empty()) return fmt::format("fail: output {} ('{}'): {}", i, outputs[i].name, r);
    }
    return "pass";
  } catch (const Error& e) {
    std::string msg = e.what();
    size_t p = msg.find("unsupported operator ");
    if (p != std::string::npos) return "unsupported: " + msg.substr(p);
    return "error: " + msg;
  } catch (const std::exception& e) {
    return std::string("error: ") + e.what();
  }
}

// Forks, runs the test in the child, and reads its verdict from a pipe; crashes and timeouts become errors. `nodes`
// receives the optimized model's node counts, when the child got that far.
std::string run_isolated(const TestCase& tc, double rtol, double atol, int timeout_s, const Preparation& prep,
                         NodeCounts* nodes = nullptr) {
  int fds[2];
  if (pipe(fds) != 0) return "error: pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    alarm(static_cast<unsigned>(timeout_s));
    std::string r = run_one(tc, rtol, atol, prep);
    if (r.size() > 2000) r = r.substr(0, 2000);
    if (optimized_nodes.before >= 0) r += fmt::format("\x1f{} {}", optimized_nodes.before, optimized_nodes.after);
    ssize_t w = write(fds[1], r.data(), r.size());
    (void)w;
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string r;
  char buf[4096];
  ssize_t k;
  while ((k = read(fds[0], buf, sizeof buf)) > 0) r.append(buf, static_cast<size_t>(k));
  close(fds[0]);
  if (size_t sep = r.find('\x1f'); sep != std::string::npos) {
    std::istringstream counts(r.substr(sep + 1));
    NodeCounts c;
    counts >> c.before >> c.after;
    if (nodes) *nodes = c;
    r.resize(sep);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGALRM) return fmt::format("error: timed out after {} s", timeout_s);
    return fmt::format("error: crashed ({})", strsignal(sig));
  }
  if (r.empty()) return "error: no verdict";
  return r;
}

std::map<std::string, std::string> read_tsv_map(const std::string& path, size_t value_col) {
  std::map<std::string, std::string> out;
  if (path.empty()) return out;
  std::ifstream f(path);
  if (!f) fail("cannot open {}", path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    if (cols.size() <= value_col) fail("{}: malformed line '{}' (tab-separated, reason required)", path, line);
    out[cols[0]] = line;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { std::cerr << a << " needs a value\n"; std::exit(2); }
      return argv[++i];
    };
    if (a == "--root") opt.root = next();
    else if (a == "--known-failures") opt.known_failures = next();
    else if (a == "--tolerances") opt.tolerances = next();
    else if (a == "--filter") opt.filter = next();
    else if (a == "--min-node-passes") opt.min_node_passes = std::stoi(next());
    else if (a == "--timeout") opt.timeout_s = std::stoi(next());
    else if (a == "--report") opt.report = next();
    else if (a == "-v" || a == "--verbose") opt.verbose = true;
    else if (a == "--optimize") opt.optimize = true;
    else {
      std::cerr << "usage: hone_conformance [--root DIR] [--known-failures TSV] [--tolerances TSV] [--filter REGEX]\n"
                   "                        [--min-node-passes N] [--timeout S] [--report FILE] [--optimize] [-v]\n";
      return 2;
    }
  }
  try {
    std::ifstream manifest(opt.root + "/MANIFEST.tsv");
    if (!manifest) fail("cannot open {}/MANIFEST.tsv", opt.root);
    std::vector<TestCase> tests;
    std::string line;
    std::getline(manifest, line);
    std::regex re(opt.filter.empty() ? ".*" : opt.filter);
    while (std::getline(manifest, line)) {
      std::vector<std::string> cols;
      std::stringstream ss(line);
      std::string c;
      while (std::getline(ss, c, '\t')) cols.push_back(c);
      if (cols.size() < 4) continue;
      TestCase tc{cols[0], cols[1], opt.root + "/" + cols[2], cols[3]};
      if (tc.target_op.empty()) tc.target_op = "(model)";
      if (!std::regex_search(tc.name, re)) continue;
      tests.push_back(tc);
    }
    auto known = read_tsv_map(opt.known_failures, 1);
    auto tolerances = read_tsv_map(opt.tolerances, 3);

    struct Counts { int pass = 0, fail = 0, unsupported = 0, error = 0, known = 0; };
    std::map<std::string, Counts> by_op, by_suite;
    Counts total;
    std::vector<std::string> unexpected, stale;
    std::ofstream report;
    if (!opt.report.empty()) report.open(opt.report);
    auto t0 = std::chrono::steady_clock::now();
    int models_changed = 0, models_optimized = 0;
    int64_t nodes_before = 0, nodes_after = 0;
    for (const TestCase& tc : tests) {
      double rtol = 1e-3, atol = 1e-7;
      auto tol = tolerances.find(tc.name);
      if (tol != tolerances.end()) {
        std::stringstream ss(tol->second);
        std::string name, r, a;
        std::getline(ss, name, '\t');
        std::getline(ss, r, '\t');
        std::getline(ss, a, '\t');
        rtol = std::stod(r);
        atol = std::stod(a);
      }
      Preparation prep{.optimize = opt.optimize};
      NodeCounts nodes;
      std::string verdict = run_isolated(tc, rtol, atol, opt.timeout_s, prep, &nodes);
      if (nodes.before >= 0) {
        ++models_optimized;
        models_changed += nodes.after != nodes.before;
        nodes_before += nodes.before;
        nodes_after += nodes.after;
      }
      bool is_known = known.count(tc.name) > 0;
      if (opt.optimize && verdict != "pass" && !is_known) {
        // Which pass breaks it: the shortest prefix of the pipeline under which the test no longer passes.
        int n = static_cast<int>(pipeline_prefix(-1).size());
        std::string culprit = "none alone (the whole pipeline fails, every prefix passes)";
        if (run_isolated(tc, rtol, atol, opt.timeout_s, {.optimize = false}) != "pass") {
          culprit = "none (fails without optimizing too)";
        } else {
          for (int k = 1; k <= n; ++k)
            if (run_isolated(tc, rtol, atol, opt.timeout_s, {.optimize = true, .passes = k}) != "pass") {
              culprit = pipeline_prefix(k).back();
              break;
            }
        }
        verdict += " [first failing pass: " + culprit + "]";
      }
      Counts& o = by_op[tc.target_op];
      Counts& s = by_suite[tc.suite];
      auto bump = [&](int Counts::*f) { ++(o.*f); ++(s.*f); ++(total.*f); };
      if (verdict == "pass") {
        bump(&Counts::pass);
        if (is_known) stale.push_back(tc.name);
      } else {
        if (verdict.rfind("fail", 0) == 0) bump(&Counts::fail);
        else if (verdict.rfind("unsupported", 0) == 0) bump(&Counts::unsupported);
        else bump(&Counts::error);
        if (is_known) bump(&Counts::known);
        else unexpected.push_back(tc.name + ": " + verdict);
      }
      if (opt.verbose) std::cout << tc.suite << "/" << tc.name << ": " << verdict << "\n";
      if (report) report << tc.suite << "\t" << tc.name << "\t" << tc.target_op << "\t" << verdict << "\n";
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::cout << fmt::format("\n{:<34} {:>6} {:>6} {:>6} {:>6} {:>6}\n", "op", "pass", "fail", "unsup", "error", "known");
    for (const auto& [op, c] : by_op)
      std::cout << fmt::format("{:<34} {:>6} {:>6} {:>6} {:>6} {:>6}\n", op, c.pass, c.fail, c.unsupported, c.error, c.known);
    std::cout << fmt::format("\n{:<34} {:>6} {:>6} {:>6} {:>6} {:>6}\n", "suite", "pass", "fail", "unsup", "error", "known");
    for (const auto& [suite, c] : by_suite)
      std::cout << fmt::format("{:<34} {:>6} {:>6} {:>6} {:>6} {:>6}\n", suite, c.pass, c.fail, c.unsupported, c.error, c.known);
    std::cout << fmt::format("{:<34} {:>6} {:>6} {:>6} {:>6} {:>6}\n", "total", total.pass, total.fail, total.unsupported,
                             total.error, total.known);
    std::cout << fmt::format("({} tests in {:.1f} s; 'known' counts failures listed in the known-failures file)\n", tests.size(), secs);
    if (opt.optimize)
      std::cout << fmt::format("optimized {} of {} models before running them; the pipeline changed the node count of "
                               "{} ({} nodes -> {} in all)\n",
                               models_optimized, tests.size(), models_changed, nodes_before, nodes_after);
    int rc = 0;
    if (!unexpected.empty()) {
      std::cout << "\nunexpected failures (not in the known-failures file):\n";
      for (const auto& u : unexpected) std::cout << "  " << u << "\n";
      rc = 1;
    }
    if (!stale.empty()) {
      std::cout << "\nlisted as known failures but now pass (remove them from the file):\n";
      for (const auto& s : stale) std::cout << "  " << s << "\n";
      rc = 1;
    }
    int node_pass = by_suite["onnx-node"].pass;
    if (opt.min_node_passes > 0 && node_pass < opt.min_node_passes) {
      std::cout << fmt::format("\nonly {} node tests pass; the bar is {}\n", node_pass, opt.min_node_passes);
      rc = 1;
    }
    std::cout << fmt::format("conformance{}: {} passed, {} failed\n", opt.optimize ? " (optimized models)" : "", total.pass,
                             total.fail + total.error + total.unsupported);
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "hone_conformance: " << e.what() << "\n";
    return 2;
  }
}
