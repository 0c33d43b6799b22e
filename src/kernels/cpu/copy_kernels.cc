// Fast data-movement kernels for any element type of 1, 2, 4, 8 or 16 bytes (the bits are never looked at):
// Transpose, Concat, Split, Slice, Gather, Expand and Tile. Each plans its copy once for the concrete shapes it was
// created for and moves contiguous runs with memcpy:
//   - a strided view (Slice, Expand, Tile, a Transpose that keeps the last axis) is simplified first: size-1 dims
//     dropped, dims that stay contiguous merged, so the innermost run is as long as it can be;
//   - a Transpose that moves the last axis becomes a blocked 2-D transpose of the innermost swap, with the other dims
//     as outer loops (after the same simplification, ShuffleNet's channel shuffle is three dims);
//   - Concat and Split copy each input's (output's) contiguous slab per outer index; channels-last rank-4 float
//     tensors concatenate along their N,H,W,C storage, so axis 1 interleaves channel runs per pixel.
// Large copies are split over the session's threads by output bytes. A run whose input is not what was planned
// falls back to the reference kernel, which checks and reports.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "ops/op_helpers.h"
#include "runtime/kernel.h"

namespace hone::cpu {
namespace {

// Below this many bytes per thread, starting threads costs more than it saves.
constexpr int64_t kMinBytesPerThread = 256 * 1024;

int copy_threads(int64_t bytes, int threads) {
  return static_cast<int>(std::clamp<int64_t>(bytes / kMinBytesPerThread, 1, std::max(threads, 1)));
}

// Calls f(begin, end) over [0, n) split into `threads` contiguous ranges (in parallel when threads > 1).
template <typename F>
void parallel_ranges(int64_t n, int threads, F f) {
  threads = static_cast<int>(std::min<int64_t>(threads, n));
  if (threads <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  int64_t per = (n + threads - 1) / threads;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; ++t) {
    int64_t b = t * per, e = std::min(n, b + per);
    if (b < e) f(b, e);
  }
}

bool movable(DType t) {
  if (t == DType::String || t == DType::Undefined) return false;
  size_t s = dtype_size(t);
  return s == 1 || s == 2 || s == 4 || s == 8 || s == 16;
}

struct Elem16 {
  uint64_t lo, hi;
};

// Runs BODY with T an unsigned type as wide as one element.
#define HONE_COPY_DISPATCH(elem, ...)                  \
  switch (elem) {                                      \
    case 1: { using T = uint8_t; __VA_ARGS__; break; }  \
    case 2: { using T = uint16_t; __VA_ARGS__; break; } \
    case 4: { using T = uint32_t; __VA_ARGS__; break; } \
    case 8: { using T = uint64_t; __VA_ARGS__; break; } \
    default: { using T = Elem16; __VA_ARGS__; break; }  \
  }

std::optional<Shape> concrete(const TypeInfo* t) {
  if (!t || !t->is_tensor() || !t->shape) return std::nullopt;
  return to_concrete(*t->shape);
}

const OpSchema& reference_schema(const KernelQuery& q) {
  const OpSchema* s = OpRegistry::instance().find(q.node.domain, q.node.op_type, q.opset);
  if (!s || !s->compute) fail("{}: no reference kernel", q.node.label());
  return *s;
}

// ---- strided views ----

// dst (contiguous, row-major over `dims` then `run`) = src read at base + sum(idx[d] * stride[d]) + j * run_stride.
struct StridedCopy {
  size_t elem = 1;
  std::vector<int64_t> dims, stride;  // outer dims and their source strides (elements)
  int64_t base = 0;
  int64_t run = 1, run_stride = 1;    // run_stride 1: memcpy, 0: fill with one element, else a strided read
  int64_t numel = 0;
};

// Drops size-1 dims and merges neighbours that the source walks contiguously, so the last dim is the longest run.
StridedCopy plan_strided(const Shape& shape, const std::vector<int64_t>& strides, int64_t base, size_t elem) {
  StridedCopy c;
  c.elem = elem;
  c.base = base;
  c.numel = shape_numel(shape);
  std::vector<int64_t> dims, st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!dims.empty() && st.back() == strides[d] * shape[d]) {
      dims.back() *= shape[d];
      st.back() = strides[d];
    } else {
      dims.push_back(shape[d]);
      st.push_back(strides[d]);
    }
  }
  if (!dims.empty()) {
    c.run = dims.back();
    c.run_stride = st.back();
    dims.pop_back();
    st.pop_back();
  }
  c.dims = std::move(dims);
  c.stride = std::move(st);
  return c;
}

