// Writing a quantization plan into the model (Contract 1 of issue 5), as standard ONNX that ONNX Runtime also runs.
//
// Static: each planned tensor t gets one pair t -> QuantizeLinear -> DequantizeLinear, and every node reading t reads
// the DequantizeLinear's output instead (graph outputs keep reading t, which stays float32). A tensor after a folded
// Relu / Clip is quantized from the activation's input, and its DequantizeLinear takes over the activation's output
// name. Weights of Conv / MatMul / Gemm become int8 initializers behind a DequantizeLinear (per channel: axis 0 for
// Conv and for Gemm with transB = 1, axis 1 for MatMul and Gemm with transB = 0); Conv biases and Gemm C (a vector
// of N values, alpha = beta = 1) become int32 with scale x_scale * w_scale.
// Weights-only: the weights' part alone; activations and biases stay float32.
// Dynamic (MatMul / Gemm): x -> DynamicQuantizeLinear -> MatMulInteger(x_q, W_q int8 [K, N], x_zp, 0) -> Cast(float)
// -> Mul(x_scale * W_scale) [-> Add(beta * C) for Gemm], the last node keeping the original output name.
#pragma once
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "compress/quantize/quant_plan.h"
#include "ir/graph.h"

namespace hone::quant {

// Per-channel means of activations over the calibration data (tensor -> one mean per channel).
using ChannelMeans = std::map<std::string, std::vector<double>>;

struct QuantizedModel {
  Model model;
  // For each compute node: the tensor of `model` holding its (dequantized) result, the counterpart of
  // plan.result_tensor in the fp32 model.
  std::map<std::string, std::string> result_tensor;
  int pairs = 0;                     // QuantizeLinear -> DequantizeLinear pairs on activations
  int quantized_weights = 0;         // int8 weight initializers written
  int quantized_biases = 0;          // int32 bias initializers written
  int bias_corrected = 0;            // layers whose bias absorbed the mean of their weight rounding error
  std::vector<std::string> warnings;  // biases clamped to int32, biases left float, ...
};

// Writes `plan` (made by plan_quantization for `m` and `config`) into a copy of `m`.
//
// Bias correction (static and weights-only; `means` not null): rounding the weights moves each output channel's
// mean by dW . E[x], which the following layers and a final threshold or sigmoid feel as an offset. With the mean of
// each input channel over the calibration data, every Conv's and Gemm's bias (added when absent) absorbs
// -dW . E[x] before it is quantized (Nagel et al., "Data-Free Quantization", 2019, empirical form; border effects of
// padding are ignored). Layers whose input has no recorded means are left as they are.
QuantizedModel write_quantized(const Model& m, const QuantPlan& plan, const QuantizeConfig& config,
                               const ChannelMeans* means = nullptr);

// Fresh value / node names next to those a graph already uses.
class NameAllocator {
 public:
  explicit NameAllocator(const Graph& g);
  // `base` if unused, else base_1, base_2, ...; the name is then taken.
  std::string fresh(const std::string& base);

 private:
  std::unordered_set<std::string> used_;
};

// A node, as the writers add them.
Node make_quant_node(std::string name, std::string op, std::vector<std::string> inputs,
                     std::vector<std::string> outputs, std::vector<Attribute> attributes = {});

// The dynamic-mode writer (dynamic_quant.cc); write_quantized calls it for QuantMode::Dynamic.
QuantizedModel write_dynamic(const Model& m, const QuantPlan& plan, const QuantizeConfig& config);

}  // namespace hone::quant
