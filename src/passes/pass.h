// Graph passes: rewrites of a Graph that keep every graph output's value (within float rounding). `hone optimize`
// runs standard-ONNX passes and writes the result; the runtime additionally lowers to hone-domain fused ops before
// planning (runtime_lowering.h).
#pragma once
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ir/graph.h"
#include "ops/infer_graph.h"

namespace hone {

struct PassContext {
  std::function<int64_t(const std::string& domain)> opset;
  // Types and constant values of the graph as it was when the pass started (refresh_types updates them).
  GraphTypes types;
  int64_t max_folded_bytes = int64_t{2} << 30;
  void refresh_types(const Graph& g);
  const Tensor* constant(const std::string& name) const;  // initializer or folded value, else null
  const TypeInfo* type(const std::string& name) const;
};

struct Pass {
  std::string name;
  std::string summary;
  // Rewrites `g`; returns how many rewrites it made.
  std::function<int(Graph&, PassContext&)> run;
};

// Who reads what: for finding single-use values a pass may fuse away.
class GraphUses {
 public:
  explicit GraphUses(const Graph& g);
  // Number of node inputs (including reads from subgraphs) and graph outputs that use the value.
  int uses(const std::string& name) const;
  bool is_graph_output(const std::string& name) const { return outputs_.count(name) > 0; }
  // Index of the node producing the value, or -1.
  int producer(const std::string& name) const;
  // Index of the one node reading the value when it has exactly one use and that use is a node input; else -1.
  int sole_consumer(const std::string& name) const;
  // Indices of the nodes reading the value as a node input (a node reading it twice appears twice).
  const std::vector<int>& consumers(const std::string& name) const;

 private:
  std::unordered_map<std::string, int> uses_, producer_;
  std::unordered_map<std::string, std::vector<int>> consumers_;
  std::unordered_set<std::string> outputs_;
};

// Erases nodes whose index is in `dead` (keeps the others in order).
void erase_nodes(Graph& g, const std::vector<bool>& dead);
// Drops initializers that no node, subgraph or graph output reads (overridable ones are inputs and stay).
int remove_unused_initializers(Graph& g);

// Passes.
int fold_constants(Graph& g, PassContext& ctx);   // nodes computable from constants become initializers
int fold_batchnorm(Graph& g, PassContext& ctx);   // Conv/ConvTranspose -> BatchNormalization into the conv's weights
int fuse_conv(Graph& g, PassContext& ctx);        // Conv -> affine / activation / residual chains into hone.FusedConv

}  // namespace hone
