// MaxPool (with optional Indices output), AveragePool and LpPool over 1-3 spatial dims. Each output position visits
// the taps of its (dilated) window that fall inside the input; pads only shift the window (and, for AveragePool with
// count_include_pad, enter the divisor).
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "ops/nn/im2col.h"
#include "ops/nn/spatial.h"

namespace hone::nn {
namespace {

// Window geometry with end pads (Geom3 keeps only begin pads).
struct PoolSetup {
  Geom3 g;
  int64_t pad_end[3] = {0, 0, 0};
  int64_t planes = 0;  // N * C
  Shape out_shape;
};

PoolSetup pool_setup(const OpContext& ctx, const Tensor& x) {
  const Node& node = ctx.node();
  if (x.rank() < 3 || x.rank() > 5) fail("{}: input rank {} is not supported (3 to 5)", node.label(), x.rank());
  size_t nd = static_cast<size_t>(x.rank() - 2);
  WindowAttrs wa = read_window_attrs(node, nd, nullptr);
  std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  std::vector<int64_t> pads = resolve_pads(wa, in, node);
  std::vector<int64_t> out = window_out_dims(wa, in, pads, /*pool=*/true, node);
  PoolSetup s;
  s.g = make_geom3(in, out, wa.kernel, wa.strides, wa.dilations, pads);
  for (size_t i = 0; i < nd; ++i) s.pad_end[3 - nd + i] = pads[nd + i];
  s.planes = x.dim(0) * x.dim(1);
  s.out_shape = {x.dim(0), x.dim(1)};
  s.out_shape.insert(s.out_shape.end(), out.begin(), out.end());
  return s;
}

// Taps t in [lo, hi) of a window starting at `start` (step `dil`) that land in [low, high).
inline void tap_range(int64_t start, int64_t dil, int64_t k, int64_t low, int64_t high, int64_t& lo, int64_t& hi) {
  lo = start >= low ? 0 : (low - start + dil - 1) / dil;
  hi = start >= high ? 0 : std::min(k, (high - start + dil - 1) / dil);
  if (hi < lo) hi = lo;
}

// Calls f(plane, out_index, taps) where taps lists the flat in-plane indices of the window's taps inside the input,
// and also passes the number of taps inside the padded extent (for count_include_pad).
template <typename F>
void for_each_window(const PoolSetup& s, F&& f) {
  const Geom3& g = s.g;
  std::vector<int64_t> taps;
  taps.reserve(static_cast<size_t>(g.k_size()));
  int64_t oidx = 0;
  for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
    for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
      for (int64_t o2 = 0; o2 < g.out[2]; ++o2, ++oidx) {
        int64_t o[3] = {o0, o1, o2};
        int64_t lo[3], hi[3];
        int64_t padded_taps = 1;
        for (int d = 0; d < 3; ++d) {
          int64_t start = o[d] * g.s[d] - g.pad[d];
          tap_range(start, g.d[d], g.k[d], 0, g.in[d], lo[d], hi[d]);
          int64_t plo, phi;
          tap_range(start, g.d[d], g.k[d], -g.pad[d], g.in[d] + s.pad_end[d], plo, phi);
          padded_taps *= phi - plo;
        }
        taps.clear();
        for (int64_t t0 = lo[0]; t0 < hi[0]; ++t0) {
          int64_t i0 = o0 * g.s[0] - g.pad[0] + t0 * g.d[0];
          for (int64_t t1 = lo[1]; t1 < hi[1]; ++t1) {
            int64_t i1 = o1 * g.s[1] - g.pad[1] + t1 * g.d[1];
            int64_t base = (i0 * g.in[1] + i1) * g.in[2];
            for (int64_t t2 = lo[2]; t2 < hi[2]; ++t2) taps.push_back(base + o2 * g.s[2] - g.pad[2] + t2 * g.d[2]);
          }
        }
        f(oidx, taps, padded_taps);
      }
}

// Arithmetic type for comparisons and sums: float for the 16-bit float types.
template <typename T>
using Calc = std::conditional_t<std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>, float, T>;

template <typename T>
void max_pool_compute(const PoolSetup& s, const T* x, T* y, int64_t* indices, bool column_major) {
  const Geom3& g = s.g;
  int64_t insz = g.in_size(), outsz = g.out_size();
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* xp = x + p * insz;
    for_each_window(s, [&](int64_t oi, const std::vector<int64_t>& taps, int64_t) {
      Calc<T> best = std::numeric_limits<Calc<T>>::lowest();
      int64_t arg = -1;
      for (int64_t t : taps) {
        Calc<T> v = static_cast<Calc<T>>(xp[t]);
        if (arg < 0 || v > best) {
          best = v;
          arg = t;
        }
      }
      y[p * outsz + oi] = static_cast<T>(best);
      if (indices) {
        int64_t idx = arg;
        if (arg >= 0 && column_major) {
          int64_t i2 = arg % g.in[2], i1 = arg / g.in[2] % g.in[1], i0 = arg / (g.in[1] * g.in[2]);
          idx = i0 + i1 * g.in[0] + i2 * g.in[0] * g.in[1];
        }
        indices[p * outsz + oi] = arg < 0 ? -1 : p * insz + idx;
      }
    });
  }
}

void max_pool(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  PoolSetup s = pool_setup(ctx, x);
  int64_t storage_order = ctx.node().attr_int("storage_order", 0);
  if (storage_order != 0 && storage_order != 1)
    fail("{}: storage_order must be 0 or 1, got {}", ctx.node().label(), storage_order);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), s.out_shape);
  int64_t* indices = nullptr;
  if (ctx.wants_output(1)) indices = ctx.output_uninitialized(1, DType::Int64, s.out_shape).data<int64_t>();
  if (y.numel() == 0) return;
  HONE_DISPATCH_NUMERIC(x.dtype(), ctx.node(),
                        max_pool_compute<T>(s, x.data<T>(), y.data<T>(), indices, storage_order == 1));
}