template <typename T>
void strided_elements(const StridedCopy& c, const char* src, char* dst, int64_t begin, int64_t end) {
  const T* s = reinterpret_cast<const T*>(src);
  T* y = reinterpret_cast<T*>(dst);
  size_t r = c.dims.size();
  int64_t o = begin / c.run, j = begin % c.run;
  // Unravel the outer index o into the source offset.
  int64_t idx[16] = {}, off = c.base;
  for (size_t d = r, rem = static_cast<size_t>(o); d-- > 0;) {
    idx[d] = static_cast<int64_t>(rem) % c.dims[d];
    rem /= static_cast<size_t>(c.dims[d]);
    off += idx[d] * c.stride[d];
  }
  for (int64_t i = begin; i < end;) {
    int64_t n = std::min(c.run - j, end - i);
    const T* from = s + off + j * c.run_stride;
    if (c.run_stride == 1) {
      if (n == 1) y[i] = *from;
      else std::memcpy(y + i, from, static_cast<size_t>(n) * sizeof(T));
    } else if (c.run_stride == 0) {
      std::fill_n(y + i, n, *from);
    } else {
      for (int64_t k = 0; k < n; ++k) y[i + k] = from[k * c.run_stride];
    }
    i += n;
    j = 0;
    for (size_t d = r; d-- > 0;) {  // odometer
      if (++idx[d] < c.dims[d]) {
        off += c.stride[d];
        break;
      }
      off -= c.stride[d] * (c.dims[d] - 1);
      idx[d] = 0;
    }
  }
}

void run_strided(const StridedCopy& c, const void* src, void* dst, int threads) {
  if (c.numel == 0) return;
  const char* s = static_cast<const char*>(src);
  char* y = static_cast<char*>(dst);
  parallel_ranges(c.numel, copy_threads(c.numel * static_cast<int64_t>(c.elem), threads), [&](int64_t b, int64_t e) {
    HONE_COPY_DISPATCH(c.elem, strided_elements<T>(c, s, y, b, e));
  });
}

// Whether a plan fits the fixed-size odometer above.
bool strided_fits(const StridedCopy& c) { return c.dims.size() <= 16; }

// ---- Transpose ----

// The input shape and perm with size-1 axes dropped and axes that stay neighbours merged.
void simplify_transpose(const Shape& in, const std::vector<int64_t>& perm, Shape& rin, std::vector<int64_t>& rperm) {
  std::vector<int64_t> map(in.size(), -1), kept;
  int64_t next = 0;
  for (size_t a = 0; a < in.size(); ++a)
    if (in[a] != 1) map[a] = next++;
  for (int64_t p : perm)
    if (map[static_cast<size_t>(p)] >= 0) kept.push_back(map[static_cast<size_t>(p)]);
  Shape sizes;
  for (int64_t d : in)
    if (d != 1) sizes.push_back(d);
  // Groups of consecutive output axes that read consecutive input axes.
  std::vector<std::pair<int64_t, int64_t>> groups;  // [first, last] input axis, in output order
  for (int64_t a : kept) {
    if (!groups.empty() && groups.back().second + 1 == a) groups.back().second = a;
    else groups.push_back({a, a});
  }
  std::vector<size_t> by_input(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) by_input[g] = g;
  std::sort(by_input.begin(), by_input.end(), [&](size_t x, size_t y) { return groups[x].first < groups[y].first; });
  rin.assign(groups.size(), 1);
  rperm.assign(groups.size(), 0);
  for (size_t i = 0; i < by_input.size(); ++i) {
    const auto& [first, last] = groups[by_input[i]];
    for (int64_t a = first; a <= last; ++a) rin[i] *= sizes[static_cast<size_t>(a)];
    rperm[by_input[i]] = static_cast<int64_t>(i);
  }
}

// out[.., i_b (at output position j), .., i_a] = in[.., i_a (axis a), .., i_b (last axis)], tile by tile; the other
// axes and the blocks of i_a are outer loops.
struct TileTranspose {
  size_t elem = 1;
  std::vector<int64_t> dims, src_stride, dst_stride;  // outer loops; the last is the block of i_a
  int64_t m = 1, n = 1;     // lengths of i_a and i_b
  int64_t src_a = 1;        // source stride of i_a (i_b's is 1)
  int64_t dst_b = 1;        // output stride of i_b (i_a's is 1)
  int64_t block = 16;
  int64_t items = 0;
};

