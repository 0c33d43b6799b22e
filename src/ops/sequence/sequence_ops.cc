// Sequence ops (opset 11+): SequenceEmpty, SequenceConstruct, SequenceInsert, SequenceAt, SequenceErase,
// SequenceLength, ConcatFromSequence, SplitToSequence. A sequence is a Value of kind Sequence whose element type
// is known even when it is empty.
#include "ops/control/value_types.h"

namespace hone {
namespace {

const Value& sequence_input(OpContext& ctx, size_t i) {
  const Value& v = ctx.input_value(i);
  if (!v.is_sequence()) fail("{}: input {} must be a sequence", ctx.node().label(), i);
  return v;
}

// Position input (int32/int64 scalar) normalised against a sequence of `n`; `n_end` is the largest valid
// position after normalising (n for insertion, n - 1 for access).
int64_t sequence_position(OpContext& ctx, size_t i, int64_t n, int64_t last) {
  const Tensor& p = ctx.input(i);
  if (p.numel() != 1 || (p.dtype() != DType::Int32 && p.dtype() != DType::Int64))
    fail("{}: position must be an int32 or int64 scalar, is {}[{}]", ctx.node().label(), dtype_name(p.dtype()),
         shape_str(p.shape()));
  int64_t pos = p.get_int(0);
  int64_t k = pos < 0 ? pos + n : pos;
  if (k < 0 || k > last) fail("{}: position {} is out of range for a sequence of {}", ctx.node().label(), pos, n);
  return k;
}

void check_elem(OpContext& ctx, DType seq, const Tensor& t) {
  if (seq != DType::Undefined && t.dtype() != seq)
    fail("{}: tensor of type {} does not match the sequence's element type {}", ctx.node().label(), dtype_name(t.dtype()),
         dtype_name(seq));
}

// Shapes every element shares: equal dims kept, differing dims unknown, differing ranks unknown rank.
std::optional<SymShape> merge_shapes(const std::optional<SymShape>& a, const std::optional<SymShape>& b) {
  if (!a || !b || a->size() != b->size()) return std::nullopt;
  SymShape r = *a;
  for (size_t i = 0; i < r.size(); ++i)
    if (!(r[i] == (*b)[i]) || (!r[i].known() && r[i].symbol.empty())) r[i] = Dim();
  return r;
}

const TypeInfo* sequence_inner(const InferenceContext& ctx, size_t i) {
  const TypeInfo& t = ctx.input_type(i);
  return t.kind == TypeInfo::Kind::Sequence && t.inner ? t.inner.get() : nullptr;
}

// SequenceEmpty -------------------------------------------------------------------------------------------------
DType empty_dtype(const Node& node) {
  int64_t code = node.attr_int("dtype", static_cast<int64_t>(DType::Float32));
  if (code < 0 || code > INT32_MAX || !dtype_is_valid(static_cast<int32_t>(code)) || code == 0)
    fail("{}: dtype {} is not a valid element type", node.label(), code);
  return static_cast<DType>(code);
}
void sequence_empty(OpContext& ctx) { ctx.set_output(0, Value::of_sequence({}, empty_dtype(ctx.node()))); }
void infer_sequence_empty(InferenceContext& ctx) { ctx.set_output(0, sequence_type(empty_dtype(ctx.node()))); }

// SequenceConstruct ---------------------------------------------------------------------------------------------
void sequence_construct(OpContext& ctx) {
  if (ctx.num_inputs() == 0) fail("{}: needs at least one input", ctx.node().label());
  std::vector<Tensor> items;
  DType elem = ctx.input(0).dtype();
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    check_elem(ctx, elem, t);
    items.push_back(t);
  }
  ctx.set_output(0, Value::of_sequence(std::move(items), elem));
}
void infer_sequence_construct(InferenceContext& ctx) {
  if (ctx.num_inputs() == 0) return;
  std::optional<SymShape> shape = ctx.input_type(0).shape;
  for (size_t i = 1; i < ctx.num_inputs(); ++i) shape = merge_shapes(shape, ctx.input_type(i).shape);
  ctx.set_output(0, sequence_type(ctx.input_dtype(0), shape));
}

// SequenceInsert ------------------------------------------------------------------------------------------------
void sequence_insert(OpContext& ctx) {
  const Value& s = sequence_input(ctx, 0);
  const Tensor& t = ctx.input(1);
  check_elem(ctx, s.sequence_elem, t);
  int64_t n = static_cast<int64_t>(s.sequence.size());
  int64_t pos = ctx.has_input(2) ? sequence_position(ctx, 2, n, n) : n;
  std::vector<Tensor> items = s.sequence;
  items.insert(items.begin() + pos, t);
  ctx.set_output(0, Value::of_sequence(std::move(items), t.dtype()));
}
void infer_sequence_insert(InferenceContext& ctx) {
  const TypeInfo* inner = sequence_inner(ctx, 0);
  DType elem = inner && inner->elem != DType::Undefined ? inner->elem : ctx.input_dtype(1);
  std::optional<SymShape> shape = inner ? merge_shapes(inner->shape, ctx.input_type(1).shape) : std::nullopt;
  ctx.set_output(0, sequence_type(elem, shape));
}

// SequenceAt ----------------------------------------------------------------------------------------------------
void sequence_at(OpContext& ctx) {
  const Value& s = sequence_input(ctx, 0);
  int64_t n = static_cast<int64_t>(s.sequence.size());
  int64_t pos = sequence_position(ctx, 1, n, n - 1);
  ctx.set_output(0, Value::of(s.sequence[static_cast<size_t>(pos)]));
}
void infer_sequence_at(InferenceContext& ctx) {
  if (const TypeInfo* inner = sequence_inner(ctx, 0)) ctx.set_output(0, *inner);
}

// SequenceErase -------------------------------------------------------------------------------------------------
void sequence_erase(OpContext& ctx) {
  const Value& s = sequence_input(ctx, 0);
  int64_t n = static_cast<int64_t>(s.sequence.size());
  if (n == 0) fail("{}: cannot erase from an empty sequence", ctx.node().label());
  int64_t pos = ctx.has_input(1) ? sequence_position(ctx, 1, n, n - 1) : n - 1;
  std::vector<Tensor> items = s.sequence;
  items.erase(items.begin() + pos);
  ctx.set_output(0, Value::of_sequence(std::move(items), s.sequence_elem));
}
void infer_sequence_erase(InferenceContext& ctx) {
  if (ctx.input_type(0).kind == TypeInfo::Kind::Sequence) ctx.set_output(0, ctx.input_type(0));
}

// SequenceLength ------------------------------------------------------------------------------------------------
void sequence_length(OpContext& ctx) {
  const Value& s = sequence_input(ctx, 0);
  ctx.set_output(0, Value::of(scalar_tensor(DType::Int64, static_cast<int64_t>(s.sequence.size()))));
}
void infer_sequence_length(InferenceContext& ctx) { ctx.set_output_tensor(0, DType::Int64, SymShape{}); }

// ConcatFromSequence --------------------------------------------------------------------------------------------
void concat_from_sequence(OpContext& ctx) {
  const Node& node = ctx.node();
  const Value& s = sequence_input(ctx, 0);
  int64_t new_axis = node.attr_int("new_axis", 0);
  if (new_axis != 0 && new_axis != 1) fail("{}: new_axis must be 0 or 1, got {}", node.label(), new_axis);
  if (s.sequence.empty()) fail("{}: cannot concatenate an empty sequence", node.label());
  const Tensor& first = s.sequence[0];
  int64_t rank = first.rank();
  int64_t axis = normalize_axis(node.require_int("axis"), rank + new_axis, node);
  if (!new_axis && rank == 0) fail("{}: cannot concatenate scalars without new_axis", node.label());
  // With new_axis each element gains a dim of 1 at `axis`; then it is an ordinary concatenation.
  Shape out = first.shape();
  if (new_axis) out.insert(out.begin() + axis, 0);
  else out[static_cast<size_t>(axis)] = 0;
  for (size_t i = 0; i < s.sequence.size(); ++i) {
    const Tensor& t = s.sequence[i];
    bool same = t.rank() == rank && t.dtype() == first.dtype();
    for (int64_t d = 0; same && d < rank; ++d)
      if ((new_axis || d != axis) && t.dim(static_cast<int>(d)) != first.dim(static_cast<int>(d))) same = false;
    if (!same)
      fail("{}: element {} ({}[{}]) does not match element 0 ({}[{}])", node.label(), i, dtype_name(t.dtype()),
           shape_str(t.shape()), dtype_name(first.dtype()), shape_str(first.shape()));
    out[static_cast<size_t>(axis)] += new_axis ? 1 : t.dim(static_cast<int>(axis));
  }
  Tensor& y = ctx.output_uninitialized(0, first.dtype(), out);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < out.size(); ++d) inner *= out[d];
  int64_t out_axis = out[static_cast<size_t>(axis)];
  int64_t offset = 0;
  for (const Tensor& t : s.sequence) {
    int64_t len = new_axis ? 1 : t.dim(static_cast<int>(axis));
    for (int64_t o = 0; o < outer; ++o) copy_elements(t, o * len * inner, y, (o * out_axis + offset) * inner, len * inner);
    offset += len;
  }
}
void infer_concat_from_sequence(InferenceContext& ctx) {
  const TypeInfo* inner = sequence_inner(ctx, 0);
  if (!inner) return;
  std::optional<SymShape> shape;
  int64_t new_axis = ctx.node().attr_int("new_axis", 0);
  if (inner->shape && ctx.node().has_attr("axis") && (new_axis == 0 || new_axis == 1)) {
    SymShape s = *inner->shape;
    int64_t r = static_cast<int64_t>(s.size()) + new_axis;
    int64_t axis = ctx.node().attr_int("axis", 0);
    if (axis < -r || axis >= r || r == 0) fail("{}: axis {} is out of range for rank {}", ctx.node().label(), axis, r);
    if (axis < 0) axis += r;
    if (new_axis) s.insert(s.begin() + axis, Dim());
    else s[static_cast<size_t>(axis)] = Dim();
    shape = s;
  }
  ctx.set_output_tensor(0, inner->elem, shape);
}

