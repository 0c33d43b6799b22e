#include "kernels/cpu/dnnl_int8.h"

#include <algorithm>
#include <cctype>

#include "kernels/cpu/dnnl_common.h"
#include "kernels/cpu/elementwise_microkernels.h"
#include "kernels/cpu/kernel_helpers.h"
#include "kernels/cpu/quantize_microkernels.h"
#include "ops/hone/fused_conv.h"

namespace hone::dnnl_cpu {

using dnnl::algorithm;
using dnnl::memory;

memory::data_type int8_data_type(DType t) {
  switch (t) {
    case DType::UInt8: return memory::data_type::u8;
    case DType::Int8: return memory::data_type::s8;
    case DType::Float32: return memory::data_type::f32;
    default: fail("internal error: {} is not an int8 kernel type", dtype_name(t));
  }
}

const char* int8_type_name(DType t) { return t == DType::UInt8 ? "u8" : t == DType::Int8 ? "s8" : "f32"; }

namespace {

// One step of the chain as the epilogue sees it. HardSigmoid is Affine then Clip; Linear with a positive slope is
// Affine (it only changes which image of the real value the primitive holds, so it costs no post-op).
// ChannelMul (a binary mul by a per-channel operand, then where needed a binary add of another) takes any image and
// leaves any: its operands carry the change of image, per channel.
enum class StepKind { ScaleFree, Clip, Affine, Real, AddBinary, AddSum, ChannelMul, End };

struct Step {
  StepKind kind = StepKind::End;
  algorithm alg = algorithm::undef;  // ScaleFree, Real
  float p0 = 0.f, p1 = 0.f;          // LeakyRelu slope; Clip bounds; Affine slope and offset; Real linear params
  const char* name = "";
};

// The image a * v + b of the real value v the primitive holds; a requirement leaves parts free (nullopt).
struct Image {
  float a = 1.f, b = 0.f;
};
struct Want {
  std::optional<float> a, b;
};

bool conflicts(const Want& w, float a, float b) { return (w.a && *w.a != a) || (w.b && *w.b != b); }

class EpilogueBuilder {
 public:
  EpilogueBuilder(const Node& node, const QuantizedOutput& out, DType z_type, QuantParams z,
                  const memory::desc* residual, bool without_chain, const ChannelMulInput* channel_mul)
      : out_(out), z_type_(z_type), z_(z), residual_(residual), channel_mul_(channel_mul) {
    dst_zero_point_ = channel_mul && channel_mul->dst_zero_point && out.quantized() ? out.params.zero_point : 0;
    std::vector<std::string> ops = without_chain ? std::vector<std::string>{} : node.attr_strings("post_ops");
    std::vector<float> params = without_chain ? std::vector<float>{} : node.attr_floats("post_op_params");
    check_post_ops(node.label(), ops, params, std::find(ops.begin(), ops.end(), "Add") != ops.end(),
                   std::find(ops.begin(), ops.end(), "ChannelMul") != ops.end());
    size_t k = 0;
    for (const std::string& op : ops) {
      const float* p = params.data() + k;
      k += static_cast<size_t>(post_op_param_count(op));
      auto step = [&](StepKind kind, algorithm alg, float p0, float p1, const char* name) {
        steps_.push_back({kind, alg, p0, p1, name});
      };
      if (op == "Relu") step(StepKind::ScaleFree, algorithm::eltwise_relu, 0.f, 0.f, "relu");
      else if (op == "LeakyRelu") step(StepKind::ScaleFree, algorithm::eltwise_relu, p[0], 0.f, "leakyrelu");
      else if (op == "Clip") step(StepKind::Clip, algorithm::eltwise_clip_v2, p[0], p[1], "clip");
      else if (op == "Sigmoid") step(StepKind::Real, algorithm::eltwise_logistic, 0.f, 0.f, "sigmoid");
      else if (op == "Tanh") step(StepKind::Real, algorithm::eltwise_tanh, 0.f, 0.f, "tanh");
      else if (op == "HardSwish") step(StepKind::Real, algorithm::eltwise_hardswish, 0.f, 0.f, "hardswish");
      else if (op == "Swish") step(StepKind::Real, algorithm::eltwise_swish, p[0], 0.f, "swish");
      else if (op == "HardSigmoid") {
        step(StepKind::Affine, algorithm::undef, p[0], p[1], "");
        step(StepKind::Clip, algorithm::eltwise_clip_v2, 0.f, 1.f, "hardsigmoid");
      } else if (op == "Linear") {
        if (p[0] > 0.f) step(StepKind::Affine, algorithm::undef, p[0], p[1], "");
        else step(StepKind::Real, algorithm::eltwise_linear, p[0], p[1], "linear");
      } else if (op == "Add") {
        step(StepKind::AddBinary, algorithm::binary_add, 0.f, 0.f, "add");
      } else if (op == "ChannelMul") {
        if (!channel_mul_) fail("{}: a ChannelMul post-op without its factors", node.label());
        step(StepKind::ChannelMul, algorithm::binary_mul, 0.f, 0.f, "channel_mul");
      } else {
        fail("internal error: post-op '{}' has no int8 form", op);
      }
    }
    steps_.push_back({StepKind::End});
  }

