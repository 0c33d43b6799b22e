// Concat and Split for any element type of 1, 2, 4, 8 or 16 bytes: per outer index, each input's (output's)
// contiguous slab is one memcpy, and large copies split over the session's threads by bytes of the joined tensor.
// Rank-4 float tensors also run channels-last: they join or cut along their N,H,W,C storage, so Concat on axis 1
// interleaves each input's channel run per pixel; constant inputs (which stay plain) are stored channels-last once
// at plan time.
#include <cstring>

#include "kernels/cpu/copy_engine.h"
#include "ops/op_helpers.h"

namespace hone::cpu::copy {
namespace {

int64_t concat_axis_attr(const Node& n, int64_t opset) {
  if (opset < 4) return n.attr_int("axis", 1);
  return n.attr_int("axis", INT64_MIN);
}

// Concrete shapes of the present inputs when they concatenate along `axis`, else nullopt.
struct ConcatPlan {
  DType dtype;
  std::vector<size_t> inputs;  // which node inputs take part
  std::vector<Shape> shapes;
  Shape out;
  size_t axis;
};

std::optional<ConcatPlan> plan_concat(const KernelQuery& q) {
  ConcatPlan p;
  for (size_t i = 0; i < q.input_types.size(); ++i) {
    if (!q.input_types[i]) continue;
    std::optional<Shape> s = concrete(q.input_types[i]);
    if (!s || !movable(q.input_types[i]->elem)) return std::nullopt;
    if (!p.shapes.empty() && (q.input_types[i]->elem != p.dtype || s->size() != p.shapes[0].size())) return std::nullopt;
    p.dtype = q.input_types[i]->elem;
    p.inputs.push_back(i);
    p.shapes.push_back(*s);
  }
  if (p.shapes.empty() || p.shapes[0].empty()) return std::nullopt;
  int64_t rank = static_cast<int64_t>(p.shapes[0].size()), axis = concat_axis_attr(q.node, q.opset);
  if (axis < -rank || axis >= rank) return std::nullopt;
  p.axis = static_cast<size_t>(axis < 0 ? axis + rank : axis);
  p.out = p.shapes[0];
  p.out[p.axis] = 0;
  for (const Shape& s : p.shapes) {
    for (size_t d = 0; d < s.size(); ++d)
      if (d != p.axis && s[d] != p.shapes[0][d]) return std::nullopt;
    p.out[p.axis] += s[p.axis];
  }
  return p;
}

class ConcatKernel final : public Kernel {
 public:
  ConcatKernel(ConcatPlan p, bool channels_last, const KernelQuery& q, const OpSchema& reference)
      : p_(std::move(p)), channels_last_(channels_last), reference_(reference) {
    std::vector<Shape> storage = p_.shapes;
    size_t axis = p_.axis;
    if (channels_last_) {
      for (Shape& s : storage) s = storage_shape(s);
      axis = storage_axis(axis);
      for (size_t k = 0; k < p_.inputs.size(); ++k) {
        const Tensor* c = q.input_constants[p_.inputs[k]];
        constants_.push_back(c ? to_channels_last(*c) : Tensor());
      }
    }
    slabs_ = plan_slabs(storage, axis, dtype_size(p_.dtype));
    srcs_.resize(p_.inputs.size());
  }

  void run(OpContext& ctx) override {
    for (size_t k = 0; k < p_.inputs.size(); ++k) {
      const Tensor& t = ctx.input(p_.inputs[k]);
      if (t.dtype() != p_.dtype || t.shape() != p_.shapes[k]) {
        if (channels_last_)
          fail("{}: input {} is {}{}, not the planned {}{}", ctx.node().label(), p_.inputs[k], dtype_name(t.dtype()),
               shape_str(t.shape()), dtype_name(p_.dtype), shape_str(p_.shapes[k]));
        return reference_.compute(ctx);
      }
      const Tensor& src = channels_last_ && constants_[k].numel() > 0 ? constants_[k] : t;
      srcs_[k] = const_cast<char*>(static_cast<const char*>(src.raw()));
    }
    Tensor& y = ctx.output_uninitialized(0, p_.dtype, p_.out);
    char* joined = static_cast<char*>(y.raw());
    int64_t bytes = static_cast<int64_t>(y.nbytes());
    parallel_ranges(bytes, copy_threads(bytes, ctx.threads()),
                    [&](int64_t b, int64_t e) { copy_slabs(slabs_, true, joined, srcs_.data(), b, e); });
  }
  std::string name() const override { return channels_last_ ? "copy_concat_nhwc" : "copy_concat"; }

 private:
  ConcatPlan p_;
  bool channels_last_;
  const OpSchema& reference_;
  Slabs slabs_;
  std::vector<Tensor> constants_;  // channels-last copies of constant inputs
  std::vector<char*> srcs_;
};

bool rank4_float(const ConcatPlan& p) { return p.dtype == DType::Float32 && p.shapes[0].size() == 4; }
// The 8-bit tensors of quantized models too (passes/fuse_qdq.cc), when no input is a constant (those are copied to
// channels-last as float32).
bool rank4_channels_last(const ConcatPlan& p, const KernelQuery& q) {
  if (rank4_float(p)) return true;
  if ((p.dtype != DType::UInt8 && p.dtype != DType::Int8) || p.shapes[0].size() != 4) return false;
  for (size_t i : p.inputs)
    if (q.input_constants[i]) return false;
  return true;
}

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Concat",
    .name = "copy_concat",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return plan_concat(q).has_value(); },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          return std::make_unique<ConcatKernel>(*plan_concat(q), q.layout == Layout::ChannelsLast, q,
                                                reference_of(q));
        },
    .channels_last =
        [](const KernelQuery& q) {
          std::optional<ConcatPlan> p = plan_concat(q);
          return p && rank4_channels_last(*p, q);
        },
});