TileTranspose plan_tile_transpose(const Shape& rin, const std::vector<int64_t>& rperm, size_t elem) {
  size_t r = rin.size();
  std::vector<int64_t> in_strides = strides_of(rin);
  Shape out(r);
  for (size_t i = 0; i < r; ++i) out[i] = rin[static_cast<size_t>(rperm[i])];
  std::vector<int64_t> out_strides = strides_of(out);
  TileTranspose t;
  t.elem = elem;
  t.block = elem <= 4 ? 16 : 8;
  size_t a = static_cast<size_t>(rperm[r - 1]);
  t.m = rin[a];
  t.src_a = in_strides[a];
  t.n = rin[r - 1];
  for (size_t i = 0; i + 1 < r; ++i) {
    size_t src_axis = static_cast<size_t>(rperm[i]);
    if (src_axis == r - 1) {
      t.dst_b = out_strides[i];
      continue;
    }
    t.dims.push_back(out[i]);
    t.src_stride.push_back(in_strides[src_axis]);
    t.dst_stride.push_back(out_strides[i]);
  }
  t.dims.push_back((t.m + t.block - 1) / t.block);
  t.src_stride.push_back(t.block * t.src_a);
  t.dst_stride.push_back(t.block);
  t.items = 1;
  for (int64_t d : t.dims) t.items *= d;
  return t;
}

template <typename T>
void tile_items(const TileTranspose& t, const T* src, T* dst, int64_t begin, int64_t end) {
  size_t r = t.dims.size();
  int64_t idx[16] = {}, so = 0, dof = 0;
  for (size_t d = r, rem = static_cast<size_t>(begin); d-- > 0;) {
    idx[d] = static_cast<int64_t>(rem) % t.dims[d];
    rem /= static_cast<size_t>(t.dims[d]);
    so += idx[d] * t.src_stride[d];
    dof += idx[d] * t.dst_stride[d];
  }
  const int64_t bs = t.block, sa = t.src_a, db = t.dst_b;
  for (int64_t it = begin; it < end; ++it) {
    int64_t rows = std::min(bs, t.m - idx[r - 1] * bs);
    const T* s = src + so;
    T* y = dst + dof;
    for (int64_t b0 = 0; b0 < t.n; b0 += bs) {
      int64_t b1 = std::min(t.n, b0 + bs);
      for (int64_t ib = b0; ib < b1; ++ib) {
        T* yrow = y + ib * db;
        const T* scol = s + ib;
        for (int64_t ia = 0; ia < rows; ++ia) yrow[ia] = scol[ia * sa];
      }
    }
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < t.dims[d]) {
        so += t.src_stride[d];
        dof += t.dst_stride[d];
        break;
      }
      so -= t.src_stride[d] * (t.dims[d] - 1);
      dof -= t.dst_stride[d] * (t.dims[d] - 1);
      idx[d] = 0;
    }
  }
}

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
      tile_ = plan_tile_transpose(rin, rperm, elem);
    }
  }

  static bool fits(const Shape& in, const std::vector<int64_t>& perm) { return in.size() <= 16 && perm.size() == in.size(); }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != dtype_ || x.shape() != in_) return reference_.compute(ctx);
    Tensor& y = ctx.output_uninitialized(0, dtype_, out_);
    if (!tiled_) return run_strided(strided_, x.raw(), y.raw(), ctx.threads());
    if (y.numel() == 0) return;
    int threads = copy_threads(static_cast<int64_t>(y.nbytes()), ctx.threads());
    const void* s = x.raw();
    void* d = y.raw();
    parallel_ranges(tile_.items, threads, [&](int64_t b, int64_t e) {
      HONE_COPY_DISPATCH(tile_.elem, tile_items<T>(tile_, static_cast<const T*>(s), static_cast<T*>(d), b, e));
    });
  }
  std::string name() const override { return tiled_ ? "copy_transpose_tiled" : "copy_transpose_runs"; }

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
                                                   reference_schema(q));
        },
});

// ---- Concat and Split ----

// Where a logical axis of a rank-4 channels-last tensor sits in its N,H,W,C storage.
size_t storage_axis(size_t axis) { return axis == 0 ? 0 : axis == 1 ? 3 : axis - 1; }
Shape storage_shape(const Shape& nchw) { return {nchw[0], nchw[2], nchw[3], nchw[1]}; }

