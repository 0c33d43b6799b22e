// Equalizing the inputs of depthwise convolutions before static quantization (`hone quantize --equalize`).
//
// A depthwise convolution cannot average rounding errors over input channels: output channel c sees input channel c
// alone. When a few input channels span far more than the others (PP-LCNetV3's HardSwish + learnable affine block),
// one per-tensor activation scale leaves the small channels a handful of levels. Each input channel c is therefore
// divided by s_c (a Mul by 1/s before the quantized activation) and the convolution's weights of channel c are
// multiplied by s_c: the fp32 model computes the same, and per-channel int8 weights absorb s exactly (each output
// channel keeps its own scale). Zero padding stays zero. The ONNX file gains one float Mul per equalized tensor;
// Hone's runtime fuses it into the producing int8 convolution (a ChannelMul post-op: a per-channel binary mul inside
// oneDNN's primitive, passes/fuse_qdq.cc), or where the producer's result is read by other nodes too, runs it on the
// 8-bit tensor (hone.QMul with a constant gate).
//
// s is chosen from each channel's calibrated minimum, maximum (means over the samples of each one's extremes) and mean
// square: for a ratio rho between the negative and positive ends, s_c = max(-min_c / rho, max_c) (normalised to the
// largest; kept >= 1/64, so no channel is amplified more than 64 times), and rho (from the channels' own ratios, 0 and
// 1) minimises width^2 * sum_c s_c^2 / E[x_c^2], the rounding noise each channel then gets relative to its power,
// where width is the scaled tensor's range max_c max_c / s_c - min_c min_c / s_c.
#pragma once
#include <string>
#include <vector>

#include "compress/quantize/calibration.h"
#include "compress/quantize/quant_plan.h"

namespace hone::data {
class Dataset;
}

namespace hone::quant {

// A depthwise Conv (group = input channels = output channels, weights [C, 1, k...], a constant float32 weight) whose
// input is a float32 activation computed in the graph (not a graph input) and not excluded by `config`. An input
// other nodes read too is equalized as well, though it is rounded at one per-tensor scale for all its readers before
// the Mul: on PaddleOCR det, leaving det's 3 such inputs alone measured 17.26 dB instead of 17.56 (BENCHMARKS.md).
struct DepthwiseInput {
  std::string node, tensor;
  int64_t channels = 0;
};
std::vector<DepthwiseInput> find_depthwise_inputs(const Model& m, const QuantizeConfig& config);

// Per-channel statistics of one tensor over the calibration data (min / max: typical extremes, see above).
struct ChannelStats {
  std::vector<double> min, max, mean_square;
};

// s for one tensor (see above); the result has one value per channel, each in [1/64, 1].
std::vector<float> equalization_scales(const ChannelStats& stats);

// Smoothing the input of a group-1 convolution (weights [O, C, k...]; SmoothQuant's move, used by the accuracy search
// on layers it would otherwise keep float): the rounding difficulty of input channel c is split between the
// activation and the weights: s_c = amax_c^alpha / wmax_c^(1 - alpha), amax_c the channel's typical largest |x|,
// wmax_c the largest |w| of weight column c; normalised to the largest and kept >= 1/64 like equalization. alpha 1
// flattens the activation completely (all the difficulty to the weights), 0 the weights.
std::vector<float> smoothing_scales(const ChannelStats& stats, const Tensor& weight, double alpha);

struct EqualizedInput {
  std::string node, tensor;
  std::string scaled;        // the Mul's output, which the convolution now reads
  float smallest_scale = 1;  // min s_c
};

// Rewrites `m`: for each convolution input, a Mul by 1/s before the convolution and its weights times s on their
// input-channel axis (dim 0 of a depthwise convolution's, dim 1 of a group-1 one's; a weight shared with another node
// is copied first). Inputs whose scales are all 1 are left alone. Returns what it changed.
std::vector<EqualizedInput> apply_channel_scales(Model& m, const std::vector<DepthwiseInput>& inputs,
                                                 const std::vector<std::vector<float>>& scales);
// The same with each depthwise input's equalization_scales.
std::vector<EqualizedInput> apply_equalization(Model& m, const std::vector<DepthwiseInput>& inputs,
                                               const std::vector<ChannelStats>& stats);

// Observes the depthwise inputs on `data` (one pass, no histograms) and applies the equalization.
std::vector<EqualizedInput> equalize_depthwise_inputs(Model& m, const QuantizeConfig& config,
                                                      const data::Dataset& data, const ObserveOptions& run);

}  // namespace hone::quant
