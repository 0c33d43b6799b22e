// Raising a model's ai.onnx opset, so that tools needing a newer opset (per-channel QuantizeLinear /
// DequantizeLinear need 13) can work on models exported for an older one (PaddleOCR rec is opset 9, det 11; the
// onnx-light ResNet-50 is 9). Every operator whose signature or meaning changed between the model's opset and the
// target is rewritten to the target's form with the same result:
//   Slice (< 10), TopK (< 10), Clip (< 11), Pad (< 11), Dropout (< 12): attributes become inputs;
//   Squeeze, Unsqueeze, Split, ReduceSum (< 13): axes / split attributes become inputs;
//   Softmax, LogSoftmax, Hardmax (< 13): the old "flatten to 2-D at axis" meaning, kept as it is when the axis is
//     the last one, else spelled Flatten -> op(axis=-1) -> Reshape(Shape(x));
//   Upsample (7, 9) and Resize (10) with constant scales >= 1: Resize with asymmetric coordinates and floor rounding;
//   Scatter (< 11): ScatterElements; BatchNormalization (< 9): the spatial attribute dropped (spatial = 1 only).
// Everything else that changed in that range only gained types or optional inputs. What it cannot convert (a
// downsampling Upsample, spatial = 0, a convertible op inside an If/Loop/Scan body, source opsets below 7, targets
// above 17) is an error naming the node and the op, and the model is left as it was.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace hone {

struct OpsetUpgrade {
  int64_t from = 0, to = 0;
  std::vector<std::string> rewritten;  // "NodeName (Op)" for every node that changed
};

// Upgrades `m` in place to ai.onnx opset `target`; a no-op when it is already there or newer. Throws hone::Error
// (and leaves `m` unchanged) for what it cannot convert.
OpsetUpgrade upgrade_opset(Model& m, int64_t target);

}  // namespace hone
