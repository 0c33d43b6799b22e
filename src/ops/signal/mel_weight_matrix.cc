// MelWeightMatrix (opset 17): [dft_length / 2 + 1, num_mel_bins] triangular filters that map a linear-frequency
// spectrum to mel bins between lower_edge_hertz and upper_edge_hertz. Band edges are num_mel_bins + 2 points evenly
// spaced in mel (2595 log10(1 + hz / 700), step = range / (num_mel_bins + 2)), mapped back to hertz and to
// spectrum bins as floor((dft_length + 1) * hz / sample_rate); filter i rises from edge i to edge i + 1 and falls
// to edge i + 2 (as the ONNX reference computes it).
#include <cmath>

#include "ops/op_helpers.h"

namespace hone {
namespace {

double scalar_value(const Tensor& t, const Node& n, const char* what) {
  if (t.numel() != 1) fail("{}: {} must be a scalar", n.label(), what);
  return t.get_double(0);
}

DType output_type(const Node& n) {
  int64_t code = n.attr_int("output_datatype", 1);
  if (!dtype_is_valid(static_cast<int32_t>(code)) ||
      (!is_float(static_cast<DType>(code)) && !is_integer(static_cast<DType>(code))))
    fail("{}: output_datatype {} is not a numeric element type", n.label(), code);
  return static_cast<DType>(code);
}

void mel_weight_matrix(OpContext& ctx) {
  const Node& n = ctx.node();
  int64_t mel_bins = static_cast<int64_t>(scalar_value(ctx.input(0), n, "num_mel_bins"));
  int64_t dft_length = static_cast<int64_t>(scalar_value(ctx.input(1), n, "dft_length"));
  double sample_rate = scalar_value(ctx.input(2), n, "sample_rate");
  double lower = scalar_value(ctx.input(3), n, "lower_edge_hertz");
  double upper = scalar_value(ctx.input(4), n, "upper_edge_hertz");
  if (mel_bins <= 0 || dft_length <= 0 || sample_rate <= 0)
    fail("{}: num_mel_bins, dft_length and sample_rate must be positive", n.label());
  if (lower < 0 || upper < lower) fail("{}: need 0 <= lower_edge_hertz <= upper_edge_hertz", n.label());
  int64_t spectrum_bins = dft_length / 2 + 1;
  auto to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  double low_mel = to_mel(lower), high_mel = to_mel(upper);
  double step = (high_mel - low_mel) / static_cast<double>(mel_bins + 2);
  std::vector<int64_t> edge(static_cast<size_t>(mel_bins + 2));
  for (int64_t i = 0; i < mel_bins + 2; ++i) {
    double hz = 700.0 * (std::pow(10.0, (static_cast<double>(i) * step + low_mel) / 2595.0) - 1.0);
    edge[static_cast<size_t>(i)] = static_cast<int64_t>(std::floor(static_cast<double>(dft_length + 1) * hz / sample_rate));
    if (edge[static_cast<size_t>(i)] >= spectrum_bins && i <= mel_bins)
      fail("{}: mel band edge {} falls past the {} spectrum bins (upper_edge_hertz above the Nyquist frequency?)",
           n.label(), edge[static_cast<size_t>(i)], spectrum_bins);
  }
  std::vector<double> w(static_cast<size_t>(spectrum_bins * mel_bins), 0.0);
  auto at = [&](int64_t j, int64_t i) -> double& {
    if (j < 0 || j >= spectrum_bins) fail("{}: mel filter {} reaches spectrum bin {}", n.label(), i, j);
    return w[static_cast<size_t>(j * mel_bins + i)];
  };
  for (int64_t i = 0; i < mel_bins; ++i) {
    int64_t lo = edge[static_cast<size_t>(i)], center = edge[static_cast<size_t>(i + 1)], hi = edge[static_cast<size_t>(i + 2)];
    if (center == lo) {
      at(center, i) = 1;
    } else {
      for (int64_t j = lo; j <= center; ++j) at(j, i) = static_cast<double>(j - lo) / static_cast<double>(center - lo);
    }
    for (int64_t j = center; j < hi; ++j) at(j, i) = static_cast<double>(hi - j) / static_cast<double>(hi - center);
  }
  Tensor& y = ctx.output_uninitialized(0, output_type(n), {spectrum_bins, mel_bins});
  for (size_t k = 0; k < w.size(); ++k) y.set_double(static_cast<int64_t>(k), w[k]);
}

void infer_mel_weight_matrix(InferenceContext& ctx) {
  Dim rows, cols;
  if (const Tensor* t = ctx.input_value(1); t && t->numel() == 1 && t->get_int(0) > 0) rows = t->get_int(0) / 2 + 1;
  if (const Tensor* t = ctx.input_value(0); t && t->numel() == 1 && t->get_int(0) > 0) cols = t->get_int(0);
  ctx.set_output_tensor(0, output_type(ctx.node()), SymShape{rows, cols});
}

}  // namespace

HONE_REGISTER_OP({.name = "MelWeightMatrix", .since = 17, .infer = infer_mel_weight_matrix, .compute = mel_weight_matrix});

}  // namespace hone
