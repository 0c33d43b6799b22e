#include "ops/hone/low_precision.h"

#include <vector>

#include "ops/infer_graph.h"
#include "ops/op_helpers.h"

namespace hone {

DType rounding_type(const std::string& to, const std::string& where) {
  if (to == "float16") return DType::Float16;
  if (to == "bfloat16") return DType::BFloat16;
  fail("{}: 'to' must be float16 or bfloat16, not '{}'", where, to);
}

const char* rounding_type_name(DType t) { return t == DType::Float16 ? "float16" : "bfloat16"; }

void round_to_type_reference(const float* in, float* out, int64_t n, DType t) {
  if (t == DType::Float16) {
    for (int64_t i = 0; i < n; ++i) out[i] = half_bits_to_float(float_to_half_bits(in[i]));
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = bfloat16_bits_to_float(float_to_bfloat16_bits(in[i]));
  }
}

namespace {

DType node_type(const Node& n) { return rounding_type(n.attr_string("to", ""), n.label()); }

void round_ref(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::Float32) fail("{}: needs a float32 input, given {}", ctx.node().label(), dtype_name(x.dtype()));
  Tensor& y = ctx.output_uninitialized(0, DType::Float32, x.shape());
  round_to_type_reference(x.data<float>(), y.data<float>(), x.numel(), node_type(ctx.node()));
}

void infer_round(InferenceContext& ctx) {
  node_type(ctx.node());
  infer_same_as_input(ctx);
}

// The op a Rounded* op rounds the result of, and the opset whose semantics it has.
struct BaseOp {
  const char* domain;
  const char* name;
  int64_t opset;
};
BaseOp base_of(const Node& n) {
  if (n.op_type == "RoundedConv") return {"hone", "FusedConv", 1};
  if (n.op_type == "RoundedMatMul") return {"", "MatMul", 13};
  if (n.op_type == "RoundedGemm") return {"", "Gemm", 13};
  fail("{}: not a rounded op", n.label());
}
const OpSchema& base_schema(const Node& n) {
  BaseOp b = base_of(n);
  const OpSchema* s = OpRegistry::instance().find(b.domain, b.name, b.opset);
  if (!s) fail("internal error: no schema for {}", b.name);
  return *s;
}

// Runs the base op under its own opset, then rounds its result.
void rounded_ref(OpContext& ctx) {
  const Node& n = ctx.node();
  DType t = node_type(n);
  std::vector<const Value*> in(ctx.num_inputs(), nullptr);
  for (size_t i = 0; i < in.size(); ++i)
    if (ctx.has_input(i)) in[i] = &ctx.input_value(i);
  Value out[1];
  OpContext base(n, base_of(n).opset, in.data(), in.size(), out, 1, ctx.threads(), nullptr);
  base_schema(n).compute(base);
  if (!out[0].is_tensor() || out[0].tensor.dtype() != DType::Float32)
    fail("{}: the {} it rounds did not give a float32 tensor", n.label(), base_of(n).name);
  Tensor& y = out[0].tensor;
  round_to_type_reference(y.data<float>(), y.data<float>(), y.numel(), t);
  ctx.set_output(0, std::move(out[0]));
}

void infer_rounded(InferenceContext& ctx) {
  const Node& n = ctx.node();
  node_type(n);
  std::vector<const TypeInfo*> types(ctx.num_inputs(), nullptr);
  std::vector<const Tensor*> values(ctx.num_inputs(), nullptr);
  for (size_t i = 0; i < types.size(); ++i)
    if (ctx.has_input(i)) {
      types[i] = &ctx.input_type(i);
      values[i] = ctx.input_value(i);
    }
  InferenceContext base(n, base_of(n).opset, types, values, ctx.num_outputs());
  base_schema(n).infer(base);
  for (size_t i = 0; i < ctx.num_outputs(); ++i) ctx.set_output(i, base.output_types()[i]);
}

HONE_REGISTER_OP({.domain = "hone", .name = "Round", .since = 1, .infer = infer_round, .compute = round_ref});
HONE_REGISTER_OP({.domain = "hone", .name = "RoundedConv", .since = 1, .infer = infer_rounded, .compute = rounded_ref});
HONE_REGISTER_OP({.domain = "hone", .name = "RoundedMatMul", .since = 1, .infer = infer_rounded, .compute = rounded_ref});
HONE_REGISTER_OP({.domain = "hone", .name = "RoundedGemm", .since = 1, .infer = infer_rounded, .compute = rounded_ref});

}  // namespace
}  // namespace hone
