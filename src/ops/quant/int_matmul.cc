#include "ops/quant/int_matmul.h"

#include "ops/op_helpers.h"

namespace hone {

MatMulPlan plan_matmul(const Shape& a_in, const Shape& b_in, const Node& node) {
  if (a_in.empty() || b_in.empty()) fail("{}: matmul operands must have rank >= 1", node.label());
  Shape a = a_in, b = b_in;
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  MatMulPlan p;
  p.M = a[a.size() - 2];
  p.K = a.back();
  p.N = b.back();
  if (b[b.size() - 2] != p.K)
    fail("{}: cannot multiply shapes {} and {}", node.label(), shape_str(a_in), shape_str(b_in));
  Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch, node);
  int64_t nb = shape_numel(batch);
  std::vector<int64_t> sa = broadcast_strides(a_batch, batch), sb = broadcast_strides(b_batch, batch);
  std::vector<int64_t> idx(batch.size(), 0);
  for (int64_t i = 0; i < nb; ++i) {
    int64_t oa = 0, ob = 0;
    for (size_t d = 0; d < batch.size(); ++d) {
      oa += idx[d] * sa[d];
      ob += idx[d] * sb[d];
    }
    p.a_offsets.push_back(oa * p.M * p.K);
    p.b_offsets.push_back(ob * p.K * p.N);
    for (size_t d = batch.size(); d-- > 0;) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  p.out_shape = batch;
  if (a_in.size() > 1) p.out_shape.push_back(p.M);
  if (b_in.size() > 1) p.out_shape.push_back(p.N);
  return p;
}

std::optional<SymShape> infer_matmul_shape(const SymShape* a_in, const SymShape* b_in) {
  if (!a_in || !b_in || a_in->empty() || b_in->empty()) return std::nullopt;
  SymShape a = *a_in, b = *b_in;
  if (a.size() == 1) a.insert(a.begin(), Dim(1));
  if (b.size() == 1) b.push_back(Dim(1));
  SymShape out = broadcast_sym_shapes(SymShape(a.begin(), a.end() - 2), SymShape(b.begin(), b.end() - 2));
  if (a_in->size() > 1) out.push_back(a[a.size() - 2]);
  if (b_in->size() > 1) out.push_back(b.back());
  return out;
}

void matmul_int32(const int32_t* a, const int32_t* b, int32_t* y, const MatMulPlan& p) {
  for (size_t batch = 0; batch < p.a_offsets.size(); ++batch) {
    const int32_t* pa = a + p.a_offsets[batch];
    const int32_t* pb = b + p.b_offsets[batch];
    int32_t* py = y + static_cast<int64_t>(batch) * p.M * p.N;
    for (int64_t m = 0; m < p.M; ++m) {
      for (int64_t n = 0; n < p.N; ++n) {
        int64_t acc = 0;
        for (int64_t k = 0; k < p.K; ++k) acc += static_cast<int64_t>(pa[m * p.K + k]) * pb[k * p.N + n];
        py[m * p.N + n] = static_cast<int32_t>(acc);
      }
    }
  }
}

std::vector<int32_t> subtract_zero_point(const Tensor& x, const Tensor* zp, bool per_row, const Node& node) {
  std::vector<int32_t> out(static_cast<size_t>(x.numel()));
  if (!zp || zp->numel() == 1) {
    int64_t z = zp ? zp->get_int(0) : 0;
    for (int64_t i = 0; i < x.numel(); ++i) out[static_cast<size_t>(i)] = static_cast<int32_t>(x.get_int(i) - z);
    return out;
  }
  Shape zshape = zp->shape();
  if (per_row && zshape.size() == 1) zshape.push_back(1);
  if (broadcast_shapes(x.shape(), zshape, node) != x.shape())
    fail("{}: zero point shape {} does not fit input shape {}", node.label(), shape_str(zp->shape()), shape_str(x.shape()));
  for_each_broadcast(x.shape(), x.shape(), zshape, [&](int64_t i, int64_t ix, int64_t iz) {
    out[static_cast<size_t>(i)] = static_cast<int32_t>(x.get_int(ix) - zp->get_int(iz));
  });
  return out;
}

}  // namespace hone
