// libhone's public C++ API: load an ONNX model, run it.
//
//   hone::Session s = hone::Session::load("model.onnx", {.threads = 2});
//   std::vector<hone::Tensor> out = s.run({{"input", x}});
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "ops/value.h"

namespace hone {

struct SessionOptions {
  int threads = 0;  // intra-op threads; 0 = all cores of this machine
  // Graph lowering before planning: constant folding, BatchNormalization folding, convolution fusion.
  bool optimize_graph = true;
  // Every node on its reference kernel (the oracle fast kernels are tested against); also HONE_KERNELS=reference.
  bool reference_kernels = false;
};

class GraphRunner;

class Session {
 public:
  static Session load(const std::string& path, SessionOptions opt = {});
  static Session load_bytes(const void* data, size_t size, SessionOptions opt = {});
  Session(Model model, SessionOptions opt);
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  const std::vector<ValueInfo>& inputs() const;
  const std::vector<ValueInfo>& outputs() const;
  const Model& model() const { return *model_; }
  int threads() const { return threads_; }

  // Named inputs (every graph input must be given); returns the outputs in graph order.
  std::vector<Tensor> run(const std::vector<std::pair<std::string, Tensor>>& feeds);
  // Inputs in graph order, as general values (sequences, optionals); for tests and tools.
  std::vector<Value> run_values(const std::vector<Value>& inputs);
  // Same, writing into `outputs`: when it holds the previous call's outputs (or tensors of the same types and
  // shapes), results are computed in place and a run with unchanged input shapes allocates nothing in Hone's
  // executor or fast kernels. Input tensors are referenced (not copied) until the next run.
  void run_into(const std::vector<Value>& inputs, std::vector<Value>& outputs);
  // Checks feeds against the declared inputs: names, element types, ranks and fixed dims. Throws naming the input.
  void check_inputs(const std::vector<Value>& inputs) const;

  // The plan the given inputs would use (made and cached on first use).
  const struct Plan& plan_for(const std::vector<Value>& inputs);
  // While on, every run adds each step's kernel time to its PlanStep (see plan_for); reset clears the sums.
  void set_profiling(bool on);
  void reset_profile();

 private:
  std::unique_ptr<Model> model_;
  std::shared_ptr<Graph> graph_;  // what runs: the model's graph, lowered (passes/runtime_lowering.h)
  std::unique_ptr<GraphRunner> runner_;
  int threads_ = 1;
};

// Number of cores this process may use.
int available_cores();

}  // namespace hone