// Split sizes (as the reference's split_spec), or nullopt when they are not plan-time constants or are invalid.
std::optional<std::vector<int64_t>> split_sizes(const KernelQuery& q, int64_t dim, size_t num_outputs) {
  const Node& n = q.node;
  std::optional<std::vector<int64_t>> split;
  if ((q.opset >= 13 || q.opset == 1) && q.input_types.size() > 1 && q.input_types[1]) {
    const Tensor* t = q.input_constants.size() > 1 ? q.input_constants[1] : nullptr;
    if (!t || !is_integer(t->dtype())) return std::nullopt;
    split = t->to_int64_vector();
  }
  if (!split && n.has_attr("split") && q.opset < 13) split = n.attr_ints("split");
  if (split) {
    int64_t sum = 0;
    for (int64_t s : *split) {
      if (s < 0) return std::nullopt;
      sum += s;
    }
    if (split->size() != num_outputs || sum != dim) return std::nullopt;
    return split;
  }
  int64_t parts = static_cast<int64_t>(num_outputs);
  if (q.opset >= 18 && n.attr_int("num_outputs", -1) != parts) return std::nullopt;
  if (parts < 1) return std::nullopt;
  if (dim % parts == 0) return std::vector<int64_t>(static_cast<size_t>(parts), dim / parts);
  if (q.opset < 18) return std::nullopt;
  int64_t chunk = dim / parts + 1;
  std::vector<int64_t> sizes(static_cast<size_t>(parts), chunk);
  sizes.back() = dim - chunk * (parts - 1);
  if (sizes.back() < 0) return std::nullopt;
  return sizes;
}

struct SplitPlan {
  DType dtype;
  Shape in;
  size_t axis;
  std::vector<Shape> outs;
};

std::optional<SplitPlan> plan_split(const KernelQuery& q) {
  if (q.input_types.empty() || !q.input_types[0] || !movable(q.input_types[0]->elem)) return std::nullopt;
  std::optional<Shape> in = concrete(q.input_types[0]);
  if (!in || in->empty()) return std::nullopt;
  int64_t rank = static_cast<int64_t>(in->size()), axis = q.node.attr_int("axis", 0);
  if (axis < -rank || axis >= rank) return std::nullopt;
  SplitPlan p{q.input_types[0]->elem, *in, static_cast<size_t>(axis < 0 ? axis + rank : axis), {}};
  std::optional<std::vector<int64_t>> sizes = split_sizes(q, (*in)[p.axis], q.node.outputs.size());
  if (!sizes) return std::nullopt;
  for (int64_t s : *sizes) {
    p.outs.push_back(*in);
    p.outs.back()[p.axis] = s;
  }
  return p;
}

class SplitKernel final : public Kernel {
 public:
  SplitKernel(SplitPlan p, bool channels_last, const OpSchema& reference)
      : p_(std::move(p)), channels_last_(channels_last), reference_(reference) {
    std::vector<Shape> storage = p_.outs;
    size_t axis = p_.axis;
    if (channels_last_) {
      for (Shape& s : storage) s = storage_shape(s);
      axis = storage_axis(axis);
    }
    slabs_ = plan_slabs(storage, axis, dtype_size(p_.dtype));
    dsts_.resize(p_.outs.size());
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != p_.dtype || x.shape() != p_.in) {
      if (channels_last_)
        fail("{}: input is {}{}, not the planned {}{}", ctx.node().label(), dtype_name(x.dtype()),
             shape_str(x.shape()), dtype_name(p_.dtype), shape_str(p_.in));
      return reference_.compute(ctx);
    }
    for (size_t k = 0; k < p_.outs.size(); ++k)
      dsts_[k] = ctx.wants_output(k) ? static_cast<char*>(ctx.output_uninitialized(k, p_.dtype, p_.outs[k]).raw())
                                     : nullptr;
    char* joined = const_cast<char*>(static_cast<const char*>(x.raw()));
    int64_t bytes = static_cast<int64_t>(x.nbytes());
    parallel_ranges(bytes, copy_threads(bytes, ctx.threads()),
                    [&](int64_t b, int64_t e) { copy_slabs(slabs_, false, joined, dsts_.data(), b, e); });
  }
  std::string name() const override { return channels_last_ ? "copy_split_nhwc" : "copy_split"; }

 private:
  SplitPlan p_;
  bool channels_last_;
  const OpSchema& reference_;
  Slabs slabs_;
  std::vector<char*> dsts_;
};

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Split",
    .name = "copy_split",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return q.opset >= 2 && plan_split(q).has_value(); },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          return std::make_unique<SplitKernel>(*plan_split(q), q.layout == Layout::ChannelsLast, reference_of(q));
        },
    .channels_last =
        [](const KernelQuery& q) {
          std::optional<SplitPlan> p = plan_split(q);
          return p && p->dtype == DType::Float32 && p->in.size() == 4 && !q.input_constants[0];
        },
});

}  // namespace
}  // namespace hone::cpu::copy
