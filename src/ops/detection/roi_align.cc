// RoiAlign (opset 10; 16 adds coordinate_transformation_mode, default half_pixel; 22 widens types): for each
// region rois[r] = [x1, y1, x2, y2] (scaled by spatial_scale) of image batch_indices[r] in X [N, C, H, W], an
// output_height x output_width grid of bins, each sampling sampling_ratio^2 points (or ceil(bin size) per axis when
// sampling_ratio is 0) by bilinear interpolation, pooled by average or max. As in the ONNX reference, max mode takes
// the largest weighted corner term of each sample, and samples beyond [-1, H] x [-1, W] count as zero.
#include <cmath>

#include "ops/attention/float_io.h"

namespace hone {
namespace {

struct Sample {
  int64_t pos[4] = {0, 0, 0, 0};
  double w[4] = {0, 0, 0, 0};
};

Sample bilinear_sample(double y, double x, int64_t height, int64_t width) {
  Sample s;
  if (y < -1.0 || y > static_cast<double>(height) || x < -1.0 || x > static_cast<double>(width)) return s;
  y = std::max(y, 0.0);
  x = std::max(x, 0.0);
  int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x), y_high, x_high;
  if (y_low >= height - 1) {
    y_high = y_low = height - 1;
    y = static_cast<double>(y_low);
  } else {
    y_high = y_low + 1;
  }
  if (x_low >= width - 1) {
    x_high = x_low = width - 1;
    x = static_cast<double>(x_low);
  } else {
    x_high = x_low + 1;
  }
  double ly = y - static_cast<double>(y_low), lx = x - static_cast<double>(x_low), hy = 1 - ly, hx = 1 - lx;
  s.pos[0] = y_low * width + x_low;
  s.pos[1] = y_low * width + x_high;
  s.pos[2] = y_high * width + x_low;
  s.pos[3] = y_high * width + x_high;
  s.w[0] = hy * hx;
  s.w[1] = hy * lx;
  s.w[2] = ly * hx;
  s.w[3] = ly * lx;
  return s;
}

template <bool kHalfPixelDefault>
void roi_align(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  const Tensor& batch_indices = ctx.input(2);
  if (x.rank() != 4) fail("{}: X must be [N, C, H, W], got {}", n.label(), shape_str(x.shape()));
  if (rois.rank() != 2 || rois.dim(1) != 4) fail("{}: rois must be [num_rois, 4], got {}", n.label(), shape_str(rois.shape()));
  if (batch_indices.rank() != 1 || batch_indices.dim(0) != rois.dim(0))
    fail("{}: batch_indices must be [{}], got {}", n.label(), rois.dim(0), shape_str(batch_indices.shape()));
  if (rois.dtype() != x.dtype()) fail("{}: rois must have X's element type", n.label());
  std::string ctm = n.attr_string("coordinate_transformation_mode", kHalfPixelDefault ? "half_pixel" : "output_half_pixel");
  if (ctm != "half_pixel" && ctm != "output_half_pixel")
    fail("{}: coordinate_transformation_mode must be half_pixel or output_half_pixel, got '{}'", n.label(), ctm);
  bool half_pixel = ctm == "half_pixel";
  std::string mode = n.attr_string("mode", "avg");
  if (mode != "avg" && mode != "max") fail("{}: mode must be avg or max, got '{}'", n.label(), mode);
  int64_t out_h = n.attr_int("output_height", 1), out_w = n.attr_int("output_width", 1);
  int64_t sampling_ratio = n.attr_int("sampling_ratio", 0);
  double spatial_scale = n.attr_float("spatial_scale", 1.0f);
  if (out_h <= 0 || out_w <= 0) fail("{}: output_height and output_width must be positive", n.label());
  if (sampling_ratio < 0) fail("{}: sampling_ratio must not be negative", n.label());

  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), R = rois.dim(0);
  std::vector<double> xv = float_values(x, n), rv = float_values(rois, n);
  std::vector<int64_t> bidx = batch_indices.to_int64_vector();
  std::vector<double> y(static_cast<size_t>(R * C * out_h * out_w));
  std::vector<Sample> samples;
  for (int64_t r = 0; r < R; ++r) {
    int64_t b = bidx[static_cast<size_t>(r)];
    if (b < 0 || b >= N) fail("{}: batch index {} is outside [0, {})", n.label(), b, N);
    double offset = half_pixel ? 0.5 : 0.0;
    const double* roi = &rv[static_cast<size_t>(r * 4)];
    double start_w = roi[0] * spatial_scale - offset, start_h = roi[1] * spatial_scale - offset;
    double roi_w = roi[2] * spatial_scale - offset - start_w, roi_h = roi[3] * spatial_scale - offset - start_h;
    if (!half_pixel) {  // malformed regions become 1x1
      roi_w = std::max(roi_w, 1.0);
      roi_h = std::max(roi_h, 1.0);
    }
    double bin_h = roi_h / static_cast<double>(out_h), bin_w = roi_w / static_cast<double>(out_w);
    int64_t grid_h = sampling_ratio > 0 ? sampling_ratio : static_cast<int64_t>(std::ceil(roi_h / static_cast<double>(out_h)));
    int64_t grid_w = sampling_ratio > 0 ? sampling_ratio : static_cast<int64_t>(std::ceil(roi_w / static_cast<double>(out_w)));
    grid_h = std::max<int64_t>(grid_h, 0);
    grid_w = std::max<int64_t>(grid_w, 0);
    double count = static_cast<double>(std::max<int64_t>(grid_h * grid_w, 1));
    samples.clear();
    for (int64_t ph = 0; ph < out_h; ++ph)
      for (int64_t pw = 0; pw < out_w; ++pw)
        for (int64_t iy = 0; iy < grid_h; ++iy) {
          double yy = start_h + static_cast<double>(ph) * bin_h + (static_cast<double>(iy) + 0.5) * bin_h / static_cast<double>(grid_h);
          for (int64_t ix = 0; ix < grid_w; ++ix) {
            double xx = start_w + static_cast<double>(pw) * bin_w + (static_cast<double>(ix) + 0.5) * bin_w / static_cast<double>(grid_w);
            samples.push_back(bilinear_sample(yy, xx, H, W));
          }
        }
    for (int64_t c = 0; c < C; ++c) {
      const double* img = &xv[static_cast<size_t>((b * C + c) * H * W)];
      size_t si = 0;
      for (int64_t ph = 0; ph < out_h; ++ph)
        for (int64_t pw = 0; pw < out_w; ++pw) {
          double v = 0;
          bool first = true;
          for (int64_t k = 0; k < grid_h * grid_w; ++k, ++si) {
            const Sample& s = samples[si];
            if (mode == "avg") {
              for (int q = 0; q < 4; ++q) v += s.w[q] * img[s.pos[q]];
            } else {
              double m = s.w[0] * img[s.pos[0]];
              for (int q = 1; q < 4; ++q) m = std::max(m, s.w[q] * img[s.pos[q]]);
              v = first ? m : std::max(v, m);
              first = false;
            }
          }
          if (mode == "avg") v /= count;
          y[static_cast<size_t>(((r * C + c) * out_h + ph) * out_w + pw)] = v;
        }
    }
  }
  store_float_values(ctx.output_uninitialized(0, x.dtype(), {R, C, out_h, out_w}), y, n);
}

void infer_roi_align(InferenceContext& ctx) {
  const Node& n = ctx.node();
  Dim rois, channels;
  if (const SymShape* r = ctx.input_shape(1); r && r->size() == 2) rois = (*r)[0];
  if (const SymShape* x = ctx.input_shape(0); x && x->size() == 4) channels = (*x)[1];
  ctx.set_output_tensor(0, ctx.input_dtype(0),
                        SymShape{rois, channels, n.attr_int("output_height", 1), n.attr_int("output_width", 1)});
}

}  // namespace

HONE_REGISTER_OP({.name = "RoiAlign", .since = 10, .until = 15, .infer = infer_roi_align, .compute = roi_align<false>});
HONE_REGISTER_OP({.name = "RoiAlign", .since = 16, .infer = infer_roi_align, .compute = roi_align<true>});

}  // namespace hone
