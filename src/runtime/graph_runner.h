// Runs a graph: chooses (and caches) a plan per input shape signature, binds the arena, runs the steps. Subgraphs
// of control-flow nodes run through nested GraphRunners created on first use.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/plan.h"

namespace hone {

class GraphRunner {
 public:
  GraphRunner(const Graph& g, std::function<int64_t(const std::string&)> opset, PlanOptions opt,
              std::vector<std::string> outer_names = {});
  ~GraphRunner();

  // `inputs`: the graph inputs in order, then the outer-scope values named by outer_names().
  std::vector<Value> run(const std::vector<Value>& inputs);
  // Same, writing into `results`: when it already holds one tensor per output with the planned type and shape
  // (e.g. the previous call's results), outputs are computed in place and, with the same input shapes as the last
  // call, the run allocates nothing itself.
  void run_into(const std::vector<Value>& inputs, std::vector<Value>& results);
  // The plan for these inputs (made and cached on first use).
  const Plan& plan_for(const std::vector<Value>& inputs);
  const std::vector<std::string>& outer_names() const { return outer_names_; }
  const Graph& graph() const { return graph_; }
  // Per-step timing into PlanStep::profile_ns / profile_calls (for `hone bench --profile`); off by default.
  void set_profiling(bool on) { profiling_ = on; }
  void reset_profile();

 private:
  struct Cached;
  const Graph& graph_;
  std::function<int64_t(const std::string&)> opset_;
  PlanOptions opt_;
  std::vector<std::string> outer_names_;
  bool profiling_ = false;
  std::map<std::string, std::unique_ptr<Cached>> cache_;
  Cached* last_ = nullptr;  // the plan of the last run
  std::map<const Graph*, std::unique_ptr<GraphRunner>> subgraph_runners_;
  friend class StepSubgraphRunner;
  GraphRunner& subgraph_runner(const Graph& body);
  Cached& cached_for(const std::vector<Value>& inputs);  // the plan and arena for these inputs, made on first use
  void prepare(Cached& c);  // the slot values and pointers of a new plan
  void execute(Cached& c, const std::vector<Value>& inputs, std::vector<Value>& results);
  static bool bindable(const Value& user, DType planned, const std::optional<Shape>& shape);
};

// A value's type as the planner sees it (concrete shape).
TypeInfo type_of_value(const Value& v);

}  // namespace hone
