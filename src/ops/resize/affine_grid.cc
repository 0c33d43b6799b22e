// AffineGrid (opset 20): the sampling grid GridSample takes, from affine matrices theta (N x 2 x 3 or N x 3 x 4)
// and the target size (N, C, H, W) or (N, C, D, H, W). Output N x H x W x 2 (or N x D x H x W x 3) holding
// theta @ (x, y[, z], 1) for base coordinates in [-1, 1]: element centres of a grid spanning [-1, 1]
// (align_corners = 0) or with its corner elements at -1 and 1 (align_corners = 1).
#include "ops/op_helpers.h"

namespace hone {
namespace {

double base_coord(int64_t i, int64_t len, bool align) {
  if (align) return len <= 1 ? 0.0 : -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(len - 1);
  return -1.0 + (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(len);
}

void affine_grid(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& theta = ctx.input(0);
  std::vector<int64_t> size = ctx.input(1).to_int64_vector();
  if (size.size() != 4 && size.size() != 5)
    fail("{}: size must have 4 or 5 values, got {}", node.label(), size.size());
  int64_t r = static_cast<int64_t>(size.size()) - 2;  // spatial rank
  for (int64_t v : size)
    if (v < 0) fail("{}: size values must not be negative", node.label());
  if (theta.rank() != 3 || theta.dim(0) != size[0] || theta.dim(1) != r || theta.dim(2) != r + 1)
    fail("{}: theta of shape {} does not match size {}", node.label(), shape_str(theta.shape()), shape_str(size));
  bool align = node.attr_int("align_corners", 0) != 0;
  Shape out = {size[0]};
  for (int64_t d = 2; d < 2 + r; ++d) out.push_back(size[static_cast<size_t>(d)]);
  out.push_back(r);
  Shape spatial(size.begin() + 2, size.end());
  int64_t points = shape_numel(spatial);
  Tensor& y = ctx.output_uninitialized(0, theta.dtype(), out);
  HONE_DISPATCH_FLOAT(theta.dtype(), node, {
    const T* th = theta.data<T>();
    T* py = y.data<T>();
    std::vector<int64_t> idx(static_cast<size_t>(r), 0);
    std::vector<double> h(static_cast<size_t>(r + 1), 1.0);  // homogeneous base point (x, y[, z], 1)
    for (int64_t p = 0; p < points; ++p) {
      for (int64_t d = 0; d < r; ++d)  // spatial axis d (D, H, W order) is component r - 1 - d (x first)
        h[static_cast<size_t>(r - 1 - d)] = base_coord(idx[static_cast<size_t>(d)], spatial[static_cast<size_t>(d)], align);
      for (int64_t n = 0; n < size[0]; ++n)
        for (int64_t j = 0; j < r; ++j) {
          double v = 0;
          for (int64_t k = 0; k <= r; ++k) v += static_cast<double>(th[(n * r + j) * (r + 1) + k]) * h[static_cast<size_t>(k)];
          py[(n * points + p) * r + j] = static_cast<T>(v);
        }
      for (int64_t d = r; d-- > 0;) {
        if (++idx[static_cast<size_t>(d)] < spatial[static_cast<size_t>(d)]) break;
        idx[static_cast<size_t>(d)] = 0;
      }
    }
  });
}

void infer_affine_grid(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const Tensor* size = ctx.input_value(1);
  if (!size || (size->numel() != 4 && size->numel() != 5)) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  std::vector<int64_t> s = size->to_int64_vector();
  SymShape out = {Dim(s[0])};
  for (size_t d = 2; d < s.size(); ++d) out.push_back(Dim(s[d]));
  out.push_back(Dim(static_cast<int64_t>(s.size()) - 2));
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "AffineGrid", .since = 20, .infer = infer_affine_grid, .compute = affine_grid});

}  // namespace hone
