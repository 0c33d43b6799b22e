// GlobalAveragePool, GlobalMaxPool, GlobalLpPool: reduce every spatial dim of [N, C, ...] to 1.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/op_helpers.h"

namespace hone::nn {
namespace {

enum class GlobalKind { Average, Max, Lp };

template <typename T>
void global_pool_compute(GlobalKind kind, double p, int64_t planes, int64_t size, const T* x, T* y) {
  using A = std::conditional_t<std::is_same_v<T, double>, double, float>;
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* xp = x + pl * size;
    if (kind == GlobalKind::Max) {
      A best = size > 0 ? static_cast<A>(xp[0]) : std::numeric_limits<A>::quiet_NaN();
      for (int64_t i = 1; i < size; ++i) best = static_cast<A>(xp[i]) > best ? static_cast<A>(xp[i]) : best;
      y[pl] = static_cast<T>(best);
    } else if (kind == GlobalKind::Average) {
      A sum = 0;
      for (int64_t i = 0; i < size; ++i) sum += static_cast<A>(xp[i]);
      y[pl] = static_cast<T>(sum / static_cast<A>(size));
    } else {
      double sum = 0;
      for (int64_t i = 0; i < size; ++i) sum += std::pow(std::fabs(static_cast<double>(xp[i])), p);
      y[pl] = static_cast<T>(std::pow(sum, 1.0 / p));
    }
  }
}

void global_pool(OpContext& ctx, GlobalKind kind) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) fail("{}: input must have rank >= 2, got {}", ctx.node().label(), x.rank());
  double p = 2.0;
  if (kind == GlobalKind::Lp) {
    // GlobalLpPool-1 stores p as a float; later versions as an int.
    if (const Attribute* a = ctx.node().find_attr("p"))
      p = a->type == Attribute::Type::Float ? static_cast<double>(a->f) : static_cast<double>(a->i);
    if (!(p > 0)) fail("{}: p must be positive, got {}", ctx.node().label(), p);
  }
  Shape out = {x.dim(0), x.dim(1)};
  out.resize(static_cast<size_t>(x.rank()), 1);
  int64_t planes = x.dim(0) * x.dim(1);
  int64_t size = planes == 0 ? 0 : x.numel() / planes;
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out);
  if (y.numel() == 0) return;
  HONE_DISPATCH_FLOAT(x.dtype(), ctx.node(), global_pool_compute<T>(kind, p, planes, size, x.data<T>(), y.data<T>()));
}

void global_average_pool(OpContext& ctx) { global_pool(ctx, GlobalKind::Average); }
void global_max_pool(OpContext& ctx) { global_pool(ctx, GlobalKind::Max); }
void global_lp_pool(OpContext& ctx) { global_pool(ctx, GlobalKind::Lp); }

void infer_global_pool(InferenceContext& ctx) {
  const SymShape* xs = ctx.input_shape(0);
  std::optional<SymShape> out;
  if (xs && xs->size() >= 2) {
    out = SymShape(xs->size(), Dim(1));
    (*out)[0] = (*xs)[0];
    (*out)[1] = (*xs)[1];
  }
  ctx.set_output_tensor(0, ctx.input_dtype(0), out);
}

}  // namespace

HONE_REGISTER_OP({.name = "GlobalAveragePool", .since = 1, .infer = infer_global_pool, .compute = global_average_pool});
HONE_REGISTER_OP({.name = "GlobalMaxPool", .since = 1, .infer = infer_global_pool, .compute = global_max_pool});
HONE_REGISTER_OP({.name = "GlobalLpPool", .since = 1, .infer = infer_global_pool, .compute = global_lp_pool});

}  // namespace hone::nn
