// Fast float32 LSTM and GRU (ONNX semantics, as the reference kernels in ops/rnn/recurrent.cc compute them), for
// constant weights and the default activations (Sigmoid, Tanh[, Tanh]). Everything shape-dependent is fixed when the
// kernel is created (plan time):
//   1. one oneDNN matmul projects the inputs of every time step and direction at once: X[seq*batch, I] x W^T
//      [I, D*G*H] + every bias that does not depend on the reset gate, into `xproj_`;
//   2. per time step and direction, a small oneDNN matmul H_{t-1}[batch, H] x R^T[H, G*H] (weights pre-packed in
//      oneDNN's layout) into `rec_`;
//   3. the gate math per (direction, batch entry) row, fused a vector of hidden units at a time from the two
//      projections to the new state (rnn_gate_microkernels.inc, one table per ISA tier, with the sigmoid and tanh
//      approximations the Sigmoid and Tanh kernels use).
// GRU without linear_before_reset needs (r . H) Rh^T, so its step runs two matmuls: [Rz Rr] before the gates, Rh after.
// Batch entries past their sequence length keep their state and leave zeros in Y. The two directions of a
// bidirectional node are independent recurrences: with two or more threads and enough work they run side by side,
// one thread each; otherwise the step matmul and the gate loop use the session's threads when a step is large.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "kernels/cpu/dnnl_common.h"
#include "kernels/cpu/rnn_gate_microkernels.h"
#include "ops/rnn/rnn_activation.h"

