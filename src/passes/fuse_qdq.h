// Runtime lowering of QDQ-format quantized models (the format `hone quantize` and ONNX Runtime's quantizer write:
// QuantizeLinear -> DequantizeLinear pairs around the ops meant to run in int8) into the runtime's int8 ops
// (ops/hone/quantized.h), which read and write the 8-bit tensors themselves:
//
//   DQ(x_q) -> Conv(DQ(W_q), [B]) -> [activations] -> Q                      =>  hone.QConv(x_q, W_q, ...) -> y_q
//   ... -> Conv -> Q -> DQ -> HardSwish / Swish / Sigmoid / ... -> Q           the activation fused, the middle
//                                                                              rounding skipped
//   ... -> Conv [-> Q -> DQ] -> Add(., DQ(z_q)) [-> Relu] -> Q                 the residual fused (z_q read as int8)
//   DQ(x_q) -> Conv(DQ(W_q)) -> [activations] (no Q after: last layers)      =>  hone.QConv with a float32 output
//   DQ(x_q) -> MatMul / Gemm(DQ(W_q) constant [, C]) [-> Q -> DQ] [-> Add(bias)] -> ... -> Q
//                                                                            =>  hone.QMatMul
//   DQ(a_q), DQ(b_q) -> Add / Sum [-> Relu | Clip] -> Q                       =>  hone.QAdd
//   DQ(a_q), DQ(b_q) or a float gate [N, C, 1, 1] -> Mul [-> Q]              =>  hone.QMul (squeeze-excitation)
//   DQ(x_q) -> GlobalAveragePool [-> Q]                                       =>  hone.QGlobalAveragePool
//   DQ(x_q) -> Reshape / Flatten / Squeeze / Unsqueeze / Transpose / MaxPool / Resize (nearest) / Concat (every
//   data input so) -> Q with the same scale and zero point                   =>  the op on x_q itself
//   DynamicQuantizeLinear(x) -> MatMulInteger(., W_q) -> Cast -> Mul(., x_scale * W_scale) [-> Add(bias)]
//                                                                            =>  hone.DynamicQMatMul(x, W_q, ...)
//
// Activations must be quantized per tensor (scalar scale and zero point, uint8 or int8), weights int8 with zero
// points 0, per tensor or per output channel. Every value a fusion absorbs must have no other reader and not be a
// graph output; a DequantizeLinear whose float output other nodes still read stays (it runs on its own kernel), and
// those left without readers are removed. What does not match stays as it was: ops between a DQ and the next Q run
// in float32, and the standard passes after this one fold what remains of constant weights' DQs (weights-only
// models run as float models with int8 files).
//
// This pass runs first in the runtime's lowering (runtime_lowering.cc), before constant folding would turn the int8
// weights into float32 ones.
#pragma once
#include "passes/pass.h"

namespace hone {

struct QdqFusionStats {
  int qconv = 0, qmatmul = 0, qadd = 0, qmul = 0, qpool = 0, dynamic_qmatmul = 0, int8_data_movement = 0;
  int total() const { return qconv + qmatmul + qadd + qmul + qpool + dynamic_qmatmul + int8_data_movement; }
};

// Rewrites `g` in place; `ctx` must hold g's types (refresh_types). Returns what it made.
QdqFusionStats fuse_qdq(Graph& g, PassContext& ctx);

}  // namespace hone
