// The steps of `hone quantize` as library calls: prepare a model (hone optimize's passes, node names, the opset the
// chosen format needs), calibrate its activations, write the quantized model, and measure how far each quantized
// layer's output and each final output moved from fp32.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compress/quantize/calibration.h"
#include "compress/quantize/qdq.h"
#include "compress/quantize/quant_plan.h"
#include "passes/pass_manager.h"
#include "passes/upgrade_opset.h"

namespace hone::data {
class Dataset;
}

namespace hone::quant {

// The ai.onnx opset the format needs: per-channel QDQ 13 (DequantizeLinear's axis), per-tensor QDQ 10, dynamic 11.
int64_t required_opset(const QuantizeConfig& config);

struct PrepareReport {
  OptimizeReport optimize;
  int named_nodes = 0;
  std::optional<OpsetUpgrade> upgrade;  // when the opset was raised
};

// Runs hone optimize's default passes, names unnamed nodes and raises the opset to 13 when the model's is below what
// `config` needs (upgrade_opset; its error, naming the op that blocks it, is rethrown saying why 13 is needed).
// Checks config.exclude against the result.
PrepareReport prepare_for_quantization(Model& m, const QuantizeConfig& config);

// Observes what the plan's tensors (planned without ranges: a superset of what any later plan needs) take on `data`
// and returns each one's range by `method` (none in dynamic and weights-only modes). `observers` receives the
// observers when given (for trying other methods without running the model again); `means`, when given, the
// per-channel means of the inputs of the Conv and Gemm nodes the plan quantizes (for bias correction).
std::map<std::string, Range> calibrate(const Model& m, const QuantizeConfig& config, const data::Dataset& data,
                                       const CalibrationOptions& method, const ObserveOptions& run,
                                       std::map<std::string, TensorObserver>* observers = nullptr,
                                       ChannelMeans* means = nullptr);

// Ranges by `method` from observers already collected.
std::map<std::string, Range> ranges_from(const std::map<std::string, TensorObserver>& observers,
                                         const CalibrationOptions& method);

// Plans and writes in one call (`means`: bias correction, see qdq.h; null for none).
QuantizedModel quantize(const Model& m, const QuantizeConfig& config, const std::map<std::string, Range>* ranges,
                        const std::set<std::string>& keep_float, QuantPlan* plan_out = nullptr,
                        const ChannelMeans* means = nullptr);

struct Fidelity {
  std::string name;  // node (layers) or graph output
  std::string op;    // layers: the node's op type
  std::string tensor;
  double sqnr_db = 0, cosine = 0, max_abs_error = 0, top1_agreement = 0;
  int64_t elements = 0;
};
struct FidelityReport {
  std::vector<Fidelity> layers;   // each quantized compute node's result, in graph order
  std::vector<Fidelity> outputs;  // each float32 graph output
  Fidelity overall;               // every float32 graph output together
  int64_t samples = 0;
};

// Runs `fp32` and `quantized` over `data` with every layer result exposed and compares them (FidelityAccumulator).
// Layers: the QDQ graph's own roundings (with a layer's result exposed the runtime cannot fuse across it, so this is
// what ONNX Runtime computes too). Outputs: the quantized file as written, run on its own, as `hone eval` sees it.
// With `layers` false only the graph outputs are compared.
FidelityReport compare_models(const Model& fp32, const QuantPlan& plan, const QuantizedModel& quantized,
                              const data::Dataset& data, const ObserveOptions& run, bool layers = true);

}  // namespace hone::quant
