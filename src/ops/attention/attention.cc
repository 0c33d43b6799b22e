// Attention (opset 23, 24): scaled dot-product attention over 3-D ([batch, seq, heads * head_size]) or 4-D
// ([batch, heads, seq, head_size]) Q/K/V, with grouped KV heads, a boolean or additive mask broadcast to
// [batch, q_heads, q_seq, total_seq], causal masking aligned to the bottom right (offset by the past length, or by
// nonpad_kv_seqlen - q_seq for an external cache), a KV cache (past_* in, present_* out), softcap, and the
// intermediate scores as an optional output. Computed in double, rounded once on store.
#include <cmath>
#include <limits>

#include "ops/attention/float_io.h"

namespace hone {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

struct AttentionDims {
  bool rank3 = false;
  int64_t batch = 0, q_heads = 0, kv_heads = 0, q_seq = 0, kv_seq = 0, past = 0, total = 0, head = 0, v_head = 0;
};

// Reads a [B, S, H*D] or [B, H, S, D] tensor into a [B, H, S, D] double buffer.
std::vector<double> to_bhsd(const Tensor& t, const AttentionDims& d, int64_t heads, int64_t seq, int64_t size,
                            const Node& node) {
  std::vector<double> v = float_values(t, node);
  if (!d.rank3) return v;
  std::vector<double> out(v.size());
  for (int64_t b = 0; b < d.batch; ++b)
    for (int64_t s = 0; s < seq; ++s)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t k = 0; k < size; ++k)
          out[static_cast<size_t>(((b * heads + h) * seq + s) * size + k)] =
              v[static_cast<size_t>(((b * seq + s) * heads + h) * size + k)];
  return out;
}

AttentionDims attention_dims(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& q = ctx.input(0);
  const Tensor& k = ctx.input(1);
  const Tensor& v = ctx.input(2);
  AttentionDims d;
  if (q.rank() != k.rank() || q.rank() != v.rank() || (q.rank() != 3 && q.rank() != 4))
    fail("{}: Q, K and V must all be 3-D or all 4-D (got ranks {}, {}, {})", n.label(), q.rank(), k.rank(), v.rank());
  d.rank3 = q.rank() == 3;
  d.batch = q.dim(0);
  if (k.dim(0) != d.batch || v.dim(0) != d.batch) fail("{}: Q, K and V have different batch sizes", n.label());
  if (d.rank3) {
    d.q_heads = n.attr_int("q_num_heads", 0);
    d.kv_heads = n.attr_int("kv_num_heads", 0);
    if (d.q_heads <= 0 || d.kv_heads <= 0)
      fail("{}: 3-D inputs need positive q_num_heads and kv_num_heads attributes", n.label());
    if (q.dim(2) % d.q_heads != 0 || k.dim(2) % d.kv_heads != 0 || v.dim(2) % d.kv_heads != 0)
      fail("{}: hidden sizes ({}, {}, {}) are not divisible by the head counts ({}, {})", n.label(), q.dim(2), k.dim(2),
           v.dim(2), d.q_heads, d.kv_heads);
    d.q_seq = q.dim(1);
    d.kv_seq = k.dim(1);
    d.head = q.dim(2) / d.q_heads;
    if (k.dim(2) / d.kv_heads != d.head)
      fail("{}: Q and K head sizes differ ({} and {})", n.label(), d.head, k.dim(2) / d.kv_heads);
    d.v_head = v.dim(2) / d.kv_heads;
    if (v.dim(1) != d.kv_seq) fail("{}: K and V sequence lengths differ", n.label());
  } else {
    d.q_heads = q.dim(1);
    d.kv_heads = k.dim(1);
    d.q_seq = q.dim(2);
    d.kv_seq = k.dim(2);
    d.head = q.dim(3);
    d.v_head = v.dim(3);
    if (k.dim(3) != d.head) fail("{}: Q and K head sizes differ ({} and {})", n.label(), d.head, k.dim(3));
    if (v.dim(1) != d.kv_heads || v.dim(2) != d.kv_seq)
      fail("{}: K {} and V {} do not agree in heads and sequence length", n.label(), shape_str(k.shape()),
           shape_str(v.shape()));
  }
  if (d.kv_heads == 0 || d.q_heads % d.kv_heads != 0)
    fail("{}: q_num_heads {} is not a multiple of kv_num_heads {}", n.label(), d.q_heads, d.kv_heads);
  bool has_pk = ctx.has_input(4), has_pv = ctx.has_input(5);
  if (has_pk != has_pv) fail("{}: past_key and past_value must be given together", n.label());
  if (has_pk) {
    const Tensor& pk = ctx.input(4);
    const Tensor& pv = ctx.input(5);
    if (pk.rank() != 4 || pk.dim(0) != d.batch || pk.dim(1) != d.kv_heads || pk.dim(3) != d.head)
      fail("{}: past_key shape {} does not match [{}, {}, past, {}]", n.label(), shape_str(pk.shape()), d.batch,
           d.kv_heads, d.head);
    if (pv.rank() != 4 || pv.dim(0) != d.batch || pv.dim(1) != d.kv_heads || pv.dim(2) != pk.dim(2) ||
        pv.dim(3) != d.v_head)
      fail("{}: past_value shape {} does not match [{}, {}, {}, {}]", n.label(), shape_str(pv.shape()), d.batch,
           d.kv_heads, pk.dim(2), d.v_head);
    d.past = pk.dim(2);
  }
  d.total = d.past + d.kv_seq;
  return d;
}