// A logical N,C,H,W float tensor as N,H,W,C (for constant inputs, which stay plain under channels-last).
Tensor to_channels_last(const Tensor& t) {
  const Shape& s = t.shape();
  Tensor y(DType::Float32, s);
  const float* x = t.data<float>();
  float* o = y.data<float>();
  int64_t c = s[1], hw = s[2] * s[3];
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t k = 0; k < c; ++k) o[(n * hw + p) * c + k] = x[(n * c + k) * hw + p];
  return y;
}

// The slabs of one side (the inputs of a Concat, the outputs of a Split) along the joined / cut axis: per outer
// index, part k is `bytes[k]` contiguous bytes; all parts together are one row of `total` bytes of the other side.
struct Slabs {
  int64_t outer = 1, total = 0;
  std::vector<int64_t> bytes;
};

Slabs plan_slabs(const std::vector<Shape>& parts, size_t axis, size_t elem) {
  Slabs s;
  const Shape& first = parts[0];
  int64_t inner = 1;
  for (size_t d = 0; d < axis; ++d) s.outer *= first[d];
  for (size_t d = axis + 1; d < first.size(); ++d) inner *= first[d];
  for (const Shape& p : parts) {
    s.bytes.push_back(p[axis] * inner * static_cast<int64_t>(elem));
    s.total += s.bytes.back();
  }
  return s;
}

// Copies bytes [begin, end) of the joined side. join: parts -> joined (Concat); else joined -> parts (Split).
// A null part pointer is an output nobody wants.
void copy_slabs(const Slabs& s, bool join, char* joined, char* const* parts, int64_t begin, int64_t end) {
  if (s.total == 0) return;
  int64_t o = begin / s.total, within = begin % s.total;
  size_t k = 0;
  int64_t start = 0;  // offset of part k in the row
  while (start + s.bytes[k] <= within) start += s.bytes[k++];
  for (int64_t at = begin; at < end;) {
    int64_t off = within - start;
    int64_t n = std::min(s.bytes[k] - off, end - at);
    if (n > 0 && parts[k]) {
      char* p = parts[k] + o * s.bytes[k] + off;
      if (join) std::memcpy(joined + at, p, static_cast<size_t>(n));
      else std::memcpy(p, joined + at, static_cast<size_t>(n));
    }
    at += n;
    within += n;
    start += s.bytes[k];
    if (++k == s.bytes.size()) {
      k = 0;
      start = within = 0;
      ++o;
    }
  }
}

int64_t concat_axis_attr(const Node& n, int64_t opset) {
  if (opset < 4) return n.attr_int("axis", 1);
  return n.attr_int("axis", INT64_MIN);
}

// Concrete shapes of the present inputs when they concatenate along `axis`, else nullopt.
struct ConcatPlan {
  DType dtype;
  std::vector<size_t> inputs;  // which node inputs take part
  std::vector<Shape> shapes;
  Shape out;
  size_t axis;
};

std::optional<ConcatPlan> plan_concat(const KernelQuery& q) {
  ConcatPlan p;
  for (size_t i = 0; i < q.input_types.size(); ++i) {
    if (!q.input_types[i]) continue;
    std::optional<Shape> s = concrete(q.input_types[i]);
    if (!s || !movable(q.input_types[i]->elem)) return std::nullopt;
    if (!p.shapes.empty() && (q.input_types[i]->elem != p.dtype || s->size() != p.shapes[0].size())) return std::nullopt;
    p.dtype = q.input_types[i]->elem;
    p.inputs.push_back(i);
    p.shapes.push_back(*s);
  }
  if (p.shapes.empty() || p.shapes[0].empty()) return std::nullopt;
  int64_t rank = static_cast<int64_t>(p.shapes[0].size()), axis = concat_axis_attr(q.node, q.opset);
  if (axis < -rank || axis >= rank) return std::nullopt;
  p.axis = static_cast<size_t>(axis < 0 ? axis + rank : axis);
  p.out = p.shapes[0];
  p.out[p.axis] = 0;
  for (const Shape& s : p.shapes) {
    for (size_t d = 0; d < s.size(); ++d)
      if (d != p.axis && s[d] != p.shapes[0][d]) return std::nullopt;
    p.out[p.axis] += s[p.axis];
  }
  return p;
}

