// The pass manager behind `hone optimize`: every graph pass registers itself (one pass per file in src/passes/)
// with a name, a one-line summary and its place in the default order; optimize_model runs the chosen passes over a
// model, round after round until a round changes nothing, and reports what each pass changed.
//
// Passes registered here keep the model standard ONNX (ai.onnx operators only): the file `hone optimize` writes
// must load in any runtime. Kernel fusion into hone-domain ops is a runtime matter (runtime_lowering.h).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "passes/pass.h"

namespace hone {

struct PassInfo {
  std::string name;     // what --passes takes: "fold-constants"
  std::string summary;  // one line for --help and the report
  int order = 0;        // place in the default pipeline (lower runs first)
  std::function<int(Graph&, PassContext&)> run;  // returns the number of rewrites it made (0: nothing changed)
  // Whether the runtime also runs it when it loads a model (runtime_lowering.h): false for rewrites that only help
  // other runtimes (a lone BatchNormalization has its own kernel; as Mul + Add it would cost two passes).
  bool at_load = true;
};

class PassRegistry {
 public:
  static PassRegistry& instance();
  void add(PassInfo info);
  // Every registered pass in default order.
  const std::vector<PassInfo>& all() const { return passes_; }
  const PassInfo* find(const std::string& name) const;

 private:
  std::vector<PassInfo> passes_;
};

struct PassRegistrar {
  explicit PassRegistrar(PassInfo info) { PassRegistry::instance().add(std::move(info)); }
};

#define HONE_PASS_CONCAT_(a, b) a##b
#define HONE_PASS_CONCAT(a, b) HONE_PASS_CONCAT_(a, b)
#define HONE_REGISTER_PASS(...) \
  static const ::hone::PassRegistrar HONE_PASS_CONCAT(hone_pass_registrar_, __COUNTER__)(::hone::PassInfo __VA_ARGS__)

struct OptimizeOptions {
  std::vector<std::string> passes;  // names, run in the order given; empty: every registered pass in default order
  // Fixed shapes for graph inputs (symbolic dims resolved), so that shape computations fold to constants.
  std::unordered_map<std::string, Shape> input_shapes;
  int max_rounds = 4;  // the pipeline repeats while a round still changes something
};

struct PassStats {
  std::string name;
  int rewrites = 0;  // summed over rounds
  int64_t nodes_before = 0, nodes_after = 0;    // top-level graph, before its first and after its last run
  int64_t params_before = 0, params_after = 0;  // elements in initializers
  // What this pass's own runs changed, summed over rounds (other passes run between its first and last run).
  int64_t nodes_removed = 0, params_removed = 0;  // negative where it added
  double ms = 0;
};

struct OptimizeReport {
  std::vector<PassStats> passes;  // in pipeline order
  int rounds = 0;
  int64_t nodes_before = 0, nodes_after = 0, params_before = 0, params_after = 0;
};

// Runs `passes` over `g` in order, round after round (at most max_rounds) until a round changes nothing, refreshing
// the types before each pass. optimize_model and the runtime's lowering both run passes through this.
OptimizeReport run_passes(Graph& g, const std::function<int64_t(const std::string&)>& opset,
                          const std::vector<const PassInfo*>& passes, int max_rounds,
                          bool keep_quantized_weights = false);

// Rewrites `m` in place; a quantized model stays quantized (its integer weights are not folded back to float).
// Throws hone::Error for an unknown pass name (listing the known ones) or an input shape that contradicts the
// declared one. The result passes verify_graph.
OptimizeReport optimize_model(Model& m, const OptimizeOptions& options = {});

// Elements held in the graph's initializers (its parameters).
int64_t count_parameters(const Graph& g);

}  // namespace hone
