// Fast float32 Resize (opsets 10+) and Upsample (7-9) for rank-4 inputs whose N and C stay as they are: nearest
// (every nearest_mode), linear (bilinear) and cubic (bicubic), in the plain N,C,H,W layout and channels-last N,H,W,C.
//
// Scales or sizes must be plan-time constants: the kernel then knows, for every output column, which source
// columns it reads and with what weights, and for every output row which source rows; run() is a loop over rows.
// A row is out_w pixels of c floats (c = 1 for a plain N,C plane, c = C for a channels-last image), so the same
// row microkernels (resize_microkernels.h) serve both layouts: channels-last interpolates whole C-vectors.
//   nearest: each output row is picked from one source row, or copied from the output row above when both read the
//            same source row; integer upsampling (x2 above all) repeats pixels without index tables.
//   linear / cubic: a source row is interpolated along W once into a small per-thread cache of rows, and each
//            output row is a weighted sum of cached rows.
// The taps follow the reference kernel (src/ops/resize/resize.cc) exactly: the same coordinate transformation in
// double, the same rounding for nearest, the same edge clamping and window placement for cubic, the same
// exclude_outside renormalization. Nearest copies values bit for bit; linear and cubic sum in float where the
// reference sums in double (a few ulp apart), and a tap of weight exactly 0 still multiplies (0 * inf is NaN here
// where the reference skips the tap). tf_crop_and_resize and antialias stay on the reference kernel.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <optional>

#include "kernels/cpu/resize_microkernels.h"
#include "runtime/kernel.h"