class ConcatKernel final : public Kernel {
 public:
  ConcatKernel(ConcatPlan p, bool channels_last, const KernelQuery& q, const OpSchema& reference)
      : p_(std::move(p)), channels_last_(channels_last), reference_(reference) {
    std::vector<Shape> storage = p_.shapes;
    size_t axis = p_.axis;
    if (channels_last_) {
      for (Shape& s : storage) s = storage_shape(s);
      axis = storage_axis(axis);
      for (size_t k = 0; k < p_.inputs.size(); ++k) {
        const Tensor* c = q.input_constants[p_.inputs[k]];
        constants_.push_back(c ? to_channels_last(*c) : Tensor());
      }
    }
    slabs_ = plan_slabs(storage, axis, dtype_size(p_.dtype));
    srcs_.resize(p_.inputs.size());
  }

  void run(OpContext& ctx) override {
    for (size_t k = 0; k < p_.inputs.size(); ++k) {
      const Tensor& t = ctx.input(p_.inputs[k]);
      if (t.dtype() != p_.dtype || t.shape() != p_.shapes[k]) {
        if (channels_last_)
          fail("{}: input {} is {}{}, not the planned {}{}", ctx.node().label(), p_.inputs[k], dtype_name(t.dtype()),
               shape_str(t.shape()), dtype_name(p_.dtype), shape_str(p_.shapes[k]));
        return reference_.compute(ctx);
      }
      const Tensor& src = channels_last_ && constants_[k].numel() > 0 ? constants_[k] : t;
      srcs_[k] = const_cast<char*>(static_cast<const char*>(src.raw()));
    }
    Tensor& y = ctx.output_uninitialized(0, p_.dtype, p_.out);
    char* joined = static_cast<char*>(y.raw());
    int64_t bytes = static_cast<int64_t>(y.nbytes());
    parallel_ranges(bytes, copy_threads(bytes, ctx.threads()),
                    [&](int64_t b, int64_t e) { copy_slabs(slabs_, true, joined, srcs_.data(), b, e); });
  }
  std::string name() const override { return channels_last_ ? "copy_concat_nhwc" : "copy_concat"; }

 private:
  ConcatPlan p_;
  bool channels_last_;
  const OpSchema& reference_;
  Slabs slabs_;
  std::vector<Tensor> constants_;  // channels-last copies of constant inputs
  std::vector<char*> srcs_;
};

bool rank4_float(const ConcatPlan& p) { return p.dtype == DType::Float32 && p.shapes[0].size() == 4; }

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Concat",
    .name = "copy_concat",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return plan_concat(q).has_value(); },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          return std::make_unique<ConcatKernel>(*plan_concat(q), q.layout == Layout::ChannelsLast, q,
                                                reference_schema(q));
        },
    .channels_last =
        [](const KernelQuery& q) {
          std::optional<ConcatPlan> p = plan_concat(q);
          return p && rank4_float(*p);
        },
});

// Split sizes (as the reference's split_spec), or nullopt when they are not plan-time constants or are invalid.
std::optional<std::vector<int64_t>> split_sizes(const KernelQuery& q, int64_t dim, size_t num_outputs) {
  const Node& n = q.node;
  std::optional<std::vector<int64_t>> split;
  if ((q.opset >= 13 || q.opset == 1) && q.input_types.size() > 1 && q.input_types[1]) {
    const Tensor* t = q.input_constants.size() > 1 ? q.input_constants[1] : nullptr;
    if (!t || !is_integer(t->dtype())) return std::nullopt;
    split = t->to_int64_vector();
  }
  if (!split && n.has_attr("split") && q.opset < 13) split = n.attr_ints("split");
  if (split) {
    int64_t sum = 0;
    for (int64_t s : *split) {
      if (s < 0) return std::nullopt;
      sum += s;
    }
    if (split->size() != num_outputs || sum != dim) return std::nullopt;
    return split;
  }
  int64_t parts = static_cast<int64_t>(num_outputs);
  if (q.opset >= 18 && n.attr_int("num_outputs", -1) != parts) return std::nullopt;
  if (parts < 1) return std::nullopt;
  if (dim % parts == 0) return std::vector<int64_t>(static_cast<size_t>(parts), dim / parts);
  if (q.opset < 18) return std::nullopt;
  int64_t chunk = dim / parts + 1;
  std::vector<int64_t> sizes(static_cast<size_t>(parts), chunk);
  sizes.back() = dim - chunk * (parts - 1);
  if (sizes.back() < 0) return std::nullopt;
  return sizes;
}

