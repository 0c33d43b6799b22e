// Trilu: keep the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims, zero the rest.
#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

void trilu(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) fail("{}: input must have rank >= 2", ctx.node().label());
  int64_t k = 0;
  if (ctx.has_input(1)) {
    const Tensor& kt = ctx.input(1);
    if (kt.numel() != 1 || !is_integer(kt.dtype())) fail("{}: k must be one integer", ctx.node().label());
    k = kt.get_int(0);
  }
  bool upper = ctx.node().attr_int("upper", 1) != 0;
  Tensor& y = ctx.output(0, x.dtype(), x.shape());  // zero-filled (strings: empty)
  int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1), mat = rows * cols;
  int64_t batches = mat ? x.numel() / mat : 0;
  for (int64_t b = 0; b < batches; ++b)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        if (upper ? j - i >= k : j - i <= k) copy_elements(x, b * mat + i * cols + j, y, b * mat + i * cols + j, 1);
}

}  // namespace

HONE_REGISTER_OP({.name = "Trilu", .since = 14, .infer = infer_same_as_input, .compute = trilu});

}  // namespace hone
