// Identity (tensors, sequences and optionals pass through) and Dropout (inference: identity with an all-true mask;
// training mode with ratio > 0 drops elements at random and scales the rest by 1 / (1 - ratio)).
#include <random>

#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

void identity(OpContext& ctx) { ctx.set_output(0, ctx.input_value(0)); }

void infer_identity(InferenceContext& ctx) {
  ctx.set_output(0, ctx.input_type(0));
  if (const Tensor* v = ctx.input_value(0)) ctx.set_output_value(0, *v);
}

// Mask element type: the data type before opset 10, bool from 10.
DType mask_dtype(int64_t opset, DType data) { return opset < 10 ? data : DType::Bool; }

void dropout(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& n = ctx.node();
  float ratio = n.attr_float("ratio", 0.5f);
  bool training = false;
  if (ctx.opset() >= 12) {
    ratio = ctx.has_input(1) ? static_cast<float>(ctx.input(1).get_double(0)) : 0.5f;
    training = ctx.has_input(2) && ctx.input(2).get_int(0) != 0;
  }
  // Opsets 1-6 default is_test to 0 (training), but an exported inference graph never means that: like other
  // inference engines, treat them as inference, so the attribute is ignored.
  if (ratio < 0 || ratio >= 1) fail("{}: ratio {} must be in [0, 1)", n.label(), ratio);
  bool drop = training && ratio > 0;
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  Tensor mask;
  bool want_mask = ctx.wants_output(1);
  if (want_mask) mask = ctx.output_uninitialized(1, mask_dtype(ctx.opset(), x.dtype()), x.shape());
  if (!drop) {
    copy_elements(x, 0, y, 0, x.numel());
    if (want_mask)
      for (int64_t i = 0; i < x.numel(); ++i) mask.set_double(i, 1.0);
    return;
  }
  std::mt19937_64 rng(static_cast<uint64_t>(n.attr_int("seed", 0)));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double scale = 1.0 / (1.0 - ratio);
  HONE_DISPATCH_FLOAT(x.dtype(), n, {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      bool keep = u(rng) >= ratio;
      py[i] = static_cast<T>(keep ? static_cast<double>(px[i]) * scale : 0.0);
      if (want_mask) mask.set_double(i, keep ? 1.0 : 0.0);
    }
  });
}

void infer_dropout(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  std::optional<SymShape> shape = s ? std::optional(*s) : std::nullopt;
  ctx.set_output_tensor(0, ctx.input_dtype(0), shape);
  if (ctx.num_outputs() > 1) ctx.set_output_tensor(1, mask_dtype(ctx.opset(), ctx.input_dtype(0)), shape);
}

}  // namespace

HONE_REGISTER_OP({.name = "Identity", .since = 1, .infer = infer_identity, .compute = identity});
HONE_REGISTER_OP({.name = "Dropout", .since = 1, .infer = infer_dropout, .compute = dropout, .deterministic = false});

}  // namespace hone
