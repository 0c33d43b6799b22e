// STFT (opset 17): short-time Fourier transform of [batch, length, 1 | 2] signals. Frame f covers samples
// [f * frame_step, f * frame_step + window_size), weighted by the window (ones when absent), and is transformed with
// length frame_length (defaults: the window's length, else the whole signal). Output
// [batch, frames, bins, 2] with frames = 1 + (length - frame_length) / frame_step and bins = frame_length / 2 + 1
// when onesided (the default), else frame_length.
#include "ops/attention/float_io.h"
#include "ops/signal/dft_core.h"

namespace hone {
namespace {

int64_t scalar_int(const Tensor& t, const Node& n, const char* what) {
  if (t.numel() != 1 || !is_integer(t.dtype())) fail("{}: {} must be an integer scalar", n.label(), what);
  return t.get_int(0);
}

void stft(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() != 3 || (x.dim(2) != 1 && x.dim(2) != 2))
    fail("{}: signal must be [batch, length, 1 or 2], got {}", node.label(), shape_str(x.shape()));
  int64_t batch = x.dim(0), length = x.dim(1), in_c = x.dim(2);
  int64_t step = scalar_int(ctx.input(1), node, "frame_step");
  if (step <= 0) fail("{}: frame_step must be positive, got {}", node.label(), step);
  std::vector<double> window;
  if (ctx.has_input(2)) {
    const Tensor& w = ctx.input(2);
    if (w.rank() != 1) fail("{}: window must be 1-D, got {}", node.label(), shape_str(w.shape()));
    window = float_values(w, node);
  }
  int64_t frame_length = ctx.has_input(3) ? scalar_int(ctx.input(3), node, "frame_length")
                         : ctx.has_input(2) ? static_cast<int64_t>(window.size()) : length;
  if (frame_length <= 0 || frame_length > length)
    fail("{}: frame_length {} must be in [1, {}]", node.label(), frame_length, length);
  if (window.empty()) window.assign(static_cast<size_t>(frame_length), 1.0);
  if (static_cast<int64_t>(window.size()) != frame_length)
    fail("{}: window length {} differs from frame_length {}", node.label(), window.size(), frame_length);
  bool onesided = node.attr_int("onesided", 1) != 0;
  int64_t frames = 1 + (length - frame_length) / step;
  int64_t bins = onesided ? frame_length / 2 + 1 : frame_length;

  std::vector<double> in = float_values(x, node);
  std::vector<double> out(static_cast<size_t>(batch * frames * bins * 2));
  auto w = dft_twiddles(frame_length, false);
  std::vector<std::complex<double>> seq(static_cast<size_t>(frame_length)), res;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t f = 0; f < frames; ++f) {
      for (int64_t t = 0; t < frame_length; ++t) {
        size_t base = static_cast<size_t>((b * length + f * step + t) * in_c);
        double wt = window[static_cast<size_t>(t)];
        seq[static_cast<size_t>(t)] = {in[base] * wt, in_c == 2 ? in[base + 1] * wt : 0.0};
      }
      direct_dft(seq, w, frame_length, bins, res);
      for (int64_t k = 0; k < bins; ++k) {
        size_t o = static_cast<size_t>(((b * frames + f) * bins + k) * 2);
        out[o] = res[static_cast<size_t>(k)].real();
        out[o + 1] = res[static_cast<size_t>(k)].imag();
      }
    }
  store_float_values(ctx.output_uninitialized(0, x.dtype(), {batch, frames, bins, 2}), out, node);
}

void infer_stft(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  if (!s || s->size() != 3) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  Dim frames, bins;
  const Tensor* step = ctx.input_value(1);
  std::optional<int64_t> frame_length;
  if (ctx.has_input(3)) {
    if (const Tensor* t = ctx.input_value(3); t && t->numel() == 1) frame_length = t->get_int(0);
  } else if (ctx.has_input(2)) {
    if (const SymShape* w = ctx.input_shape(2); w && w->size() == 1 && (*w)[0].known()) frame_length = (*w)[0].value;
  } else if ((*s)[1].known()) {
    frame_length = (*s)[1].value;
  }
  if (frame_length && *frame_length > 0) {
    bins = ctx.node().attr_int("onesided", 1) != 0 ? *frame_length / 2 + 1 : *frame_length;
    if (step && step->numel() == 1 && step->get_int(0) > 0 && (*s)[1].known() && (*s)[1].value >= *frame_length)
      frames = 1 + ((*s)[1].value - *frame_length) / step->get_int(0);
  }
  ctx.set_output_tensor(0, dt, SymShape{(*s)[0], frames, bins, 2});
}

}  // namespace

HONE_REGISTER_OP({.name = "STFT", .since = 17, .infer = infer_stft, .compute = stft});

}  // namespace hone
