// Resize (opsets 10, 11-12, 13-17, 18, 19+) and Upsample (opsets 7-9): separable interpolation of every axis.
//
// Each output coordinate x of an axis maps to an input coordinate x_ori (coordinate_transformation_mode), then
// takes a weighted sum of the input elements around it (mode: nearest, linear, cubic; antialias widens the
// linear/cubic kernel by 1/scale when downsampling). This follows ONNX's reference exactly, including its quirks:
//   - align_corners and tf_crop_and_resize divide by (scale * in - 1), the unrounded output length;
//   - an integral x_ori is treated as ratio 1 from the element below it (so it lands on the element itself);
//   - neighbours past the edges repeat the edge element (unless exclude_outside drops them and renormalizes);
//   - tf_crop_and_resize gives extrapolation_value when x_ori falls outside [0, in - 1].
// Output sizes: floor(in * scale) from scales; from sizes, scale = size / in (keep_aspect_ratio_policy not_larger
// / not_smaller use one scale for all `axes` and round the sizes half up).
// Resize-10 and Upsample: asymmetric coordinates; nearest rounds down when upsampling and up when downsampling.
#include <algorithm>
#include <cmath>

#include "ops/op_helpers.h"

namespace hone {
namespace {

enum class Mode { Nearest, Linear, Cubic };
enum class Coord { HalfPixel, HalfPixelSymmetric, PytorchHalfPixel, AlignCorners, Asymmetric, TfCropAndResize };
enum class Nearest { RoundPreferFloor, RoundPreferCeil, Floor, Ceil, Legacy };

struct Params {
  Mode mode = Mode::Nearest;
  Coord coord = Coord::HalfPixel;
  Nearest nearest = Nearest::RoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;
  bool antialias = false;
};

// One axis of the resize: input and output length, scale factor and (tf_crop_and_resize) region of interest.
struct AxisPlan {
  int64_t in = 1, out = 1;
  double scale = 1;
  double roi_start = 0, roi_end = 1;
};

// The input elements (indices already clamped to the axis) and weights one output coordinate reads.
struct Taps {
  bool extrapolate = false;
  std::vector<int64_t> idx;
  std::vector<double> w;
};

bool legacy_resize(const OpContext& ctx) { return ctx.node().op_type == "Upsample" || ctx.opset() < 11; }

Params read_params(const Node& node, int64_t opset) {
  Params p;
  std::string mode = node.attr_string("mode", "nearest");
  if (mode == "nearest") p.mode = Mode::Nearest;
  else if (mode == "linear" || mode == "bilinear") p.mode = Mode::Linear;
  else if (mode == "cubic") p.mode = Mode::Cubic;
  else fail("{}: unknown mode '{}'", node.label(), mode);
  if (node.op_type == "Upsample" || opset < 11) {
    if (p.mode == Mode::Cubic) fail("{}: mode 'cubic' needs opset 11", node.label());
    p.coord = Coord::Asymmetric;
    p.nearest = Nearest::Legacy;
    return p;
  }
  std::string ct = node.attr_string("coordinate_transformation_mode", "half_pixel");
  if (ct == "half_pixel") p.coord = Coord::HalfPixel;
  else if (ct == "half_pixel_symmetric" && opset >= 19) p.coord = Coord::HalfPixelSymmetric;
  else if (ct == "pytorch_half_pixel") p.coord = Coord::PytorchHalfPixel;
  else if (ct == "align_corners") p.coord = Coord::AlignCorners;
  else if (ct == "asymmetric") p.coord = Coord::Asymmetric;
  else if (ct == "tf_crop_and_resize") p.coord = Coord::TfCropAndResize;
  else fail("{}: unknown coordinate_transformation_mode '{}'", node.label(), ct);
  std::string nm = node.attr_string("nearest_mode", "round_prefer_floor");
  if (nm == "round_prefer_floor") p.nearest = Nearest::RoundPreferFloor;
  else if (nm == "round_prefer_ceil") p.nearest = Nearest::RoundPreferCeil;
  else if (nm == "floor") p.nearest = Nearest::Floor;
  else if (nm == "ceil") p.nearest = Nearest::Ceil;
  else fail("{}: unknown nearest_mode '{}'", node.label(), nm);
  p.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
  p.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
  p.extrapolation = node.attr_float("extrapolation_value", 0.0f);
  p.antialias = opset >= 18 && node.attr_int("antialias", 0) != 0;
  if (p.antialias && p.mode == Mode::Nearest) fail("{}: antialias is not defined for mode 'nearest'", node.label());
  return p;
}

double cubic_kernel(double x, double a) {
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

Taps taps_for(const Params& p, const AxisPlan& ax, int64_t x_out) {
  Taps t;
  double x = static_cast<double>(x_out);
  double in = static_cast<double>(ax.in);
  double out_w = ax.scale * in;  // unrounded output length, as the reference uses it
  double x_ori = 0;
  switch (p.coord) {
    case Coord::AlignCorners: x_ori = out_w == 1 ? 0.0 : x * (in - 1) / (out_w - 1); break;
    case Coord::Asymmetric: x_ori = x / ax.scale; break;
    case Coord::PytorchHalfPixel: x_ori = out_w == 1 ? -0.5 : (x + 0.5) / ax.scale - 0.5; break;
    case Coord::HalfPixel: x_ori = (x + 0.5) / ax.scale - 0.5; break;
    case Coord::HalfPixelSymmetric: {
      double adjustment = static_cast<double>(ax.out) / out_w;
      double offset = in / 2 * (1 - adjustment);
      x_ori = offset + (x + 0.5) / ax.scale - 0.5;
      break;
    }
    case Coord::TfCropAndResize: {
      double span = ax.roi_end - ax.roi_start;
      x_ori = out_w == 1 ? span * (in - 1) / 2 : x * span * (in - 1) / (out_w - 1);
      x_ori += ax.roi_start * (in - 1);
      if (x_ori < 0 || x_ori > in - 1) {
        t.extrapolate = true;
        return t;
      }
      break;
    }
  }
  // ratio in (0, 1]: an integral x_ori is ratio 1 above the element below it.
  double fl = std::floor(x_ori);
  bool integral = fl == x_ori;
  int64_t f = static_cast<int64_t>(fl) - (integral ? 1 : 0);
  double ratio = integral ? 1.0 : x_ori - fl;

  int64_t start = 0;  // taps are f + start + k
  std::vector<double> w;
  switch (p.mode) {
    case Mode::Nearest: {
      bool upper = true;
      if (!integral) {
        switch (p.nearest) {
          case Nearest::RoundPreferFloor: upper = ratio > 0.5; break;
          case Nearest::RoundPreferCeil: upper = ratio >= 0.5; break;
          case Nearest::Floor: upper = false; break;
          case Nearest::Ceil: upper = true; break;
          case Nearest::Legacy: upper = ax.scale < 1; break;  // floor when upsampling, ceil when downsampling
        }
      }
      w = {upper ? 0.0 : 1.0, upper ? 1.0 : 0.0};
      break;
    }
    case Mode::Linear:
      if (p.antialias) {
        double s = std::min(ax.scale, 1.0);
        start = static_cast<int64_t>(std::floor(-1 / s)) + 1;
        int64_t n = 2 - 2 * start;
        double sum = 0;
        for (int64_t i = start; i < start + n; ++i) {
          double c = std::clamp(1 - std::abs((static_cast<double>(i) - ratio) * s), 0.0, 1.0);
          w.push_back(c);
          sum += c;
        }
        for (double& c : w) c /= sum;
      } else {
        w = {1 - ratio, ratio};
      }
      break;
    case Mode::Cubic:
      if (p.antialias) {
        double s = std::min(ax.scale, 1.0);
        start = static_cast<int64_t>(std::floor(-2 / s)) + 1;
        double sum = 0;
        for (int64_t i = start; i < 2 - start; ++i) {
          double c = cubic_kernel(s * (static_cast<double>(i) - ratio), p.cubic_a);
          w.push_back(c);
          sum += c;
        }
        for (double& c : w) c /= sum;
      } else {
        start = -1;
        for (int64_t i = -1; i <= 2; ++i) w.push_back(cubic_kernel(static_cast<double>(i) - ratio, p.cubic_a));
      }
      break;
  }
  // The reference picks the n nearest elements of the input padded by ceil(n/2) edge copies on each side: far
  // outside the input the window stops at the padding's end (its weights stay as computed).
  int64_t n = static_cast<int64_t>(w.size());
  int64_t pad = (n + 1) / 2;
  int64_t lo = std::clamp(f + start + pad, int64_t{0}, std::max<int64_t>(0, ax.in + 2 * pad - n)) - pad;
  if (p.exclude_outside) {
    double sum = 0;
    for (int64_t k = 0; k < n; ++k) {
      int64_t i = lo + k;
      if (i < 0 || i >= ax.in) w[static_cast<size_t>(k)] = 0;
      sum += w[static_cast<size_t>(k)];
    }
    for (double& c : w) c /= sum;
  }
  for (int64_t k = 0; k < n; ++k) {
    double c = w[static_cast<size_t>(k)];
    if (c == 0) continue;
    t.idx.push_back(std::clamp<int64_t>(lo + k, 0, ax.in - 1));
    t.w.push_back(c);
  }
  return t;
}

template <typename T>
T from_double(double v) {
  if constexpr (std::is_integral_v<T>) {
    if (!(v == v)) return T(0);
    double lo = static_cast<double>(std::numeric_limits<T>::lowest()), hi = static_cast<double>(std::numeric_limits<T>::max());
    return static_cast<T>(std::clamp(std::trunc(v), lo, hi));
  } else {
    return static_cast<T>(v);
  }
}

template <typename T>
void resize_typed(const Params& p, const std::vector<AxisPlan>& plan, const Tensor& x, Tensor& y) {
  size_t r = plan.size();
  std::vector<std::vector<Taps>> taps(r);
  for (size_t d = 0; d < r; ++d)
    for (int64_t o = 0; o < plan[d].out; ++o) taps[d].push_back(taps_for(p, plan[d], o));
  std::vector<int64_t> in_strides = strides_of(x.shape());
  const T* px = x.data<T>();
  T* py = y.data<T>();
  int64_t total = y.numel();
  std::vector<int64_t> idx(r, 0);
  std::vector<const Taps*> cur(r);
  std::vector<size_t> k(r, 0);
  for (int64_t i = 0; i < total; ++i) {
    bool extrapolate = false;
    for (size_t d = 0; d < r; ++d) {
      cur[d] = &taps[d][static_cast<size_t>(idx[d])];
      extrapolate = extrapolate || cur[d]->extrapolate;
    }
    double v = p.extrapolation;
    if (!extrapolate) {
      // sum over the cartesian product of the axes' taps
      v = 0;
      std::fill(k.begin(), k.end(), 0);
      while (true) {
        double w = 1;
        int64_t off = 0;
        for (size_t d = 0; d < r; ++d) {
          w *= cur[d]->w[k[d]];
          off += cur[d]->idx[k[d]] * in_strides[d];
        }
        v += w * static_cast<double>(px[off]);
        size_t d = r;
        while (d-- > 0) {
          if (++k[d] < cur[d]->w.size()) break;
          k[d] = 0;
        }
        if (d == static_cast<size_t>(-1)) break;
      }
    }
    py[i] = from_double<T>(v);
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < plan[d].out) break;
      idx[d] = 0;
    }
  }
}

// The axes the scales / sizes / roi inputs list (all axes when the attribute is absent).
std::vector<int64_t> resize_axes(const Node& node, int64_t opset, int64_t rank) {
  std::vector<int64_t> axes;
  if (opset >= 18 && node.has_attr("axes")) {
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    for (int64_t a : node.attr_ints("axes")) {
      a = normalize_axis(a, rank, node);
      if (seen[static_cast<size_t>(a)]) fail("{}: axis {} is repeated", node.label(), a);
      seen[static_cast<size_t>(a)] = true;
      axes.push_back(a);
    }
  } else {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  return axes;
}

// Output lengths and scale factors from scales or sizes (exactly one given). `in` dims may be unknown (-1) in
// shape inference; then the dims that depend on them come out -1 too.
struct Sizing {
  std::vector<double> scale;
  std::vector<int64_t> out;
};
Sizing plan_sizes(const Node& node, int64_t opset, const std::vector<int64_t>& in, const std::vector<double>* scales,
                  const std::vector<int64_t>* sizes) {
  int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> axes = resize_axes(node, opset, rank);
  Sizing s;
  s.scale.assign(in.size(), 1.0);
  s.out = in;
  if (scales) {
    if (scales->size() != axes.size())
      fail("{}: scales has {} values for {} axes", node.label(), scales->size(), axes.size());
    for (size_t i = 0; i < axes.size(); ++i) {
      size_t a = static_cast<size_t>(axes[i]);
      double sc = (*scales)[i];
      if (!(sc > 0)) fail("{}: scales must be positive, got {}", node.label(), sc);
      s.scale[a] = sc;
      if (in[a] >= 0) s.out[a] = static_cast<int64_t>(std::floor(sc * static_cast<double>(in[a])));
    }
    return s;
  }
  if (sizes->size() != axes.size())
    fail("{}: sizes has {} values for {} axes", node.label(), sizes->size(), axes.size());
  for (int64_t v : *sizes)
    if (v < 0) fail("{}: sizes must not be negative, got {}", node.label(), v);
  std::string policy = opset >= 18 ? node.attr_string("keep_aspect_ratio_policy", "stretch") : "stretch";
  if (policy == "stretch") {
    for (size_t i = 0; i < axes.size(); ++i) {
      size_t a = static_cast<size_t>(axes[i]);
      s.out[a] = (*sizes)[i];
      s.scale[a] = in[a] > 0 ? static_cast<double>((*sizes)[i]) / static_cast<double>(in[a]) : 1.0;
    }
    return s;
  }
  if (policy != "not_larger" && policy != "not_smaller")
    fail("{}: unknown keep_aspect_ratio_policy '{}'", node.label(), policy);
  double scale = policy == "not_larger" ? INFINITY : -INFINITY;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t d = in[static_cast<size_t>(axes[i])];
    if (d < 0) {  // unknown input dim: nothing is known along the axes
      for (int64_t a : axes) s.out[static_cast<size_t>(a)] = -1;
      return s;
    }
    double r = d > 0 ? static_cast<double>((*sizes)[i]) / static_cast<double>(d) : 1.0;
    scale = policy == "not_larger" ? std::min(scale, r) : std::max(scale, r);
  }
  for (int64_t a : axes) {
    s.scale[static_cast<size_t>(a)] = scale;
    s.out[static_cast<size_t>(a)] = static_cast<int64_t>(scale * static_cast<double>(in[static_cast<size_t>(a)]) + 0.5);
  }
  return s;
}

std::vector<double> double_values(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.get_double(i);
  return v;
}

// Where the scales and sizes inputs sit for this op and opset (-1: none).
int scales_input(const Node& node, int64_t opset) { return node.op_type == "Upsample" ? (opset >= 9 ? 1 : -1) : opset < 11 ? 1 : 2; }
int sizes_input(const Node& node, int64_t opset) { return node.op_type == "Upsample" || opset < 11 ? -1 : 3; }

void resize(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  Params p = read_params(node, ctx.opset());
  int si = scales_input(node, ctx.opset()), zi = sizes_input(node, ctx.opset());
  std::vector<double> scales;
  std::vector<int64_t> sizes;
  bool have_scales = false, have_sizes = false;
  if (si < 0) {
    std::vector<float> f = node.attr_floats("scales");
    scales.assign(f.begin(), f.end());
    have_scales = true;
  } else if (ctx.has_input(static_cast<size_t>(si)) && ctx.input(static_cast<size_t>(si)).numel() > 0) {
    scales = double_values(ctx.input(static_cast<size_t>(si)));
    have_scales = true;
  }
  if (zi >= 0 && ctx.has_input(static_cast<size_t>(zi)) && ctx.input(static_cast<size_t>(zi)).numel() > 0) {
    sizes = ctx.input(static_cast<size_t>(zi)).to_int64_vector();
    have_sizes = true;
  }
  if (have_scales == have_sizes)
    fail("{}: exactly one of scales and sizes must be given", node.label());
  Sizing s = plan_sizes(node, ctx.opset(), x.shape(), have_scales ? &scales : nullptr, have_sizes ? &sizes : nullptr);

  std::vector<AxisPlan> plan(static_cast<size_t>(x.rank()));
  for (size_t d = 0; d < plan.size(); ++d) plan[d] = {x.shape()[d], s.out[d], s.scale[d], 0.0, 1.0};
  if (p.coord == Coord::TfCropAndResize) {
    if (!ctx.has_input(1)) fail("{}: tf_crop_and_resize needs roi", node.label());
    std::vector<int64_t> axes = resize_axes(node, ctx.opset(), x.rank());
    std::vector<double> roi = double_values(ctx.input(1));
    if (roi.size() != 2 * axes.size())
      fail("{}: roi has {} values, expected {}", node.label(), roi.size(), 2 * axes.size());
    for (size_t i = 0; i < axes.size(); ++i) {
      // the reference takes the region's span in the roi's own precision (float)
      plan[static_cast<size_t>(axes[i])].roi_start = roi[i];
      plan[static_cast<size_t>(axes[i])].roi_end = roi[i + axes.size()];
    }
  }
  for (const AxisPlan& a : plan)
    if (a.in == 0 && a.out > 0) fail("{}: cannot resize an empty axis to {}", node.label(), a.out);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), s.out);
  HONE_DISPATCH_NUMERIC(x.dtype(), node, resize_typed<T>(p, plan, x, y));
}

