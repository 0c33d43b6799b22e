// What the weight-folding passes share (fold-batchnorm, fold-scale, reparameterize, merge-conv, batchnorm-to-affine,
// matmul-add-to-gemm): reading an inference BatchNormalization as a per-channel affine map, recognising constants
// that vary along one axis only, reading a convolution's geometry, and rewriting Conv / Gemm / MatMul weights so
// that they compute an affine map of their old output. Weights are combined in double precision and stored as float.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace hone::folding {

// y -> scale[k] * y + shift[k] along one axis (a BatchNormalization, a per-channel Mul / Add).
struct ChannelAffine {
  std::vector<double> scale, shift;
  size_t size() const { return scale.size(); }
};

// The per-channel map of an inference-form BatchNormalization whose scale, bias, mean and variance are constant
// float32 vectors of one length; false for training mode, requested statistics outputs, legacy per-element
// (spatial = 0) or is_test = 0 forms, and anything else.
bool batchnorm_affine(const Node& bn, int64_t opset, const PassContext& ctx, ChannelAffine* a);

// Values of a finite float32 constant `c` that, broadcast against a value of rank `rank`, leaves its shape as it is
// and varies along `axis` (of size `n`) only: one value per index along the axis (a scalar repeats). False otherwise.
bool axis_constant(const Tensor* c, int rank, int axis, int64_t n, std::vector<double>* values);

// Rank of a value's tensor type when known, else -1; `elem` receives the element type.
int known_rank(const PassContext& ctx, const std::string& name, DType* elem = nullptr);

// Adds `value` as an initializer under a name not yet used in the graph (derived from `base`), records it in the
// context's types and constants, and returns the name.
std::string add_initializer(Graph& g, PassContext& ctx, const std::string& base, const Tensor& value);
// A value name (for a new node output) not yet used in the graph, derived from `base`; recorded with `type`.
std::string add_value_name(const Graph& g, PassContext& ctx, const std::string& base, const TypeInfo& type);

// A Conv's window attributes (pads are begins then ends; auto_pad VALID reads as zero pads). False for auto_pad
// SAME_* and for attributes whose lengths do not match the weight.
struct ConvWindow {
  int64_t group = 1;
  std::vector<int64_t> kernel, strides, dilations, pads;
  size_t spatial() const { return kernel.size(); }
  bool unpadded() const;
  bool unit_strides() const;
  bool unit_dilations() const;
};
bool conv_window(const Node& conv, const Tensor& w, ConvWindow* geo);

// A Conv / ConvTranspose's constant float32 weight (rank >= 3) and bias (absent or a constant float32 vector of the
// output-channel count), or false.
struct ConvWeights {
  const Tensor* w = nullptr;
  const Tensor* b = nullptr;  // null when the node has no bias
  int64_t out_channels = 0;
};
bool conv_weights(const Node& conv, const PassContext& ctx, ConvWeights* cw);

// Rewrites `conv` (Conv or ConvTranspose, weights checked by conv_weights) to compute a.scale[m] * y[m] + a.shift[m]
// for every output channel m of its old output y: new weight and bias initializers.
void fold_affine_into_conv(Graph& g, PassContext& ctx, Node& conv, const ConvWeights& cw, const ChannelAffine& a);

// Rewrites `conv` (a Conv, weights checked by conv_weights) to compute its old output of an input whose channel k was
// multiplied by s[k] (zero padding stays zero): each input channel's weights scaled. A new weight initializer.
void scale_conv_inputs(Graph& g, PassContext& ctx, Node& conv, const ConvWeights& cw, const std::vector<double>& s);

// A Gemm's constant float32 operands: B 2-D, C absent or a constant of rank <= 2 (unidirectionally broadcast to
// [M, N]); transA / transB / alpha / beta read. False otherwise or for opsets before 7 (C with `broadcast`).
struct GemmWeights {
  const Tensor* b = nullptr;
  const Tensor* c = nullptr;
  bool trans_b = false;
  double alpha = 1, beta = 1;
  int64_t n = 0;  // output columns
};
bool gemm_weights(const Node& gemm, int64_t opset, const PassContext& ctx, GemmWeights* gw);

// A 2-D addend of a [M, N] output: `rows` is 1 (same for every row) or M, `cols` is 1 or N; values row-major.
struct Addend2D {
  int64_t rows = 1, cols = 1;
  std::vector<double> v;
  double at(int64_t i, int64_t j) const {
    return v[static_cast<size_t>((rows > 1 ? i : 0) * cols + (cols > 1 ? j : 0))];
  }
};
// A constant of rank <= 2 as an addend of an [M, N] output (M may be unknown: -1): false when it would broadcast the
// output to another shape, or is not finite float32.
bool addend_2d(const Tensor* c, int64_t m, int64_t n, Addend2D* a);

// Rewrites `gemm` (operands checked by gemm_weights) to compute scale[j] * y[i, j] + add(i, j) for its old output y:
// B's column j scaled, C replaced by beta * C * scale + add, beta set to 1. False (nothing changed) when C and `add`
// have different row counts above 1.
bool fold_affine_into_gemm(Graph& g, PassContext& ctx, Node& gemm, const GemmWeights& gw,
                           const std::vector<double>& scale, const Addend2D& add);

// Scales column j of the constant 2-D float32 matrix `b` by scale[j] (a MatMul's weight): the new initializer's name.
std::string scaled_columns(Graph& g, PassContext& ctx, const std::string& b_name, const Tensor& b,
                           const std::vector<double>& scale);

// True when every value is exactly `v`.
bool all_equal(const std::vector<double>& values, double v);

}  // namespace hone::folding
