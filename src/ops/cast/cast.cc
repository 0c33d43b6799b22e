// Cast (opsets 1-5: `to` is a type name; 6+: a TensorProto.DataType code; 19+: `saturate`; 25+: `round_mode`) and
// CastLike (15+): element-type conversion with the semantics described in cast_elements.h.
#include <cctype>

#include "ops/cast/cast_elements.h"
#include "ops/op_helpers.h"

namespace hone {
namespace {

DType checked_target(int64_t code, const Node& node) {
  if (!dtype_is_valid(static_cast<int32_t>(code)) || code != static_cast<int32_t>(code))
    fail("{}: 'to' = {} is not an element type", node.label(), code);
  auto t = static_cast<DType>(code);
  if (t == DType::Complex64 || t == DType::Complex128)
    fail("{}: casting to {} is not supported", node.label(), dtype_name(t));
  return t;
}

DType cast_target(const Node& node) {
  const Attribute* a = node.find_attr("to");
  if (!a) fail("{}: missing required attribute 'to'", node.label());
  if (a->type == Attribute::Type::String) {  // Cast-1: "FLOAT", "INT64", ...
    std::string name;
    for (char c : a->s) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    DType t = DType::Undefined;
    for (int code = 1; code < kNumDTypes; ++code)
      if (dtype_name(static_cast<DType>(code)) == name) t = static_cast<DType>(code);
    if (t == DType::Undefined) fail("{}: 'to' = '{}' is not an element type", node.label(), a->s);
    return checked_target(static_cast<int64_t>(t), node);
  }
  return checked_target(a->i, node);
}

CastOptions cast_options(const Node& node) {
  CastOptions o;
  o.saturate = node.attr_int("saturate", 1) != 0;
  o.round_mode = parse_round_mode(node.attr_string("round_mode", "up"), node);
  return o;
}

std::optional<SymShape> shape_of_input0(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  return s ? std::optional<SymShape>(*s) : std::nullopt;
}

void run_cast(OpContext& ctx, DType to) {
  const Tensor& x = ctx.input(0);
  CastOptions options = cast_options(ctx.node());
  // Strings need constructed elements; every other type is fully written.
  Tensor& y = to == DType::String ? ctx.output(0, to, x.shape()) : ctx.output_uninitialized(0, to, x.shape());
  cast_elements(x, y, options, ctx.node());
}

void cast(OpContext& ctx) { run_cast(ctx, cast_target(ctx.node())); }
void infer_cast(InferenceContext& ctx) {
  cast_options(ctx.node());  // rejects a bad round_mode at load
  ctx.set_output_tensor(0, cast_target(ctx.node()), shape_of_input0(ctx));
}

void cast_like(OpContext& ctx) { run_cast(ctx, checked_target(static_cast<int64_t>(ctx.input(1).dtype()), ctx.node())); }
void infer_cast_like(InferenceContext& ctx) {
  cast_options(ctx.node());
  DType to = ctx.input_dtype(1);
  ctx.set_output_tensor(0, to, shape_of_input0(ctx));
}

}  // namespace

HONE_REGISTER_OP({.name = "Cast", .since = 1, .until = 5, .infer = infer_cast, .compute = cast});
HONE_REGISTER_OP({.name = "Cast", .since = 6, .infer = infer_cast, .compute = cast});
HONE_REGISTER_OP({.name = "CastLike", .since = 15, .infer = infer_cast_like, .compute = cast_like});

}  // namespace hone
