#include "ops/op_helpers.h"

#include <cstring>

namespace hone {

int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node) {
  if (axis < -rank || axis >= (rank == 0 ? 1 : rank))
    fail("{}: axis {} is out of range for rank {}", node.label(), axis, rank);
  return axis < 0 ? axis + rank : axis;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else fail("{}: shapes {} and {} do not broadcast", node.label(), shape_str(a), shape_str(b));
  }
  return out;
}

SymShape broadcast_sym_shapes(const SymShape& a, const SymShape& b) {
  size_t r = std::max(a.size(), b.size());
  SymShape out(r);
  for (size_t i = 0; i < r; ++i) {
    Dim da = i < r - a.size() ? Dim(1) : a[i - (r - a.size())];
    Dim db = i < r - b.size() ? Dim(1) : b[i - (r - b.size())];
    if (da.known() && db.known()) out[i] = da.value == 1 ? db : da;
    else if (da.known() && da.value == 1) out[i] = db;
    else if (db.known() && db.value == 1) out[i] = da;
    else if (!da.known() && !db.known() && !da.symbol.empty() && da.symbol == db.symbol) out[i] = da;
    else if (da.known()) out[i] = da;  // the other must broadcast to it (or be equal)
    else if (db.known()) out[i] = db;
    else out[i] = Dim();
  }
  return out;
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> s(out.size(), 0);
  std::vector<int64_t> is = strides_of(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[off + i] = in[i] == 1 ? 0 : is[i];
  return s;
}

void copy_elements(const Tensor& src, int64_t si, Tensor& dst, int64_t di, int64_t count) {
  if (src.dtype() == DType::String) {
    for (int64_t k = 0; k < count; ++k) dst.data<std::string>()[di + k] = src.data<std::string>()[si + k];
    return;
  }
  size_t es = dtype_size(src.dtype());
  std::memcpy(static_cast<char*>(dst.raw()) + di * static_cast<int64_t>(es),
              static_cast<const char*>(src.raw()) + si * static_cast<int64_t>(es), static_cast<size_t>(count) * es);
}

void infer_same_as_input(InferenceContext& ctx) {
  if (ctx.has_input(0)) ctx.set_output(0, ctx.input_type(0));
}

namespace {
void infer_broadcast_to(InferenceContext& ctx, DType out_type) {
  std::optional<SymShape> shape = SymShape{};
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    const SymShape* s = ctx.input_shape(i);
    if (!s) {
      shape.reset();
      break;
    }
    shape = broadcast_sym_shapes(*shape, *s);
  }
  ctx.set_output_tensor(0, out_type, shape);
}
}  // namespace

void infer_broadcast(InferenceContext& ctx) { infer_broadcast_to(ctx, ctx.input_dtype(0)); }
void infer_broadcast_bool(InferenceContext& ctx) { infer_broadcast_to(ctx, DType::Bool); }

}  // namespace hone