struct SplitPlan {
  DType dtype;
  Shape in;
  size_t axis;
  std::vector<Shape> outs;
};

std::optional<SplitPlan> plan_split(const KernelQuery& q) {
  if (q.input_types.empty() || !q.input_types[0] || !movable(q.input_types[0]->elem)) return std::nullopt;
  std::optional<Shape> in = concrete(q.input_types[0]);
  if (!in || in->empty()) return std::nullopt;
  int64_t rank = static_cast<int64_t>(in->size()), axis = q.node.attr_int("axis", 0);
  if (axis < -rank || axis >= rank) return std::nullopt;
  SplitPlan p{q.input_types[0]->elem, *in, static_cast<size_t>(axis < 0 ? axis + rank : axis), {}};
  std::optional<std::vector<int64_t>> sizes = split_sizes(q, (*in)[p.axis], q.node.outputs.size());
  if (!sizes) return std::nullopt;
  for (int64_t s : *sizes) {
    p.outs.push_back(*in);
    p.outs.back()[p.axis] = s;
  }
  return p;
}

class SplitKernel final : public Kernel {
 public:
  SplitKernel(SplitPlan p, bool channels_last, const OpSchema& reference)
      : p_(std::move(p)), channels_last_(channels_last), reference_(reference) {
    std::vector<Shape> storage = p_.outs;
    size_t axis = p_.axis;
    if (channels_last_) {
      for (Shape& s : storage) s = storage_shape(s);
      axis = storage_axis(axis);
    }
    slabs_ = plan_slabs(storage, axis, dtype_size(p_.dtype));
    dsts_.resize(p_.outs.size());
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != p_.dtype || x.shape() != p_.in) {
      if (channels_last_)
        fail("{}: input is {}{}, not the planned {}{}", ctx.node().label(), dtype_name(x.dtype()),
             shape_str(x.shape()), dtype_name(p_.dtype), shape_str(p_.in));
      return reference_.compute(ctx);
    }
    for (size_t k = 0; k < p_.outs.size(); ++k)
      dsts_[k] = ctx.wants_output(k) ? static_cast<char*>(ctx.output_uninitialized(k, p_.dtype, p_.outs[k]).raw())
                                     : nullptr;
    char* joined = const_cast<char*>(static_cast<const char*>(x.raw()));
    int64_t bytes = static_cast<int64_t>(x.nbytes());
    parallel_ranges(bytes, copy_threads(bytes, ctx.threads()),
                    [&](int64_t b, int64_t e) { copy_slabs(slabs_, false, joined, dsts_.data(), b, e); });
  }
  std::string name() const override { return channels_last_ ? "copy_split_nhwc" : "copy_split"; }

 private:
  SplitPlan p_;
  bool channels_last_;
  const OpSchema& reference_;
  Slabs slabs_;
  std::vector<char*> dsts_;
};

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Split",
    .name = "copy_split",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return q.opset >= 2 && plan_split(q).has_value(); },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          return std::make_unique<SplitKernel>(*plan_split(q), q.layout == Layout::ChannelsLast, reference_schema(q));
        },
    .channels_last =
        [](const KernelQuery& q) {
          std::optional<SplitPlan> p = plan_split(q);
          return p && p->dtype == DType::Float32 && p->in.size() == 4 && !q.input_constants[0];
        },
});

// ---- Slice ----

// One axis' slice clamped as numpy does (the reference's resolve_axis); count 0 for an empty result.
struct AxisSlice {
  int64_t start = 0, step = 1, count = 0;
};
AxisSlice resolve_axis(int64_t start, int64_t end, int64_t step, int64_t dim) {
  step = std::clamp<int64_t>(step, -std::max<int64_t>(dim, 1), std::max<int64_t>(dim, 1));
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  AxisSlice r;
  r.step = step;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    r.count = end > start ? 1 + (end - start - 1) / step : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    r.count = start > end ? 1 + (start - end - 1) / (-step) : 0;
  }
  r.start = r.count > 0 ? start : 0;
  return r;
}