// The additive bias for scores [b, h, i, j]: the mask (bool: 0 / -inf; float: added; the last dim padded with
// masked entries up to the total length), causal masking and nonpad_kv_seqlen padding.
class AttentionBias {
 public:
  AttentionBias(OpContext& ctx, const AttentionDims& d) : d_(d) {
    const Node& n = ctx.node();
    if (ctx.has_input(3)) {
      const Tensor& m = ctx.input(3);
      if (m.rank() < 2 || m.rank() > 4) fail("{}: attn_mask must have rank 2 to 4, got {}", n.label(), m.rank());
      Shape target = {d.batch, d.q_heads, d.q_seq, d.total};
      mask_shape_ = Shape(4 - static_cast<size_t>(m.rank()), 1);
      mask_shape_.insert(mask_shape_.end(), m.shape().begin(), m.shape().end());
      for (size_t a = 0; a < 3; ++a)
        if (mask_shape_[a] != 1 && mask_shape_[a] != target[a])
          fail("{}: attn_mask shape {} does not broadcast to {}", n.label(), shape_str(m.shape()), shape_str(target));
      if (mask_shape_[3] > d.total)
        fail("{}: attn_mask's last dim {} exceeds the total sequence length {}", n.label(), mask_shape_[3], d.total);
      has_mask_ = true;
      if (m.dtype() == DType::Bool) {
        mask_.resize(static_cast<size_t>(m.numel()));
        for (size_t i = 0; i < mask_.size(); ++i) mask_[i] = m.data<uint8_t>()[i] ? 0.0 : kNegInf;
      } else {
        mask_ = float_values(m, n);
      }
    }
    causal_ = n.attr_int("is_causal", 0) != 0;
    if (ctx.has_input(6)) {
      if (ctx.opset() < 24) fail("{}: nonpad_kv_seqlen needs opset 24", n.label());
      const Tensor& s = ctx.input(6);
      if (!is_integer(s.dtype()) || s.numel() != d.batch)
        fail("{}: nonpad_kv_seqlen must hold {} integers, got {} {}", n.label(), d.batch, dtype_name(s.dtype()),
             shape_str(s.shape()));
      nonpad_ = s.to_int64_vector();
      for (int64_t len : nonpad_)
        if (len < 0 || len > d.total)
          fail("{}: nonpad_kv_seqlen value {} is outside [0, {}]", n.label(), len, d.total);
    }
    // Causal offset: queries are the last q_seq positions of the valid keys.
    offsets_.assign(static_cast<size_t>(d.batch), d.past);
    if (causal_ && !ctx.has_input(4) && !nonpad_.empty())
      for (int64_t b = 0; b < d.batch; ++b) offsets_[static_cast<size_t>(b)] = nonpad_[static_cast<size_t>(b)] - d.q_seq;
  }

  double at(int64_t b, int64_t h, int64_t i, int64_t j) const {
    double bias = 0;
    if (has_mask_) {
      if (j >= mask_shape_[3]) {
        bias = kNegInf;
      } else {
        int64_t mb = mask_shape_[0] == 1 ? 0 : b, mh = mask_shape_[1] == 1 ? 0 : h;
        int64_t mi = mask_shape_[2] == 1 ? 0 : i;
        bias = mask_[static_cast<size_t>(((mb * mask_shape_[1] + mh) * mask_shape_[2] + mi) * mask_shape_[3] + j)];
      }
    }
    if (causal_ && j > i + offsets_[static_cast<size_t>(b)]) bias += kNegInf;
    if (!nonpad_.empty() && j >= nonpad_[static_cast<size_t>(b)]) bias += kNegInf;
    return bias;
  }

 private:
  const AttentionDims& d_;
  bool has_mask_ = false, causal_ = false;
  Shape mask_shape_;
  std::vector<double> mask_;
  std::vector<int64_t> nonpad_;
  std::vector<int64_t> offsets_;
};

