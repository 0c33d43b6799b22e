// Loop: runs `body` while (iteration < M) and cond, where M (max trip count) and cond are both optional inputs.
// The body takes (iteration_num, cond, carried...) and returns (cond, carried..., scan outputs...); carried values
// may be tensors, sequences or optionals and may change shape between iterations; each scan output is the
// per-iteration values stacked along a new axis 0.
//
// Like ONNX Runtime and the ONNX reference, the body's cond output always updates the condition, also when the
// node's cond input is omitted (where the spec calls it ignored): otherwise a loop without M could never end.
#include "ops/control/value_types.h"

namespace hone {
namespace {

const Graph& loop_body(const Node& node) {
  const Graph* g = node.attr_graph("body");
  if (!g) fail("{}: attribute 'body' (a graph) is missing", node.label());
  return *g;
}

// Per-iteration scan values stacked along a new axis 0. With no iteration, the shape comes from the body's
// declaration (unknown dims taken as 0, which keeps the tensor empty).
Tensor stack_scan_output(const Node& node, const std::vector<Tensor>& parts, const ValueInfo& decl) {
  if (parts.empty()) {
    Shape s{0};
    if (decl.type.shape)
      for (const Dim& d : *decl.type.shape) s.push_back(d.known() ? d.value : 0);
    DType dt = decl.type.elem == DType::Undefined ? DType::Float32 : decl.type.elem;
    return Tensor(dt, s);
  }
  const Tensor& first = parts.front();
  for (size_t t = 1; t < parts.size(); ++t)
    if (parts[t].shape() != first.shape() || parts[t].dtype() != first.dtype())
      fail("{}: scan output '{}' is {}[{}] in iteration 0 but {}[{}] in iteration {}", node.label(), decl.name,
           dtype_name(first.dtype()), shape_str(first.shape()), dtype_name(parts[t].dtype()),
           shape_str(parts[t].shape()), t);
  Tensor y(first.dtype(), insert_dim(first.shape(), 0, static_cast<int64_t>(parts.size())));
  for (size_t t = 0; t < parts.size(); ++t)
    copy_elements(parts[t], 0, y, static_cast<int64_t>(t) * first.numel(), first.numel());
  return y;
}

void loop_op(OpContext& ctx) {
  const Node& node = ctx.node();
  const Graph& body = loop_body(node);
  size_t num_carried = node.inputs.size() > 2 ? node.inputs.size() - 2 : 0;
  if (body.inputs.size() != num_carried + 2)
    fail("{}: body takes {} inputs but the node carries {} values (expected {} body inputs)", node.label(),
         body.inputs.size(), num_carried, num_carried + 2);
  if (body.outputs.size() < num_carried + 1)
    fail("{}: body has {} outputs, needs at least {} (cond and {} carried values)", node.label(), body.outputs.size(),
         num_carried + 1, num_carried);
  size_t num_scan = body.outputs.size() - 1 - num_carried;
  if (ctx.num_outputs() > num_carried + num_scan)
    fail("{}: node has {} outputs but the body yields {}", node.label(), ctx.num_outputs(), num_carried + num_scan);

  int64_t max_trip = INT64_MAX;
  if (ctx.has_input(0)) {
    const Tensor& m = ctx.input(0);
    if (m.numel() != 1 || !is_integer(m.dtype()))
      fail("{}: M must be a single integer, is {}[{}]", node.label(), dtype_name(m.dtype()), shape_str(m.shape()));
    max_trip = m.get_int(0);
  }
  bool cond = ctx.has_input(1) ? read_condition(ctx.input(1), node, "cond") : true;

  std::vector<Value> carried(num_carried);
  for (size_t i = 0; i < num_carried; ++i)
    if (node.has_input(2 + i)) carried[i] = ctx.input_value(2 + i);
  std::vector<std::vector<Tensor>> scans(num_scan);

  std::vector<Value> in(2 + num_carried);
  for (int64_t it = 0; it < max_trip && cond; ++it) {
    in[0] = Value::of(scalar_tensor(DType::Int64, it));
    in[1] = Value::of(scalar_tensor(DType::Bool, cond ? 1 : 0));
    for (size_t i = 0; i < num_carried; ++i) in[2 + i] = std::move(carried[i]);
    std::vector<Value> out = ctx.subgraphs().run(body, in);
    if (out.size() != body.outputs.size())
      fail("{}: body returned {} values, expected {}", node.label(), out.size(), body.outputs.size());
    if (!out[0].is_tensor()) fail("{}: body's cond output must be a tensor", node.label());
    cond = read_condition(out[0].tensor, node, "the body's cond output");
    for (size_t i = 0; i < num_carried; ++i) carried[i] = std::move(out[1 + i]);
    for (size_t k = 0; k < num_scan; ++k) {
      Value& v = out[1 + num_carried + k];
      if (!v.is_tensor()) fail("{}: scan output '{}' must be a tensor", node.label(), body.outputs[1 + num_carried + k].name);
      scans[k].push_back(std::move(v.tensor));
    }
  }

  for (size_t i = 0; i < num_carried; ++i)
    if (ctx.wants_output(i)) ctx.set_output(i, std::move(carried[i]));
  for (size_t k = 0; k < num_scan; ++k)
    if (ctx.wants_output(num_carried + k))
      ctx.set_output(num_carried + k, Value::of(stack_scan_output(node, scans[k], body.outputs[1 + num_carried + k])));
}

void infer_loop(InferenceContext& ctx) {
  const Graph& body = loop_body(ctx.node());
  size_t num_carried = ctx.num_inputs() > 2 ? ctx.num_inputs() - 2 : 0;
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    const TypeInfo* decl = 1 + i < body.outputs.size() ? &body.outputs[1 + i].type : nullptr;
    bool known = decl && decl->kind != TypeInfo::Kind::Unknown &&
                 !(decl->kind == TypeInfo::Kind::Tensor && decl->elem == DType::Undefined);
    if (i < num_carried) {
      // A carried value keeps its kind and element type; its shape may change from one iteration to the next.
      if (known) ctx.set_output(i, without_shapes(*decl));
      else if (ctx.has_input(2 + i)) ctx.set_output(i, without_shapes(ctx.input_type(2 + i)));
    } else if (known && decl->kind == TypeInfo::Kind::Tensor) {
      ctx.set_output_tensor(i, decl->elem, std::nullopt);
    }
  }
}

}  // namespace

HONE_REGISTER_OP({.name = "Loop", .since = 1, .infer = infer_loop, .compute = loop_op});

}  // namespace hone
