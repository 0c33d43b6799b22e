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
  // Leave DequantizeLinear of integer constants (a quantized model's weights) unfolded: `hone optimize` writes files
  // that must stay quantized; the runtime folds them once its int8 patterns have taken what they can.
  bool keep_quantized_weights = false;
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

// Renaming, for passes that drop a node whose output equals another value.
// Every read of a key of `alias` (node inputs, and subgraphs' reads of enclosing-scope values) reads the mapped
// value instead, following chains. Graph outputs keep their names. Callers make sure no subgraph defines a
// mapped-to name (names_defined_in_subgraphs). Subgraphs that change are copied first (models share them).
void rename_reads(Graph& g, const std::unordered_map<std::string, std::string>& alias);
// Every name that a subgraph of `g`, at any depth, defines (its inputs, initializers and node outputs).
std::unordered_set<std::string> names_defined_in_subgraphs(const Graph& g);
// Lets the node producing `dst` go because `src` holds the same value: readers of `dst` read `src`; when `dst` is a
// graph output, the node producing `src` produces `dst` instead and the readers of `src` follow. Returns false and
// changes nothing when `dst` is a graph output and `src` is not a node output (a graph output must stay a node
// output or input) or is a graph output itself, or when a subgraph defines the name that would be read. The
// caller then erases the node that produced `dst`.
bool forward_value(Graph& g, std::string src, std::string dst);  // copies: callers pass node fields it renames

// HardSwish as some exporters (PaddleOCR's) write it: x * Clip(x + 3, 0, 6) / 6, or * (1/6), with x = `cur`, read by
// nothing else. `dead` (may be null) marks nodes a pass has already consumed, which do not count. On a match, `nodes`
// holds the Add, Clip, Mul and Div/Mul node indices, `inner` the values computed on the way (x included) and `out`
// the result.
struct DecomposedHardSwish {
  std::vector<size_t> nodes;
  std::vector<std::string> inner;
  std::string out;
};
bool match_decomposed_hardswish(const Graph& g, const GraphUses& uses, const PassContext& ctx, const std::string& cur,
                                const std::vector<bool>* dead, DecomposedHardSwish* m);

// Passes.
int fold_constants(Graph& g, PassContext& ctx);   // nodes computable from constants become initializers
int fold_batchnorm(Graph& g, PassContext& ctx);   // Conv/ConvTranspose -> BatchNormalization into the conv's weights
int fuse_conv(Graph& g, PassContext& ctx);        // Conv -> affine / activation / residual chains into hone.FusedConv
int fuse_channel_shuffle(Graph& g, PassContext& ctx);  // Reshape-Transpose-Reshape shuffles into hone.ChannelShuffle
int remove_identity(Graph& g, PassContext& ctx);  // Identity and inference Dropout: readers read the input
int eliminate_dead(Graph& g, PassContext& ctx);   // nodes no graph output depends on, unused initializers
int cse(Graph& g, PassContext& ctx);              // identical deterministic nodes and equal constants merged
int simplify_reshapes(Graph& g, PassContext& ctx);  // Reshape/Transpose/Squeeze/Unsqueeze/Flatten chains shortened
int fold_pad(Graph& g, PassContext& ctx);         // zero (or -inf) Pad into the pads of a Conv / pool after it

}  // namespace hone
