// Transpose: permute axes (default: reverse them).
#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

std::vector<int64_t> transpose_perm(const Node& n, int64_t rank) {
  std::vector<int64_t> perm = n.attr_ints("perm");
  if (!n.has_attr("perm"))
    for (int64_t i = rank; i-- > 0;) perm.push_back(i);
  if (static_cast<int64_t>(perm.size()) != rank)
    fail("{}: perm has {} entries for rank {}", n.label(), perm.size(), rank);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t& p : perm) {
    if (p < -rank || p >= rank) fail("{}: perm entry {} is out of range", n.label(), p);
    if (p < 0) p += rank;
    if (seen[static_cast<size_t>(p)]) fail("{}: perm repeats axis {}", n.label(), p);
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

void transpose(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> perm = transpose_perm(ctx.node(), x.rank());
  Shape out_shape(perm.size());
  std::vector<int64_t> in_strides = strides_of(x.shape()), src_stride(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    out_shape[i] = x.shape()[static_cast<size_t>(perm[i])];
    src_stride[i] = in_strides[static_cast<size_t>(perm[i])];
  }
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out_shape);
  int64_t n = y.numel();
  if (n == 0) return;
  HONE_DISPATCH_STORAGE(x.dtype(), ctx.node(), {
    const T* src = x.data<T>();
    T* dst = y.data<T>();
    for_each_strided(out_shape, src_stride, 0, [&](int64_t i, int64_t off) { dst[i] = src[off]; });
  });
}

void infer_transpose(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  if (!s) {
    ctx.set_output_tensor(0, ctx.input_dtype(0), std::nullopt);
    return;
  }
  std::vector<int64_t> perm = transpose_perm(ctx.node(), static_cast<int64_t>(s->size()));
  SymShape out;
  for (int64_t p : perm) out.push_back((*s)[static_cast<size_t>(p)]);
  ctx.set_output_tensor(0, ctx.input_dtype(0), out);
}

}  // namespace

HONE_REGISTER_OP({.name = "Transpose", .since = 1, .infer = infer_transpose, .compute = transpose});

}  // namespace hone
