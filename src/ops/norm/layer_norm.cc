// LayerNormalization (opset 17) and RMSNormalization (opset 23): normalize each row made of the axes from `axis`
// (default -1) on, then multiply by Scale (and add B), both broadcast to the normalized shape.
//   LayerNormalization: y = (x - mean) / sqrt(var + epsilon) * scale + B; optional outputs Mean and
//     InvStdDev = 1 / sqrt(var + epsilon), shaped as X with the normalized axes set to 1, of type stash_type.
//   RMSNormalization:   y = x / sqrt(mean(x^2) + epsilon) * scale.
#include <cmath>

#include "ops/norm/norm_common.h"

namespace hone {
namespace {

void normalize_rows(OpContext& ctx, bool rms) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  int64_t rank = x.rank();
  if (rank == 0) fail("{}: input must have rank >= 1", node.label());
  int64_t axis = normalize_axis(node.attr_int("axis", -1), rank, node);
  double eps = node.attr_float("epsilon", 1e-5f);
  Shape norm_shape(x.shape().begin() + axis, x.shape().end());
  int64_t row = shape_numel(norm_shape);
  int64_t rows = row == 0 ? 0 : x.numel() / row;
  std::vector<double> scale = expand_param(ctx.input(1), norm_shape, node, "Scale");
  std::vector<double> bias;
  if (!rms && ctx.has_input(2)) bias = expand_param(ctx.input(2), norm_shape, node, "B");
  std::vector<double> v = float_values(x, node);
  std::vector<double> means(static_cast<size_t>(rows)), inv_std(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    double* p = v.data() + r * row;
    double m = 0, var = 0;
    if (!rms) {
      for (int64_t k = 0; k < row; ++k) m += p[k];
      m /= static_cast<double>(row);
    }
    for (int64_t k = 0; k < row; ++k) var += (p[k] - m) * (p[k] - m);
    var /= static_cast<double>(row);
    double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t k = 0; k < row; ++k) {
      size_t j = static_cast<size_t>(k);
      p[k] = (p[k] - m) * inv * scale[j] + (bias.empty() ? 0.0 : bias[j]);
    }
    means[static_cast<size_t>(r)] = m;
    inv_std[static_cast<size_t>(r)] = inv;
  }
  store_float_values(ctx.output_uninitialized(0, x.dtype(), x.shape()), v, node);
  if (rms) return;
  Shape stat_shape = x.shape();
  for (int64_t d = axis; d < rank; ++d) stat_shape[static_cast<size_t>(d)] = 1;
  DType st = stash_dtype(node);
  if (ctx.wants_output(1)) store_float_values(ctx.output_uninitialized(1, st, stat_shape), means, node);
  if (ctx.wants_output(2)) store_float_values(ctx.output_uninitialized(2, st, stat_shape), inv_std, node);
}

void layer_norm(OpContext& ctx) { normalize_rows(ctx, false); }
void rms_norm(OpContext& ctx) { normalize_rows(ctx, true); }

void infer_layer_norm(InferenceContext& ctx) {
  if (!ctx.has_input(0)) return;
  ctx.set_output(0, ctx.input_type(0));
  if (ctx.num_outputs() < 2) return;
  DType st = stash_dtype(ctx.node());
  const SymShape* x = ctx.input_shape(0);
  std::optional<SymShape> stat;
  if (x && !x->empty()) {
    int64_t rank = static_cast<int64_t>(x->size());
    int64_t axis = normalize_axis(ctx.node().attr_int("axis", -1), rank, ctx.node());
    stat = *x;
    for (int64_t d = axis; d < rank; ++d) (*stat)[static_cast<size_t>(d)] = Dim(1);
  }
  for (size_t i = 1; i < ctx.num_outputs(); ++i) ctx.set_output_tensor(i, st, stat);
}

}  // namespace

HONE_REGISTER_OP({.name = "LayerNormalization", .since = 17, .infer = infer_layer_norm, .compute = layer_norm});
HONE_REGISTER_OP({.name = "RMSNormalization", .since = 23, .infer = infer_same_as_input, .compute = rms_norm});

}  // namespace hone