template <typename T>
void average_pool_compute(const PoolSetup& s, bool count_include_pad, const T* x, T* y) {
  using A = std::conditional_t<std::is_same_v<T, double>, double, float>;
  int64_t insz = s.g.in_size(), outsz = s.g.out_size();
  for (int64_t p = 0; p < s.planes; ++p) {
    const T* xp = x + p * insz;
    for_each_window(s, [&](int64_t oi, const std::vector<int64_t>& taps, int64_t padded_taps) {
      A sum = 0;
      for (int64_t t : taps) sum += static_cast<A>(xp[t]);
      int64_t count = count_include_pad ? padded_taps : static_cast<int64_t>(taps.size());
      y[p * outsz + oi] = static_cast<T>(count > 0 ? sum / static_cast<A>(count) : std::numeric_limits<A>::quiet_NaN());
    });
  }
}

void average_pool(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  PoolSetup s = pool_setup(ctx, x);
  bool include_pad = ctx.node().attr_int("count_include_pad", 0) != 0;
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), s.out_shape);
  if (y.numel() == 0) return;
  HONE_DISPATCH_FLOAT(x.dtype(), ctx.node(), average_pool_compute<T>(s, include_pad, x.data<T>(), y.data<T>()));
}

// LpPool-1 stores p as a float; later versions as an int.
double lp_norm_p(const Node& node) {
  const Attribute* a = node.find_attr("p");
  double p = 2.0;
  if (a) p = a->type == Attribute::Type::Float ? static_cast<double>(a->f) : static_cast<double>(a->i);
  if (!(p > 0)) fail("{}: p must be positive, got {}", node.label(), p);
  return p;
}

template <typename T>
void lp_pool_compute(const PoolSetup& s, double p, const T* x, T* y) {
  int64_t insz = s.g.in_size(), outsz = s.g.out_size();
  for (int64_t pl = 0; pl < s.planes; ++pl) {
    const T* xp = x + pl * insz;
    for_each_window(s, [&](int64_t oi, const std::vector<int64_t>& taps, int64_t) {
      double sum = 0;
      for (int64_t t : taps) sum += std::pow(std::fabs(static_cast<double>(xp[t])), p);
      y[pl * outsz + oi] = static_cast<T>(std::pow(sum, 1.0 / p));
    });
  }
}

void lp_pool(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  PoolSetup s = pool_setup(ctx, x);
  double p = lp_norm_p(ctx.node());
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), s.out_shape);
  if (y.numel() == 0) return;
  HONE_DISPATCH_FLOAT(x.dtype(), ctx.node(), lp_pool_compute<T>(s, p, x.data<T>(), y.data<T>()));
}

void infer_pool(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* xs = ctx.input_shape(0);
  std::optional<SymShape> out;
  if (xs && xs->size() >= 3) {
    WindowAttrs wa = read_window_attrs(ctx.node(), xs->size() - 2, nullptr);
    out = infer_window_shape(*xs, (*xs)[1], wa, /*pool=*/true, ctx.node());
  } else if (xs) {
    out = SymShape(xs->size());
  }
  ctx.set_output_tensor(0, dt, out);
  if (ctx.num_outputs() > 1) ctx.set_output_tensor(1, DType::Int64, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "MaxPool", .since = 1, .infer = infer_pool, .compute = max_pool});
HONE_REGISTER_OP({.name = "AveragePool", .since = 1, .infer = infer_pool, .compute = average_pool});
HONE_REGISTER_OP({.name = "LpPool", .since = 1, .infer = infer_pool, .compute = lp_pool});

}  // namespace hone::nn