  // oneDNN 2.6's jit kernels compute wrong results for a chain holding one eltwise algorithm twice with different
  // parameters (two linears, two clips; found here, 1x1 brgconv, int8 and float32 alike): a chain that would need
  // that is first retried with the residual as a sum post-op (which works in any image, so needs no linear), then
  // refused.
  Int8Epilogue build(const std::vector<float>& acc_scale, const std::vector<float>& real_bias) {
    Int8Epilogue e = build_once(acc_scale, real_bias);
    if (!e.ok && sum_possible()) {
      for (Step& s : steps_)
        if (s.kind == StepKind::AddBinary) s.kind = StepKind::AddSum, s.name = "sum";
      e = build_once(acc_scale, real_bias);
    }
    if (!e.ok) fail("the post-op chain needs one oneDNN eltwise algorithm twice with different parameters");
    return e;
  }

 private:
  bool z_int() const { return z_type_ == DType::UInt8 || z_type_ == DType::Int8; }
  bool sum_possible() const { return z_int() && out_.quantized(); }

  Want end_want() const {
    return out_.quantized()
               ? Want{1.f / out_.params.scale, static_cast<float>(out_.params.zero_point - dst_zero_point_)}
               : Want{1.f, 0.f};
  }

  // Backward: what each step needs of the image before it, and where a linear must go (after step i) because what a
  // step leaves cannot be what the next one needs.
  void plan(std::vector<Want>& before, std::vector<bool>& linear_after) const {
    size_t n = steps_.size();
    before.assign(n, Want{});
    linear_after.assign(n, false);
    before[n - 1] = end_want();
    for (size_t i = n - 1; i-- > 0;) {
      Want after = before[i + 1];
      const Step& s = steps_[i];
      Want w;
      switch (s.kind) {
        case StepKind::ScaleFree:
          if (after.b && *after.b != 0.f) linear_after[i] = true, after = {};
          w = {after.a, 0.f};
          break;
        case StepKind::Clip:
        case StepKind::AddSum:
          w = after;
          break;
        case StepKind::Affine:  // after = (a / p, b - a q / p)
          if (!after.a && after.b) after.a = 1.f;
          if (after.a) w = {*after.a * s.p0, after.b ? std::optional<float>(*after.b + *after.a * s.p1) : std::nullopt};
          break;
        case StepKind::Real:
          if (conflicts(after, 1.f, 0.f)) linear_after[i] = true;
          w = {1.f, 0.f};
          break;
        case StepKind::AddBinary: {  // adds Z as stored: int Z needs a = 1 / z_scale and moves b by Z's zero point
          float a = z_int() ? 1.f / z_.scale : 1.f, shift = z_int() ? static_cast<float>(z_.zero_point) : 0.f;
          if (after.a && *after.a != a) linear_after[i] = true, after = {};
          w = {a, after.b ? std::optional<float>(*after.b - shift) : std::nullopt};
          break;
        }
        case StepKind::ChannelMul:  // no offset after it: none before it either, and no add
          if (after.b && *after.b == 0.f) w = {std::nullopt, 0.f};
          break;
        case StepKind::End:
          break;
      }
      before[i] = w;
    }
  }

