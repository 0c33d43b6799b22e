// Fast float32 LayerNormalization (opset 17+): each row of the dims from `axis` on is normalized by the
// layer_norm_rows microkernel (two passes for the statistics, one for the output, all over a row that stays in
// cache), rows split over threads when the tensor is large. Scale and B are expanded to one value per row element at
// plan time when they are constants; non-constant ones must already have the row's shape. The optional Mean and
// InvStdDev outputs are computed when stash_type is float. Plain layout only.
#include <cstring>
#include <string>

#include "kernels/cpu/kernel_helpers.h"
#include "kernels/cpu/reduce_microkernels.h"
#include "ops/norm/norm_common.h"

namespace hone::cpu {
namespace {

struct LayerNormPlan {
  Shape shape, stat_shape;
  int64_t rows = 0, n = 0;
  float epsilon = 1e-5f;
  // Per parameter (0: Scale, 1: B): expanded constant values, or empty to read the input as is; `present` false for
  // an omitted B.
  std::vector<float> constant[2];
  bool present[2] = {true, false};
};

// Whether a parameter of shape p holds exactly one value per element of `norm` (leading 1s aside).
bool row_shaped(const Shape& p, const Shape& norm) {
  if (shape_numel(p) != shape_numel(norm)) return false;
  Shape a = p, b = norm;
  while (!a.empty() && a.front() == 1) a.erase(a.begin());
  while (!b.empty() && b.front() == 1) b.erase(b.begin());
  return a == b;
}

// Whether p broadcasts (numpy, one way) to `norm`.
bool broadcasts_to(const Shape& p, const Shape& norm) {
  if (p.size() > norm.size()) return false;
  size_t off = norm.size() - p.size();
  for (size_t d = 0; d < p.size(); ++d)
    if (p[d] != 1 && p[d] != norm[off + d]) return false;
  return true;
}

std::optional<LayerNormPlan> plan_layer_norm(const KernelQuery& q) {
  if (q.layout != Layout::Plain || q.opset < 17 || q.input_types.size() < 2 || !is_f32_tensor(q.input_types[0]))
    return std::nullopt;
  std::optional<Shape> x = concrete_shape(q.input_types[0]);
  if (!x || x->empty()) return std::nullopt;
  int64_t rank = static_cast<int64_t>(x->size());
  int64_t axis = q.node.attr_int("axis", -1);
  if (axis < -rank || axis >= rank) return std::nullopt;
  if (axis < 0) axis += rank;
  // Mean and InvStdDev come out in stash_type; only float is computed here.
  bool stats = false;
  for (size_t i = 1; i < q.node.outputs.size(); ++i) stats = stats || !q.node.outputs[i].empty();
  if (stats && q.node.attr_int("stash_type", 1) != 1) return std::nullopt;
  LayerNormPlan p;
  p.shape = *x;
  Shape norm(x->begin() + axis, x->end());
  p.n = shape_numel(norm);
  if (p.n == 0 || shape_numel(*x) == 0) return std::nullopt;
  p.rows = shape_numel(*x) / p.n;
  p.stat_shape = *x;
  for (int64_t d = axis; d < rank; ++d) p.stat_shape[static_cast<size_t>(d)] = 1;
  p.epsilon = q.node.attr_float("epsilon", 1e-5f);
  p.present[1] = q.input_types.size() > 2 && q.input_types[2];
  for (size_t i = 1; i <= 2; ++i) {
    if (!p.present[i - 1]) continue;
    if (!is_f32_tensor(q.input_types[i])) return std::nullopt;
    if (const Tensor* c = q.input_constants[i]) {
      if (c->dtype() != DType::Float32 || !broadcasts_to(c->shape(), norm)) return std::nullopt;
      std::vector<double> v = expand_param(*c, norm, q.node, i == 1 ? "Scale" : "B");
      p.constant[i - 1].assign(v.begin(), v.end());
    } else {
      std::optional<Shape> s = concrete_shape(q.input_types[i]);
      if (!s || !row_shaped(*s, norm)) return std::nullopt;
    }
  }
  return p;
}

class LayerNormKernel final : public Kernel {
 public:
  LayerNormKernel(const KernelQuery& q, LayerNormPlan plan, const ReduceMicrokernels& mk)
      : plan_(std::move(plan)), mk_(mk), reference_(reference_schema(q)),
        name_(std::string("f32_layer_norm_") + mk.isa) {}

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != plan_.shape) return reference_.compute(ctx);
    LayerNormParams p;
    p.epsilon = plan_.epsilon;
    for (size_t i = 0; i < 2; ++i) {
      if (!plan_.present[i]) continue;
      const float* values = plan_.constant[i].data();
      if (plan_.constant[i].empty()) {
        const Tensor& t = ctx.input(i + 1);
        if (t.dtype() != DType::Float32 || t.numel() != plan_.n) return reference_.compute(ctx);
        values = t.data<float>();
      }
      (i == 0 ? p.scale : p.bias) = values;
    }
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, plan_.shape);
    if (ctx.wants_output(1)) p.mean = ctx.output_uninitialized(1, DType::Float32, plan_.stat_shape).data<float>();
    if (ctx.wants_output(2))
      p.inv_std_dev = ctx.output_uninitialized(2, DType::Float32, plan_.stat_shape).data<float>();
    const float* px = x.data<float>();
    float* py = y.data<float>();
    int64_t n = plan_.n;
    parallel_chunks(
        plan_.rows, std::max<int64_t>(1, kMinElementsPerThread / n), ctx.threads(),
        [&](int64_t s, int64_t e) {
          LayerNormParams rp = p;
          if (rp.mean) rp.mean += s;
          if (rp.inv_std_dev) rp.inv_std_dev += s;
          mk_.layer_norm_rows(px + s * n, py + s * n, e - s, n, rp);
        },
        1);
  }
  std::string name() const override { return name_; }

 private:
  LayerNormPlan plan_;
  const ReduceMicrokernels& mk_;
  const OpSchema& reference_;
  std::string name_;
};

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "LayerNormalization",
    .name = "f32_layer_norm",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return plan_layer_norm(q).has_value(); },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          return std::make_unique<LayerNormKernel>(q, *plan_layer_norm(q), reduce_for(active_isa()));
        },
});

}  // namespace
}  // namespace hone::cpu
