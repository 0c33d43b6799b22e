// Fast data-movement kernels for any element type of 1, 2, 4, 8 or 16 bytes (the bits are never looked at):
// Transpose, Slice, Expand, Tile and Gather (Concat and Split are in concat_split_kernels.cc). Each plans its copy
// once for the concrete shapes it was created for (copy_engine.h) and moves contiguous runs with memcpy:
//   - a strided view (Slice, Expand, Tile, a Transpose that keeps the last axis) is simplified first: size-1 dims
//     dropped, dims that stay contiguous merged, so the innermost run is as long as it can be;
//   - a Transpose that moves the last axis becomes a blocked 2-D transpose of the innermost swap, with the other dims
//     as outer loops (after the same simplification, ShuffleNet's channel shuffle is three dims of memcpy runs);
//   - Gather copies one inner run per index, checking every index first.
// Large copies are split over the session's threads. A run whose input is not what was planned falls back to the
// reference kernel, which checks and reports.
#include <cstring>

#include "kernels/cpu/copy_engine.h"
#include "ops/op_helpers.h"
#include "ops/tensor/slice.h"

namespace hone::cpu::copy {
namespace {

// ---- Transpose ----

std::vector<int64_t> transpose_perm(const Node& n, int64_t rank) {
  std::vector<int64_t> perm = n.attr_ints("perm");
  if (!n.has_attr("perm"))
    for (int64_t i = rank; i-- > 0;) perm.push_back(i);
  if (static_cast<int64_t>(perm.size()) != rank) return {};
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t& p : perm) {
    if (p < -rank || p >= rank) return {};
    if (p < 0) p += rank;
    if (seen[static_cast<size_t>(p)]) return {};
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

class TransposeKernel final : public Kernel {
 public:
  TransposeKernel(DType dtype, Shape in, const std::vector<int64_t>& perm, const OpSchema& reference)
      : dtype_(dtype), in_(std::move(in)), reference_(reference) {
    size_t elem = dtype_size(dtype);
    for (int64_t p : perm) out_.push_back(in_[static_cast<size_t>(p)]);
    Shape rin;
    std::vector<int64_t> rperm;
    simplify_transpose(in_, perm, rin, rperm);
    size_t r = rin.size();
    if (r <= 1 || rperm[r - 1] == static_cast<int64_t>(r) - 1) {  // the last axis stays: runs of it are contiguous
      std::vector<int64_t> in_strides = strides_of(rin), strides(r);
      Shape rout(r);
      for (size_t i = 0; i < r; ++i) {
        rout[i] = rin[static_cast<size_t>(rperm[i])];
        strides[i] = in_strides[static_cast<size_t>(rperm[i])];
      }
      strided_ = plan_strided(rout, strides, 0, elem);
    } else {
      tiled_ = true;
      tile_ = plan_tile_transpose(rin, rperm, elem, active_isa());
    }
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != dtype_ || x.shape() != in_) return reference_.compute(ctx);
    Tensor& y = ctx.output_uninitialized(0, dtype_, out_);
    if (!tiled_) return run_strided(strided_, x.raw(), y.raw(), ctx.threads());
    if (y.numel() == 0) return;
    run_tile_transpose(tile_, x.raw(), y.raw(), copy_threads(static_cast<int64_t>(y.nbytes()), ctx.threads()));
  }
  std::string name() const override {
    return !tiled_ ? "copy_transpose_runs" : tile_.avx2 ? "copy_transpose_tiled_avx2" : "copy_transpose_tiled";
  }

 private:
  DType dtype_;
  Shape in_, out_;
  const OpSchema& reference_;
  bool tiled_ = false;
  StridedCopy strided_;
  TileTranspose tile_;
};

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Transpose",
    .name = "copy_transpose",
    .priority = 10,
    .applies =
        [](const KernelQuery& q) {
          if (q.input_types.empty() || !q.input_types[0] || !movable(q.input_types[0]->elem)) return false;
          std::optional<Shape> in = concrete(q.input_types[0]);
          if (!in || in->size() > 16) return false;
          std::vector<int64_t> perm = transpose_perm(q.node, static_cast<int64_t>(in->size()));
          return perm.size() == in->size();
        },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          Shape in = *concrete(q.input_types[0]);
          return std::make_unique<TransposeKernel>(q.input_types[0]->elem, in,
                                                   transpose_perm(q.node, static_cast<int64_t>(in.size())),
                                                   reference_of(q));
        },
});

// ---- Slice ----