  Int8Epilogue build_once(const std::vector<float>& acc_scale, const std::vector<float>& real_bias) const {
    std::vector<Want> before;
    std::vector<bool> linear_after;
    plan(before, linear_after);
    Int8Epilogue e;
    e.dst_zero_point = dst_zero_point_;
    Image cur{before[0].a.value_or(1.f), before[0].b.value_or(0.f)};
    size_t channels = acc_scale.size();
    e.output_scales.resize(channels);
    for (size_t c = 0; c < channels; ++c) e.output_scales[c] = acc_scale[c] * cur.a;
    e.common = std::all_of(e.output_scales.begin(), e.output_scales.end(),
                           [&](float s) { return s == e.output_scales[0]; });
    if (!real_bias.empty() || cur.b != 0.f) {
      e.bias.resize(channels);
      for (size_t c = 0; c < channels; ++c)
        e.bias[c] = (real_bias.empty() ? 0.f : real_bias[c] / acc_scale[c]) + cur.b / e.output_scales[c];
    }
    std::vector<std::pair<algorithm, std::pair<float, float>>> used;
    bool ok = true;
    int index = 0;
    auto eltwise = [&](algorithm alg, float alpha, float beta, const char* name) {
      for (const auto& [ualg, params] : used)
        if (ualg == alg && params != std::make_pair(alpha, beta)) ok = false;
      used.push_back({alg, {alpha, beta}});
      e.post_ops.append_eltwise(1.f, alg, alpha, beta);
      e.suffix += std::string("+") + name;
      ++index;
    };
    for (size_t i = 0; i + 1 < steps_.size(); ++i) {
      const Step& s = steps_[i];
      switch (s.kind) {
        case StepKind::ScaleFree:
          eltwise(s.alg, s.p0, 0.f, s.name);
          break;
        case StepKind::Clip:
          eltwise(s.alg, cur.a * s.p0 + cur.b, cur.a * s.p1 + cur.b, s.name);
          break;
        case StepKind::Affine:
          cur = {cur.a / s.p0, cur.b - cur.a * s.p1 / s.p0};
          break;
        case StepKind::Real:
          eltwise(s.alg, s.p0, s.p1, s.name);
          cur = {1.f, 0.f};
          break;
        case StepKind::AddBinary:
          if (!residual_) fail("internal error: an Add post-op without a residual tensor");
          e.residual_index = index++;
          e.post_ops.append_binary(algorithm::binary_add, *residual_);
          e.suffix += "+add";
          if (z_int()) cur.b += static_cast<float>(z_.zero_point);
          break;
        case StepKind::AddSum:
          e.residual_index = index++;
          e.residual_is_sum = true;
          e.post_ops.append_sum(cur.a * z_.scale, z_.zero_point, int8_data_type(z_type_));
          e.suffix += "+sum";
          break;
        case StepKind::ChannelMul: {  // k[c] (a v + b) + d[c] = a' (f[c] v) + b':
                                      // k[c] = f[c] a' / a, d[c] = b' - k[c] b
          Image t{before[i + 1].a.value_or(cur.a), before[i + 1].b.value_or(0.f)};
          size_t n = channel_mul_->factors.size();
          e.channel_mul.resize(n);
          e.channel_add.assign(n, 0.f);
          bool offset = false;
          for (size_t c = 0; c < n; ++c) {
            e.channel_mul[c] = channel_mul_->factors[c] * t.a / cur.a;
            e.channel_add[c] = t.b - e.channel_mul[c] * cur.b;
            offset = offset || e.channel_add[c] != 0.f;
          }
          e.channel_mul_index = index++;
          e.post_ops.append_binary(algorithm::binary_mul, channel_mul_->desc);
          e.suffix += "+channel_mul";
          if (offset) {
            e.channel_add_index = index++;
            e.post_ops.append_binary(algorithm::binary_add, channel_mul_->desc);
            e.suffix += "+channel_add";
          } else {
            e.channel_add.clear();
          }
          cur = t;
          break;
        }
        case StepKind::End:
          break;
      }
      if (linear_after[i]) {
        const Want& w = before[i + 1];
        Image t{w.a.value_or(cur.a), w.b.value_or(cur.b)};
        float alpha = t.a / cur.a;
        eltwise(algorithm::eltwise_linear, alpha, t.b - cur.b * alpha, "linear");
        cur = t;
      }
    }
    e.ok = ok;
    return e;
  }

