// SequenceMap (opset 17): applies `body` to each position of the input sequences; tensor inputs are passed whole
// to every call. Output k is the sequence of the body's k-th outputs.
#include "ops/control/value_types.h"

namespace hone {
namespace {

const Graph& map_body(const Node& node) {
  const Graph* g = node.attr_graph("body");
  if (!g) fail("{}: attribute 'body' (a graph) is missing", node.label());
  return *g;
}

void sequence_map(OpContext& ctx) {
  const Node& node = ctx.node();
  const Graph& body = map_body(node);
  const Value& first = ctx.input_value(0);
  if (!first.is_sequence()) fail("{}: input 0 must be a sequence", node.label());
  size_t length = first.sequence.size();
  size_t num_in = ctx.num_inputs();
  if (body.inputs.size() != num_in)
    fail("{}: body takes {} inputs but the node has {}", node.label(), body.inputs.size(), num_in);
  if (body.outputs.size() < ctx.num_outputs())
    fail("{}: body has {} outputs but the node has {}", node.label(), body.outputs.size(), ctx.num_outputs());
  for (size_t j = 1; j < num_in; ++j) {
    const Value& v = ctx.input_value(j);
    if (v.is_sequence() && v.sequence.size() != length)
      fail("{}: input {} is a sequence of {} but input 0 has {}", node.label(), j, v.sequence.size(), length);
    if (v.is_none()) fail("{}: input {} is absent", node.label(), j);
  }
  std::vector<std::vector<Tensor>> results(ctx.num_outputs());
  std::vector<DType> elem(ctx.num_outputs(), DType::Undefined);
  for (size_t k = 0; k < elem.size(); ++k) elem[k] = body.outputs[k].type.elem;
  std::vector<Value> in(num_in);
  for (size_t i = 0; i < length; ++i) {
    for (size_t j = 0; j < num_in; ++j) {
      const Value& v = ctx.input_value(j);
      in[j] = v.is_sequence() ? Value::of(v.sequence[i]) : v;
    }
    std::vector<Value> out = ctx.subgraphs().run(body, in);
    for (size_t k = 0; k < results.size(); ++k) {
      if (k >= out.size() || !out[k].is_tensor()) fail("{}: body output {} must be a tensor", node.label(), k);
      elem[k] = out[k].tensor.dtype();
      results[k].push_back(std::move(out[k].tensor));
    }
  }
  for (size_t k = 0; k < results.size(); ++k)
    if (ctx.wants_output(k)) ctx.set_output(k, Value::of_sequence(std::move(results[k]), elem[k]));
}

void infer_sequence_map(InferenceContext& ctx) {
  const Graph& body = map_body(ctx.node());
  for (size_t k = 0; k < ctx.num_outputs() && k < body.outputs.size(); ++k) {
    const TypeInfo& d = body.outputs[k].type;
    DType e = d.kind == TypeInfo::Kind::Sequence ? sequence_elem_of(d) : d.elem;
    ctx.set_output(k, sequence_type(e));
  }
}

}  // namespace

HONE_REGISTER_OP({.name = "SequenceMap", .since = 17, .infer = infer_sequence_map, .compute = sequence_map});

}  // namespace hone