struct SlicePlan {
  DType dtype;
  Shape in, out;
  StridedCopy copy;
};

std::optional<SlicePlan> plan_slice(const KernelQuery& q) {
  if (q.input_types.empty() || !q.input_types[0] || !movable(q.input_types[0]->elem)) return std::nullopt;
  std::optional<Shape> in = concrete(q.input_types[0]);
  if (!in || in->size() > 16) return std::nullopt;
  std::vector<int64_t> starts, ends, axes, steps;
  if (q.opset < 10) {
    starts = q.node.attr_ints("starts");
    ends = q.node.attr_ints("ends");
    axes = q.node.attr_ints("axes");
  } else {
    std::optional<std::vector<int64_t>> s = constant_ints(q, 1), e = constant_ints(q, 2), a = constant_ints(q, 3),
                                        st = constant_ints(q, 4);
    if (!s || !e || !a || !st || q.input_types.size() < 3 || !q.input_types[1] || !q.input_types[2])
      return std::nullopt;
    starts = *s, ends = *e, axes = *a, steps = *st;
  }
  int64_t rank = static_cast<int64_t>(in->size());
  if (starts.size() != ends.size()) return std::nullopt;
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (axes.size() != starts.size() || (!steps.empty() && steps.size() != starts.size())) return std::nullopt;
  std::vector<AxisSlice> sl(in->size());
  std::vector<bool> seen(in->size(), false);
  for (size_t d = 0; d < in->size(); ++d) sl[d] = {0, 1, (*in)[d]};
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i];
    if (a < -rank || a >= rank) return std::nullopt;
    size_t d = static_cast<size_t>(a < 0 ? a + rank : a);
    if (seen[d]) return std::nullopt;
    seen[d] = true;
    int64_t step = steps.empty() ? 1 : steps[i];
    if (step == 0) return std::nullopt;
    sl[d] = resolve_slice_axis(starts[i], ends[i], step, (*in)[d], q.node);
  }
  SlicePlan p{q.input_types[0]->elem, *in, Shape(in->size()), {}};
  std::vector<int64_t> in_strides = strides_of(*in), strides(in->size());
  int64_t base = 0;
  for (size_t d = 0; d < in->size(); ++d) {
    p.out[d] = sl[d].count;
    strides[d] = in_strides[d] * sl[d].step;
    base += sl[d].start * in_strides[d];
  }
  p.copy = plan_strided(p.out, strides, base, dtype_size(p.dtype));
  return p;
}

// Slice, Expand and Tile: a strided view of the input, planned once.
class StridedViewKernel final : public Kernel {
 public:
  StridedViewKernel(std::string name, DType dtype, Shape in, Shape out, StridedCopy copy, const OpSchema& reference)
      : name_(std::move(name)), dtype_(dtype), in_(std::move(in)), out_(std::move(out)), copy_(std::move(copy)),
        reference_(reference) {}

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != dtype_ || x.shape() != in_) return reference_.compute(ctx);
    Tensor& y = ctx.output_uninitialized(0, dtype_, out_);
    run_strided(copy_, x.raw(), y.raw(), ctx.threads());
  }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  DType dtype_;
  Shape in_, out_;
  StridedCopy copy_;
  const OpSchema& reference_;
};

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Slice",
    .name = "copy_slice",
    .priority = 10,
    .applies =
        [](const KernelQuery& q) {
          std::optional<SlicePlan> p = plan_slice(q);
          return p && strided_fits(p->copy);
        },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          SlicePlan p = *plan_slice(q);
          return std::make_unique<StridedViewKernel>("copy_slice", p.dtype, p.in, p.out, p.copy, reference_of(q));
        },
});

// ---- Expand and Tile ----

std::optional<StridedCopy> plan_expand(const KernelQuery& q, Shape& in, Shape& out) {
  if (q.input_types.size() < 2 || !q.input_types[0] || !movable(q.input_types[0]->elem)) return std::nullopt;
  std::optional<Shape> s = concrete(q.input_types[0]);
  std::optional<std::vector<int64_t>> target = constant_ints(q, 1);
  if (!s || !target || !q.input_types[1] || q.input_constants[1]->rank() != 1) return std::nullopt;
  in = *s;
  size_t r = std::max(in.size(), target->size());
  if (r > 16) return std::nullopt;
  out.assign(r, 1);
  for (size_t i = 0; i < r; ++i) {
    int64_t a = i < r - in.size() ? 1 : in[i - (r - in.size())];
    int64_t b = i < r - target->size() ? 1 : (*target)[i - (r - target->size())];
    if (a != b && a != 1 && b != 1) return std::nullopt;
    if (b < 0) return std::nullopt;
    out[i] = a == 1 ? b : a;
  }
  return plan_strided(out, broadcast_strides(in, out), 0, dtype_size(q.input_types[0]->elem));
}

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Expand",
    .name = "copy_expand",
    .priority = 10,
    .applies =
        [](const KernelQuery& q) {
          Shape in, out;
          return plan_expand(q, in, out).has_value();
        },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          Shape in, out;
          StridedCopy c = *plan_expand(q, in, out);
          return std::make_unique<StridedViewKernel>("copy_expand", q.input_types[0]->elem, in, out, c,
                                                     reference_of(q));
        },
});

