#include "ops/norm/norm_common.h"

namespace hone {

std::vector<double> expand_param(const Tensor& p, const Shape& target, const Node& node, const char* what) {
  if (p.rank() > static_cast<int>(target.size()))
    fail("{}: {} of shape {} does not broadcast to {}", node.label(), what, shape_str(p.shape()), shape_str(target));
  size_t off = target.size() - p.shape().size();
  for (size_t d = 0; d < p.shape().size(); ++d)
    if (p.shape()[d] != 1 && p.shape()[d] != target[off + d])
      fail("{}: {} of shape {} does not broadcast to {}", node.label(), what, shape_str(p.shape()), shape_str(target));
  std::vector<double> out(static_cast<size_t>(shape_numel(target)));
  if (out.empty()) return out;
  std::vector<int64_t> bs = broadcast_strides(p.shape(), target);
  std::vector<int64_t> idx(target.size(), 0);
  int64_t src = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = p.get_double(src);
    for (size_t d = target.size(); d-- > 0;) {
      if (++idx[d] < target[d]) {
        src += bs[d];
        break;
      }
      src -= bs[d] * (target[d] - 1);
      idx[d] = 0;
    }
  }
  return out;
}

std::vector<double> param_values(const Tensor& p, int64_t n, const Node& node, const char* what) {
  if (p.numel() != n)
    fail("{}: {} must have {} elements, got shape {}", node.label(), what, n, shape_str(p.shape()));
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = p.get_double(i);
  return out;
}

DType stash_dtype(const Node& node) {
  int64_t t = node.attr_int("stash_type", 1);
  switch (t) {
    case 1: return DType::Float32;
    case 10: return DType::Float16;
    case 11: return DType::Float64;
    case 16: return DType::BFloat16;
    default: fail("{}: stash_type {} is not a float type", node.label(), t);
  }
}

}  // namespace hone

namespace hone {

std::vector<double> float_values(const Tensor& t, const Node& node) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  HONE_DISPATCH_FLOAT(t.dtype(), node, {
    const T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(p[i]);
  });
  return v;
}

void store_float_values(Tensor& t, const std::vector<double>& v, const Node& node) {
  HONE_DISPATCH_FLOAT(t.dtype(), node, {
    T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<T>(v[i]);
  });
}

}  // namespace hone