  QuantizedOutput out_;
  DType z_type_;
  QuantParams z_;
  const memory::desc* residual_;
  const ChannelMulInput* channel_mul_;
  int32_t dst_zero_point_ = 0;
  std::vector<Step> steps_;
};

}  // namespace

Int8Epilogue make_int8_epilogue(const Node& node, const std::vector<float>& acc_scale,
                                const std::vector<float>& real_bias, const QuantizedOutput& out, DType z_type,
                                QuantParams z, const memory::desc* residual, bool without_chain,
                                const ChannelMulInput* channel_mul) {
  EpilogueBuilder b(node, out, z_type, z, residual, without_chain, channel_mul);
  return b.build(acc_scale, real_bias);
}

SplitEpilogue::SplitEpilogue(const Node& node, const QuantizedOutput& out, DType z_type, QuantParams z,
                             std::vector<float> channel_factors, int64_t channel_inner)
    : out_(out), z_type_(z_type), z_(z), channel_factors_(std::move(channel_factors)),
      channel_inner_(std::max<int64_t>(channel_inner, 1)) {
  std::vector<std::string> ops = node.attr_strings("post_ops");
  std::vector<float> params = node.attr_floats("post_op_params");
  check_post_ops(node.label(), ops, params, z_type != DType::Undefined, !channel_factors_.empty());
  size_t k = 0;
  for (const std::string& op : ops) {
    size_t count = static_cast<size_t>(post_op_param_count(op));
    steps_.push_back({op, std::vector<float>(params.begin() + static_cast<int64_t>(k),
                                             params.begin() + static_cast<int64_t>(k + count))});
    k += count;
    suffix_ += "+" + op;
  }
  std::transform(suffix_.begin(), suffix_.end(), suffix_.begin(), [](char c) { return std::tolower(c); });
}

void SplitEpilogue::run(float* v, const void* z, void* y, int64_t n, int threads) const {
  const cpu::ElementwiseMicrokernels& ew = cpu::elementwise_for(active_isa());
  const cpu::QuantizeMicrokernels& q8 = cpu::quantize_for(active_isa());
  constexpr int64_t kChunk = 4096;  // stays in L1 through the whole chain
  bool z_int = z_type_ == DType::UInt8 || z_type_ == DType::Int8;
  cpu::Q8 zt = z_type_ == DType::Int8 ? cpu::Q8::S8 : cpu::Q8::U8;
  cpu::parallel_chunks((n + kChunk - 1) / kChunk, 1, n < 4 * kChunk ? 1 : threads, [&](int64_t cb, int64_t ce) {
    float tmp[kChunk];
    for (int64_t c = cb; c < ce; ++c) {
      int64_t b = c * kChunk, len = std::min(kChunk, n - b);
      float* x = v + b;
      for (const auto& [op, p] : steps_) {
        auto unary = [&](cpu::UnaryOp u, cpu::UnaryParams up = {}) { ew.unary[static_cast<int>(u)](x, x, len, up); };
        if (op == "Relu") unary(cpu::UnaryOp::Relu);
        else if (op == "LeakyRelu") unary(cpu::UnaryOp::LeakyRelu, {p[0], 0.f});
        else if (op == "Clip") unary(cpu::UnaryOp::Clip, {p[0], p[1]});
        else if (op == "HardSigmoid") unary(cpu::UnaryOp::HardSigmoid, {p[0], p[1]});
        else if (op == "HardSwish") unary(cpu::UnaryOp::HardSwish);
        else if (op == "Sigmoid") unary(cpu::UnaryOp::Sigmoid);
        else if (op == "Tanh") unary(cpu::UnaryOp::Tanh);
        else if (op == "Linear") {
          for (int64_t i = 0; i < len; ++i) x[i] = p[0] * x[i] + p[1];
        } else if (op == "Swish") {  // x * Sigmoid(beta x)
          for (int64_t i = 0; i < len; ++i) tmp[i] = p[0] * x[i];
          ew.unary[static_cast<int>(cpu::UnaryOp::Sigmoid)](tmp, tmp, len, {});
          for (int64_t i = 0; i < len; ++i) x[i] *= tmp[i];
        } else if (op == "Add") {
          const float* zr = static_cast<const float*>(z) + b;
          if (z_int) {
            q8.dequantize(static_cast<const uint8_t*>(z) + b, tmp, len, z_.scale, static_cast<float>(z_.zero_point),
                          zt);
            zr = tmp;
          }
          for (int64_t i = 0; i < len; ++i) x[i] += zr[i];
        } else if (op == "ChannelMul") {
          // Runs of elements that share a channel (channels-last: a pixel's channels in order), not a division
          // per element.
          const int64_t channels = static_cast<int64_t>(channel_factors_.size());
          const float* f = channel_factors_.data();
          for (int64_t i = 0; i < len;) {
            int64_t at = b + i, ch = at / channel_inner_ % channels;
            if (channel_inner_ == 1) {
              int64_t run = std::min(channels - ch, len - i);
              for (int64_t k = 0; k < run; ++k) x[i + k] *= f[ch + k];
              i += run;
            } else {
              int64_t run = std::min(channel_inner_ - at % channel_inner_, len - i);
              for (int64_t k = 0; k < run; ++k) x[i + k] *= f[ch];
              i += run;
            }
          }
        }
      }
      if (out_.quantized())
        q8.quantize(x, static_cast<uint8_t*>(y) + b, len, out_.params.scale, static_cast<float>(out_.params.zero_point),
                    out_.type == DType::Int8 ? cpu::Q8::S8 : cpu::Q8::U8);
      else if (static_cast<float*>(y) + b != x)
        std::copy(x, x + len, static_cast<float*>(y) + b);
    }
  }, 1);
}

dnnl::primitive_attr int8_attr(const Int8Epilogue& e, int channel_mask, int32_t src_zero_point) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (e.common) attr.set_output_scales(0, {e.output_scales.empty() ? 1.f : e.output_scales[0]});
  else attr.set_output_scales(channel_mask, e.output_scales);
  if (src_zero_point != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {src_zero_point});
  if (e.dst_zero_point != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {e.dst_zero_point});
  if (e.post_ops.len() > 0) attr.set_post_ops(e.post_ops);
  return attr;
}

dnnl::memory pack_int8_weights(const int8_t* w, const memory::desc& user, const memory::desc& want) {
  memory src(user, cpu_engine(), const_cast<int8_t*>(w));
  memory packed(want, cpu_engine());
  dnnl::stream s(cpu_engine());
  dnnl::reorder(src, packed).execute(s, src, packed);
  s.wait();
  return packed;
}

memory::desc int8_activation_desc(const Shape& shape, DType type, Layout layout) {
  memory::dims dims = to_dims(shape);
  if (layout == Layout::ChannelsLast && shape.size() == 4)
    return memory::desc(dims, int8_data_type(type), memory::format_tag::nhwc);
  memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<memory::dim>(dims[i], 1);
  return memory::desc(dims, int8_data_type(type), strides);
}

}  // namespace hone::dnnl_cpu
