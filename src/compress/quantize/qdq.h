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

struct QuantizedModel {
  Model model;
  // For each compute node: the tensor of `model` holding its (dequantized) result, the counterpart of
  // plan.result_tensor in the fp32 model.
  std::map<std::string, std::string> result_tensor;
  int pairs = 0;                     // QuantizeLinear -> DequantizeLinear pairs on activations
  int quantized_weights = 0;         // int8 weight initializers written
  int quantized_biases = 0;          // int32 bias initializers written
  std::vector<std::string> warnings;  // biases clamped to int32, biases left float, ...
};

// Writes `plan` (made by plan_quantization for `m` and `config`) into a copy of `m`.
QuantizedModel write_quantized(const Model& m, const QuantPlan& plan, const QuantizeConfig& config);

// Fresh value / node names next to those a graph already uses.
class NameAllocator {
 public:
  explicit NameAllocator(const Graph& g);
  // `base` if unused, else base_1, base_2, ...; the name is then taken.
  std::string fresh(const std::string& base);

 private:
  std::unordered_set<std::string> used_;
};

// The dynamic-mode writer (dynamic_quant.cc); write_quantized calls it for QuantMode::Dynamic.
QuantizedModel write_dynamic(const Model& m, const QuantPlan& plan, const QuantizeConfig& config);

}  // namespace hone::quant
