// Optional ops: Optional (opset 15), OptionalHasElement and OptionalGetElement (opset 15; from 18 their input may
// also be a plain tensor or sequence, and OptionalHasElement's input may be omitted). At run time an optional
// holding a value is that value (a tensor or a sequence); an empty optional is a Value of kind None. The opset-18
// widening only accepts more models, so one implementation serves both versions.
#include "ops/control/value_types.h"

namespace hone {
namespace {

void optional_op(OpContext& ctx) {
  if (ctx.node().has_input(0)) ctx.set_output(0, ctx.input_value(0));
  else if (!ctx.node().has_attr("type")) fail("{}: needs an input or a 'type' attribute", ctx.node().label());
  else ctx.set_output(0, Value{});
}
void infer_optional(InferenceContext& ctx) {
  if (ctx.has_input(0)) {
    const TypeInfo& t = ctx.input_type(0);
    ctx.set_output(0, t.kind == TypeInfo::Kind::Optional ? t : optional_type(t));
  } else if (const Attribute* a = ctx.node().find_attr("type")) {
    ctx.set_output(0, optional_type(a->type_proto));
  }
}

void optional_has_element(OpContext& ctx) {
  bool has = ctx.node().has_input(0) && !ctx.input_value(0).is_none();
  Tensor& y = ctx.output_uninitialized(0, DType::Bool, {});
  y.data<uint8_t>()[0] = has ? 1 : 0;
}
void infer_optional_has_element(InferenceContext& ctx) { ctx.set_output_tensor(0, DType::Bool, SymShape{}); }

void optional_get_element(OpContext& ctx) {
  const Value& v = ctx.input_value(0);
  if (v.is_none()) fail("{}: the optional input is empty", ctx.node().label());
  ctx.set_output(0, v);
}
void infer_optional_get_element(InferenceContext& ctx) {
  const TypeInfo& t = ctx.input_type(0);
  if (t.kind == TypeInfo::Kind::Optional) {
    if (t.inner) ctx.set_output(0, *t.inner);
  } else if (t.kind != TypeInfo::Kind::Unknown) {
    ctx.set_output(0, t);
  }
}

}  // namespace

HONE_REGISTER_OP({.name = "Optional", .since = 15, .infer = infer_optional, .compute = optional_op});
HONE_REGISTER_OP({.name = "OptionalHasElement", .since = 15, .infer = infer_optional_has_element, .compute = optional_has_element});
HONE_REGISTER_OP({.name = "OptionalGetElement", .since = 15, .infer = infer_optional_get_element, .compute = optional_get_element});

}  // namespace hone
