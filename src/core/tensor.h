// Tensor: element type, concrete shape and a buffer that is either owned (shared, reference counted) or borrowed
// (a view of memory someone else keeps alive: the arena, a user's array, an mmapped file).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/half.h"

namespace hone {

using Shape = std::vector<int64_t>;

// Largest element count any tensor may have; protects allocation from forged or absurd shapes.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 34;

// Element count of a shape; throws on negative dims or counts past kMaxTensorElements.
int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "1x3x224x224", "scalar" for rank 0

class Tensor {
 public:
  Tensor() = default;
  // Allocates a zero-filled tensor (strings: empty).
  Tensor(DType dtype, Shape shape);
  // A view of memory owned elsewhere; the caller keeps it alive.
  static Tensor borrow(DType dtype, Shape shape, void* data);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[static_cast<size_t>(i)]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool defined() const { return dtype_ != DType::Undefined; }
  bool owns_data() const { return storage_ != nullptr; }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <typename T>
  T* data() {
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }
  template <typename T>
  std::span<T> span() {
    return {data<T>(), static_cast<size_t>(numel_)};
  }
  template <typename T>
  std::span<const T> span() const {
    return {data<T>(), static_cast<size_t>(numel_)};
  }

  // Same data, another shape with the same element count (a view sharing the buffer).
  Tensor reshaped(Shape shape) const;
  // A deep copy that owns its buffer.
  Tensor clone() const;
  // Element k as double / int64 (any numeric type, float8 and sub-byte types included); for generic code paths
  // that are not hot: shape values, indices, tests.
  double get_double(int64_t k) const;
  int64_t get_int(int64_t k) const;
  void set_double(int64_t k, double v);
  // Values of an integer tensor (any integer width) as int64, e.g. a shape or axes input.
  std::vector<int64_t> to_int64_vector() const;

 private:
  DType dtype_ = DType::Undefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
};

// A tensor of one value.
template <typename T>
Tensor scalar_tensor(DType dtype, T value) {
  Tensor t(dtype, {});
  t.set_double(0, static_cast<double>(value));
  return t;
}
Tensor int64_tensor(const std::vector<int64_t>& values);  // 1-D

}  // namespace hone
