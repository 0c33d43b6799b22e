// Fast hone.LayoutTransform (plain N,C,H,W <-> channels-last N,H,W,C) as a oneDNN reorder created once per shape.
#include "kernels/cpu/dnnl_common.h"

namespace hone::dnnl_cpu {
namespace {

using dnnl::memory;

class LayoutTransformKernel final : public Kernel {
 public:
  explicit LayoutTransformKernel(const KernelQuery& q) : shape_(*concrete_f32_shape(q.input_types[0])) {
    bool to_last = q.node.attr_string("to", "") == "channels-last";
    memory::desc nchw(to_dims(shape_), memory::data_type::f32, memory::format_tag::nchw);
    memory::desc nhwc(to_dims(shape_), memory::data_type::f32, memory::format_tag::nhwc);
    src_ = memory(to_last ? nchw : nhwc, cpu_engine(), DNNL_MEMORY_NONE);
    dst_ = memory(to_last ? nhwc : nchw, cpu_engine(), DNNL_MEMORY_NONE);
    reorder_ = dnnl::reorder(src_, dst_);
  }
  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.shape() != shape_) fail("{}: planned for [{}], given [{}]", ctx.node().label(), shape_str(shape_), shape_str(x.shape()));
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, shape_);
    src_.set_data_handle(const_cast<void*>(x.raw()));
    dst_.set_data_handle(y.raw());
    // A copy: one thread streams a small tensor faster than two can be woken.
    execute_reorder(reorder_, src_, dst_, x.nbytes() < (size_t{512} << 10) ? 1 : ctx.threads());
  }
  std::string name() const override { return "dnnl-reorder"; }

 private:
  Shape shape_;
  memory src_, dst_;
  dnnl::reorder reorder_;
};

HONE_REGISTER_KERNEL({.domain = "hone",
                      .op = "LayoutTransform",
                      .name = "dnnl-reorder",
                      .priority = 10,
                      .applies =
                          [](const KernelQuery& q) {
                            std::optional<Shape> s = concrete_f32_shape(q.input_types[0]);
                            std::string to = q.node.attr_string("to", "");
                            return s && s->size() == 4 && shape_numel(*s) > 0 && (to == "channels-last" || to == "plain");
                          },
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        return std::make_unique<LayoutTransformKernel>(q);
                      }});

}  // namespace
}  // namespace hone::dnnl_cpu
