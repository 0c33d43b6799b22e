// Reshape, Flatten, Squeeze, Unsqueeze and Identity change only the shape: with the output shape known at plan time
// the kernel is one copy into the planned output, with nothing computed or allocated per run.
#include <cstring>

#include "runtime/kernel.h"

namespace hone {
namespace {

class ShapeOnlyKernel final : public Kernel {
 public:
  ShapeOnlyKernel(DType dtype, Shape out) : dtype_(dtype), out_(std::move(out)), bytes_(static_cast<size_t>(shape_numel(out_)) * dtype_size(dtype)) {}
  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != dtype_ || x.nbytes() != bytes_)
      fail("{}: input is {}[{}], planned for {} bytes of {}", ctx.node().label(), dtype_name(x.dtype()),
           shape_str(x.shape()), bytes_, dtype_name(dtype_));
    Tensor& y = ctx.output_uninitialized(0, dtype_, out_);
    if (bytes_ && y.raw() != x.raw()) std::memcpy(y.raw(), x.raw(), bytes_);
  }
  std::string name() const override { return "copy_reshape"; }

 private:
  DType dtype_;
  Shape out_;
  size_t bytes_;
};

// Applies when the input and the output have concrete shapes of the same size and a fixed-size element type.
bool shape_only_applies(const KernelQuery& q) {
  if (q.input_types.empty() || !q.input_types[0] || q.output_types.size() != 1) return false;
  const TypeInfo* in = q.input_types[0];
  const TypeInfo& out = q.output_types[0];
  if (!in->is_tensor() || !out.is_tensor() || !in->shape || !out.shape || in->elem != out.elem) return false;
  if (in->elem == DType::String || in->elem == DType::Undefined) return false;
  auto a = to_concrete(*in->shape), b = to_concrete(*out.shape);
  return a && b && shape_numel(*a) == shape_numel(*b);
}

std::unique_ptr<Kernel> make_shape_only(const KernelQuery& q) {
  return std::make_unique<ShapeOnlyKernel>(q.output_types[0].elem, *to_concrete(*q.output_types[0].shape));
}

#define HONE_SHAPE_ONLY(OP)                                                                                  \
  HONE_REGISTER_KERNEL(                                                                                      \
      {.op = OP, .name = "copy_reshape", .priority = 10, .applies = shape_only_applies, .create = make_shape_only})
HONE_SHAPE_ONLY("Reshape");
HONE_SHAPE_ONLY("Flatten");
HONE_SHAPE_ONLY("Squeeze");
HONE_SHAPE_ONLY("Unsqueeze");
HONE_SHAPE_ONLY("Identity");

}  // namespace
}  // namespace hone
