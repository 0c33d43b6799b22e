// Type and shape inference over a whole graph, with constant propagation: values computable from constants alone
// (initializers, Constant nodes, Shape of a known shape, and the arithmetic on them that exporters emit) are
// evaluated by the reference kernels so that later shapes become concrete.
#pragma once
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "ops/op_registry.h"

namespace hone {

struct GraphTypes {
  std::unordered_map<std::string, TypeInfo> types;
  std::unordered_map<std::string, Tensor> constants;
  std::vector<std::string> unsupported;  // "unsupported operator X (opset N)" for each op with no schema
};

struct InferOptions {
  std::function<int64_t(const std::string& domain)> opset;  // imported opset version of a domain
  bool fold_constants = true;
  int64_t max_folded_bytes = int64_t{64} << 20;  // larger results are left to run time
  bool throw_on_unsupported = true;
};

// `inputs` gives each graph input's type (concrete or symbolic); names not given use the declared type.
// `outer` supplies types and constants of enclosing scopes (for subgraphs), or null.
GraphTypes infer_graph(const Graph& g, const InferOptions& opt, const std::unordered_map<std::string, TypeInfo>& inputs,
                       const GraphTypes* outer = nullptr);

// The schema for a node, or a hone::Error "unsupported operator <Op> (opset <N>)".
const OpSchema& schema_for(const Node& node, int64_t opset);
std::string unsupported_message(const Node& node, int64_t opset);

}  // namespace hone
