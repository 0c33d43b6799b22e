// LinearAttention (opset 27): recurrent linear attention over 3-D [batch, time, heads * size] Q/K/V with a state
// S [batch, kv_heads, d_k, d_v] (past_state, zeros when absent). Per time step t and KV head:
//   gated rules ("gated", "gated_delta"):  S *= exp(decay_t)      (decay per head [.., kv_heads] or per key dim)
//   delta rules ("delta", "gated_delta"):  v_t = beta_t * (v_t - S^T (erase_gate_t * k_t))
//   all rules:                             S += k_t v_t^T
//   output for query head h (KV head h / (q_heads / kv_heads)): scale * q_t^T S
// update_rule defaults to gated_delta; scale 0 or absent means 1 / sqrt(d_k). present_state takes past_state's
// element type (the query's when absent).
#include <cmath>

#include "ops/attention/float_io.h"

namespace hone {
namespace {

void linear_attention(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& q = ctx.input(0);
  const Tensor& k = ctx.input(1);
  const Tensor& v = ctx.input(2);
  std::string rule = n.attr_string("update_rule", "gated_delta");
  if (rule != "linear" && rule != "gated" && rule != "delta" && rule != "gated_delta")
    fail("{}: update_rule must be linear, gated, delta or gated_delta, got '{}'", n.label(), rule);
  bool gating = rule == "gated" || rule == "gated_delta";
  bool delta = rule == "delta" || rule == "gated_delta";
  int64_t hq = n.attr_int("q_num_heads", 0), hk = n.attr_int("kv_num_heads", 0);
  if (hq <= 0 || hk <= 0 || hq % hk != 0)
    fail("{}: q_num_heads ({}) must be a positive multiple of kv_num_heads ({})", n.label(), hq, hk);
  if (gating != ctx.has_input(4)) fail("{}: update_rule '{}' {} the decay input", n.label(), rule, gating ? "needs" : "forbids");
  if (delta != ctx.has_input(5)) fail("{}: update_rule '{}' {} the beta input", n.label(), rule, delta ? "needs" : "forbids");
  if (ctx.has_input(6) && !delta) fail("{}: update_rule '{}' forbids the erase_gate input", n.label(), rule);
  if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3)
    fail("{}: query, key and value must be 3-D [batch, time, heads * size]", n.label());
  int64_t B = q.dim(0), T = q.dim(1);
  if (k.dim(0) != B || v.dim(0) != B || k.dim(1) != T || v.dim(1) != T)
    fail("{}: query, key and value disagree in batch or time", n.label());
  if (q.dim(2) % hq != 0 || k.dim(2) % hk != 0 || v.dim(2) % hk != 0)
    fail("{}: hidden sizes are not divisible by the head counts", n.label());
  int64_t dk = q.dim(2) / hq, dv = v.dim(2) / hk, group = hq / hk;
  if (k.dim(2) / hk != dk) fail("{}: query and key head sizes differ", n.label());

  std::vector<double> qv = float_values(q, n), kv = float_values(k, n), vv = float_values(v, n);
  // decay: [B, T, hk] (per head) or [B, T, hk * dk] (per key dim)
  std::vector<double> decay;
  int64_t decay_per = 0;
  if (gating) {
    const Tensor& d = ctx.input(4);
    if (d.rank() != 3 || d.dim(0) != B || d.dim(1) != T || (d.dim(2) != hk && d.dim(2) != hk * dk))
      fail("{}: decay must be [{}, {}, {} or {}], got {}", n.label(), B, T, hk, hk * dk, shape_str(d.shape()));
    decay = float_values(d, n);
    decay_per = d.dim(2) / hk;
  }
  std::vector<double> beta, erase;
  int64_t beta_heads = 0;
  if (delta) {
    const Tensor& bt = ctx.input(5);
    if (bt.rank() != 3 || bt.dim(0) != B || bt.dim(1) != T || (bt.dim(2) != hk && bt.dim(2) != 1))
      fail("{}: beta must be [{}, {}, {} or 1], got {}", n.label(), B, T, hk, shape_str(bt.shape()));
    beta = float_values(bt, n);
    beta_heads = bt.dim(2);
    if (ctx.has_input(6)) {
      const Tensor& e = ctx.input(6);
      if (e.shape() != Shape{B, T, hk * dk})
        fail("{}: erase_gate must be [{}, {}, {}], got {}", n.label(), B, T, hk * dk, shape_str(e.shape()));
      erase = float_values(e, n);
    }
  }
  std::vector<double> state(static_cast<size_t>(B * hk * dk * dv), 0.0);
  DType state_type = q.dtype();
  if (ctx.has_input(3)) {
    const Tensor& ps = ctx.input(3);
    if (ps.shape() != Shape{B, hk, dk, dv})
      fail("{}: past_state must be [{}, {}, {}, {}], got {}", n.label(), B, hk, dk, dv, shape_str(ps.shape()));
    state = float_values(ps, n);
    state_type = ps.dtype();
  }
  double scale = n.attr_float("scale", 0.0f);
  if (scale == 0.0) scale = 1.0 / std::sqrt(static_cast<double>(dk));

