// float32 -> float16 / bfloat16 conversion of a model (`hone quantize --dtype fp16|bf16`), keeping float32 where the
// low-precision type would not hold the values or ONNX has no low-precision form of the op.
//
// What the written file looks like (the contract with the runtime and other tools):
//   - float32 initializers and activations become float16 (or bfloat16); graph inputs and outputs keep float32 and
//     their names, with a Cast after each input and before each output;
//   - a node stays float32 ("kept") when: it is excluded; ONNX defines no float16/bfloat16 form of the op at the
//     model's opset (the table in onnx_float_slots.inc, generated from the ONNX schemas; bfloat16 Conv, pools and
//     most activations need opset 22, to which a bfloat16 conversion raises the model when it can); it has a
//     subgraph or belongs to another domain; or a value it reads or writes leaves the type's safe range;
//   - the safe range: |v| <= range_fraction * the type's largest finite value (default 0.5: float16 32752), checked
//     on every float value over the calibration data when given (the float32 model runs with every value exposed),
//     and always on the constants; a constant whose non-zero values would round to zero (1e-10 in float16, as in
//     log(max(x, 1e-10))) also keeps its readers float32. Without calibration data, ops whose results can leave the
//     inputs' range by far (Exp, Pow, ReduceSumSquare, ReduceL2, ReduceProd, ReduceLogSumExp, CumSum,
//     ReduceSum) are kept float32 in float16 conversions; with data, the measured ranges decide;
//   - a Constant node whose readers all stay float32 stays float32 too (as an initializer does);
//   - with calibration data and max_output_error > 0 (accuracy-aware, float_accuracy.cc): the converted model's
//     output error against float32 on the data is measured, and when it misses the target the nodes whose own
//     rounding costs most (each measured alone converted) are kept float32 until it holds, within a budget of work;
//     the search is skipped, with a warning, when rounding the input alone to the type already misses the target;
//   - kept nodes read and write float32: Casts are inserted where a value changes type (one per value and type);
//   - inputs that ONNX fixes to float32 (Resize's scales) stay float32 inside converted nodes.
// The file is valid ONNX. ONNX Runtime's CPU provider runs a float16 file (it computes ops without float16 kernels
// in float32, inserting its own Casts); it has almost no bfloat16 kernels, so bfloat16 files (opset 22) do not load
// there. Hone runs both (passes/lower_low_precision.h says how).
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "compress/quantize/accuracy_search.h"
#include "data/dataset.h"
#include "ir/graph.h"