namespace hone::cpu {
namespace {

using dnnl::memory;
using dnnl_cpu::PreparedPrimitive;

enum class Cell { Gru, Lstm };

// Below this many multiply-adds in one recurrent step of one direction, a step runs on one thread: waking a team
// every step costs more than it saves.
constexpr int64_t kMinStepMacsForThreads = 1 << 20;
// Bidirectional nodes run their directions on two threads when one direction's recurrence has this many
// multiply-adds (about 20 us and up); below, the threads' start-up is not paid back.
constexpr int64_t kMinDirectionMacsForThreads = 1 << 18;
// Gate rows go parallel when a step's gate math touches this many elements.
constexpr int64_t kMinGateElementsForThreads = 1 << 16;
// The input projections of every step are held at once; nodes that would need more than this stay on the reference.
constexpr int64_t kMaxProjectionBytes = int64_t{1} << 30;

// Everything the kernel needs to know about a node, read from the query. Any case this kernel does not run (dtype,
// non-constant weights, activations, malformed shapes) yields nullopt, so the reference kernel runs and reports.
struct RnnSetup {
  Cell cell = Cell::Lstm;
  int64_t D = 1, G = 4, seq = 0, batch = 0, I = 0, H = 0, layout = 0;
  bool reverse_only = false;
  bool has_seq_lens = false, has_h0 = false, has_c0 = false;
  bool has_clip = false, linear_before_reset = false, input_forget = false;
  float clip = 0;
  Shape x_shape, state_shape;
  // The constant inputs, valid while the kernel is created (it copies what it keeps).
  const Tensor* W = nullptr;
  const Tensor* R = nullptr;
  const Tensor* B = nullptr;  // null: zero biases
  const Tensor* P = nullptr;  // null: no peepholes
};

std::optional<Shape> concrete(const TypeInfo* t) {
  if (!t || !t->is_tensor() || !t->shape) return std::nullopt;
  return to_concrete(*t->shape);
}

bool is_f32_constant(const KernelQuery& q, size_t i, const Shape& want) {
  const Tensor* t = i < q.input_constants.size() ? q.input_constants[i] : nullptr;
  return t && t->dtype() == DType::Float32 && t->shape() == want;
}

bool present(const KernelQuery& q, size_t i) { return i < q.input_types.size() && q.input_types[i] != nullptr; }

bool default_activations(const Node& node, Cell cell, int D) {
  using Kind = RnnActivation::Kind;
  std::vector<std::string> names = cell == Cell::Lstm ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                                      : std::vector<std::string>{"Sigmoid", "Tanh"};
  std::vector<Kind> want = cell == Cell::Lstm ? std::vector<Kind>{Kind::Sigmoid, Kind::Tanh, Kind::Tanh}
                                              : std::vector<Kind>{Kind::Sigmoid, Kind::Tanh};
  std::vector<RnnActivation> acts;
  try {
    acts = parse_rnn_activations(node, names, D);
  } catch (const Error&) {
    return false;
  }
  for (size_t k = 0; k < acts.size(); ++k)
    if (acts[k].kind != want[k % want.size()]) return false;
  return true;
}

std::optional<RnnSetup> rnn_setup(const KernelQuery& q) {
  const Node& node = q.node;
  RnnSetup s;
  if (node.op_type == "LSTM") s.cell = Cell::Lstm;
  else if (node.op_type == "GRU") s.cell = Cell::Gru;
  else return std::nullopt;
  s.G = s.cell == Cell::Lstm ? 4 : 3;
  const size_t max_inputs = s.cell == Cell::Lstm ? 8 : 6;
  if (q.input_types.size() < 3 || q.input_types.size() > max_inputs) return std::nullopt;

  std::string direction = node.attr_string("direction", "forward");
  if (direction == "forward" || direction == "reverse") s.D = 1;
  else if (direction == "bidirectional") s.D = 2;
  else return std::nullopt;
  s.reverse_only = direction == "reverse";
  s.layout = node.attr_int("layout", 0);
  if (s.layout != 0 && s.layout != 1) return std::nullopt;
  if (!default_activations(node, s.cell, static_cast<int>(s.D))) return std::nullopt;
  s.has_clip = node.has_attr("clip");
  s.clip = node.attr_float("clip", 0);
  if (s.has_clip && !(s.clip >= 0)) return std::nullopt;
  s.linear_before_reset = s.cell == Cell::Gru && node.attr_int("linear_before_reset", 0) != 0;
  s.input_forget = s.cell == Cell::Lstm && node.attr_int("input_forget", 0) != 0;

  const TypeInfo* xt = q.input_types[0];
  std::optional<Shape> x = concrete(xt);
  if (!x || xt->elem != DType::Float32 || x->size() != 3) return std::nullopt;
  s.x_shape = *x;
  s.seq = s.layout ? (*x)[1] : (*x)[0];
  s.batch = s.layout ? (*x)[0] : (*x)[1];
  s.I = (*x)[2];
  if (s.seq <= 0 || s.batch <= 0 || s.I <= 0) return std::nullopt;
  if (!present(q, 2) || !q.input_constants[2] || q.input_constants[2]->rank() != 3) return std::nullopt;
  s.H = q.input_constants[2]->dim(2);
  if (s.H <= 0 || (node.has_attr("hidden_size") && node.attr_int("hidden_size", 0) != s.H)) return std::nullopt;
  const int64_t GH = s.G * s.H;
  if (s.seq * s.batch * s.D * GH * static_cast<int64_t>(sizeof(float)) > kMaxProjectionBytes) return std::nullopt;
  if (!is_f32_constant(q, 1, {s.D, GH, s.I}) || !is_f32_constant(q, 2, {s.D, GH, s.H})) return std::nullopt;
  s.W = q.input_constants[1];
  s.R = q.input_constants[2];
  if (present(q, 3)) {
    if (!is_f32_constant(q, 3, {s.D, 2 * GH})) return std::nullopt;
    s.B = q.input_constants[3];
  }
  if (present(q, 4)) {
    std::optional<Shape> l = concrete(q.input_types[4]);
    DType dt = q.input_types[4]->elem;
    if (!l || *l != Shape{s.batch} || (dt != DType::Int32 && dt != DType::Int64)) return std::nullopt;
    s.has_seq_lens = true;
  }
  s.state_shape = s.layout ? Shape{s.batch, s.D, s.H} : Shape{s.D, s.batch, s.H};
  auto state_input = [&](size_t i) {
    std::optional<Shape> st = concrete(q.input_types[i]);
    return st && q.input_types[i]->elem == DType::Float32 && *st == s.state_shape;
  };
  if (present(q, 5)) {
    if (!state_input(5)) return std::nullopt;
    s.has_h0 = true;
  }
  if (present(q, 6)) {
    if (!state_input(6)) return std::nullopt;
    s.has_c0 = true;
  }
  if (present(q, 7)) {
    if (!is_f32_constant(q, 7, {s.D, 3 * s.H})) return std::nullopt;
    s.P = q.input_constants[7];
  }
  return s;
}

// Sets the OpenMP thread count for its lifetime: oneDNN sizes a primitive's thread team when it is created.
class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int n) : previous_(omp_get_max_threads()) { omp_set_num_threads(std::max(n, 1)); }
  ~ScopedOmpThreads() { omp_set_num_threads(previous_); }

