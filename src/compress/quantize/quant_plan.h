// Which nodes of a model `hone quantize` quantizes, and which tensors get a QuantizeLinear -> DequantizeLinear pair
// (Contract 1 of issue 5). The plan is made on the optimized model whose nodes all have names (name_nodes).
//
// Static mode:
//   compute nodes  Conv, MatMul and Gemm with a constant float32 weight (MatMul / Gemm: a 2-D B) and a float32
//                  activation input; Add of two float32 activations (residuals).
//   folded         with asymmetric (uint8) activations, a Relu, or a Clip with min 0, whose input comes from a compute
//                  node and has no other reader, is removed: the pair after it reads the compute node's output, and
//                  its range (calibrated on the activation's output, so it starts at 0 and ends within the clip)
//                  makes QuantizeLinear's saturation do the clamp exactly.
//   shared scale   MaxPool (one output), Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Resize with mode nearest,
//                  and Concat, when every data input is the output of a quantized node: input(s) and output share one
//                  scale and zero point (the union of their ranges), so the op can run on the int8 values. A Concat
//                  whose union range would break a folded activation's exactness stays float.
//   pairs          every float32 activation input of a quantized node, and every output of one that is not a graph
//                  output (graph outputs stay float32, produced by the op itself or by a DequantizeLinear).
// Dynamic and weights-only modes: the Conv (weights-only) / MatMul / Gemm nodes with constant weights; no pairs.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "compress/quantize/calibration.h"
#include "ir/graph.h"

namespace hone::quant {

enum class QuantMode { Static, Dynamic, WeightsOnly };
const char* mode_name(QuantMode m);  // "static", "dynamic", "weights-only"

struct QuantizeConfig {
  QuantMode mode = QuantMode::Static;
  bool per_channel = false;
  bool symmetric = false;  // activations: symmetric int8 (zero point 0); else asymmetric uint8
  bool weight_mse_clip = false;  // weight scales by the MSE-optimal clip ratio (quantize_weight's mse_clip)
  // Node names or op types (e.g. "Gemm") left float; each must match something (check_exclusions).
  std::vector<std::string> exclude;
};

// Gives every unnamed node of the top-level graph a name not used by any node ("<OpType>_<index>"), so that plans,
// reports and --exclude can name it. Returns how many it named.
int name_nodes(Graph& g);

// Throws hone::Error for an --exclude entry that is neither a node name nor an op type of the graph.
void check_exclusions(const Graph& g, const std::vector<std::string>& exclude);

struct SkippedNode {
  std::string node, op, reason;
};

struct QuantPlan {
  QuantMode mode = QuantMode::Static;
  std::vector<std::string> compute;             // quantized Conv / MatMul / Gemm / Add, in graph order
  std::map<std::string, std::string> folded;    // removed Relu / Clip -> the compute node before it
  std::vector<std::string> shared;              // shared-scale nodes, in graph order
  std::vector<SkippedNode> skipped;             // candidates left float, and why
  // Static: each quantized tensor's scale group; a group's tensors share one scale and zero point.
  std::map<std::string, int> tensor_group;
  std::vector<Range> group_range;               // per group (empty when planned without ranges)
  // Static: for each compute node, the tensor holding its (dequantized) result in the fp32 model: its output, or
  // the folded activation's output.
  std::map<std::string, std::string> result_tensor;
  std::vector<std::string> tensors() const;     // quantized tensors, sorted
};

// Plans `g`. `keep_float` names compute nodes to leave float besides config.exclude (the accuracy-aware search).
// `ranges` (static): calibrated range per tensor; null plans without them (every Concat may share its scale) to learn
// which tensors calibration must observe. Throws when a needed range is missing.
QuantPlan plan_quantization(const Model& m, const QuantizeConfig& config, const std::set<std::string>& keep_float,
                            const std::map<std::string, Range>* ranges);

}  // namespace hone::quant