// Tile: output dim d of size reps*dim read as [reps, dim] with source strides [0, stride].
std::optional<StridedCopy> plan_tile(const KernelQuery& q, Shape& in, Shape& out) {
  if (q.input_types.size() < 2 || !q.input_types[0] || !movable(q.input_types[0]->elem)) return std::nullopt;
  std::optional<Shape> s = concrete(q.input_types[0]);
  std::optional<std::vector<int64_t>> reps = constant_ints(q, 1);
  if (!s || !reps || !q.input_types[1] || reps->size() != s->size() || 2 * s->size() > 16) return std::nullopt;
  in = *s;
  out = in;
  Shape split;
  std::vector<int64_t> strides, in_strides = strides_of(in);
  for (size_t d = 0; d < in.size(); ++d) {
    int64_t r = (*reps)[d];
    if (r < 0 || (r > 0 && in[d] > kMaxTensorElements / r)) return std::nullopt;
    out[d] *= r;
    split.push_back(r);
    strides.push_back(0);
    split.push_back(in[d]);
    strides.push_back(in_strides[d]);
  }
  for (int64_t d : out)
    if (d > 0 && shape_numel(in) > kMaxTensorElements / d) return std::nullopt;
  return plan_strided(split, strides, 0, dtype_size(q.input_types[0]->elem));
}

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Tile",
    .name = "copy_tile",
    .priority = 10,
    .applies =
        [](const KernelQuery& q) {
          Shape in, out;
          return plan_tile(q, in, out).has_value();
        },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          Shape in, out;
          StridedCopy c = *plan_tile(q, in, out);
          return std::make_unique<StridedViewKernel>("copy_tile", q.input_types[0]->elem, in, out, c,
                                                     reference_of(q));
        },
});

// ---- Gather ----

template <typename I>
void check_indices(const I* idx, int64_t n, int64_t dim, const Node& node) {
  for (int64_t k = 0; k < n; ++k)
    if (idx[k] < -dim || idx[k] >= dim)
      fail("{}: index {} is out of range [{}, {})", node.label(), static_cast<int64_t>(idx[k]), -dim, dim);
}

// y[o, k, :] = x[o, idx[k], :] for rows [begin, end) of outer * n_idx; indices already checked.
template <typename T, typename I>
void gather_rows(const T* x, const I* idx, T* y, int64_t n_idx, int64_t dim, int64_t inner, int64_t begin,
                 int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    int64_t o = r / n_idx, k = r % n_idx;
    int64_t i = static_cast<int64_t>(idx[k]);
    if (i < 0) i += dim;
    const T* s = x + (o * dim + i) * inner;
    if (inner == 1) y[r] = *s;
    else std::memcpy(y + r * inner, s, static_cast<size_t>(inner) * sizeof(T));
  }
}

// Where Gather reads: y[o, k, :] = x[o, idx[k], :] with `outer` leading rows and `inner` elements per index.
struct GatherGeometry {
  Shape x, indices, out;
  size_t axis = 0;
  int64_t dim = 0, outer = 1, inner = 1;
};

GatherGeometry gather_geometry(const Shape& x, const Shape& indices, size_t axis) {
  GatherGeometry g{x, indices, Shape(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(axis)), axis, x[axis], 1, 1};
  g.out.insert(g.out.end(), indices.begin(), indices.end());
  g.out.insert(g.out.end(), x.begin() + static_cast<std::ptrdiff_t>(axis) + 1, x.end());
  for (size_t d = 0; d < axis; ++d) g.outer *= x[d];
  for (size_t d = axis + 1; d < x.size(); ++d) g.inner *= x[d];
  return g;
}