 private:
  int previous_;
};

// A matmul src[M, K] x weights[K, N] (+ bias[1, N]) -> dst[M, N] with plain src/dst, weights packed once into
// oneDNN's preferred layout from `w` read with strides `w_strides`, and src/dst bound to fixed buffers or per run.
struct Matmul {
  PreparedPrimitive prim;
  int src = -1, dst = -1;

  void init(int64_t M, int64_t K, int64_t N, const float* w, const memory::dims& w_strides, const float* bias,
            int threads) {
    ScopedOmpThreads scope(threads);
    memory::desc src_d = dnnl_cpu::plain_desc({M, K}), dst_d = dnnl_cpu::plain_desc({M, N});
    memory::desc wei_any({K, N}, memory::data_type::f32, memory::format_tag::any);
    memory::desc bias_d = bias ? dnnl_cpu::plain_desc({1, N}) : memory::desc();
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_d, wei_any, bias_d, dst_d), dnnl_cpu::make_attr({}),
                                    dnnl_cpu::cpu_engine());
    prim.init(pd, dnnl::matmul(pd));
    memory::desc w_user({K, N}, memory::data_type::f32, w_strides);
    prim.set_constant(DNNL_ARG_WEIGHTS, dnnl_cpu::pack_constant(w, {K, N}, w_user, pd.weights_desc()));
    if (bias) prim.set_constant(DNNL_ARG_BIAS, dnnl_cpu::pack_constant(bias, {1, N}, bias_d, bias_d));
    src = prim.add_input(DNNL_ARG_SRC, src_d, pd.src_desc());
    dst = prim.add_output(DNNL_ARG_DST, dst_d, pd.dst_desc());
  }
};

class RecurrentKernel final : public Kernel {
 public:
  RecurrentKernel(const KernelQuery& q, RnnSetup s, const OpSchema& reference)
      : s_(std::move(s)), reference_(reference) {
    gates_ = &rnn_gates_for(active_isa());
    name_ = std::string(s_.cell == Cell::Lstm ? "dnnl-lstm-f32_" : "dnnl-gru-f32_") + gates_->isa;
    clip_ = s_.has_clip ? s_.clip : std::numeric_limits<float>::infinity();

    const int64_t D = s_.D, G = s_.G, H = s_.H, I = s_.I, GH = G * H, batch = s_.batch, rows = s_.seq * batch;
    const bool gru_split = s_.cell == Cell::Gru && !s_.linear_before_reset;
    const int threads = std::max(q.threads, 1);

    // Input projection with every bias folded in, except GRU's Rbh under linear_before_reset (it is scaled by r).
    std::vector<float> bias(static_cast<size_t>(D * GH), 0.f);
    rbh_.assign(static_cast<size_t>(D * H), 0.f);
    if (s_.B) {
      const float* b = s_.B->data<float>();
      for (int64_t d = 0; d < D; ++d)
        for (int64_t j = 0; j < GH; ++j) {
          const float wb = b[d * 2 * GH + j], rb = b[d * 2 * GH + GH + j];
          const bool keep_rb = s_.linear_before_reset && j >= 2 * H;
          bias[static_cast<size_t>(d * GH + j)] = keep_rb ? wb : wb + rb;
          if (keep_rb) rbh_[static_cast<size_t>(d * H + j - 2 * H)] = rb;
        }
    }
    // W is [D*GH, I] row-major: as the [I, D*GH] weights operand, strides {1, I}.
    input_proj_.init(rows, I, D * GH, s_.W->data<float>(), {1, I}, bias.data(), threads);
    xproj_.assign(static_cast<size_t>(rows * D * GH), 0.f);
    input_proj_.prim.bind(input_proj_.dst, xproj_.data());

    const int64_t step_macs = batch * GH * H;
    parallel_directions_ = D == 2 && threads >= 2 && s_.seq * step_macs >= kMinDirectionMacsForThreads;
    step_threads_ = parallel_directions_ || step_macs < kMinStepMacsForThreads ? 1 : threads;
    gate_threads_ = parallel_directions_ || batch * GH < kMinGateElementsForThreads
                        ? 1
                        : static_cast<int>(std::min<int64_t>(threads, batch));

    const int64_t rec_width = gru_split ? 2 * H : GH;
    hstate_.assign(static_cast<size_t>(D * batch * H), 0.f);
    cstate_.assign(s_.cell == Cell::Lstm ? hstate_.size() : 0, 0.f);
    rec_.assign(static_cast<size_t>(D * batch * rec_width), 0.f);
    if (gru_split) {
      tmp_.assign(hstate_.size(), 0.f);
      hrec_.assign(hstate_.size(), 0.f);
    }
    lens_.assign(static_cast<size_t>(batch), s_.seq);
    step_.resize(static_cast<size_t>(D));
    if (gru_split) step_h_.resize(static_cast<size_t>(D));
    const float* r = s_.R->data<float>();
    for (int64_t d = 0; d < D; ++d) {
      // R[d] is [GH, H] row-major: its first rec_width rows as the [H, rec_width] weights operand.
      Matmul& m = step_[static_cast<size_t>(d)];
      m.init(batch, H, rec_width, r + d * GH * H, {1, H}, nullptr, step_threads_);
      m.prim.bind(m.src, hstate_.data() + d * batch * H);
      m.prim.bind(m.dst, rec_.data() + d * batch * rec_width);
      if (gru_split) {
        Matmul& mh = step_h_[static_cast<size_t>(d)];
        mh.init(batch, H, H, r + d * GH * H + 2 * H * H, {1, H}, nullptr, step_threads_);
        mh.prim.bind(mh.src, tmp_.data() + d * batch * H);
        mh.prim.bind(mh.dst, hrec_.data() + d * batch * H);
      }
    }
    if (s_.P) peep_.assign(s_.P->data<float>(), s_.P->data<float>() + s_.P->numel());
    s_.W = s_.R = s_.B = s_.P = nullptr;
  }

