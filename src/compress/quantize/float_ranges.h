// The ranges the float16 / bfloat16 converter checks (float_convert.h): the float32 model run over calibration data
// with every float value exposed.
#pragma once
#include "compress/quantize/float_convert.h"
#include "ops/infer_graph.h"

namespace hone {

// The largest |value| of every float32 value (`types`: the model's inferred types) over `d` fed to the model's only
// input, and whether any was inf/NaN; fills the report's calibration_samples, max_abs_seen and nonfinite_values.
// Throws hone::Error for a model with more than one input or data that does not fit it.
ObservedRanges observe_float_ranges(const Model& m, const GraphTypes& types, const data::Dataset& d,
                                    const FloatConvertOptions& opt, FloatConvertReport& report);

}  // namespace hone