std::optional<std::vector<int64_t>> constant_ints(const KernelQuery& q, size_t i) {
  if (i >= q.input_types.size() || !q.input_types[i]) return std::vector<int64_t>{};  // omitted
  const Tensor* t = i < q.input_constants.size() ? q.input_constants[i] : nullptr;
  if (!t || !is_integer(t->dtype())) return std::nullopt;
  return t->to_int64_vector();
}

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
    sl[d] = resolve_axis(starts[i], ends[i], step, (*in)[d]);
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
          return std::make_unique<StridedViewKernel>("copy_slice", p.dtype, p.in, p.out, p.copy, reference_schema(q));
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
                                                     reference_schema(q));
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
                                                     reference_schema(q));
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

class GatherKernel final : public Kernel {
 public:
  GatherKernel(std::optional<std::vector<int64_t>> constant_indices, const OpSchema& reference)
      : constant_(std::move(constant_indices)), reference_(reference) {}

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    const Node& node = ctx.node();
    if (!movable(x.dtype()) || (ind.dtype() != DType::Int32 && ind.dtype() != DType::Int64) || x.rank() == 0)
      return reference_.compute(ctx);
    size_t axis = static_cast<size_t>(normalize_axis(node.attr_int("axis", 0), x.rank(), node));
    const Shape& xs = x.shape();
    Shape out(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(axis));
    out.insert(out.end(), ind.shape().begin(), ind.shape().end());
    out.insert(out.end(), xs.begin() + static_cast<std::ptrdiff_t>(axis) + 1, xs.end());
    int64_t dim = xs[axis], outer = 1, inner = 1, n_idx = ind.numel();
    for (size_t d = 0; d < axis; ++d) outer *= xs[d];
    for (size_t d = axis + 1; d < xs.size(); ++d) inner *= xs[d];
    // Constant indices were checked against the planned dim; runtime ones (or another dim) are checked here.
    bool use_constant = constant_ && dim == constant_dim_ && n_idx == static_cast<int64_t>(constant_->size());
    if (!use_constant) {
      if (ind.dtype() == DType::Int32) check_indices(ind.data<int32_t>(), n_idx, dim, node);
      else check_indices(ind.data<int64_t>(), n_idx, dim, node);
    }
    Tensor& y = ctx.output_uninitialized(0, x.dtype(), out);
    if (y.numel() == 0) return;
    size_t elem = dtype_size(x.dtype());
    int threads = copy_threads(static_cast<int64_t>(y.nbytes()), ctx.threads());
    const void* px = x.raw();
    void* py = y.raw();
    auto body = [&](const auto* idx) {
      parallel_ranges(outer * n_idx, threads, [&](int64_t b, int64_t e) {
        HONE_COPY_DISPATCH(elem, gather_rows<T>(static_cast<const T*>(px), idx, static_cast<T*>(py), n_idx, dim,
                                                inner, b, e));
      });
    };
    if (use_constant) body(constant_->data());
    else if (ind.dtype() == DType::Int32) body(ind.data<int32_t>());
    else body(ind.data<int64_t>());
  }
  std::string name() const override { return constant_ ? "copy_gather_const" : "copy_gather"; }

  void set_constant_dim(int64_t d) { constant_dim_ = d; }

 private:
  std::optional<std::vector<int64_t>> constant_;
  int64_t constant_dim_ = -1;
  const OpSchema& reference_;
};

// The constant indices' values when they are in range for the (known) gathered dim.
std::optional<std::vector<int64_t>> gather_constant(const KernelQuery& q, int64_t& dim) {
  const Tensor* t = q.input_constants.size() > 1 ? q.input_constants[1] : nullptr;
  std::optional<Shape> s = concrete(q.input_types[0]);
  if (!t || !s || s->empty()) return std::nullopt;
  int64_t rank = static_cast<int64_t>(s->size()), axis = q.node.attr_int("axis", 0);
  if (axis < -rank || axis >= rank) return std::nullopt;
  dim = (*s)[static_cast<size_t>(axis < 0 ? axis + rank : axis)];
  std::vector<int64_t> v = t->to_int64_vector();
  for (int64_t& i : v) {
    if (i < -dim || i >= dim) return std::nullopt;
    if (i < 0) i += dim;
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
          int64_t dim = 0;
          if (q.input_constants[1] && !gather_constant(q, dim)) return !concrete(q.input_types[0]).has_value();
          return true;
        },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          int64_t dim = -1;
          std::optional<std::vector<int64_t>> c = q.input_constants[1] ? gather_constant(q, dim) : std::nullopt;
          auto k = std::make_unique<GatherKernel>(std::move(c), reference_schema(q));
          k->set_constant_dim(dim);
          return k;
        },
});

}  // namespace
}  // namespace hone::cpu