class GatherKernel final : public Kernel {
 public:
  // `planned`: the geometry for the shapes known at plan time; `constant`: constant indices, already checked
  // against (and normalized for) the planned dim.
  GatherKernel(std::optional<GatherGeometry> planned, std::optional<std::vector<int64_t>> constant,
               const OpSchema& reference)
      : planned_(std::move(planned)), constant_(std::move(constant)), reference_(reference) {}

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    const Node& node = ctx.node();
    if (!movable(x.dtype()) || (ind.dtype() != DType::Int32 && ind.dtype() != DType::Int64) || x.rank() == 0)
      return reference_.compute(ctx);
    bool as_planned = planned_ && x.shape() == planned_->x && ind.shape() == planned_->indices;
    std::optional<GatherGeometry> dynamic;  // shapes the plan did not know: worked out (and allocated) here
    if (!as_planned)
      dynamic = gather_geometry(x.shape(), ind.shape(),
                                static_cast<size_t>(normalize_axis(node.attr_int("axis", 0), x.rank(), node)));
    const GatherGeometry& g = as_planned ? *planned_ : *dynamic;
    int64_t n_idx = ind.numel();
    bool use_constant = constant_ && as_planned;
    if (!use_constant) {
      if (ind.dtype() == DType::Int32) check_indices(ind.data<int32_t>(), n_idx, g.dim, node);
      else check_indices(ind.data<int64_t>(), n_idx, g.dim, node);
    }
    Tensor& y = ctx.output_uninitialized(0, x.dtype(), g.out);
    if (y.numel() == 0) return;
    size_t elem = dtype_size(x.dtype());
    int threads = copy_threads(static_cast<int64_t>(y.nbytes()), ctx.threads());
    const void* px = x.raw();
    void* py = y.raw();
    auto body = [&](const auto* idx) {
      parallel_ranges(g.outer * n_idx, threads, [&](int64_t b, int64_t e) {
        HONE_COPY_DISPATCH(elem, gather_rows<T>(static_cast<const T*>(px), idx, static_cast<T*>(py), n_idx, g.dim,
                                                g.inner, b, e));
      });
    };
    if (use_constant) body(constant_->data());
    else if (ind.dtype() == DType::Int32) body(ind.data<int32_t>());
    else body(ind.data<int64_t>());
  }
  std::string name() const override { return constant_ ? "copy_gather_const" : "copy_gather"; }

 private:
  std::optional<GatherGeometry> planned_;
  std::optional<std::vector<int64_t>> constant_;
  const OpSchema& reference_;
};

// The geometry when both shapes are concrete and the axis is valid.
std::optional<GatherGeometry> plan_gather(const KernelQuery& q) {
  std::optional<Shape> x = concrete(q.input_types[0]), indices = concrete(q.input_types[1]);
  if (!x || !indices || x->empty()) return std::nullopt;
  int64_t rank = static_cast<int64_t>(x->size()), axis = q.node.attr_int("axis", 0);
  if (axis < -rank || axis >= rank) return std::nullopt;
  return gather_geometry(*x, *indices, static_cast<size_t>(axis < 0 ? axis + rank : axis));
}

// The constant indices, normalized, when the shapes are planned and every index is in range.
std::optional<std::vector<int64_t>> gather_constant(const KernelQuery& q, const std::optional<GatherGeometry>& g) {
  const Tensor* t = q.input_constants.size() > 1 ? q.input_constants[1] : nullptr;
  if (!t || !g) return std::nullopt;
  std::vector<int64_t> v = t->to_int64_vector();
  for (int64_t& i : v) {
    if (i < -g->dim || i >= g->dim) return std::nullopt;
    if (i < 0) i += g->dim;
  }
  return v;
}

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Gather",
    .name = "copy_gather",
    .priority = 10,
    .applies =
        [](const KernelQuery& q) {
          if (q.input_types.size() != 2 || !q.input_types[0] || !q.input_types[1]) return false;
          if (!movable(q.input_types[0]->elem)) return false;
          DType it = q.input_types[1]->elem;
          if (it != DType::Int32 && it != DType::Int64) return false;
          // Out-of-range constant indices: the reference kernel reports them when the node runs.
          return !q.input_constants[1] || !plan_gather(q) || gather_constant(q, plan_gather(q)).has_value();
        },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          std::optional<GatherGeometry> g = plan_gather(q);
          std::optional<std::vector<int64_t>> c = gather_constant(q, g);
          return std::make_unique<GatherKernel>(std::move(g), std::move(c), reference_of(q));
        },
});

}  // namespace
}  // namespace hone::cpu::copy
