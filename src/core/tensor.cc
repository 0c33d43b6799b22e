#include "core/tensor.h"

#include <cstdlib>
#include <cstring>

#include "core/float8.h"

namespace hone {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) fail("negative dimension {} in shape {}", d, shape_str(shape));
    if (d != 0 && n > kMaxTensorElements / d)
      fail("shape {} has more than 2^34 elements; refusing to allocate", shape_str(shape));
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

namespace {
constexpr size_t kAlign = 64;
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = shape_numel(shape_);
  if (dtype_ == DType::Undefined) fail("cannot allocate a tensor of undefined element type");
  if (dtype_ == DType::String) {
    auto* strings = new std::string[static_cast<size_t>(numel_ ? numel_ : 1)];
    storage_ = std::shared_ptr<void>(strings, [](void* p) { delete[] static_cast<std::string*>(p); });
  } else {
    size_t bytes = (nbytes() + kAlign - 1) / kAlign * kAlign;
    void* p = std::aligned_alloc(kAlign, bytes ? bytes : kAlign);
    if (!p) fail("out of memory allocating {} bytes for a {} tensor of shape {}", bytes, dtype_name(dtype_), shape_str(shape_));
    std::memset(p, 0, bytes);
    storage_ = std::shared_ptr<void>(p, std::free);
  }
  data_ = storage_.get();
}

Tensor Tensor::borrow(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  t.data_ = data;
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  int64_t n = shape_numel(shape);
  if (n != numel_) fail("cannot view a tensor of shape {} as {}", shape_str(shape_), shape_str(shape));
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (dtype_ == DType::String) {
    for (int64_t i = 0; i < numel_; ++i) t.data<std::string>()[i] = data<std::string>()[i];
  } else if (nbytes()) {
    std::memcpy(t.data_, data_, nbytes());
  }
  return t;
}

double Tensor::get_double(int64_t k) const {
  switch (dtype_) {
    case DType::Float32: return data<float>()[k];
    case DType::Float64: return data<double>()[k];
    case DType::Float16: return static_cast<float>(data<Float16>()[k]);
    case DType::BFloat16: return static_cast<float>(data<BFloat16>()[k]);
    case DType::Int8: case DType::Int4: case DType::Int2: return data<int8_t>()[k];
    case DType::UInt8: case DType::UInt4: case DType::UInt2: case DType::Bool: return data<uint8_t>()[k];
    case DType::Int16: return data<int16_t>()[k];
    case DType::UInt16: return data<uint16_t>()[k];
    case DType::Int32: return data<int32_t>()[k];
    case DType::UInt32: return data<uint32_t>()[k];
    case DType::Int64: return static_cast<double>(data<int64_t>()[k]);
    case DType::UInt64: return static_cast<double>(data<uint64_t>()[k]);
    default:
      if (is_float(dtype_)) return float8_to_float(dtype_, data<uint8_t>()[k]);
      fail("cannot read a {} element as a number", dtype_name(dtype_));
  }
}

int64_t Tensor::get_int(int64_t k) const {
  switch (dtype_) {
    case DType::Int64: return data<int64_t>()[k];
    case DType::UInt64: return static_cast<int64_t>(data<uint64_t>()[k]);
    case DType::Int32: return data<int32_t>()[k];
    case DType::UInt32: return data<uint32_t>()[k];
    default: return static_cast<int64_t>(get_double(k));
  }
}

void Tensor::set_double(int64_t k, double v) {
  switch (dtype_) {
    case DType::Float32: data<float>()[k] = static_cast<float>(v); return;
    case DType::Float64: data<double>()[k] = v; return;
    case DType::Float16: data<Float16>()[k] = static_cast<float>(v); return;
    case DType::BFloat16: data<BFloat16>()[k] = static_cast<float>(v); return;
    case DType::Int8: case DType::Int4: case DType::Int2: data<int8_t>()[k] = static_cast<int8_t>(v); return;
    case DType::UInt8: case DType::UInt4: case DType::UInt2: data<uint8_t>()[k] = static_cast<uint8_t>(v); return;
    case DType::Bool: data<uint8_t>()[k] = v != 0; return;
    case DType::Int16: data<int16_t>()[k] = static_cast<int16_t>(v); return;
    case DType::UInt16: data<uint16_t>()[k] = static_cast<uint16_t>(v); return;
    case DType::Int32: data<int32_t>()[k] = static_cast<int32_t>(v); return;
    case DType::UInt32: data<uint32_t>()[k] = static_cast<uint32_t>(v); return;
    case DType::Int64: data<int64_t>()[k] = static_cast<int64_t>(v); return;
    case DType::UInt64: data<uint64_t>()[k] = static_cast<uint64_t>(v); return;
    default:
      if (is_float(dtype_)) {
        data<uint8_t>()[k] = float_to_float8(dtype_, static_cast<float>(v), true);
        return;
      }
      fail("cannot store a number into a {} element", dtype_name(dtype_));
  }
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[static_cast<size_t>(i)] = get_int(i);
  return v;
}

Tensor int64_tensor(const std::vector<int64_t>& values) {
  Tensor t(DType::Int64, {static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) t.data<int64_t>()[i] = values[i];
  return t;
}

}  // namespace hone