namespace hone::cpu {
namespace {

// Below this many output floats, starting threads costs more than it saves.
constexpr int64_t kMinOutputPerThread = 32768;

enum class Mode { Nearest, Linear, Cubic };
enum class Coord { HalfPixel, HalfPixelSymmetric, PytorchHalfPixel, AlignCorners, Asymmetric };
enum class Rounding { RoundPreferFloor, RoundPreferCeil, Floor, Ceil, Legacy };

struct ResizeAttrs {
  Mode mode = Mode::Nearest;
  Coord coord = Coord::HalfPixel;
  Rounding rounding = Rounding::RoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
};

bool is_upsample_or_resize10(const Node& node, int64_t opset) { return node.op_type == "Upsample" || opset < 11; }

// The attributes this kernel handles, or nullopt (unknown values and unsupported modes go to the reference kernel,
// which reports the bad ones).
std::optional<ResizeAttrs> read_attrs(const Node& node, int64_t opset) {
  ResizeAttrs a;
  std::string mode = node.attr_string("mode", "nearest");
  if (mode == "nearest") a.mode = Mode::Nearest;
  else if (mode == "linear" || mode == "bilinear") a.mode = Mode::Linear;
  else if (mode == "cubic") a.mode = Mode::Cubic;
  else return std::nullopt;
  if (is_upsample_or_resize10(node, opset)) {
    if (a.mode == Mode::Cubic) return std::nullopt;
    a.coord = Coord::Asymmetric;
    a.rounding = Rounding::Legacy;
    return a;
  }
  std::string ct = node.attr_string("coordinate_transformation_mode", "half_pixel");
  if (ct == "half_pixel") a.coord = Coord::HalfPixel;
  else if (ct == "half_pixel_symmetric" && opset >= 19) a.coord = Coord::HalfPixelSymmetric;
  else if (ct == "pytorch_half_pixel") a.coord = Coord::PytorchHalfPixel;
  else if (ct == "align_corners") a.coord = Coord::AlignCorners;
  else if (ct == "asymmetric") a.coord = Coord::Asymmetric;
  else return std::nullopt;  // tf_crop_and_resize, or unknown
  std::string nm = node.attr_string("nearest_mode", "round_prefer_floor");
  if (nm == "round_prefer_floor") a.rounding = Rounding::RoundPreferFloor;
  else if (nm == "round_prefer_ceil") a.rounding = Rounding::RoundPreferCeil;
  else if (nm == "floor") a.rounding = Rounding::Floor;
  else if (nm == "ceil") a.rounding = Rounding::Ceil;
  else return std::nullopt;
  a.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
  a.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
  // exclude_outside with nearest can divide 0 by 0 in the reference; leave that oddity to it.
  if (a.exclude_outside && a.mode == Mode::Nearest) return std::nullopt;
  if (opset >= 18 && node.attr_int("antialias", 0) != 0) return std::nullopt;
  return a;
}

// ---- output sizes (as the reference's plan_sizes) ----

struct Sizing {
  std::array<double, 4> scale{1, 1, 1, 1};
  Shape out;
};

int scales_input(const Node& node, int64_t opset) {
  return node.op_type == "Upsample" ? (opset >= 9 ? 1 : -1) : opset < 11 ? 1 : 2;
}
int sizes_input(const Node& node, int64_t opset) { return is_upsample_or_resize10(node, opset) ? -1 : 3; }

// Input i's plan-time value: nullopt when the input is fed at run time; an empty vector when it is omitted or empty.
std::optional<std::vector<double>> constant_values(const KernelQuery& q, int i) {
  size_t u = static_cast<size_t>(i);
  if (i < 0 || u >= q.input_types.size() || !q.input_types[u]) return std::vector<double>{};
  const Tensor* t = u < q.input_constants.size() ? q.input_constants[u] : nullptr;
  if (!t) return std::nullopt;
  std::vector<double> v(static_cast<size_t>(t->numel()));
  for (int64_t k = 0; k < t->numel(); ++k) v[static_cast<size_t>(k)] = t->get_double(k);
  return v;
}

std::optional<Sizing> plan_sizes(const KernelQuery& q, const Shape& in) {
  const Node& node = q.node;
  int si = scales_input(node, q.opset), zi = sizes_input(node, q.opset);
  std::vector<double> scales, sizes;
  if (si < 0) {
    for (float f : node.attr_floats("scales")) scales.push_back(f);
  } else {
    std::optional<std::vector<double>> s = constant_values(q, si);
    if (!s) return std::nullopt;
    scales = *s;
  }
  if (std::optional<std::vector<double>> z = constant_values(q, zi)) sizes = *z;
  else return std::nullopt;
  bool have_scales = !scales.empty(), have_sizes = !sizes.empty();
  if (have_scales == have_sizes) return std::nullopt;

  std::vector<size_t> axes;
  if (q.opset >= 18 && node.has_attr("axes")) {
    for (int64_t a : node.attr_ints("axes")) {
      if (a < -4 || a >= 4) return std::nullopt;
      size_t u = static_cast<size_t>(a < 0 ? a + 4 : a);
      if (std::find(axes.begin(), axes.end(), u) != axes.end()) return std::nullopt;
      axes.push_back(u);
    }
  } else {
    axes = {0, 1, 2, 3};
  }
  Sizing s;
  s.out = in;
  if (have_scales) {
    if (scales.size() != axes.size()) return std::nullopt;
    for (size_t i = 0; i < axes.size(); ++i) {
      if (!(scales[i] > 0)) return std::nullopt;
      s.scale[axes[i]] = scales[i];
      s.out[axes[i]] = static_cast<int64_t>(std::floor(scales[i] * static_cast<double>(in[axes[i]])));
    }
    return s;
  }
  if (sizes.size() != axes.size()) return std::nullopt;
  for (double v : sizes)
    if (v < 0) return std::nullopt;
  std::string policy = q.opset >= 18 ? node.attr_string("keep_aspect_ratio_policy", "stretch") : "stretch";
  if (policy == "stretch") {
    for (size_t i = 0; i < axes.size(); ++i) {
      s.out[axes[i]] = static_cast<int64_t>(sizes[i]);
      s.scale[axes[i]] = in[axes[i]] > 0 ? sizes[i] / static_cast<double>(in[axes[i]]) : 1.0;
    }
    return s;
  }
  if (policy != "not_larger" && policy != "not_smaller") return std::nullopt;
  double scale = policy == "not_larger" ? INFINITY : -INFINITY;
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t d = in[axes[i]];
    double r = d > 0 ? sizes[i] / static_cast<double>(d) : 1.0;
    scale = policy == "not_larger" ? std::min(scale, r) : std::max(scale, r);
  }
  for (size_t a : axes) {
    s.scale[a] = scale;
    s.out[a] = static_cast<int64_t>(scale * static_cast<double>(in[a]) + 0.5);
  }
  return s;
}

// ---- taps of one axis (as the reference's taps_for, without antialias and tf_crop_and_resize) ----

double cubic_kernel(double x, double a) {
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

int taps_per_output(Mode m) { return m == Mode::Nearest ? 1 : m == Mode::Linear ? 2 : 4; }

// For each output coordinate o < out: k source indices idx[o*k + t] (clamped into the axis) and weights w[o*k + t].
// A tap whose weight is 0 reads the element of the heaviest tap instead, so that it costs no extra source row.
void axis_taps(const ResizeAttrs& p, int64_t in, int64_t out, double scale, std::vector<int64_t>& idx,
               std::vector<float>& w) {
  int k = taps_per_output(p.mode);
  idx.assign(static_cast<size_t>(out * k), 0);
  w.assign(static_cast<size_t>(out * k), 0.0f);
  double din = static_cast<double>(in);
  double out_w = scale * din;  // the unrounded output length, as the reference uses it
  for (int64_t o = 0; o < out; ++o) {
    double x = static_cast<double>(o), x_ori = 0;
    switch (p.coord) {
      case Coord::AlignCorners: x_ori = out_w == 1 ? 0.0 : x * (din - 1) / (out_w - 1); break;
      case Coord::Asymmetric: x_ori = x / scale; break;
      case Coord::PytorchHalfPixel: x_ori = out_w == 1 ? -0.5 : (x + 0.5) / scale - 0.5; break;
      case Coord::HalfPixel: x_ori = (x + 0.5) / scale - 0.5; break;
      case Coord::HalfPixelSymmetric: {
        double adjustment = static_cast<double>(out) / out_w;
        double offset = din / 2 * (1 - adjustment);
        x_ori = offset + (x + 0.5) / scale - 0.5;
        break;
      }
    }
    double fl = std::floor(x_ori);
    bool integral = fl == x_ori;
    int64_t f = static_cast<int64_t>(fl) - (integral ? 1 : 0);
    double ratio = integral ? 1.0 : x_ori - fl;
    // Window of n candidate taps starting at f + start, placed as the reference places it (see resize.cc).
    int64_t start = 0, n = 2;
    double cand[4] = {0, 0, 0, 0};
    switch (p.mode) {
      case Mode::Nearest: {
        bool upper = true;
        if (!integral) {
          switch (p.rounding) {
            case Rounding::RoundPreferFloor: upper = ratio > 0.5; break;
            case Rounding::RoundPreferCeil: upper = ratio >= 0.5; break;
            case Rounding::Floor: upper = false; break;
            case Rounding::Ceil: upper = true; break;
            case Rounding::Legacy: upper = scale < 1; break;
          }
        }
        cand[0] = upper ? 0.0 : 1.0;
        cand[1] = upper ? 1.0 : 0.0;
        break;
      }
      case Mode::Linear:
        cand[0] = 1 - ratio;
        cand[1] = ratio;
        break;
      case Mode::Cubic:
        start = -1;
        n = 4;
        for (int64_t i = 0; i < 4; ++i) cand[i] = cubic_kernel(static_cast<double>(i - 1) - ratio, p.cubic_a);
        break;
    }
    int64_t pad = (n + 1) / 2;
    int64_t lo = std::clamp(f + start + pad, int64_t{0}, std::max<int64_t>(0, in + 2 * pad - n)) - pad;
    if (p.exclude_outside) {
      double sum = 0;
      for (int64_t t = 0; t < n; ++t) {
        if (lo + t < 0 || lo + t >= in) cand[t] = 0;
        sum += cand[t];
      }
      for (int64_t t = 0; t < n; ++t) cand[t] /= sum;
    }
    size_t base = static_cast<size_t>(o * k);
    if (p.mode == Mode::Nearest) {
      idx[base] = std::clamp<int64_t>(lo + (cand[1] != 0 ? 1 : 0), 0, in - 1);
      w[base] = 1.0f;
      continue;
    }
    int64_t heaviest = 0;
    for (int64_t t = 1; t < n; ++t)
      if (std::abs(cand[t]) > std::abs(cand[heaviest])) heaviest = t;
    for (int64_t t = 0; t < n; ++t) {
      int64_t src = cand[t] == 0 ? lo + heaviest : lo + t;
      idx[base + static_cast<size_t>(t)] = std::clamp<int64_t>(src, 0, in - 1);
      w[base + static_cast<size_t>(t)] = static_cast<float>(cand[t]);
    }
  }
}

// ---- the kernel ----

// Geometry of one run: `planes` images of in_h x in_w pixels of c floats become out_h x out_w.
struct Geometry {
  int64_t planes = 0, c = 1, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t in_row() const { return in_w * c; }
  int64_t out_row() const { return out_w * c; }
};

class ResizeKernel final : public Kernel {
 public:
  ResizeKernel(std::string name, const ResizeMicrokernels& mk, const ResizeAttrs& attrs, Shape in, Shape out,
               const Sizing& sizing, bool channels_last, int threads, const OpSchema& reference)
      : name_(std::move(name)), mk_(mk), in_shape_(std::move(in)), out_shape_(std::move(out)),
        channels_last_(channels_last), reference_(reference) {
    g_.planes = channels_last ? in_shape_[0] : in_shape_[0] * in_shape_[1];
    g_.c = channels_last ? in_shape_[1] : 1;
    g_.in_h = in_shape_[2];
    g_.in_w = in_shape_[3];
    g_.out_h = out_shape_[2];
    g_.out_w = out_shape_[3];
    k_ = taps_per_output(attrs.mode);

    std::vector<int64_t> idx;
    std::vector<float> w;
    axis_taps(attrs, g_.in_w, g_.out_w, sizing.scale[3], idx, w);
    // Columns: tap-major (k rows of out_w), offsets in floats within a source row.
    col_off_.resize(idx.size());
    col_w_.resize(w.size());
    for (int64_t o = 0; o < g_.out_w; ++o)
      for (int t = 0; t < k_; ++t) {
        size_t from = static_cast<size_t>(o * k_ + t), to = static_cast<size_t>(t * g_.out_w + o);
        col_off_[to] = static_cast<int32_t>(idx[from] * g_.c);
        col_w_[to] = w[from];
      }
    if (attrs.mode == Mode::Nearest) {
      col_identity_ = g_.out_w == g_.in_w;
      for (int64_t o = 0; o < g_.out_w && col_identity_; ++o) col_identity_ = idx[static_cast<size_t>(o)] == o;
      if (!col_identity_ && g_.out_w % g_.in_w == 0) {
        col_repeat_ = g_.out_w / g_.in_w;
        for (int64_t o = 0; o < g_.out_w && col_repeat_; ++o)
          if (idx[static_cast<size_t>(o)] != o / col_repeat_) col_repeat_ = 0;
      }
    }
    // Rows: per output row, its taps with weight != 0 (skipping zero taps keeps a scale-1 axis a plain copy).
    axis_taps(attrs, g_.in_h, g_.out_h, sizing.scale[2], idx, w);
    row_taps_.resize(static_cast<size_t>(g_.out_h));
    for (int64_t o = 0; o < g_.out_h; ++o) {
      RowTaps& rt = row_taps_[static_cast<size_t>(o)];
      for (int t = 0; t < k_; ++t) {
        size_t from = static_cast<size_t>(o * k_ + t);
        if (attrs.mode != Mode::Nearest && w[from] == 0) continue;
        rt.src[rt.k] = idx[from];
        rt.w[rt.k] = w[from];
        ++rt.k;
      }
      if (rt.k == 0) rt.k = 1;  // every weight 0: the reference sums no taps, and so gives 0 (rt.w[0] is 0)
    }
    if (attrs.mode != Mode::Nearest) ensure_scratch(threads);
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != in_shape_) {
      if (channels_last_)
        fail("{}: input is {}{} but the channels-last kernel was planned for float{}", ctx.node().label(),
             dtype_name(x.dtype()), shape_str(x.shape()), shape_str(in_shape_));
      return reference_.compute(ctx);  // not what was planned: the reference kernel checks and reports
    }
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, out_shape_);
    if (y.numel() == 0) return;
    const float* px = x.data<float>();
    float* py = y.data<float>();
    int64_t rows = g_.planes * g_.out_h;
    int threads = static_cast<int>(std::clamp<int64_t>(y.numel() / kMinOutputPerThread, 1, std::max(1, ctx.threads())));
    threads = static_cast<int>(std::min<int64_t>(threads, rows));
    if (k_ > 1) ensure_scratch(threads);
    if (threads <= 1) return run_rows(px, py, 0, rows, 0);
    int64_t chunk = (rows + threads - 1) / threads;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; ++t) {
      int64_t b = t * chunk, e = std::min(rows, b + chunk);
      if (b < e) run_rows(px, py, b, e, t);
    }
  }

  std::string name() const override { return name_; }

 private:
  struct RowTaps {
    int k = 0;
    std::array<int64_t, 4> src{};
    std::array<float, 4> w{};
  };

  void ensure_scratch(int threads) {
    size_t need = static_cast<size_t>(std::max(threads, 1)) * static_cast<size_t>(k_) *
                  static_cast<size_t>(g_.out_row());
    if (scratch_.size() < need) scratch_.resize(need);
  }

  // Output rows [begin, end) of all planes (row r is row r % out_h of plane r / out_h).
  void run_rows(const float* px, float* py, int64_t begin, int64_t end, int thread) {
    if (k_ == 1) return nearest_rows(px, py, begin, end);
    interpolate_rows(px, py, begin, end, scratch_.data() + static_cast<size_t>(thread) * static_cast<size_t>(k_) *
                                                                static_cast<size_t>(g_.out_row()));
  }

  void nearest_rows(const float* px, float* py, int64_t begin, int64_t end) const {
    int64_t in_plane = g_.in_h * g_.in_row(), out_row = g_.out_row();
    size_t row_bytes = static_cast<size_t>(out_row) * sizeof(float);
    for (int64_t r = begin; r < end; ++r) {
      int64_t plane = r / g_.out_h, h = r % g_.out_h;
      float* y = py + r * out_row;
      int64_t src_row = row_taps_[static_cast<size_t>(h)].src[0];
      if (r > begin && h > 0 && row_taps_[static_cast<size_t>(h - 1)].src[0] == src_row) {
        std::memcpy(y, y - out_row, row_bytes);
        continue;
      }
      const float* s = px + plane * in_plane + src_row * g_.in_row();
      if (col_identity_) std::memcpy(y, s, row_bytes);
      else if (col_repeat_) mk_.repeat(s, g_.in_w, col_repeat_, g_.c, y);
      else mk_.pick(s, col_off_.data(), g_.out_w, g_.c, y);
    }
  }

  // Linear / cubic: each source row needed is interpolated along W once into one of k_ cache slots.
  void interpolate_rows(const float* px, float* py, int64_t begin, int64_t end, float* slots) const {
    int64_t in_plane = g_.in_h * g_.in_row(), out_row = g_.out_row();
    std::array<int64_t, 4> tag{-1, -1, -1, -1};  // plane * in_h + source row held by each slot
    for (int64_t r = begin; r < end; ++r) {
      int64_t plane = r / g_.out_h, h = r % g_.out_h;
      const RowTaps& rt = row_taps_[static_cast<size_t>(h)];
      float* y = py + r * out_row;
      auto horizontal = [&](int64_t src_row, float* dst) {
        mk_.taps(px + plane * in_plane + src_row * g_.in_row(), col_off_.data(), col_w_.data(), k_, g_.out_w, g_.c,
                 dst);
      };
      if (rt.k == 1 && rt.w[0] == 1.0f) {  // an exact source row (scale 1 along H, or an integral coordinate)
        horizontal(rt.src[0], y);
        continue;
      }
      std::array<const float*, 4> rows{};
      std::array<bool, 4> used{false, false, false, false};
      for (int t = 0; t < rt.k; ++t) {
        int64_t key = plane * g_.in_h + rt.src[static_cast<size_t>(t)];
        int slot = -1;
        for (int s = 0; s < k_; ++s)
          if (tag[static_cast<size_t>(s)] == key) slot = s;
        if (slot < 0) {
          // A slot no tap of this row needs: one not yet claimed whose row is not among the remaining taps.
          for (int s = 0; s < k_ && slot < 0; ++s) {
            if (used[static_cast<size_t>(s)]) continue;
            bool needed = false;
            for (int u = t + 1; u < rt.k; ++u)
              needed = needed || tag[static_cast<size_t>(s)] == plane * g_.in_h + rt.src[static_cast<size_t>(u)];
            if (!needed) slot = s;
          }
          tag[static_cast<size_t>(slot)] = key;
          horizontal(rt.src[static_cast<size_t>(t)], slots + slot * out_row);
        }
        used[static_cast<size_t>(slot)] = true;
        rows[static_cast<size_t>(t)] = slots + slot * out_row;
      }
      mk_.blend(rows.data(), rt.w.data(), rt.k, out_row, y);
    }
  }

  std::string name_;
  const ResizeMicrokernels& mk_;
  Shape in_shape_, out_shape_;
  bool channels_last_;
  const OpSchema& reference_;
  Geometry g_;
  int k_ = 1;
  std::vector<int32_t> col_off_;
  std::vector<float> col_w_;
  bool col_identity_ = false;
  int64_t col_repeat_ = 0;  // nearest: output column o reads o / col_repeat_
  std::vector<RowTaps> row_taps_;
  std::vector<float> scratch_;  // k_ interpolated rows per thread
};

