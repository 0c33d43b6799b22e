// A constant-mode Pad on the spatial axes only, read by nothing but a Conv or a pool, becomes part of that node's
// own `pads` (added to what it has):
//   - Conv: the pad value must be 0, which is what Conv pads with;
//   - AveragePool with count_include_pad=1: value 0 (its padding counts as zeros in every window's mean);
//   - MaxPool: the value must lose every max, -inf (or the type's lowest value for integers); no indices output,
//     since indices would count in the padded tensor.
// Pools keep ceil_mode=0 and pads smaller than the kernel (ONNX Runtime refuses larger ones). Pad forms by opset:
// attributes `paddings` (1) / `pads` and `value` (2-10); inputs pads and constant_value (11+), axes (18+).
#include <cmath>
#include <limits>

#include "passes/pass_manager.h"

namespace hone {
namespace {

struct PadSpec {
  std::vector<int64_t> pads;  // begins of every axis, then ends
  double value = 0;
};

// The Pad's amounts over all axes of its input, or false when they are not constant, not constant mode, or
// negative.
bool read_pad(const Node& pad, int64_t opset, const PassContext& ctx, PadSpec* spec) {
  if (pad.attr_string("mode", "constant") != "constant" || !pad.has_input(0)) return false;
  std::vector<int64_t> axes;
  bool has_axes = false;
  if (opset < 11) {
    spec->pads = pad.attr_ints(opset < 2 ? "paddings" : "pads");
    spec->value = pad.attr_float("value", 0.f);
  } else {
    const Tensor* p = pad.has_input(1) ? ctx.constant(pad.inputs[1]) : nullptr;
    if (!p) return false;
    spec->pads = p->to_int64_vector();
    if (pad.has_input(2)) {
      const Tensor* v = ctx.constant(pad.inputs[2]);
      if (!v || v->numel() != 1) return false;
      spec->value = v->get_double(0);
    }
    if (opset >= 18 && pad.has_input(3)) {
      const Tensor* a = ctx.constant(pad.inputs[3]);
      if (!a) return false;
      axes = a->to_int64_vector();
      has_axes = true;
    }
  }
  for (int64_t v : spec->pads)
    if (v < 0) return false;
  if (!has_axes) return !spec->pads.empty() && spec->pads.size() % 2 == 0;
  // pads list begins then ends of `axes` only: spread them over every axis.
  const TypeInfo* t = ctx.type(pad.inputs[0]);
  if (!t || !t->is_tensor() || !t->shape || spec->pads.size() != 2 * axes.size()) return false;
  int64_t rank = static_cast<int64_t>(t->shape->size());
  std::vector<int64_t> full(static_cast<size_t>(2 * rank), 0);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t k = 0; k < axes.size(); ++k) {
    int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
    if (a < 0 || a >= rank || seen[static_cast<size_t>(a)]) return false;
    seen[static_cast<size_t>(a)] = true;
    full[static_cast<size_t>(a)] = spec->pads[k];
    full[static_cast<size_t>(a + rank)] = spec->pads[k + axes.size()];
  }
  spec->pads = std::move(full);
  return true;
}

// The lowest value of `t`: padding with it never wins a max.
bool is_lowest(double v, DType t) {
  switch (t) {
    case DType::Float32:
    case DType::Float64:
    case DType::Float16:
    case DType::BFloat16: return std::isinf(v) && v < 0;
    case DType::Int8: return v == std::numeric_limits<int8_t>::lowest();
    case DType::UInt8: return v == 0;
    default: return false;
  }
}

void set_ints(Node& n, const std::string& name, std::vector<int64_t> v) {
  for (Attribute& a : n.attributes)
    if (a.name == name) {
      a = Attribute::of_ints(name, std::move(v));
      return;
    }
  n.attributes.push_back(Attribute::of_ints(name, std::move(v)));
}

// Whether `consumer` (reading the padded value as its input 0) pads with what `spec` pads with; on success its
// pads attribute includes the Pad's.
bool absorb_pad(Node& consumer, const PadSpec& spec, DType elem) {
  const std::string& op = consumer.op_type;
  bool conv = op == "Conv", avg = op == "AveragePool", max = op == "MaxPool";
  if (!(consumer.domain.empty() || consumer.domain == "ai.onnx") || !(conv || avg || max)) return false;
  if (conv || avg) {
    if (spec.value != 0) return false;
  } else if (!is_lowest(spec.value, elem) || (consumer.outputs.size() > 1 && !consumer.outputs[1].empty())) {
    return false;
  }
  if (avg && consumer.attr_int("count_include_pad", 0) != 1) return false;
  if ((avg || max) && consumer.attr_int("ceil_mode", 0) != 0) return false;
  std::string auto_pad = consumer.attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") return false;

  size_t rank = spec.pads.size() / 2;
  if (rank < 3) return false;
  for (size_t a : {size_t{0}, size_t{1}})  // batch and channel axes
    if (spec.pads[a] != 0 || spec.pads[a + rank] != 0) return false;
  size_t spatial = rank - 2;
  std::vector<int64_t> pads = consumer.attr_ints("pads", std::vector<int64_t>(2 * spatial, 0));
  if (auto_pad == "VALID") pads.assign(2 * spatial, 0);
  if (pads.size() != 2 * spatial) return false;
  for (size_t k = 0; k < spatial; ++k) {
    pads[k] += spec.pads[k + 2];
    pads[k + spatial] += spec.pads[k + 2 + rank];
  }
  if (avg || max) {
    std::vector<int64_t> kernel = consumer.attr_ints("kernel_shape");
    if (kernel.size() != spatial) return false;
    for (size_t k = 0; k < spatial; ++k)
      if (pads[k] >= kernel[k] || pads[k + spatial] >= kernel[k]) return false;
  }
  set_ints(consumer, "pads", std::move(pads));
  std::erase_if(consumer.attributes, [](const Attribute& a) { return a.name == "auto_pad"; });
  return true;
}

}  // namespace

int fold_pad(Graph& g, PassContext& ctx) {
  GraphUses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int folded = 0;
  for (size_t pi = 0; pi < g.nodes.size(); ++pi) {
    const Node& pad = g.nodes[pi];
    if (!(pad.domain.empty() || pad.domain == "ai.onnx") || pad.op_type != "Pad" || pad.outputs.size() != 1) continue;
    int ci = uses.sole_consumer(pad.outputs[0]);
    if (ci < 0 || dead[static_cast<size_t>(ci)]) continue;
    Node& consumer = g.nodes[static_cast<size_t>(ci)];
    PadSpec spec;
    if (consumer.inputs.empty() || consumer.inputs[0] != pad.outputs[0] || !read_pad(pad, ctx.opset(pad.domain), ctx, &spec))
      continue;
    const TypeInfo* t = ctx.type(pad.inputs[0]);
    if (!absorb_pad(consumer, spec, t && t->is_tensor() ? t->elem : DType::Undefined)) continue;
    consumer.inputs[0] = pad.inputs[0];
    dead[pi] = true;
    ++folded;
  }
  erase_nodes(g, dead);
  return folded;
}

HONE_REGISTER_PASS({.name = "fold-pad",
                    .summary = "zero Pad before Conv / AveragePool(count_include_pad) and -inf Pad before MaxPool "
                               "folded into their pads",
                    .order = 250,
                    .run = fold_pad});

}  // namespace hone
