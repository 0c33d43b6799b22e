// Sum of two values is an Add (same multidirectional broadcasting from opset 8, and Sum-6 requires equal shapes,
// which Add accepts too); Sum of one value is an Identity, which remove-identity then drops. The rest of the pipeline
// (residual fusion, quantization of residual Adds) then sees one spelling: Caffe2-era exports such as the onnx-light
// ResNet-50 write every residual connection as Sum. Sums of three or more stay.
#include "passes/pass_manager.h"

namespace hone {

int sum_to_add(Graph& g, PassContext& /*ctx*/) {
  int rewrites = 0;
  for (Node& n : g.nodes) {
    if ((!n.domain.empty() && n.domain != "ai.onnx") || n.op_type != "Sum" || n.outputs.size() != 1) continue;
    if (n.inputs.size() == 2 && n.has_input(0) && n.has_input(1)) {
      n.op_type = "Add";
      ++rewrites;
    } else if (n.inputs.size() == 1 && n.has_input(0)) {
      n.op_type = "Identity";
      ++rewrites;
    }
  }
  return rewrites;
}

HONE_REGISTER_PASS({.name = "sum-to-add",
                    .summary = "Sum of two values becomes Add, of one value Identity (residuals spelled one way)",
                    .order = 140,
                    .run = sum_to_add});

}  // namespace hone
