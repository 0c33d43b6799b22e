// MaxPool and nearest Resize on the uint8 / int8 tensors of quantized models, in either layout: what
// passes/fuse_qdq.cc runs in int8 where a DequantizeLinear -> op -> QuantizeLinear shares one scale and zero point
// (the max and the picked element of quantized values are the quantized max and pick). Both only move or compare
// bytes, so they give the reference kernels' results exactly.
//   MaxPool: oneDNN's pooling (jit, 8-bit, channels-last) for rank-4 inputs, no Indices output.
//   Resize (mode nearest): which input pixel each output pixel copies is taken, at plan time, from the reference
//   kernel itself run on a plane of pixel indices (so every coordinate mode and rounding rule agrees); a run copies
//   pixels (channels-last: C bytes each) row by row.
#include <cstring>

#include "kernels/cpu/dnnl_common.h"
#include "kernels/cpu/dnnl_int8.h"
#include "kernels/cpu/kernel_helpers.h"
#include "ops/nn/spatial.h"

namespace hone::dnnl_cpu {
namespace {

using dnnl::memory;

bool is_8bit(DType t) { return t == DType::UInt8 || t == DType::Int8; }

std::optional<Shape> int8_rank4(const KernelQuery& q) {
  if (q.input_types.empty() || !q.input_types[0] || !q.input_types[0]->is_tensor() || !is_8bit(q.input_types[0]->elem) ||
      !q.input_types[0]->shape || q.input_constants[0])
    return std::nullopt;
  std::optional<Shape> s = to_concrete(*q.input_types[0]->shape);
  if (!s || s->size() != 4 || shape_numel(*s) == 0) return std::nullopt;
  return s;
}

// ---- MaxPool ----

struct MaxPoolGeometry {
  Shape x, y;
  DType type;
  memory::dims strides, kernel, dilation, pad_l, pad_r;
};

// Every window must see the input (oneDNN and the reference disagree on empty windows); ONNX's output size (ceil_mode
// included) goes to oneDNN as the end pad that makes its floor formula give it (max ignores pads either way).
std::optional<MaxPoolGeometry> maxpool_geometry(const KernelQuery& q) {
  std::optional<Shape> x = int8_rank4(q);
  if (!x || (q.node.outputs.size() > 1 && !q.node.outputs[1].empty())) return std::nullopt;
  MaxPoolGeometry g;
  g.x = *x;
  g.type = q.input_types[0]->elem;
  std::vector<int64_t> in(x->begin() + 2, x->end());
  try {
    nn::WindowAttrs wa = nn::read_window_attrs(q.node, 2, nullptr);
    int64_t order = q.node.attr_int("storage_order", 0);
    if (order != 0 && order != 1) return std::nullopt;
    std::vector<int64_t> pads = nn::resolve_pads(wa, in, q.node);
    std::vector<int64_t> out = nn::window_out_dims(wa, in, pads, /*pool=*/true, q.node);
    g.y = {(*x)[0], (*x)[1]};
    for (size_t i = 0; i < 2; ++i) {
      int64_t k = wa.kernel[i], s = wa.strides[i], d = wa.dilations[i], pl = pads[i];
      int64_t ek = nn::effective_kernel(k, d);
      if (out[i] <= 0 || pl < 0 || pads[2 + i] < 0) return std::nullopt;
      for (int64_t o = 0; o < out[i]; ++o) {
        int64_t start = o * s - pl;
        int64_t first = start >= 0 ? 0 : (-start + d - 1) / d;
        if (first >= k || start + first * d >= in[i]) return std::nullopt;
      }
      int64_t r = (out[i] - 1) * s + ek - in[i] - pl;
      if (r < 0) return std::nullopt;
      g.y.push_back(out[i]);
      g.kernel.push_back(k);
      g.strides.push_back(s);
      g.dilation.push_back(d - 1);
      g.pad_l.push_back(pl);
      g.pad_r.push_back(r);
    }
  } catch (const Error&) {
    return std::nullopt;  // invalid attributes: the reference reports them
  }
  return g;
}

// Always channels-last (oneDNN 2.6 pools 8-bit N,C,H,W tensors with its reference loops): a plain tensor is
// reordered on the way in and out.
dnnl::pooling_v2_forward::primitive_desc maxpool_pd(const MaxPoolGeometry& g) {
  dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max,
                                   int8_activation_desc(g.x, g.type, Layout::ChannelsLast),
                                   int8_activation_desc(g.y, g.type, Layout::ChannelsLast), g.strides, g.kernel,
                                   g.dilation, g.pad_l, g.pad_r);
  return dnnl::pooling_v2_forward::primitive_desc(d, make_attr({}), cpu_engine());
}

bool maxpool_supported(const KernelQuery& q) {
  std::optional<MaxPoolGeometry> g = maxpool_geometry(q);
  if (!g) return false;
  try {
    return std::string(maxpool_pd(*g).impl_info_str()).find("ref") == std::string::npos;
  } catch (const dnnl::error&) {
    return false;
  }
}

class Int8MaxPoolKernel final : public Kernel, public DnnlImplementation {
 public:
  explicit Int8MaxPoolKernel(const KernelQuery& q) {
    std::optional<MaxPoolGeometry> g = maxpool_geometry(q);
    if (!g) fail("{}: not supported by the int8 MaxPool kernel", q.node.label());
    g_ = *g;
    auto pd = maxpool_pd(g_);
    prim_.init(pd, dnnl::pooling_v2_forward(pd));
    src_ = prim_.add_input(DNNL_ARG_SRC, int8_activation_desc(g_.x, g_.type, q.layout), pd.src_desc());
    dst_ = prim_.add_output(DNNL_ARG_DST, int8_activation_desc(g_.y, g_.type, q.layout), pd.dst_desc());
    name_ = fmt::format("dnnl-maxpool-{} [{}]", int8_type_name(g_.type), prim_.impl());
  }
  void run(OpContext& ctx) override {
    const Tensor& x = cpu::planned_input(ctx, 0, g_.type, g_.x);
    Tensor& y = ctx.output_uninitialized(0, g_.type, g_.y);
    prim_.bind(src_, x.raw());
    prim_.bind(dst_, y.raw());
    prim_.execute(ctx.threads());
  }
  std::string name() const override { return name_; }
  int reorders() const override { return prim_.reorders(); }
  const std::string& implementation() const override { return prim_.impl(); }

