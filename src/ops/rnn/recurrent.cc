// RNN, GRU and LSTM (opsets 1-22): one reference driver for the three cells. Inputs are read once into doubles
// in [seq, batch, input] order (layout 0; layout 1, opset 14+, has batch first), every (direction, batch entry)
// runs its own recurrence over its sequence length, and outputs are written back in the node's element type.
//
//   RNN:  H = f(X W^T + H R^T + Wb + Rb)
//   GRU:  z = f(.z), r = f(.r), h = g(X Wh^T + (r . H) Rh^T + Rbh + Wbh), or with linear_before_reset
//         h = g(X Wh^T + r . (H Rh^T + Rbh) + Wbh); H = (1 - z) . h + z . H
//   LSTM: i = f(.i + Pi . C), f = f(.f + Pf . C) (1 - i with input_forget), c = g(.c), C = f . C + i . c,
//         o = f(.o + Po . C), H = o . h(C)
// `clip` bounds every gate's input to its activation. Steps past a batch entry's sequence length leave zeros in Y;
// Y_h/Y_c hold the state after the entry's last step.
#include <cmath>

#include "ops/rnn/rnn_activation.h"

namespace hone {
namespace {

enum class Cell { Rnn, Gru, Lstm };

int gate_count(Cell c) { return c == Cell::Rnn ? 1 : c == Cell::Gru ? 3 : 4; }

int direction_count(const Node& node) {
  std::string d = node.attr_string("direction", "forward");
  if (d == "forward" || d == "reverse") return 1;
  if (d == "bidirectional") return 2;
  fail("{}: direction must be forward, reverse or bidirectional, got '{}'", node.label(), d);
}

int64_t layout_of(const Node& node) {
  int64_t layout = node.attr_int("layout", 0);
  if (layout != 0 && layout != 1) fail("{}: layout must be 0 or 1, got {}", node.label(), layout);
  return layout;
}

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.get_double(i);
  return v;
}

void expect_shape(const Node& node, const char* what, const Tensor& t, const Shape& want) {
  if (t.shape() != want)
    fail("{}: {} must have shape {}, has {}", node.label(), what, shape_str(want), shape_str(t.shape()));
}

void run_recurrent(OpContext& ctx, Cell cell) {
  const Node& node = ctx.node();
  const int G = gate_count(cell);
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Tensor& R = ctx.input(2);
  if (!is_float(X.dtype()) || X.dtype() == DType::Float4E2M1 || dtype_bits(X.dtype()) < 16)
    fail("{}: element type {} is not supported", node.label(), dtype_name(X.dtype()));
  const int64_t layout = layout_of(node);
  const int D = direction_count(node);
  const bool reverse_only = node.attr_string("direction", "forward") == "reverse";
  if (X.rank() != 3) fail("{}: X must have rank 3, has shape {}", node.label(), shape_str(X.shape()));
  const int64_t seq = layout ? X.dim(1) : X.dim(0), batch = layout ? X.dim(0) : X.dim(1), I = X.dim(2);
  if (R.rank() != 3) fail("{}: R must have rank 3, has shape {}", node.label(), shape_str(R.shape()));
  const int64_t H = R.dim(2);
  if (node.has_attr("hidden_size") && node.attr_int("hidden_size", 0) != H)
    fail("{}: hidden_size {} does not match R's shape {}", node.label(), node.attr_int("hidden_size", 0), shape_str(R.shape()));
  expect_shape(node, "W", W, {D, G * H, I});
  expect_shape(node, "R", R, {D, G * H, H});
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i) && i != 4 && ctx.input(i).dtype() != X.dtype())
      fail("{}: input {} is {} but X is {}", node.label(), i, dtype_name(ctx.input(i).dtype()), dtype_name(X.dtype()));

  std::vector<double> x = to_doubles(X), w = to_doubles(W), r = to_doubles(R);
  std::vector<double> bias(static_cast<size_t>(D * 2 * G * H), 0.0);
  if (ctx.has_input(3)) {
    expect_shape(node, "B", ctx.input(3), {D, 2 * G * H});
    bias = to_doubles(ctx.input(3));
  }
  std::vector<int64_t> lens(static_cast<size_t>(batch), seq);
  if (ctx.has_input(4)) {
    const Tensor& sl = ctx.input(4);
    if (!is_integer(sl.dtype())) fail("{}: sequence_lens must be an integer tensor", node.label());
    expect_shape(node, "sequence_lens", sl, {batch});
    lens = sl.to_int64_vector();
    for (int64_t l : lens)
      if (l < 0 || l > seq) fail("{}: sequence length {} is not in [0, {}]", node.label(), l, seq);
  }
  const Shape state_shape = layout ? Shape{batch, D, H} : Shape{D, batch, H};
  // State index (direction, batch entry, unit) in the node's layout.
  auto state_at = [&](int64_t d, int64_t b, int64_t h) { return layout ? (b * D + d) * H + h : (d * batch + b) * H + h; };
  std::vector<double> h0(static_cast<size_t>(D * batch * H), 0.0), c0 = h0;
  if (ctx.has_input(5)) {
    expect_shape(node, "initial_h", ctx.input(5), state_shape);
    h0 = to_doubles(ctx.input(5));
  }
  std::vector<double> peep(static_cast<size_t>(D * 3 * H), 0.0);
  if (cell == Cell::Lstm) {
    if (ctx.has_input(6)) {
      expect_shape(node, "initial_c", ctx.input(6), state_shape);
      c0 = to_doubles(ctx.input(6));
    }
    if (ctx.has_input(7)) {
      expect_shape(node, "P", ctx.input(7), {D, 3 * H});
      peep = to_doubles(ctx.input(7));
    }
  }
  std::vector<std::string> default_acts = cell == Cell::Rnn   ? std::vector<std::string>{"Tanh"}
                                          : cell == Cell::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                              : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  std::vector<RnnActivation> acts = parse_rnn_activations(node, default_acts, D);
  const size_t per_dir = default_acts.size();
  const bool has_clip = node.has_attr("clip");
  const double clip = node.attr_float("clip", 0);
  if (has_clip && clip < 0) fail("{}: clip must be >= 0, got {}", node.label(), clip);
  const bool linear_before_reset = node.attr_int("linear_before_reset", 0) != 0;
  const bool input_forget = node.attr_int("input_forget", 0) != 0;
  auto clipped = [&](double v) { return has_clip ? std::clamp(v, -clip, clip) : v; };

  std::vector<double> y(static_cast<size_t>(seq * D * batch * H), 0.0);  // [seq, D, batch, H]
  std::vector<double> yh(h0.size(), 0.0), yc(h0.size(), 0.0);           // node layout
  std::vector<double> hs(static_cast<size_t>(H)), cs(static_cast<size_t>(H)), pre(static_cast<size_t>(G * H)),
      rec(static_cast<size_t>(G * H)), gate(static_cast<size_t>(G * H)), next(static_cast<size_t>(H));
  for (int64_t d = 0; d < D; ++d) {
    const bool reverse = reverse_only || d == 1;
    const double* wd = w.data() + d * G * H * I;
    const double* rd = r.data() + d * G * H * H;
    const double* wb = bias.data() + d * 2 * G * H;
    const double* rb = wb + G * H;
    const double* pd = peep.data() + d * 3 * H;
    const RnnActivation& f = acts[static_cast<size_t>(d) * per_dir];
    const RnnActivation& g = acts[static_cast<size_t>(d) * per_dir + (per_dir > 1 ? 1 : 0)];
    const RnnActivation& hact = acts[static_cast<size_t>(d) * per_dir + (per_dir > 2 ? 2 : 0)];
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t u = 0; u < H; ++u) {
        hs[static_cast<size_t>(u)] = h0[static_cast<size_t>(state_at(d, b, u))];
        cs[static_cast<size_t>(u)] = c0[static_cast<size_t>(state_at(d, b, u))];
      }
      const int64_t len = lens[static_cast<size_t>(b)];
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = reverse ? len - 1 - s : s;
        const double* xt = x.data() + (layout ? (b * seq + t) * I : (t * batch + b) * I);
        // Input and recurrent projections of every gate row, biases included.
        for (int64_t row = 0; row < G * H; ++row) {
          double a = wb[row];
          for (int64_t i = 0; i < I; ++i) a += wd[row * I + i] * xt[i];
          pre[static_cast<size_t>(row)] = a;
          double c = rb[row];
          for (int64_t j = 0; j < H; ++j) c += rd[row * H + j] * hs[static_cast<size_t>(j)];
          rec[static_cast<size_t>(row)] = c;
        }
        if (cell == Cell::Rnn) {
          for (int64_t u = 0; u < H; ++u) next[static_cast<size_t>(u)] = f(clipped(pre[static_cast<size_t>(u)] + rec[static_cast<size_t>(u)]));
        } else if (cell == Cell::Gru) {
          // Gates z and r first: without linear_before_reset, h's recurrent term needs r of every unit.
          for (int64_t u = 0; u < 2 * H; ++u) gate[static_cast<size_t>(u)] = f(clipped(pre[static_cast<size_t>(u)] + rec[static_cast<size_t>(u)]));
          for (int64_t u = 0; u < H; ++u) {
            size_t zu = static_cast<size_t>(u), hu = static_cast<size_t>(2 * H + u);
            double z = gate[zu], rr = gate[static_cast<size_t>(H + u)];
            double hin;
            if (linear_before_reset) {
              hin = pre[hu] + rr * rec[hu];
            } else {
              double c = rb[2 * H + u];
              for (int64_t j = 0; j < H; ++j) c += rd[(2 * H + u) * H + j] * gate[static_cast<size_t>(H + j)] * hs[static_cast<size_t>(j)];
              hin = pre[hu] + c;
            }
            next[zu] = (1 - z) * g(clipped(hin)) + z * hs[zu];
          }
        } else {
          for (int64_t u = 0; u < H; ++u) {
            size_t iu = static_cast<size_t>(u), ou = static_cast<size_t>(H + u), fu = static_cast<size_t>(2 * H + u),
                   cu = static_cast<size_t>(3 * H + u);
            double cprev = cs[iu];
            double ig = f(clipped(pre[iu] + rec[iu] + pd[u] * cprev));
            double fg = input_forget ? 1 - ig : f(clipped(pre[fu] + rec[fu] + pd[2 * H + u] * cprev));
            double cg = g(clipped(pre[cu] + rec[cu]));
            double cnew = fg * cprev + ig * cg;
            double og = f(clipped(pre[ou] + rec[ou] + pd[H + u] * cnew));
            cs[iu] = cnew;
            next[iu] = og * hact(cnew);
          }
        }
        hs = next;
        for (int64_t u = 0; u < H; ++u) y[static_cast<size_t>(((t * D + d) * batch + b) * H + u)] = hs[static_cast<size_t>(u)];
      }
      for (int64_t u = 0; u < H; ++u) {
        yh[static_cast<size_t>(state_at(d, b, u))] = hs[static_cast<size_t>(u)];
        yc[static_cast<size_t>(state_at(d, b, u))] = cs[static_cast<size_t>(u)];
      }
    }
  }

  if (ctx.wants_output(0)) {
    Shape ys = layout ? Shape{batch, seq, D, H} : Shape{seq, D, batch, H};
    Tensor& out = ctx.output_uninitialized(0, X.dtype(), ys);
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t d = 0; d < D; ++d)
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t u = 0; u < H; ++u) {
            int64_t src = ((t * D + d) * batch + b) * H + u;
            int64_t dst = layout ? ((b * seq + t) * D + d) * H + u : src;
            out.set_double(dst, y[static_cast<size_t>(src)]);
          }
  }
  auto write_state = [&](size_t i, const std::vector<double>& v) {
    if (!ctx.wants_output(i)) return;
    Tensor& out = ctx.output_uninitialized(i, X.dtype(), state_shape);
    for (int64_t k = 0; k < out.numel(); ++k) out.set_double(k, v[static_cast<size_t>(k)]);
  };
  write_state(1, yh);
  if (cell == Cell::Lstm) write_state(2, yc);
}