namespace hone {

// Largest |value| of a float value over calibration data, and whether any value was inf/NaN.
struct ObservedRange {
  double max_abs = 0;
  bool nonfinite = false;
};
using ObservedRanges = std::unordered_map<std::string, ObservedRange>;

struct FloatConvertOptions {
  DType target = DType::Float16;  // Float16 or BFloat16
  // Graph inputs and outputs stay float32 (Casts inside). false: they take the target type too.
  bool keep_io_types = true;
  std::vector<std::string> exclude_nodes;     // node names kept float32
  std::vector<std::string> exclude_op_types;  // op types kept float32
  double range_fraction = 0.5;                // of the type's largest finite value: beyond it a value is unsafe
  // bfloat16 only: raise the ai.onnx opset to 22 (where Conv, pools and most activations gained bfloat16) when the
  // model is older and has such ops; when raising fails, those ops stay float32 and the report says why.
  bool raise_opset = true;
  int64_t calibration_batch = 8;  // samples per run for a symbolic batch dimension
  int threads = 0;                // for the calibration runs; 0: all cores
  // Called after each calibration batch with (samples done, samples in all); may be empty.
  std::function<void(int64_t, int64_t)> progress;
  // Accuracy-aware conversion (float_accuracy.cc), with calibration data only: the converted model's output error on
  // it (per output, the largest |output - float32 output| over every sample relative to the largest |float32 output|;
  // the worst output counts) must stay within this. When it does not, each converted node's sensitivity is measured
  // (the model with every node converted but that one) and the most sensitive are kept float32 until it holds.
  // <= 0: not checked.
  double max_output_error = 1e-2;
  // The search keeps no node whose keeping would leave less than this share of the model's floating-point work
  // (FLOPs, bench/cost_model.h) in the target type, and none whose keeping does not lower the error: past that a
  // "float16 model" would be a float32 one. The report then says the target was missed.
  double min_low_precision_share = 0.5;
  // Ranges measured before on the calibration data (a previous conversion's report): no calibration run then.
  const ObservedRanges* observed = nullptr;
  // The first input's shape for the report's FLOPs when the model's is symbolic (set from the calibration data's
  // first batch when there is some); empty: the model's own.
  std::vector<int64_t> input_shape;
  bool progress_bar = false;  // the accuracy search's progress bar on stderr (terminals only)
};

struct FloatConvertReport {
  DType target = DType::Float16;
  struct KeptNode {
    std::string node;     // name (or "Op (node N)" when unnamed)
    std::string op_type;
    std::string reason;   // "output 'x' reaches 1.2e+05 on the calibration data (float16 safe range 32752)"
  };
  int64_t float_nodes = 0;      // nodes reading or writing float32 values before the conversion
  int64_t converted_nodes = 0;  // nodes that now compute in the target type
  std::vector<KeptNode> kept;   // the float nodes that stay float32, in graph order
  int64_t casts_added = 0;
  int64_t converted_initializers = 0;
  int64_t initializer_bytes_before = 0, initializer_bytes_after = 0;
  int64_t opset_before = 0, opset_after = 0;
  std::vector<std::string> opset_rewrites;  // nodes rewritten to raise the opset
  std::string opset_note;                   // why the opset was not raised, when it was not
  int64_t calibration_samples = 0;          // 0: no calibration data
  double max_abs_seen = 0;                  // largest |value| of any float value over the calibration data
  std::vector<std::string> nonfinite_values;  // values already inf/NaN in the float32 model on the data
  ObservedRanges observed;                    // per float value, over the calibration data (empty without it)
  std::vector<int64_t> input_shape;           // the first input's shape the FLOPs were counted at (empty: declared)
  // Activation ranges were checked (calibration data); false: only the constants were, and a float16 model may
  // overflow to inf on real inputs (`warnings` says so).
  bool ranges_checked = false;
  std::vector<std::string> warnings;  // for the user, one sentence each
  std::vector<std::string> converted;  // names of the converted nodes (unnamed: "Op (node N)"), graph order
  // Floating-point work (bench/cost_model.h FLOPs at the model's input shapes; unknown shapes count 0) of every float
  // node, and of those converted: their ratio is the share of the work done in the target type.
  int64_t flops = 0, low_precision_flops = 0;
  // Accuracy-aware conversion (FloatConvertOptions::max_output_error): NaN when not checked.
  double output_error = std::nan("");      // of the model written
  double output_error_target = std::nan("");
  // The float32 model's output error with only its input rounded to the type: how sensitive it is to that rounding
  // (float_accuracy.cc); NaN when not measured (the first conversion met the target).
  double output_error_floor = std::nan("");
  std::optional<quant::SearchResult> search;  // when the first conversion missed the target: what was kept and why
};

// One conversion by the ranges alone (no output error check): what convert_float_precision starts from.
FloatConvertReport convert_float_by_range(Model& m, const FloatConvertOptions& options,
                                          const data::Dataset* calibration);

// Converts `m` in place (on an error it is left unchanged). `calibration` may be null. Throws hone::Error for a
// target other than float16/bfloat16, a model without float32 values to convert, or calibration data that does not
// fit the model's first input.
FloatConvertReport convert_float_precision(Model& m, const FloatConvertOptions& options,
                                           const data::Dataset* calibration);

// Largest finite value of float16 (65504) or bfloat16 (~3.39e38).
double float_type_max(DType t);

}  // namespace hone
