// DFT (opset 17: axis attribute, default 1; opset 20: axis input, default -2): the discrete Fourier transform of
// [batch, signal..., 1 | 2] (real, or complex as [re, im]) along one signal axis, zero-padded or truncated to
// dft_length. onesided keeps bins [0, n/2]; inverse divides by n; inverse together with onesided is the inverse of
// a real transform: the input is the half spectrum, n defaults to 2 * (bins - 1) and the output is real.
#include <optional>

#include "ops/attention/float_io.h"
#include "ops/signal/dft_core.h"

namespace hone {
namespace {

struct DftParams {
  int64_t axis = 0;       // in [0, rank - 2]
  int64_t n = 0;          // transform length
  int64_t out_len = 0;    // output length along the axis
  bool inverse = false, onesided = false, real_out = false;
};

// Axis from the attribute (opset < 20) or the input; nullopt when it is an input whose value is unknown.
std::optional<int64_t> dft_axis(const Node& n, int64_t opset, const Tensor* axis_input, bool axis_given,
                                int64_t rank) {
  int64_t axis;
  if (opset < 20) {
    axis = n.attr_int("axis", 1);
  } else if (axis_given) {
    if (!axis_input) return std::nullopt;
    if (axis_input->numel() != 1) fail("{}: axis must be a scalar", n.label());
    axis = axis_input->get_int(0);
  } else {
    axis = -2;
  }
  if (axis < -rank || axis > rank - 2 || axis == -1)
    fail("{}: axis {} is outside [-{}, -2] and [0, {}]", n.label(), axis, rank, rank - 2);
  return axis < 0 ? axis + rank : axis;
}

DftParams dft_params(const Node& node, int64_t axis, int64_t axis_len, std::optional<int64_t> dft_length) {
  DftParams p;
  p.axis = axis;
  p.inverse = node.attr_int("inverse", 0) != 0;
  p.onesided = node.attr_int("onesided", 0) != 0;
  p.real_out = p.inverse && p.onesided;
  if (dft_length) {
    p.n = *dft_length;
  } else {
    p.n = p.real_out ? 2 * (axis_len - 1) : axis_len;
  }
  if (p.n < 1) fail("{}: dft_length must be positive, got {}", node.label(), p.n);
  p.out_len = p.onesided && !p.inverse ? p.n / 2 + 1 : p.n;
  return p;
}

void dft(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  int64_t rank = x.rank();
  if (rank < 2 || (x.dim(static_cast<int>(rank - 1)) != 1 && x.dim(static_cast<int>(rank - 1)) != 2))
    fail("{}: input must be [batch, signal..., 1 or 2], got {}", node.label(), shape_str(x.shape()));
  bool axis_given = ctx.opset() >= 20 && ctx.has_input(2);
  int64_t axis = *dft_axis(node, ctx.opset(), axis_given ? &ctx.input(2) : nullptr, axis_given, rank);
  std::optional<int64_t> len;
  if (ctx.has_input(1)) {
    if (ctx.input(1).numel() != 1) fail("{}: dft_length must be a scalar", node.label());
    len = ctx.input(1).get_int(0);
  }
  DftParams p = dft_params(node, axis, x.dim(static_cast<int>(axis)), len);

  bool complex_in = x.shape().back() == 2;
  int64_t m = x.dim(static_cast<int>(axis));
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= x.dim(static_cast<int>(a));
  for (int64_t a = axis + 1; a < rank - 1; ++a) inner *= x.dim(static_cast<int>(a));
  Shape out_shape = x.shape();
  out_shape[static_cast<size_t>(axis)] = p.out_len;
  out_shape.back() = p.real_out ? 1 : 2;
  int64_t out_c = out_shape.back(), in_c = complex_in ? 2 : 1;

  std::vector<double> in = float_values(x, node);
  std::vector<double> out(static_cast<size_t>(outer * p.out_len * inner * out_c));
  auto w = dft_twiddles(p.n, p.inverse);
  // Entries of the input used: all of it up to n, or for the inverse real transform the half spectrum [0, n/2].
  int64_t used = std::min(m, p.real_out ? p.n / 2 + 1 : p.n);
  std::vector<std::complex<double>> seq, res;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      seq.assign(static_cast<size_t>(p.real_out ? p.n : used), {0.0, 0.0});
      for (int64_t j = 0; j < used; ++j) {
        size_t base = static_cast<size_t>(((o * m + j) * inner + i) * in_c);
        seq[static_cast<size_t>(j)] = {in[base], complex_in ? in[base + 1] : 0.0};
      }
      if (p.real_out)  // Hermitian extension of the half spectrum
        for (int64_t k = p.n / 2 + 1; k < p.n; ++k) seq[static_cast<size_t>(k)] = std::conj(seq[static_cast<size_t>(p.n - k)]);
      direct_dft(seq, w, p.n, p.out_len, res);
      for (int64_t k = 0; k < p.out_len; ++k) {
        std::complex<double> v = res[static_cast<size_t>(k)];
        if (p.inverse) v /= static_cast<double>(p.n);
        size_t base = static_cast<size_t>(((o * p.out_len + k) * inner + i) * out_c);
        out[base] = v.real();
        if (out_c == 2) out[base + 1] = v.imag();
      }
    }
  store_float_values(ctx.output_uninitialized(0, x.dtype(), out_shape), out, node);
}

void infer_dft(InferenceContext& ctx) {
  const Node& node = ctx.node();
  DType dt = ctx.input_dtype(0);
  ctx.set_output_tensor(0, dt, std::nullopt);
  const SymShape* s = ctx.input_shape(0);
  if (!s || s->size() < 2) return;
  int64_t rank = static_cast<int64_t>(s->size());
  bool axis_given = ctx.opset() >= 20 && ctx.has_input(2);
  std::optional<int64_t> axis = dft_axis(node, ctx.opset(), axis_given ? ctx.input_value(2) : nullptr, axis_given, rank);
  SymShape out = *s;
  bool real_out = node.attr_int("inverse", 0) != 0 && node.attr_int("onesided", 0) != 0;
  out.back() = real_out ? 1 : 2;
  if (!axis) {
    for (int64_t a = 0; a < rank - 1; ++a) out[static_cast<size_t>(a)] = Dim();
    ctx.set_output_tensor(0, dt, out);
    return;
  }
  std::optional<int64_t> len;
  Dim out_dim;
  if (ctx.has_input(1)) {
    if (const Tensor* t = ctx.input_value(1); t && t->numel() == 1) len = t->get_int(0);
  }
  const Dim& in_dim = (*s)[static_cast<size_t>(*axis)];
  if (len || (!ctx.has_input(1) && in_dim.known())) out_dim = dft_params(node, *axis, in_dim.value, len).out_len;
  out[static_cast<size_t>(*axis)] = out_dim;
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "DFT", .since = 17, .until = 19, .infer = infer_dft, .compute = dft});
HONE_REGISTER_OP({.name = "DFT", .since = 20, .infer = infer_dft, .compute = dft});

}  // namespace hone
