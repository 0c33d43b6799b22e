// Reshape, Flatten, Squeeze, Unsqueeze: same elements, new shape. The kernels copy (the reference never aliases);
// the shape functions work symbolically so that [batch, 3, 4] -> Reshape [0, -1] stays [batch, 12].
#include <fmt/ranges.h>

#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

void copy_all(OpContext& ctx, const Shape& shape) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), shape);
  copy_elements(x, 0, y, 0, x.numel());
}

// ---- Reshape ----

std::vector<int64_t> reshape_target(const OpContext& ctx) {
  if (ctx.opset() < 5) return ctx.node().attr_ints("shape");
  return input_ints(ctx, 1, "shape");
}

bool reshape_allowzero(const Node& n, int64_t opset) { return opset >= 14 && n.attr_int("allowzero", 0) != 0; }

Shape resolve_reshape(const Shape& in, const std::vector<int64_t>& target, bool allowzero, const Node& n) {
  Shape out(target.size());
  int64_t infer_at = -1, known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t t = target[i];
    if (t == -1) {
      if (infer_at >= 0) fail("{}: shape has more than one -1", n.label());
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    if (t < -1 || t > kMaxTensorElements) fail("{}: shape value {} is invalid", n.label(), t);
    if (t == 0 && !allowzero) {
      if (i >= in.size()) fail("{}: shape[{}] is 0 but the input has rank {}", n.label(), i, in.size());
      t = in[i];
    }
    out[i] = t;
    // Saturates just past the limit (no tensor is that large), so absurd shapes cannot overflow.
    known = known > 0 && t > kMaxTensorElements / known ? kMaxTensorElements + 1 : known * t;
  }
  int64_t numel = shape_numel(in);
  if (infer_at >= 0) {
    if (allowzero)
      for (int64_t t : target)
        if (t == 0) fail("{}: allowzero forbids 0 together with -1 in the shape", n.label());
    if (known == 0 || known > kMaxTensorElements || numel % known != 0)
      fail("{}: cannot reshape {} to [{}]", n.label(), shape_str(in), fmt::join(target, ","));
    out[static_cast<size_t>(infer_at)] = numel / known;
  } else if (known != numel) {
    fail("{}: cannot reshape {} ({} elements) to {}", n.label(), shape_str(in), numel, shape_str(out));
  }
  return out;
}

void reshape(OpContext& ctx) {
  copy_all(ctx, resolve_reshape(ctx.input(0).shape(), reshape_target(ctx), reshape_allowzero(ctx.node(), ctx.opset()),
                                ctx.node()));
}