void attention(OpContext& ctx) {
  const Node& n = ctx.node();
  AttentionDims d = attention_dims(ctx);
  DType dt = ctx.input(0).dtype();
  for (int i : {1, 2, 4, 5})
    if (ctx.has_input(static_cast<size_t>(i)) && ctx.input(static_cast<size_t>(i)).dtype() != dt)
      fail("{}: input {} has element type {}, Q has {}", n.label(), i,
           dtype_name(ctx.input(static_cast<size_t>(i)).dtype()), dtype_name(dt));
  double scale = n.has_attr("scale") ? n.attr_float("scale", 1.0f) : 1.0 / std::sqrt(static_cast<double>(d.head));
  double sqrt_scale = std::sqrt(scale);
  double softcap = n.attr_float("softcap", 0.0f);
  int64_t qk_mode = n.attr_int("qk_matmul_output_mode", 0);
  if (qk_mode < 0 || qk_mode > 3) fail("{}: qk_matmul_output_mode must be 0..3, got {}", n.label(), qk_mode);
  DType softmax_type = n.has_attr("softmax_precision") ? static_cast<DType>(n.attr_int("softmax_precision", 1)) : dt;

  std::vector<double> q = to_bhsd(ctx.input(0), d, d.q_heads, d.q_seq, d.head, n);
  std::vector<double> k = to_bhsd(ctx.input(1), d, d.kv_heads, d.kv_seq, d.head, n);
  std::vector<double> v = to_bhsd(ctx.input(2), d, d.kv_heads, d.kv_seq, d.v_head, n);
  // present = concat(past, current) along the sequence axis.
  auto concat_cache = [&](const std::vector<double>& cur, size_t past_input, int64_t size) {
    std::vector<double> past = d.past ? float_values(ctx.input(past_input), n) : std::vector<double>{};
    std::vector<double> out(static_cast<size_t>(d.batch * d.kv_heads * d.total * size));
    for (int64_t bh = 0; bh < d.batch * d.kv_heads; ++bh) {
      for (int64_t s = 0; s < d.past * size; ++s)
        out[static_cast<size_t>(bh * d.total * size + s)] = past[static_cast<size_t>(bh * d.past * size + s)];
      for (int64_t s = 0; s < d.kv_seq * size; ++s)
        out[static_cast<size_t>(bh * d.total * size + d.past * size + s)] = cur[static_cast<size_t>(bh * d.kv_seq * size + s)];
    }
    return out;
  };
  std::vector<double> present_k = concat_cache(k, 4, d.head);
  std::vector<double> present_v = concat_cache(v, 5, d.v_head);
  AttentionBias bias(ctx, d);

  std::vector<double> y(static_cast<size_t>(d.batch * d.q_heads * d.q_seq * d.v_head));
  std::vector<double> qk_out(static_cast<size_t>(d.batch * d.q_heads * d.q_seq * d.total));
  std::vector<double> scores(static_cast<size_t>(d.total)), probs(static_cast<size_t>(d.total));
  int64_t group = d.q_heads / d.kv_heads;
  for (int64_t b = 0; b < d.batch; ++b) {
    for (int64_t h = 0; h < d.q_heads; ++h) {
      int64_t kvh = h / group;  // each KV head serves `group` consecutive query heads
      const double* kb = &present_k[static_cast<size_t>((b * d.kv_heads + kvh) * d.total * d.head)];
      const double* vb = &present_v[static_cast<size_t>((b * d.kv_heads + kvh) * d.total * d.v_head)];
      for (int64_t i = 0; i < d.q_seq; ++i) {
        const double* qi = &q[static_cast<size_t>(((b * d.q_heads + h) * d.q_seq + i) * d.head)];
        double* qk_row = &qk_out[static_cast<size_t>(((b * d.q_heads + h) * d.q_seq + i) * d.total)];
        double max = kNegInf;
        for (int64_t j = 0; j < d.total; ++j) {
          double s = 0;
          for (int64_t c = 0; c < d.head; ++c) s += (qi[c] * sqrt_scale) * (kb[j * d.head + c] * sqrt_scale);
          if (softcap > 0) s = softcap * std::tanh(s / softcap);
          double with_bias = s + bias.at(b, h, i, j);
          if (qk_mode <= 1) qk_row[j] = s;
          else if (qk_mode == 2) qk_row[j] = with_bias;
          with_bias = round_to_dtype(with_bias, softmax_type);
          scores[static_cast<size_t>(j)] = with_bias;
          if (with_bias > max) max = with_bias;
        }
        // A row with every key masked attends to nothing: its probabilities (and output) are zero.
        double sum = 0;
        for (int64_t j = 0; j < d.total; ++j) {
          double e = max == kNegInf ? 0.0 : std::exp(scores[static_cast<size_t>(j)] - max);
          probs[static_cast<size_t>(j)] = e;
          sum += e;
        }
        for (int64_t j = 0; j < d.total; ++j) {
          double p = sum > 0 ? probs[static_cast<size_t>(j)] / sum : 0.0;
          if (std::isnan(sum)) p = std::numeric_limits<double>::quiet_NaN();
          probs[static_cast<size_t>(j)] = round_to_dtype(p, softmax_type);
          if (qk_mode == 3) qk_row[j] = probs[static_cast<size_t>(j)];
        }
        for (int64_t c = 0; c < d.v_head; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < d.total; ++j) acc += probs[static_cast<size_t>(j)] * vb[j * d.v_head + c];
          int64_t idx = d.rank3 ? ((b * d.q_seq + i) * d.q_heads + h) * d.v_head + c
                                : ((b * d.q_heads + h) * d.q_seq + i) * d.v_head + c;
          y[static_cast<size_t>(idx)] = acc;
        }
      }
    }
  }
  Shape y_shape = d.rank3 ? Shape{d.batch, d.q_seq, d.q_heads * d.v_head} : Shape{d.batch, d.q_heads, d.q_seq, d.v_head};
  store_float_values(ctx.output_uninitialized(0, dt, y_shape), y, n);
  if (ctx.wants_output(1))
    store_float_values(ctx.output_uninitialized(1, dt, {d.batch, d.kv_heads, d.total, d.head}), present_k, n);
  if (ctx.wants_output(2))
    store_float_values(ctx.output_uninitialized(2, dt, {d.batch, d.kv_heads, d.total, d.v_head}), present_v, n);
  if (ctx.wants_output(3))
    store_float_values(ctx.output_uninitialized(3, dt, {d.batch, d.q_heads, d.q_seq, d.total}), qk_out, n);
}

