// How Hone runs float16 / bfloat16 models (what `hone quantize --dtype fp16|bf16` writes, or any model with such
// values): in float32 storage, rounding where the model's type rounds, so that every fast float32 kernel, fusion and
// layout choice applies and the results are the low-precision model's, not float32's.
//
// Before the standard passes, lower_low_precision rewrites the graph:
//   - every float16 / bfloat16 value becomes float32 holding exactly its value (initializers and Constant values are
//     widened, which is exact; graph inputs and outputs of those types keep them, with exact Casts inside);
//   - Cast to float16 / bfloat16 becomes hone.Round (ops/hone/low_precision.h); Cast from them to float32 becomes
//     Identity (exact);
//   - every other node computes in float32 from those exact inputs, and each low-precision output is rounded to its
//     type right after (a hone.Round), except where rounding cannot change it: the data-movement ops and the ops
//     that pick one of their inputs (Reshape, Transpose, Concat, Slice, Gather, Pad, MaxPool, Relu, Max, Where,
//     nearest Resize, ...), and inside the chains a fused kernel computes at once: a Conv and the element-wise ops
//     after it that fuse_conv folds into it (BatchNormalization, Mul/Add/Sub/Div, activations, residual Add), each
//     the sole reader of the previous result, round once at the end of the chain; a MatMul of a rank-2 input and
//     constant weights and the Add after it (one Gemm) round once after the Add.
// So, exactly: each op of the model computes in float32 from inputs that hold values of the model's type (widening
// is exact), and its result is rounded to the model's type, as ONNX's reference and ONNX Runtime's float16 CPU path
// compute; fused chains round once, not once per op.
// After fuse_conv, fuse_rounding turns a Conv / hone.FusedConv / Gemm with constant weights, or a MatMul, whose
// result only a hone.Round reads into hone.RoundedConv / RoundedGemm / RoundedMatMul, whose constant weights it
// rounds to the type (after folding, e.g. BatchNormalization into a Conv, they are float32). Their kernels
// (kernels/cpu/low_precision_kernels.cc): bfloat16 on oneDNN's bfloat16 primitives on AVX512-BF16 (bfloat16
// multiplies, float32 accumulation, the result rounded to bfloat16 by the primitive), float16 (no float16
// arithmetic on this CPU) in float32 with the result rounded after; both give the reference's value up to the order
// of the additions, since products of two float16 or two bfloat16 values are exact in float32.
// A graph whose If/Loop/Scan bodies see low-precision values, or an op whose output type comes from an attribute
// (EyeLike, RandomNormal, ...) set to float16 / bfloat16, is left as it is: it runs on the reference kernels in
// its own types.
#pragma once
#include <string>

#include "passes/pass.h"

namespace hone {

// Returns the number of rewrites (0 when the graph has no float16 / bfloat16 values, or cannot be lowered: then
// `why_not`, when given, says why and the graph is unchanged). Refreshes ctx's types when it looks at the graph.
int lower_low_precision(Graph& g, PassContext& ctx, std::string* why_not = nullptr);

// Returns the number of nodes fused with the hone.Round after them.
int fuse_rounding(Graph& g, PassContext& ctx);

}  // namespace hone