  std::string name() const override { return name_; }

  void run(OpContext& ctx) override {
    if (!inputs_as_planned(ctx)) return reference_.compute(ctx);  // it reports what is wrong
    const int64_t D = s_.D, H = s_.H, batch = s_.batch, seq = s_.seq;
    int64_t max_len = seq;
    bool full = true;
    if (s_.has_seq_lens) {
      const Tensor& l = ctx.input(4);
      max_len = 0;
      for (int64_t b = 0; b < batch; ++b) {
        int64_t v = l.dtype() == DType::Int32 ? l.data<int32_t>()[b] : l.data<int64_t>()[b];
        if (v < 0 || v > seq) return reference_.compute(ctx);
        lens_[static_cast<size_t>(b)] = v;
        max_len = std::max(max_len, v);
        full = full && v == seq;
      }
    }
    load_state(ctx, 5, hstate_);
    if (s_.cell == Cell::Lstm) load_state(ctx, 6, cstate_);

    const Tensor& x = ctx.input(0);
    input_proj_.prim.bind(input_proj_.src, x.raw());
    input_proj_.prim.execute(ctx.threads());

    float* y = nullptr;
    if (ctx.wants_output(0)) {
      Shape ys = s_.layout ? Shape{batch, seq, D, H} : Shape{seq, D, batch, H};
      // Steps past an entry's length stay zero.
      y = (full ? ctx.output_uninitialized(0, DType::Float32, ys) : ctx.output(0, DType::Float32, ys)).data<float>();
    }
    if (parallel_directions_) {
#pragma omp parallel for num_threads(2) schedule(static, 1)
      for (int64_t d = 0; d < D; ++d) run_direction(d, max_len, y, 1);
    } else {
      for (int64_t d = 0; d < D; ++d) run_direction(d, max_len, y, gate_threads_);
    }
    store_state(ctx, 1, hstate_);
    if (s_.cell == Cell::Lstm) store_state(ctx, 2, cstate_);
  }