// SplitToSequence -----------------------------------------------------------------------------------------------
void split_to_sequence(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) fail("{}: input must have rank >= 1", node.label());
  int64_t axis = normalize_axis(node.attr_int("axis", 0), x.rank(), node);
  int64_t dim = x.dim(static_cast<int>(axis));
  bool keepdims = node.attr_int("keepdims", 1) != 0;
  std::vector<int64_t> sizes;
  if (ctx.has_input(1)) {
    const Tensor& sp = ctx.input(1);
    if (!is_integer(sp.dtype())) fail("{}: split must be an integer tensor", node.label());
    keepdims = true;  // ignored when split is given
    if (sp.rank() == 0) {
      int64_t chunk = sp.get_int(0);
      if (chunk <= 0) fail("{}: split size must be positive, got {}", node.label(), chunk);
      for (int64_t done = 0; done < dim; done += chunk) sizes.push_back(std::min(chunk, dim - done));
    } else if (sp.rank() == 1) {
      sizes = sp.to_int64_vector();
      int64_t sum = 0;
      for (int64_t v : sizes) {
        if (v < 0) fail("{}: split sizes must be >= 0, got {}", node.label(), v);
        sum += v;
      }
      if (sum != dim) fail("{}: split sizes sum to {} but the axis has {}", node.label(), sum, dim);
    } else {
      fail("{}: split must be a scalar or 1-D, has shape {}", node.label(), shape_str(sp.shape()));
    }
  } else {
    sizes.assign(static_cast<size_t>(dim), 1);
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(static_cast<int>(d));
  for (int d = static_cast<int>(axis) + 1; d < x.rank(); ++d) inner *= x.dim(d);
  std::vector<Tensor> items;
  int64_t start = 0;
  for (int64_t len : sizes) {
    Shape s = x.shape();
    s[static_cast<size_t>(axis)] = len;
    Tensor t(x.dtype(), s);
    for (int64_t o = 0; o < outer; ++o) copy_elements(x, (o * dim + start) * inner, t, o * len * inner, len * inner);
    if (!keepdims) {
      s.erase(s.begin() + axis);
      t = t.reshaped(s);
    }
    items.push_back(std::move(t));
    start += len;
  }
  ctx.set_output(0, Value::of_sequence(std::move(items), x.dtype()));
}
void infer_split_to_sequence(InferenceContext& ctx) { ctx.set_output(0, sequence_type(ctx.input_dtype(0))); }

}  // namespace

HONE_REGISTER_OP({.name = "SequenceEmpty", .since = 11, .infer = infer_sequence_empty, .compute = sequence_empty});
HONE_REGISTER_OP({.name = "SequenceConstruct", .since = 11, .infer = infer_sequence_construct, .compute = sequence_construct});
HONE_REGISTER_OP({.name = "SequenceInsert", .since = 11, .infer = infer_sequence_insert, .compute = sequence_insert});
HONE_REGISTER_OP({.name = "SequenceAt", .since = 11, .infer = infer_sequence_at, .compute = sequence_at});
HONE_REGISTER_OP({.name = "SequenceErase", .since = 11, .infer = infer_sequence_erase, .compute = sequence_erase});
HONE_REGISTER_OP({.name = "SequenceLength", .since = 11, .infer = infer_sequence_length, .compute = sequence_length});
HONE_REGISTER_OP({.name = "ConcatFromSequence", .since = 11, .infer = infer_concat_from_sequence, .compute = concat_from_sequence});
HONE_REGISTER_OP({.name = "SplitToSequence", .since = 11, .infer = infer_split_to_sequence, .compute = split_to_sequence});

}  // namespace hone