// Symbolic reshape: copies of input dims (0), known dims, and -1 solved by cancelling known factors and symbols.
void infer_reshape(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  std::optional<std::vector<int64_t>> target =
      ctx.opset() < 5 ? std::optional(ctx.node().attr_ints("shape")) : const_ints(ctx, 1);
  if (!target) {
    const SymShape* ss = ctx.input_shape(1);
    if (ss && ss->size() == 1 && (*ss)[0].known())
      ctx.set_output_tensor(0, dt, SymShape(static_cast<size_t>((*ss)[0].value)));
    else
      ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  bool allowzero = reshape_allowzero(ctx.node(), ctx.opset());
  const SymShape* in = ctx.input_shape(0);
  if (in) {
    if (auto c = to_concrete(*in)) {
      ctx.set_output_tensor(0, dt, to_sym_shape(resolve_reshape(*c, *target, allowzero, ctx.node())));
      return;
    }
  }
  SymShape out(target->size());
  int64_t infer_at = -1;
  for (size_t i = 0; i < target->size(); ++i) {
    int64_t t = (*target)[i];
    if (t == -1) infer_at = static_cast<int64_t>(i);
    else if (t == 0 && !allowzero) out[i] = in && i < in->size() ? (*in)[i] : Dim();
    else if (t < -1) fail("{}: shape value {} is invalid", ctx.node().label(), t);
    else out[i] = Dim(t);
  }
  if (infer_at >= 0 && in) {
    // Cancel: input = known_in * symbols_in; output (without -1) = known_out * symbols_out.
    int64_t known_in = 1, known_out = 1;
    std::vector<std::string> sym_in, sym_out;
    bool ok = true;
    for (const Dim& d : *in) {
      if (d.known()) known_in *= d.value;
      else if (!d.symbol.empty()) sym_in.push_back(d.symbol);
      else ok = false;
    }
    for (size_t i = 0; i < out.size() && ok; ++i) {
      if (static_cast<int64_t>(i) == infer_at) continue;
      if (out[i].known()) known_out *= out[i].value;
      else if (!out[i].symbol.empty()) sym_out.push_back(out[i].symbol);
      else ok = false;
    }
    for (const std::string& s : sym_out) {
      auto it = std::find(sym_in.begin(), sym_in.end(), s);
      if (it == sym_in.end()) {
        ok = false;
        break;
      }
      sym_in.erase(it);
    }
    Dim solved;
    if (ok && known_out != 0 && known_in % known_out == 0) {
      if (sym_in.empty()) solved = Dim(known_in / known_out);
      else if (sym_in.size() == 1 && known_in == known_out) solved = Dim::named(sym_in[0]);
    }
    out[static_cast<size_t>(infer_at)] = solved;
  }
  ctx.set_output_tensor(0, dt, out);
}

// ---- Flatten ----

int64_t flatten_axis(const Node& n, int64_t opset, int64_t rank) {
  int64_t axis = n.attr_int("axis", 1);
  if (axis < 0 && opset >= 11) axis += rank;
  if (axis < 0 || axis > rank) fail("{}: axis {} is out of range for rank {}", n.label(), n.attr_int("axis", 1), rank);
  return axis;
}

void flatten(OpContext& ctx) {
  const Shape& s = ctx.input(0).shape();
  size_t axis = static_cast<size_t>(flatten_axis(ctx.node(), ctx.opset(), ctx.input(0).rank()));
  int64_t outer = 1, inner = 1;
  for (size_t i = 0; i < s.size(); ++i) (i < axis ? outer : inner) *= s[i];
  copy_all(ctx, {outer, inner});
}

// Product of a range of symbolic dims: known, a lone symbol times 1, or unknown.
Dim sym_product(const SymShape& s, size_t begin, size_t end) {
  if (auto p = known_product(s, begin, end)) return Dim(*p);
  int64_t known = 1, unknown = 0;
  Dim sym;
  for (size_t i = begin; i < end; ++i) {
    if (s[i].known()) known *= s[i].value;
    else {
      ++unknown;
      sym = s[i];
    }
  }
  return unknown == 1 && known == 1 ? sym : Dim();
}

void infer_flatten(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  if (!s) {
    ctx.set_output_tensor(0, ctx.input_dtype(0), SymShape(2));
    return;
  }
  size_t axis = static_cast<size_t>(flatten_axis(ctx.node(), ctx.opset(), static_cast<int64_t>(s->size())));
  ctx.set_output_tensor(0, ctx.input_dtype(0), SymShape{sym_product(*s, 0, axis), sym_product(*s, axis, s->size())});
}

// ---- Squeeze / Unsqueeze ----

// Axes from the attribute (before opset 13) or the optional second input (13+); nullopt when absent.
std::optional<std::vector<int64_t>> axes_of(const OpContext& ctx) {
  if (ctx.opset() < 13) {
    if (!ctx.node().has_attr("axes")) return std::nullopt;
    return ctx.node().attr_ints("axes");
  }
  if (!ctx.has_input(1)) return std::nullopt;
  return input_ints(ctx, 1, "axes");
}

// nullopt axes with `known` true means "no axes given"; known false means "axes not known at plan time".
std::optional<std::vector<int64_t>> axes_of(const InferenceContext& ctx, bool& known) {
  known = true;
  if (ctx.opset() < 13) {
    if (!ctx.node().has_attr("axes")) return std::nullopt;
    return ctx.node().attr_ints("axes");
  }
  if (!ctx.has_input(1)) return std::nullopt;
  auto v = const_ints(ctx, 1);
  known = v.has_value();
  return v;
}

void squeeze(OpContext& ctx) {
  const Shape& s = ctx.input(0).shape();
  auto axes = axes_of(ctx);
  std::vector<bool> drop(s.size(), false);
  if (axes) {
    for (int64_t a : normalize_axes(*axes, static_cast<int64_t>(s.size()), ctx.node())) {
      if (s[static_cast<size_t>(a)] != 1)
        fail("{}: cannot squeeze axis {} of size {}", ctx.node().label(), a, s[static_cast<size_t>(a)]);
      drop[static_cast<size_t>(a)] = true;
    }
  } else {
    for (size_t i = 0; i < s.size(); ++i) drop[i] = s[i] == 1;
  }
  Shape out;
  for (size_t i = 0; i < s.size(); ++i)
    if (!drop[i]) out.push_back(s[i]);
  copy_all(ctx, out);
}

void infer_squeeze(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  bool known = true;
  auto axes = axes_of(ctx, known);
  if (!s || !known) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  std::vector<bool> drop(s->size(), false);
  if (axes) {
    for (int64_t a : normalize_axes(*axes, static_cast<int64_t>(s->size()), ctx.node())) {
      const Dim& d = (*s)[static_cast<size_t>(a)];
      if (d.known() && d.value != 1) fail("{}: cannot squeeze axis {} of size {}", ctx.node().label(), a, d.value);
      drop[static_cast<size_t>(a)] = true;
    }
  } else {
    for (size_t i = 0; i < s->size(); ++i) {
      if (!(*s)[i].known()) {  // whether it is 1 decides the rank
        ctx.set_output_tensor(0, dt, std::nullopt);
        return;
      }
      drop[i] = (*s)[i].value == 1;
    }
  }
  SymShape out;
  for (size_t i = 0; i < s->size(); ++i)
    if (!drop[i]) out.push_back((*s)[i]);
  ctx.set_output_tensor(0, dt, out);
}

// Output shape of Unsqueeze, generic over Dim / int64_t.
template <typename D>
std::vector<D> unsqueeze_shape(const std::vector<D>& in, const std::vector<int64_t>& axes, const Node& n) {
  int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : normalize_axes(axes, out_rank, n)) inserted[static_cast<size_t>(a)] = true;
  std::vector<D> out;
  size_t k = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(inserted[static_cast<size_t>(i)] ? D(1) : in[k++]);
  return out;
}

void unsqueeze(OpContext& ctx) {
  auto axes = axes_of(ctx);
  if (!axes) fail("{}: axes are required", ctx.node().label());
  copy_all(ctx, unsqueeze_shape(ctx.input(0).shape(), *axes, ctx.node()));
}

void infer_unsqueeze(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  bool known = true;
  auto axes = axes_of(ctx, known);
  if (s && axes) {
    ctx.set_output_tensor(0, dt, unsqueeze_shape(*s, *axes, ctx.node()));
    return;
  }
  ctx.set_output_tensor(0, dt, std::nullopt);
}

}  // namespace

HONE_REGISTER_OP({.name = "Reshape", .since = 1, .infer = infer_reshape, .compute = reshape});
HONE_REGISTER_OP({.name = "Flatten", .since = 1, .infer = infer_flatten, .compute = flatten});
HONE_REGISTER_OP({.name = "Squeeze", .since = 1, .infer = infer_squeeze, .compute = squeeze});
HONE_REGISTER_OP({.name = "Unsqueeze", .since = 1, .infer = infer_unsqueeze, .compute = unsqueeze});

}  // namespace hone
