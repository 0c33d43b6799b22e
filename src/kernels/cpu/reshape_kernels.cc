// Reshape, Flatten, Squeeze, Unsqueeze, Identity and inference Dropout change only the shape: with the output shape known at plan time
// the kernel is one copy into the planned output, with nothing computed or allocated per run.
#include <cstring>
#include <optional>

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

// Dropout in inference (opset 7+, no training_mode or a constant false one) passes its input through; its mask
// output, when the node names one, is all ones (bool from opset 10, the input's type before).
class InferenceDropoutKernel final : public Kernel {
 public:
  InferenceDropoutKernel(DType dtype, Shape shape, std::optional<DType> mask) : copy_(dtype, shape) {
    if (!mask) return;
    ones_ = Tensor(*mask, shape);
    for (int64_t i = 0; i < ones_.numel(); ++i) ones_.set_double(i, 1.0);
  }
  void run(OpContext& ctx) override {
    copy_.run(ctx);
    if (ones_.dtype() == DType::Undefined) return;
    Tensor& m = ctx.output_uninitialized(1, ones_.dtype(), ones_.shape());
    if (m.nbytes()) std::memcpy(m.raw(), ones_.raw(), m.nbytes());
  }
  std::string name() const override { return "copy_reshape"; }

 private:
  ShapeOnlyKernel copy_;
  Tensor ones_;
};

std::optional<DType> mask_type(const KernelQuery& q) {
  if (q.output_types.size() < 2) return std::nullopt;
  return q.output_types[1].elem;
}

bool inference_dropout_applies(const KernelQuery& q) {
  if (q.opset < 7 || q.output_types.empty() || q.output_types.size() > 2) return false;
  KernelQuery first = q;
  first.output_types.resize(1);
  if (!shape_only_applies(first)) return false;
  if (auto m = mask_type(q); m && (*m == DType::String || *m == DType::Undefined)) return false;
  if (q.input_types.size() > 2 && q.input_types[2]) {
    const Tensor* training = q.input_constants[2];
    if (!training || training->numel() != 1 || training->get_double(0) != 0) return false;
  }
  return true;
}
HONE_REGISTER_KERNEL({.op = "Dropout",
                      .name = "copy_reshape",
                      .priority = 10,
                      .applies = inference_dropout_applies,
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        return std::make_unique<InferenceDropoutKernel>(q.output_types[0].elem,
                                                                        *to_concrete(*q.output_types[0].shape),
                                                                        mask_type(q));
                      }});

}  // namespace
}  // namespace hone