// What the kernel needs to know at plan time, or nullopt when it does not apply.
struct ResizePlan {
  ResizeAttrs attrs;
  Shape in, out;
  Sizing sizing;
};

std::optional<ResizePlan> plan_resize(const KernelQuery& q) {
  if (q.input_types.empty() || !q.input_types[0]) return std::nullopt;
  const TypeInfo* t = q.input_types[0];
  if (!t->is_tensor() || t->elem != DType::Float32 || !t->shape || t->shape->size() != 4) return std::nullopt;
  std::optional<Shape> in = to_concrete(*t->shape);
  if (!in) return std::nullopt;
  for (int64_t d : *in)
    if (d <= 0) return std::nullopt;
  std::optional<ResizeAttrs> attrs = read_attrs(q.node, q.opset);
  if (!attrs) return std::nullopt;
  std::optional<Sizing> s = plan_sizes(q, *in);
  if (!s) return std::nullopt;
  // Only the spatial axes change; every offset fits in int32.
  if (s->scale[0] != 1 || s->scale[1] != 1 || s->out[0] != (*in)[0] || s->out[1] != (*in)[1]) return std::nullopt;
  if (s->out[2] < 0 || s->out[3] < 0) return std::nullopt;
  if ((*in)[1] * (*in)[2] * (*in)[3] >= (int64_t{1} << 31) || (*in)[1] * s->out[3] >= (int64_t{1} << 31))
    return std::nullopt;
  return ResizePlan{*attrs, *in, s->out, *s};
}

