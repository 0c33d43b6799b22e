#include "serve/batch_tensors.h"

#include <cstring>
#include <string>

namespace hone::serve {

namespace {
// Strings are objects, not bytes: copied one by one.
void copy_elements(DType dtype, const void* from, void* to, int64_t count) {
  if (dtype == DType::String) {
    const auto* f = static_cast<const std::string*>(from);
    auto* t = static_cast<std::string*>(to);
    for (int64_t i = 0; i < count; ++i) t[i] = f[i];
  } else {
    std::memcpy(to, from, static_cast<size_t>(count) * dtype_size(dtype));
  }
}
}  // namespace

Tensor concat_rows(const std::vector<const Tensor*>& parts) {
  HONE_CHECK(!parts.empty() && parts[0]->rank() >= 1, "concat_rows needs parts of rank >= 1");
  Shape shape = parts[0]->shape();
  shape[0] = 0;
  for (const Tensor* p : parts) shape[0] += p->dim(0);
  Tensor out(parts[0]->dtype(), shape);
  const size_t elem = dtype_size(out.dtype());
  auto* dst = static_cast<char*>(out.raw());
  for (const Tensor* p : parts) {
    copy_elements(out.dtype(), p->raw(), dst, p->numel());
    dst += static_cast<size_t>(p->numel()) * elem;
  }
  return out;
}

Tensor slice_rows(const Tensor& t, int64_t begin, int64_t count) {
  HONE_CHECK(t.rank() >= 1 && begin >= 0 && count >= 0 && begin + count <= t.dim(0),
             "rows [{}, {}) are out of a tensor of shape {}", begin, begin + count, shape_str(t.shape()));
  Shape shape = t.shape();
  shape[0] = count;
  Tensor out(t.dtype(), shape);
  const int64_t row = t.dim(0) == 0 ? 0 : t.numel() / t.dim(0);
  const auto* src = static_cast<const char*>(t.raw()) + static_cast<size_t>(begin * row) * dtype_size(t.dtype());
  copy_elements(t.dtype(), src, out.raw(), count * row);
  return out;
}

}  // namespace hone::serve