 private:
  bool inputs_as_planned(const OpContext& ctx) const {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != s_.x_shape) return false;
    if (ctx.has_input(4) != s_.has_seq_lens || ctx.has_input(5) != s_.has_h0) return false;
    if (s_.has_seq_lens) {
      const Tensor& l = ctx.input(4);
      if ((l.dtype() != DType::Int32 && l.dtype() != DType::Int64) || l.shape() != Shape{s_.batch}) return false;
    }
    auto state_ok = [&](size_t i) {
      const Tensor& t = ctx.input(i);
      return t.dtype() == DType::Float32 && t.shape() == s_.state_shape;
    };
    if (s_.has_h0 && !state_ok(5)) return false;
    if (s_.cell == Cell::Lstm) {
      if (ctx.has_input(6) != s_.has_c0 || (s_.has_c0 && !state_ok(6))) return false;
    }
    return true;
  }

  // Our states are [D, batch, H]; the node's are too with layout 0, [batch, D, H] with layout 1.
  void load_state(const OpContext& ctx, size_t i, std::vector<float>& state) const {
    if (!ctx.has_input(i)) {
      std::fill(state.begin(), state.end(), 0.f);
      return;
    }
    const float* src = ctx.input(i).data<float>();
    transpose_state(src, state.data(), s_.layout != 0, false);
  }
  void store_state(OpContext& ctx, size_t i, const std::vector<float>& state) const {
    if (!ctx.wants_output(i)) return;
    float* dst = ctx.output_uninitialized(i, DType::Float32, s_.state_shape).data<float>();
    transpose_state(state.data(), dst, s_.layout != 0, true);
  }
  void transpose_state(const float* src, float* dst, bool batch_first, bool to_node) const {
    const int64_t D = s_.D, batch = s_.batch, H = s_.H;
    if (!batch_first) {
      std::memcpy(dst, src, static_cast<size_t>(D * batch * H) * sizeof(float));
      return;
    }
    for (int64_t d = 0; d < D; ++d)
      for (int64_t b = 0; b < batch; ++b) {
        const int64_t ours = (d * batch + b) * H, node = (b * D + d) * H;
        const size_t bytes = static_cast<size_t>(H) * sizeof(float);
        std::memcpy(dst + (to_node ? node : ours), src + (to_node ? ours : node), bytes);
      }
  }

  // The row of xproj_ holding time step t of batch entry b (X is [seq, batch, I], or [batch, seq, I] with layout 1).
  const float* xproj_row(int64_t t, int64_t b, int64_t d) const {
    int64_t row = s_.layout ? b * s_.seq + t : t * s_.batch + b;
    return xproj_.data() + (row * s_.D + d) * s_.G * s_.H;
  }

  float* y_row(float* y, int64_t t, int64_t d, int64_t b) const {
    return y + (s_.layout ? ((b * s_.seq + t) * s_.D + d) * s_.H : ((t * s_.D + d) * s_.batch + b) * s_.H);
  }

  // Direction d's recurrence: per step, the step matmul over every batch entry, then the gate math of the entries
  // still running (step s of an entry of length len is time len - 1 - s in reverse).
  void run_direction(int64_t d, int64_t max_len, float* y, int gate_threads) {
    const bool reverse = s_.reverse_only || d == 1;
    const int64_t batch = s_.batch;
    for (int64_t s = 0; s < max_len; ++s) {
      step_[static_cast<size_t>(d)].prim.execute(0);
      auto time_of = [&](int64_t b) {
        int64_t len = lens_[static_cast<size_t>(b)];
        return s >= len ? -1 : reverse ? len - 1 - s : s;
      };
      // Calls row(b, t) for every entry still running.
      auto rows = [&](auto row) {
        if (gate_threads > 1) {
#pragma omp parallel for num_threads(gate_threads) schedule(static)
          for (int64_t b = 0; b < batch; ++b)
            if (int64_t t = time_of(b); t >= 0) row(b, t);
        } else {  // no parallel region at all: even a team of one costs a runtime call per step
          for (int64_t b = 0; b < batch; ++b)
            if (int64_t t = time_of(b); t >= 0) row(b, t);
        }
      };
      if (s_.cell == Cell::Lstm) {
        rows([&](int64_t b, int64_t t) { lstm_row(d, b, t, y); });
      } else if (s_.linear_before_reset) {
        rows([&](int64_t b, int64_t t) { gru_linear_row(d, b, t, y); });
      } else {
        rows([&](int64_t b, int64_t t) { gru_update_reset_row(d, b, t); });
        step_h_[static_cast<size_t>(d)].prim.execute(0);
        rows([&](int64_t b, int64_t t) { gru_hidden_row(d, b, t, y); });
      }
    }
  }

  float* rec_row(int64_t d, int64_t b, int64_t width) { return rec_.data() + (d * s_.batch + b) * width; }
  float* state_row(std::vector<float>& state, int64_t d, int64_t b) { return state.data() + (d * s_.batch + b) * s_.H; }
  void write_y(float* y, int64_t t, int64_t d, int64_t b) {
    if (y) std::memcpy(y_row(y, t, d, b), state_row(hstate_, d, b), static_cast<size_t>(s_.H) * sizeof(float));
  }

  void lstm_row(int64_t d, int64_t b, int64_t t, float* y) {
    const int64_t H = s_.H;
    LstmRow row{xproj_row(t, b, d), rec_row(d, b, 4 * H), peep_.empty() ? nullptr : peep_.data() + d * 3 * H,
                state_row(cstate_, d, b), state_row(hstate_, d, b), H, clip_, s_.input_forget};
    gates_->lstm(row);
    write_y(y, t, d, b);
  }

  GruRow gru_row(int64_t d, int64_t b, int64_t t, int64_t rec_width) {
    return GruRow{xproj_row(t, b, d), rec_row(d, b, rec_width), nullptr, nullptr, nullptr,
                  state_row(hstate_, d, b), s_.H, clip_};
  }
  void gru_linear_row(int64_t d, int64_t b, int64_t t, float* y) {
    GruRow row = gru_row(d, b, t, 3 * s_.H);
    row.rbh = rbh_.data() + d * s_.H;
    gates_->gru_linear(row);
    write_y(y, t, d, b);
  }
  // Without linear_before_reset: z, r and r . H (the second matmul's input) ...
  void gru_update_reset_row(int64_t d, int64_t b, int64_t t) {
    GruRow row = gru_row(d, b, t, 2 * s_.H);
    row.rh = state_row(tmp_, d, b);
    gates_->gru_update_reset(row);
  }
  // ... then h from (r . H) Rh^T (both biases are in x_h) and the new state.
  void gru_hidden_row(int64_t d, int64_t b, int64_t t, float* y) {
    GruRow row = gru_row(d, b, t, 2 * s_.H);
    row.rec_h = state_row(hrec_, d, b);
    gates_->gru_hidden(row);
    write_y(y, t, d, b);
  }

  RnnSetup s_;
  const OpSchema& reference_;
  std::string name_;
  const RnnGateMicrokernels* gates_ = nullptr;
  float clip_ = 0;  // infinity without the clip attribute
  bool parallel_directions_ = false;
  int step_threads_ = 1, gate_threads_ = 1;
  Matmul input_proj_;
  std::vector<Matmul> step_, step_h_;  // per direction; step_h_: GRU's Rh without linear_before_reset
  std::vector<float> xproj_;           // [rows of X, D, G*H]
  std::vector<float> rec_;             // [D, batch, G*H] (GRU without linear_before_reset: [D, batch, 2H])
  std::vector<float> hstate_, cstate_, hrec_;  // [D, batch, H]
  std::vector<float> tmp_;                     // [D, batch, H]: r . H (GRU without linear_before_reset)
  std::vector<float> rbh_;             // [D, H]
  std::vector<float> peep_;            // [D, 3H] (i, o, f), empty without peepholes
  std::vector<int64_t> lens_;
};

const OpSchema& reference_schema(const KernelQuery& q) {
  const OpSchema* s = OpRegistry::instance().find(q.node.domain, q.node.op_type, q.opset);
  if (!s || !s->compute) fail("{}: no reference kernel", q.node.label());
  return *s;
}

bool rnn_applies(const KernelQuery& q) {
  try {
    return rnn_setup(q).has_value();
  } catch (const Error&) {
    return false;
  }
}

std::unique_ptr<Kernel> create_rnn(const KernelQuery& q) {
  std::optional<RnnSetup> s = rnn_setup(q);
  if (!s) fail("{}: not supported by the fast recurrent kernel", q.node.label());
  return std::make_unique<RecurrentKernel>(q, std::move(*s), reference_schema(q));
}

HONE_REGISTER_KERNEL({.domain = "", .op = "LSTM", .name = "dnnl-lstm-f32", .priority = 10, .applies = rnn_applies,
                      .create = create_rnn});
HONE_REGISTER_KERNEL({.domain = "", .op = "GRU", .name = "dnnl-gru-f32", .priority = 10, .applies = rnn_applies,
                      .create = create_rnn});

}  // namespace
}  // namespace hone::cpu