 private:
  MaxPoolGeometry g_;
  PreparedPrimitive prim_;
  int src_ = -1, dst_ = -1;
  std::string name_;
};

HONE_REGISTER_KERNEL({.domain = "",
                      .op = "MaxPool",
                      .name = "dnnl-maxpool-q8",
                      .priority = 10,
                      .applies = maxpool_supported,
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        return std::make_unique<Int8MaxPoolKernel>(q);
                      },
                      .channels_last = maxpool_supported});

// ---- Resize, mode nearest ----

// For each output pixel (row-major over H_out x W_out), the input pixel (h * W + w) it copies: the reference kernel
// run on a [1, 1, H, W] plane holding each pixel's index (exact in float32 below 2^24 pixels), with the node's own
// attributes, roi and scales (N and C must not change) or sizes (N and C replaced by 1).
std::optional<std::vector<int32_t>> nearest_map(const KernelQuery& q, const Shape& x, Shape* y) {
  if (q.opset < 11 || q.node.attr_string("mode", "nearest") != "nearest" || x[2] * x[3] >= (int64_t{1} << 24))
    return std::nullopt;
  if (q.node.attr_string("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize") return std::nullopt;
  if (!q.node.attr_ints("axes").empty()) return std::nullopt;
  const OpSchema* ref = OpRegistry::instance().find("", "Resize", q.opset);
  if (!ref || !ref->compute) return std::nullopt;
  std::vector<Value> in(q.node.inputs.size());
  Tensor plane(DType::Float32, {1, 1, x[2], x[3]});
  for (int64_t i = 0; i < plane.numel(); ++i) plane.data<float>()[i] = static_cast<float>(i);
  in[0] = Value::of(plane);
  for (size_t i = 1; i < q.node.inputs.size(); ++i) {
    if (!q.input_types[i]) continue;
    const Tensor* c = q.input_constants[i];
    if (!c) return std::nullopt;  // a runtime roi, scales or sizes
    Tensor t = c->clone();
    if (i == 2 && t.numel() > 0) {  // scales: N and C unscaled
      if (t.numel() != 4 || t.dtype() != DType::Float32 || t.data<float>()[0] != 1.f || t.data<float>()[1] != 1.f)
        return std::nullopt;
    } else if (i == 3 && t.numel() > 0) {  // sizes: N and C unchanged
      if (t.numel() != 4 || t.dtype() != DType::Int64 || t.data<int64_t>()[0] != x[0] || t.data<int64_t>()[1] != x[1])
        return std::nullopt;
      t.data<int64_t>()[0] = 1;
      t.data<int64_t>()[1] = 1;
    }
    in[i] = Value::of(t);
  }
  std::vector<const Value*> ptrs;
  for (const Value& v : in) ptrs.push_back(v.is_none() ? nullptr : &v);
  std::vector<Value> out(1);
  try {
    OpContext ctx(q.node, q.opset, ptrs.data(), ptrs.size(), out.data(), 1, 1, nullptr);
    ref->compute(ctx);
  } catch (const Error&) {
    return std::nullopt;  // the reference reports it when the node runs
  }
  const Tensor& m = out[0].tensor;
  if (m.rank() != 4 || m.dim(0) != 1 || m.dim(1) != 1 || m.numel() == 0) return std::nullopt;
  *y = {x[0], x[1], m.dim(2), m.dim(3)};
  std::vector<int32_t> map(static_cast<size_t>(m.numel()));
  for (int64_t i = 0; i < m.numel(); ++i) map[static_cast<size_t>(i)] = static_cast<int32_t>(m.data<float>()[i]);
  return map;
}

class Int8NearestResizeKernel final : public Kernel {
 public:
  Int8NearestResizeKernel(const KernelQuery& q, Shape x, Shape y, std::vector<int32_t> map)
      : x_(std::move(x)), y_(std::move(y)), type_(q.input_types[0]->elem), map_(std::move(map)),
        channels_last_(q.layout == Layout::ChannelsLast) {}

  void run(OpContext& ctx) override {
    const Tensor& x = cpu::planned_input(ctx, 0, type_, x_);
    Tensor& y = ctx.output_uninitialized(0, type_, y_);
    const auto* src = static_cast<const uint8_t*>(x.raw());
    auto* dst = static_cast<uint8_t*>(y.raw());
    const int64_t n = x_[0], c = x_[1], in_hw = x_[2] * x_[3], out_w = y_[3], out_hw = y_[2] * y_[3];
    const int32_t* map = map_.data();
    // Work items: output rows of every image (and every channel plane, plain).
    int64_t rows = n * (channels_last_ ? 1 : c) * y_[2];
    int threads = rows * out_w * (channels_last_ ? c : 1) < cpu::kMinElementsPerThread * 4 ? 1 : ctx.threads();
    cpu::parallel_chunks(rows, 1, threads, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        int64_t plane = r / y_[2], oh = r % y_[2];
        const int32_t* row_map = map + oh * out_w;
        if (channels_last_) {
          const uint8_t* s = src + plane * in_hw * c;
          uint8_t* d = dst + (plane * out_hw + oh * out_w) * c;
          for (int64_t ow = 0; ow < out_w; ++ow) std::memcpy(d + ow * c, s + int64_t{row_map[ow]} * c, static_cast<size_t>(c));
        } else {
          const uint8_t* s = src + plane * in_hw;
          uint8_t* d = dst + plane * out_hw + oh * out_w;
          for (int64_t ow = 0; ow < out_w; ++ow) d[ow] = s[row_map[ow]];
        }
      }
    }, 1);
  }
  std::string name() const override { return channels_last_ ? "q8_resize_nearest_nhwc" : "q8_resize_nearest"; }

 private:
  Shape x_, y_;
  DType type_;
  std::vector<int32_t> map_;
  bool channels_last_;
};

bool resize_supported(const KernelQuery& q) {
  std::optional<Shape> x = int8_rank4(q);
  Shape y;
  return x && nearest_map(q, *x, &y).has_value();
}

HONE_REGISTER_KERNEL({.domain = "",
                      .op = "Resize",
                      .name = "q8_resize_nearest",
                      .priority = 10,
                      .applies = resize_supported,
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        Shape x = *int8_rank4(q), y;
                        std::vector<int32_t> map = *nearest_map(q, x, &y);
                        return std::make_unique<Int8NearestResizeKernel>(q, x, y, std::move(map));
                      },
                      .channels_last = resize_supported});

}  // namespace
}  // namespace hone::dnnl_cpu