void infer_resize(InferenceContext& ctx) {
  if (!ctx.has_input(0)) return;
  const Node& node = ctx.node();
  DType dt = ctx.input_dtype(0);
  const SymShape* in = ctx.input_shape(0);
  if (!in) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  int si = scales_input(node, ctx.opset()), zi = sizes_input(node, ctx.opset());
  std::vector<double> scales;
  std::vector<int64_t> sizes;
  bool have_scales = false, have_sizes = false, unknown = false;
  if (si < 0) {
    std::vector<float> f = node.attr_floats("scales");
    scales.assign(f.begin(), f.end());
    have_scales = true;
  } else if (ctx.has_input(static_cast<size_t>(si))) {
    if (const Tensor* t = ctx.input_value(static_cast<size_t>(si))) {
      if (t->numel() > 0) {
        scales = double_values(*t);
        have_scales = true;
      }
    } else {
      unknown = true;
    }
  }
  if (zi >= 0 && ctx.has_input(static_cast<size_t>(zi)) && !have_scales) {
    if (const Tensor* t = ctx.input_value(static_cast<size_t>(zi))) {
      if (t->numel() > 0) {
        sizes = t->to_int64_vector();
        have_sizes = true;
      }
    } else {
      unknown = true;
    }
  }
  if ((!have_scales && !have_sizes) || (unknown && !have_scales && !have_sizes)) {
    ctx.set_output_tensor(0, dt, SymShape(in->size()));
    return;
  }
  std::vector<int64_t> dims(in->size());
  for (size_t d = 0; d < in->size(); ++d) dims[d] = (*in)[d].known() ? (*in)[d].value : -1;
  Sizing s = plan_sizes(node, ctx.opset(), dims, have_scales ? &scales : nullptr, have_sizes ? &sizes : nullptr);
  SymShape out(in->size());
  for (size_t d = 0; d < in->size(); ++d) {
    if (s.out[d] >= 0) out[d] = Dim(s.out[d]);
    else if (s.scale[d] == 1.0) out[d] = (*in)[d];  // an untouched axis keeps its (symbolic) dim
  }
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "Upsample", .since = 7, .until = 9, .infer = infer_resize, .compute = resize});
HONE_REGISTER_OP({.name = "Resize", .since = 10, .infer = infer_resize, .compute = resize});

}  // namespace hone
