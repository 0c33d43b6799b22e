// A Plan is everything decided before the first run for one set of input shapes: the kernel of every node, the
// values known as constants, and where every intermediate lives in one arena (from value lifetimes, best fit).
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "ops/infer_graph.h"
#include "runtime/kernel.h"

namespace hone {

struct PlanStep {
  const Node* node = nullptr;
  int64_t opset = 0;
  std::unique_ptr<Kernel> kernel;
  std::vector<int> inputs;    // slot per node input, -1 for omitted
  std::vector<int> outputs;   // slot per node output, -1 for omitted
  std::vector<int> release;   // slots whose last use is this step
  std::vector<int> implicit;  // slots its subgraphs read from this scope
  // Filled while profiling is on (GraphRunner::set_profiling): wall time spent in this step's kernel.
  mutable int64_t profile_ns = 0;
  mutable int64_t profile_calls = 0;
};

struct PlanOptions {
  int threads = 1;
  int64_t arena_alignment = 64;
  int64_t max_folded_bytes = int64_t{2} << 30;  // per constant-folded value
  bool reference_kernels = false;               // every node on its op's reference kernel
};

struct Plan {
  std::vector<std::string> slot_names;
  std::vector<TypeInfo> slot_types;
  std::vector<int64_t> arena_offset;  // per slot; -1 when not in the arena (constants, inputs, outputs, dynamic)
  std::vector<Value> constants;       // per slot; kind None unless constant
  std::unordered_map<std::string, int> slot_of;
  std::vector<int> input_slots;       // graph inputs, then outer-scope names (subgraphs)
  std::vector<int> output_slots;
  std::vector<PlanStep> steps;
  int64_t arena_bytes = 0;            // planned peak of intermediates
  int64_t intermediate_bytes = 0;     // sum of all planned intermediates (what no reuse would need)
  int64_t dynamic_values = 0;         // intermediates whose size is only known at run time
  int64_t layout_transforms = 0;      // hone.LayoutTransform steps the layout planning inserted
  std::vector<std::unique_ptr<Node>> owned_nodes;  // nodes of steps the planner made (layout transforms)
  GraphTypes types;
};

// Plans `g` for the given input types (concrete shapes give a complete memory plan). `outer_names` are values the
// graph reads from enclosing scopes, fed after the graph inputs with types in `outer_types`.
std::unique_ptr<Plan> make_plan(const Graph& g, const std::function<int64_t(const std::string&)>& opset,
                                const std::unordered_map<std::string, TypeInfo>& input_types,
                                const std::vector<std::string>& outer_names, const GraphTypes* outer_types,
                                const PlanOptions& opt);

// Best-fit placement of lifetimes into one buffer; returns offsets and the peak. Exposed for tests.
struct Lifetime {
  int64_t bytes;
  int first, last;  // step indices, inclusive
};
std::vector<int64_t> pack_lifetimes(const std::vector<Lifetime>& items, int64_t alignment, int64_t* peak);

}  // namespace hone