const char* mode_name(Mode m) { return m == Mode::Nearest ? "nearest" : m == Mode::Linear ? "linear" : "cubic"; }

std::unique_ptr<Kernel> create_resize(const KernelQuery& q) {
  ResizePlan p = *plan_resize(q);
  const ResizeMicrokernels& mk = resize_for(active_isa());
  bool cl = q.layout == Layout::ChannelsLast;
  std::string name = std::string("f32_resize_") + mode_name(p.attrs.mode) + (cl ? "_nhwc_" : "_") + mk.isa;
  const OpSchema* ref = OpRegistry::instance().find(q.node.domain, q.node.op_type, q.opset);
  if (!ref || !ref->compute) fail("{}: no reference kernel", q.node.label());
  return std::make_unique<ResizeKernel>(std::move(name), mk, p.attrs, p.in, p.out, p.sizing, cl, q.threads, *ref);
}

KernelFactory resize_factory(const char* op, int since, int until) {
  return KernelFactory{
      .domain = "",
      .op = op,
      .name = "f32_resize",
      .priority = 10,
      .applies = [since, until](const KernelQuery& q) {
        return q.opset >= since && q.opset <= until && plan_resize(q).has_value();
      },
      .create = create_resize,
      // The data input must be an activation: a constant one would stay plain.
      .channels_last =
          [](const KernelQuery& q) {
            return !q.input_constants.empty() && !q.input_constants[0] && plan_resize(q).has_value();
          },
  };
}

const KernelRegistrar kResizeKernel{resize_factory("Resize", 10, kLatestOpset)};
const KernelRegistrar kUpsampleKernel{resize_factory("Upsample", 7, 9)};

}  // namespace
}  // namespace hone::cpu
