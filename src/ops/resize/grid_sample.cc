// GridSample (opset 16: 4-D input, modes bilinear / nearest / bicubic; opset 20+: N-D, modes linear / nearest /
// cubic; either spelling is accepted). Output[n, c, o...] samples X[n, c] at the location grid[n, o...] holds,
// given in [-1, 1] with the last spatial axis first (x, y, z). Follows PyTorch and ONNX's reference:
//   - align_corners: -1 and 1 are the centres of the corner elements, else their outer edges;
//   - a location outside the borders is clamped (padding_mode border) or reflected (reflection) first;
//   - nearest rounds half to even for every rank (the corpus's 3-D expectations use this too, although PyTorch
//     and the current ONNX reference round 3-D halves away from zero);
//   - each tap outside the input reads 0 (zeros), the edge (border) or its reflection (reflection);
//   - cubic uses Keys' kernel with a = -0.75 on taps floor(x) - 1 .. floor(x) + 2.
#include <cmath>

#include "ops/op_helpers.h"

namespace hone {
namespace {

enum class Mode { Linear, Nearest, Cubic };
enum class Padding { Zeros, Border, Reflection };

double reflect(double x, double lo, double hi) {
  double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    double dx = lo - x;
    int64_t n = static_cast<int64_t>(dx / range);
    double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    double dx = x - hi;
    int64_t n = static_cast<int64_t>(dx / range);
    double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

void cubic_coeffs(double t, double* c) {
  const double a = -0.75;
  t = std::abs(t);
  c[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
  c[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  c[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
  c[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a;
}

struct Tap1 {
  int64_t idx;  // -1: reads zero
  double w;
};

void grid_sample(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  int64_t r = x.rank() - 2;
  if (r < 1) fail("{}: X must have rank >= 3, got shape {}", node.label(), shape_str(x.shape()));
  if (ctx.opset() < 20 && r != 2) fail("{}: opset {} supports only 4-D input", node.label(), ctx.opset());
  if (grid.rank() != r + 2 || grid.dim(0) != x.dim(0) || grid.dim(static_cast<int>(r + 1)) != r)
    fail("{}: grid of shape {} does not match X of shape {}", node.label(), shape_str(grid.shape()), shape_str(x.shape()));
  std::string ms = node.attr_string("mode", ctx.opset() < 20 ? "bilinear" : "linear");
  Mode mode = ms == "linear" || ms == "bilinear" ? Mode::Linear
              : ms == "nearest"                  ? Mode::Nearest
              : ms == "cubic" || ms == "bicubic" ? Mode::Cubic
                                                 : (fail("{}: unknown mode '{}'", node.label(), ms), Mode::Linear);
  std::string ps = node.attr_string("padding_mode", "zeros");
  Padding pad = ps == "zeros" ? Padding::Zeros : ps == "border" ? Padding::Border : ps == "reflection" ? Padding::Reflection
              : (fail("{}: unknown padding_mode '{}'", node.label(), ps), Padding::Zeros);
  bool align = node.attr_int("align_corners", 0) != 0;

  int64_t batch = x.dim(0), channels = x.dim(1);
  Shape dims(x.shape().begin() + 2, x.shape().end());
  Shape out_shape = {batch, channels};
  for (int64_t d = 1; d <= r; ++d) out_shape.push_back(grid.dim(static_cast<int>(d)));
  int64_t points = shape_numel(Shape(out_shape.begin() + 2, out_shape.end()));
  int64_t plane = shape_numel(dims);
  std::vector<int64_t> strides = strides_of(dims);
  std::vector<double> lo(static_cast<size_t>(r)), hi(static_cast<size_t>(r));
  for (size_t d = 0; d < static_cast<size_t>(r); ++d) {
    lo[d] = align ? 0.0 : -0.5;
    hi[d] = align ? static_cast<double>(dims[d]) - 1 : static_cast<double>(dims[d]) - 0.5;
  }
  // A tap at integer index i of axis d: where it reads, by padding mode.
  auto resolve = [&](size_t d, int64_t i) -> int64_t {
    int64_t len = dims[d];
    if (i >= 0 && i < len) return i;
    switch (pad) {
      case Padding::Zeros: return -1;
      case Padding::Border: return std::clamp<int64_t>(i, 0, len - 1);
      case Padding::Reflection: return std::clamp<int64_t>(static_cast<int64_t>(reflect(static_cast<double>(i), lo[d], hi[d])), 0, len - 1);
    }
    return -1;
  };

  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out_shape);
  std::vector<double> g(static_cast<size_t>(grid.numel()));
  for (int64_t i = 0; i < grid.numel(); ++i) g[static_cast<size_t>(i)] = grid.get_double(i);
  std::vector<std::vector<Tap1>> taps(static_cast<size_t>(r));
  std::vector<size_t> k(static_cast<size_t>(r), 0);
  HONE_DISPATCH_FLOAT(x.dtype(), node, {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t p = 0; p < points; ++p) {
        const double* loc = g.data() + (n * points + p) * r;
        bool zero = false;
        for (size_t d = 0; d < static_cast<size_t>(r); ++d) {
          double nv = loc[static_cast<size_t>(r) - 1 - d];  // grid lists the last axis first
          double len = static_cast<double>(dims[d]);
          double c = static_cast<float>(align ? (nv + 1) / 2.0 * (len - 1) : ((nv + 1) * len - 1) / 2.0);
          if (mode == Mode::Nearest) c = std::nearbyint(c);
          if (c < lo[d] || c > hi[d]) {
            if (pad == Padding::Border) c = std::clamp(c, 0.0, len - 1);
            else if (pad == Padding::Reflection) c = reflect(c, lo[d], hi[d]);
          }
          taps[d].clear();
          if (mode == Mode::Nearest) {
            taps[d].push_back({resolve(d, static_cast<int64_t>(c)), 1.0});
          } else {
            double f = std::floor(c);
            int64_t i0 = static_cast<int64_t>(f);
            if (mode == Mode::Linear) {
              taps[d].push_back({resolve(d, i0), 1 - (c - f)});
              taps[d].push_back({resolve(d, i0 + 1), c - f});
            } else {
              double cc[4];
              cubic_coeffs(c - f, cc);
              for (int k = 0; k < 4; ++k) taps[d].push_back({resolve(d, i0 - 1 + k), cc[k]});
            }
          }
          zero = zero || taps[d].empty();
        }
        for (int64_t ch = 0; ch < channels; ++ch) {
          const T* src = px + (n * channels + ch) * plane;
          double v = 0;
          std::fill(k.begin(), k.end(), 0);
          while (!zero) {
            double w = 1;
            int64_t off = 0;
            bool outside = false;
            for (size_t d = 0; d < static_cast<size_t>(r); ++d) {
              const Tap1& t = taps[d][k[d]];
              w *= t.w;
              if (t.idx < 0) outside = true;
              else off += t.idx * strides[d];
            }
            if (!outside) v += w * static_cast<double>(src[off]);
            size_t d = static_cast<size_t>(r);
            while (d-- > 0) {
              if (++k[d] < taps[d].size()) break;
              k[d] = 0;
            }
            if (d == static_cast<size_t>(-1)) break;
          }
          py[(n * channels + ch) * points + p] = static_cast<T>(v);
        }
      }
  });
}

void infer_grid_sample(InferenceContext& ctx) {
  if (!ctx.has_input(0)) return;
  DType dt = ctx.input_dtype(0);
  const SymShape* xs = ctx.input_shape(0);
  const SymShape* gs = ctx.input_shape(1);
  if (!xs || !gs || gs->size() < 2 || xs->size() != gs->size()) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  SymShape out = {(*xs)[0], (*xs)[1]};
  for (size_t d = 1; d + 1 < gs->size(); ++d) out.push_back((*gs)[d]);
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "GridSample", .since = 16, .infer = infer_grid_sample, .compute = grid_sample});

}  // namespace hone