void infer_attention(InferenceContext& ctx) {
  const Node& n = ctx.node();
  DType dt = ctx.input_dtype(0);
  for (size_t i = 0; i < ctx.num_outputs(); ++i) ctx.set_output_tensor(i, dt, std::nullopt);
  const SymShape* q = ctx.input_shape(0);
  const SymShape* k = ctx.input_shape(1);
  const SymShape* v = ctx.input_shape(2);
  if (!q || !k || !v || q->size() != k->size() || q->size() != v->size()) return;
  Dim batch = (*q)[0], q_heads, kv_heads, q_seq, kv_seq, head, v_head;
  Dim past = ctx.has_input(4) ? Dim() : Dim(0);
  if (ctx.has_input(4))
    if (const SymShape* pk = ctx.input_shape(4); pk && pk->size() == 4) past = (*pk)[2];
  auto div_dim = [](const Dim& a, int64_t b) { return a.known() && b > 0 ? Dim(a.value / b) : Dim(); };
  if (q->size() == 3) {
    int64_t qh = n.attr_int("q_num_heads", 0), kvh = n.attr_int("kv_num_heads", 0);
    if (qh <= 0 || kvh <= 0) return;
    q_heads = qh;
    kv_heads = kvh;
    q_seq = (*q)[1];
    kv_seq = (*k)[1];
    head = div_dim((*k)[2], kvh);
    v_head = div_dim((*v)[2], kvh);
    Dim hidden = v_head.known() ? Dim(qh * v_head.value) : Dim();
    ctx.set_output_tensor(0, dt, SymShape{batch, q_seq, hidden});
  } else if (q->size() == 4) {
    q_heads = (*q)[1];
    kv_heads = (*k)[1];
    q_seq = (*q)[2];
    kv_seq = (*k)[2];
    head = (*k)[3];
    v_head = (*v)[3];
    ctx.set_output_tensor(0, dt, SymShape{batch, q_heads, q_seq, v_head});
  } else {
    return;
  }
  Dim total = add_dims(past, kv_seq);
  if (ctx.num_outputs() > 1) ctx.set_output_tensor(1, dt, SymShape{batch, kv_heads, total, head});
  if (ctx.num_outputs() > 2) ctx.set_output_tensor(2, dt, SymShape{batch, kv_heads, total, v_head});
  if (ctx.num_outputs() > 3) ctx.set_output_tensor(3, dt, SymShape{batch, q_heads, q_seq, total});
}

}  // namespace

// Opset 24 adds the nonpad_kv_seqlen input; the kernel refuses it below 24.
HONE_REGISTER_OP({.name = "Attention", .since = 23, .infer = infer_attention, .compute = attention});

}  // namespace hone
