// Fast hone.LayoutTransform (plain N,C,H,W <-> channels-last N,H,W,C) as a oneDNN reorder created once per shape,
// for float32 and the uint8 / int8 activations of quantized models.
#include "kernels/cpu/dnnl_common.h"

namespace hone::dnnl_cpu {
namespace {

using dnnl::memory;

class LayoutTransformKernel final : public Kernel {
 public:
  explicit LayoutTransformKernel(const KernelQuery& q)
      : shape_(*to_concrete(*q.input_types[0]->shape)), dtype_(q.input_types[0]->elem) {
    bool to_last = q.node.attr_string("to", "") == "channels-last";
    memory::data_type dt = dtype_ == DType::Float32 ? memory::data_type::f32
                           : dtype_ == DType::UInt8 ? memory::data_type::u8
                                                    : memory::data_type::s8;
    memory::desc nchw(to_dims(shape_), dt, memory::format_tag::nchw);
    memory::desc nhwc(to_dims(shape_), dt, memory::format_tag::nhwc);
    src_ = memory(to_last ? nchw : nhwc, cpu_engine(), DNNL_MEMORY_NONE);
    dst_ = memory(to_last ? nhwc : nchw, cpu_engine(), DNNL_MEMORY_NONE);
    reorder_ = dnnl::reorder(src_, dst_);
  }
  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.shape() != shape_ || x.dtype() != dtype_)
      fail("{}: planned for {}[{}], given {}[{}]", ctx.node().label(), dtype_name(dtype_), shape_str(shape_),
           dtype_name(x.dtype()), shape_str(x.shape()));
    Tensor& y = ctx.output_uninitialized(0, dtype_, shape_);
    src_.set_data_handle(const_cast<void*>(x.raw()));
    dst_.set_data_handle(y.raw());
    // A copy: one thread streams a small tensor faster than two can be woken.
    execute_reorder(reorder_, src_, dst_, x.nbytes() < (size_t{512} << 10) ? 1 : ctx.threads());
  }
  std::string name() const override { return "dnnl-reorder"; }

 private:
  Shape shape_;
  DType dtype_;
  memory src_, dst_;
  dnnl::reorder reorder_;
};

HONE_REGISTER_KERNEL({.domain = "hone",
                      .op = "LayoutTransform",
                      .name = "dnnl-reorder",
                      .priority = 10,
                      .applies =
                          [](const KernelQuery& q) {
                            if (!is_layout_tensor(q.input_types[0])) return false;
                            std::string to = q.node.attr_string("to", "");
                            return shape_numel(*to_concrete(*q.input_types[0]->shape)) > 0 &&
                                   (to == "channels-last" || to == "plain");
                          },
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        return std::make_unique<LayoutTransformKernel>(q);
                      }});

}  // namespace
}  // namespace hone::dnnl_cpu
