// Constant: a tensor held in the node (value, value_float(s), value_int(s), value_string(s), sparse_value).
#include "ops/op_helpers.h"

namespace hone {
namespace {

Tensor constant_value(const Node& n) {
  if (const Tensor* t = n.attr_tensor("value")) return *t;
  if (const Attribute* a = n.find_attr("sparse_value")) return a->t;  // densified on import
  if (const Attribute* a = n.find_attr("value_float")) return scalar_tensor(DType::Float32, a->f);
  if (const Attribute* a = n.find_attr("value_int")) return scalar_tensor(DType::Int64, a->i);
  if (const Attribute* a = n.find_attr("value_floats")) {
    Tensor t(DType::Float32, {static_cast<int64_t>(a->floats.size())});
    for (size_t i = 0; i < a->floats.size(); ++i) t.data<float>()[i] = a->floats[i];
    return t;
  }
  if (const Attribute* a = n.find_attr("value_ints")) return int64_tensor(a->ints);
  if (const Attribute* a = n.find_attr("value_string")) {
    Tensor t(DType::String, {});
    t.data<std::string>()[0] = a->s;
    return t;
  }
  if (const Attribute* a = n.find_attr("value_strings")) {
    Tensor t(DType::String, {static_cast<int64_t>(a->strings.size())});
    for (size_t i = 0; i < a->strings.size(); ++i) t.data<std::string>()[i] = a->strings[i];
    return t;
  }
  fail("{}: has no value attribute", n.label());
}

void constant(OpContext& ctx) { ctx.set_output(0, Value::of(constant_value(ctx.node()))); }
void infer_constant(InferenceContext& ctx) { ctx.set_output_value(0, constant_value(ctx.node())); }

}  // namespace

HONE_REGISTER_OP({.name = "Constant", .since = 1, .infer = infer_constant, .compute = constant});

}  // namespace hone
