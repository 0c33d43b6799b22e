// CausalConvWithState (opset 27): depthwise causal 1-D convolution with a carried state. input [B, C, L],
// weight [C, 1, K], optional bias [C], optional past_state [B, C, K - 1] (zeros when absent). With
// padded = concat(past_state, input) along time: output[b, c, t] = bias[c] + sum_j weight[c, 0, j] *
// padded[b, c, t + j], optionally followed by SiLU (activation "silu" or its alias "swish");
// present_state = the last K - 1 steps of padded.
#include <cmath>

#include "ops/attention/float_io.h"

namespace hone {
namespace {

void causal_conv_with_state(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  std::string activation = n.attr_string("activation", "none");
  if (activation != "none" && activation != "silu" && activation != "swish")
    fail("{}: activation must be none, silu or swish, got '{}'", n.label(), activation);
  if (x.rank() != 3) fail("{}: input must be [batch, channels, length], got {}", n.label(), shape_str(x.shape()));
  int64_t B = x.dim(0), C = x.dim(1), L = x.dim(2);
  if (w.rank() != 3 || w.dim(0) != C || w.dim(1) != 1 || w.dim(2) < 1)
    fail("{}: weight must be [{}, 1, kernel], got {}", n.label(), C, shape_str(w.shape()));
  int64_t K = w.dim(2), P = K - 1, T = P + L;
  for (size_t i = 1; i < 4; ++i)
    if (ctx.has_input(i) && ctx.input(i).dtype() != x.dtype())
      fail("{}: input {} must have the input's element type", n.label(), i);
  std::vector<double> bias(static_cast<size_t>(C), 0.0);
  if (ctx.has_input(2)) {
    const Tensor& bt = ctx.input(2);
    if (bt.rank() != 1 || bt.dim(0) != C) fail("{}: bias must be [{}], got {}", n.label(), C, shape_str(bt.shape()));
    bias = float_values(bt, n);
  }
  std::vector<double> xv = float_values(x, n), wv = float_values(w, n);
  std::vector<double> padded(static_cast<size_t>(B * C * T), 0.0);
  std::vector<double> past;
  if (ctx.has_input(3)) {
    const Tensor& ps = ctx.input(3);
    if (ps.shape() != Shape{B, C, P})
      fail("{}: past_state must be [{}, {}, {}], got {}", n.label(), B, C, P, shape_str(ps.shape()));
    past = float_values(ps, n);
  }
  for (int64_t bc = 0; bc < B * C; ++bc) {
    for (int64_t t = 0; t < P && !past.empty(); ++t)
      padded[static_cast<size_t>(bc * T + t)] = past[static_cast<size_t>(bc * P + t)];
    for (int64_t t = 0; t < L; ++t) padded[static_cast<size_t>(bc * T + P + t)] = xv[static_cast<size_t>(bc * L + t)];
  }
  bool silu = activation != "none";
  std::vector<double> y(static_cast<size_t>(B * C * L)), state(static_cast<size_t>(B * C * P));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      const double* row = &padded[static_cast<size_t>((b * C + c) * T)];
      for (int64_t t = 0; t < L; ++t) {
        double acc = bias[static_cast<size_t>(c)];
        for (int64_t j = 0; j < K; ++j) acc += wv[static_cast<size_t>(c * K + j)] * row[t + j];
        if (silu) {  // the reference rounds the convolution to the input type first
          acc = round_to_dtype(acc, x.dtype());
          acc = acc / (1.0 + std::exp(-acc));
        }
        y[static_cast<size_t>((b * C + c) * L + t)] = acc;
      }
      for (int64_t t = 0; t < P; ++t) state[static_cast<size_t>((b * C + c) * P + t)] = row[L + t];
    }
  store_float_values(ctx.output_uninitialized(0, x.dtype(), x.shape()), y, n);
  if (ctx.wants_output(1)) store_float_values(ctx.output_uninitialized(1, x.dtype(), {B, C, P}), state, n);
}

void infer_causal_conv_with_state(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  ctx.set_output(0, ctx.input_type(0));
  if (ctx.num_outputs() < 2) return;
  const SymShape* x = ctx.input_shape(0);
  const SymShape* w = ctx.input_shape(1);
  Dim k1 = w && w->size() == 3 && (*w)[2].known() ? Dim((*w)[2].value - 1) : Dim();
  if (x && x->size() == 3)
    ctx.set_output_tensor(1, dt, SymShape{(*x)[0], (*x)[1], k1});
  else
    ctx.set_output_tensor(1, dt, std::nullopt);
}

}  // namespace

HONE_REGISTER_OP({.name = "CausalConvWithState", .since = 27, .infer = infer_causal_conv_with_state,
                  .compute = causal_conv_with_state});

}  // namespace hone