void rnn(OpContext& ctx) { run_recurrent(ctx, Cell::Rnn); }
void gru(OpContext& ctx) { run_recurrent(ctx, Cell::Gru); }
void lstm(OpContext& ctx) { run_recurrent(ctx, Cell::Lstm); }

// Every output is derivable from X's shape and the attributes (hidden_size, else R's last dim).
void infer_recurrent(InferenceContext& ctx) {
  const Node& node = ctx.node();
  const int64_t layout = layout_of(node);
  const Dim D = direction_count(node);
  Dim seq, batch, H;
  if (const SymShape* x = ctx.input_shape(0); x && x->size() == 3) {
    seq = (*x)[layout ? 1 : 0];
    batch = (*x)[layout ? 0 : 1];
  }
  if (node.has_attr("hidden_size")) H = Dim(node.attr_int("hidden_size", 0));
  else if (const SymShape* r = ctx.input_shape(2); r && r->size() == 3) H = (*r)[2];
  DType dt = ctx.input_dtype(0);
  ctx.set_output_tensor(0, dt, layout ? SymShape{batch, seq, D, H} : SymShape{seq, D, batch, H});
  for (size_t i = 1; i < ctx.num_outputs(); ++i)
    ctx.set_output_tensor(i, dt, layout ? SymShape{batch, D, H} : SymShape{D, batch, H});
}

}  // namespace

HONE_REGISTER_OP({.name = "RNN", .since = 1, .infer = infer_recurrent, .compute = rnn});
HONE_REGISTER_OP({.name = "GRU", .since = 1, .infer = infer_recurrent, .compute = gru});
HONE_REGISTER_OP({.name = "LSTM", .since = 1, .infer = infer_recurrent, .compute = lstm});

}  // namespace hone