  std::vector<double> out(static_cast<size_t>(B * T * hq * dv));
  std::vector<double> kt(static_cast<size_t>(dk)), vt(static_cast<size_t>(dv));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      int64_t bt = b * T + t;
      for (int64_t h = 0; h < hk; ++h) {
        double* S = &state[static_cast<size_t>((b * hk + h) * dk * dv)];
        for (int64_t i = 0; i < dk; ++i) kt[static_cast<size_t>(i)] = kv[static_cast<size_t>((bt * hk + h) * dk + i)];
        for (int64_t m = 0; m < dv; ++m) vt[static_cast<size_t>(m)] = vv[static_cast<size_t>((bt * hk + h) * dv + m)];
        if (gating)
          for (int64_t i = 0; i < dk; ++i) {
            double g = std::exp(decay[static_cast<size_t>((bt * hk + h) * decay_per + (decay_per == 1 ? 0 : i))]);
            for (int64_t m = 0; m < dv; ++m) S[i * dv + m] *= g;
          }
        if (delta) {
          double bta = beta[static_cast<size_t>(bt * beta_heads + (beta_heads == 1 ? 0 : h))];
          for (int64_t m = 0; m < dv; ++m) {
            double retrieved = 0;
            for (int64_t i = 0; i < dk; ++i) {
              double ke = kt[static_cast<size_t>(i)];
              if (!erase.empty()) ke *= erase[static_cast<size_t>((bt * hk + h) * dk + i)];
              retrieved += S[i * dv + m] * ke;
            }
            vt[static_cast<size_t>(m)] = bta * (vt[static_cast<size_t>(m)] - retrieved);
          }
        }
        for (int64_t i = 0; i < dk; ++i)
          for (int64_t m = 0; m < dv; ++m) S[i * dv + m] += kt[static_cast<size_t>(i)] * vt[static_cast<size_t>(m)];
      }
      for (int64_t h = 0; h < hq; ++h) {
        const double* S = &state[static_cast<size_t>((b * hk + h / group) * dk * dv)];
        const double* qt = &qv[static_cast<size_t>((bt * hq + h) * dk)];
        for (int64_t m = 0; m < dv; ++m) {
          double acc = 0;
          for (int64_t i = 0; i < dk; ++i) acc += qt[i] * S[i * dv + m];
          out[static_cast<size_t>((bt * hq + h) * dv + m)] = scale * acc;
        }
      }
    }
  store_float_values(ctx.output_uninitialized(0, q.dtype(), {B, T, hq * dv}), out, n);
  if (ctx.wants_output(1)) store_float_values(ctx.output_uninitialized(1, state_type, {B, hk, dk, dv}), state, n);
}

void infer_linear_attention(InferenceContext& ctx) {
  const Node& n = ctx.node();
  DType dt = ctx.input_dtype(0);
  int64_t hq = n.attr_int("q_num_heads", 0), hk = n.attr_int("kv_num_heads", 0);
  const SymShape* q = ctx.input_shape(0);
  const SymShape* k = ctx.input_shape(1);
  const SymShape* v = ctx.input_shape(2);
  if (!q || !k || !v || q->size() != 3 || k->size() != 3 || v->size() != 3 || hq <= 0 || hk <= 0) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    if (ctx.num_outputs() > 1) ctx.set_output_tensor(1, ctx.has_input(3) ? ctx.input_dtype(3) : dt, std::nullopt);
    return;
  }
  Dim dv = (*v)[2].known() ? Dim((*v)[2].value / hk) : Dim();
  Dim dk = (*k)[2].known() ? Dim((*k)[2].value / hk) : Dim();
  ctx.set_output_tensor(0, dt, SymShape{(*q)[0], (*q)[1], dv.known() ? Dim(hq * dv.value) : Dim()});
  if (ctx.num_outputs() > 1)
    ctx.set_output_tensor(1, ctx.has_input(3) ? ctx.input_dtype(3) : dt, SymShape{(*q)[0], hk, dk, dv});
}

}  // namespace

HONE_REGISTER_OP({.name = "LinearAttention", .since = 27, .infer = infer_linear_attention, .compute = linear_attention});

}  // namespace hone
