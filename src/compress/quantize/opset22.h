// Raising a model to ai.onnx opset 22, where ONNX gave Conv, ConvTranspose, the pools, InstanceNormalization and most
// activations a bfloat16 form (onnx/onnx#6099): the bfloat16 conversion needs it for any CNN. Below 17 it runs
// upgrade_opset (passes/upgrade_opset.h) first; from 17 to 22 the ops whose form changed are rewritten:
//   ReduceL1/L2/LogSum/LogSumExp/Max/Mean/Min/Prod/SumSquare (18): the axes attribute becomes an input;
//   Split (18) without a split input: num_outputs is now required.
// GroupNormalization (its scale and bias changed shape at 21), DFT (axis became an input at 20) and GridSample (its
// mode names changed at 20) are refused, as are rewrites inside If/Loop/Scan bodies. Everything else in 18..22 only
// gained types, ops or optional attributes whose defaults keep the old meaning.
#pragma once
#include "passes/upgrade_opset.h"

namespace hone {

inline constexpr int64_t kBfloat16ConvOpset = 22;

// Upgrades `m` in place to opset 22 (no-op when it is already there); throws hone::Error naming the node for what it
// cannot convert, leaving `m` unchanged.
OpsetUpgrade upgrade_opset_to_22(Model& m);

}  // namespace hone
