// Empirical bias correction for a written QDQ model: after quantizing, the mean each quantized Conv / Gemm output
// channel takes over the calibration data in the QDQ model is moved onto its mean in the fp32 model, by adding
// E[y_fp32 - y_quant] to the layer's bias (its int32 values, at the bias's own scale; or a float32 bias as is).
//
// The shift it removes is the systematic one the analytic correction (qdq.h: -dW . E[x], with fp32 input means)
// cannot see: clipped activations (percentile / mse ranges cut a tail, moving the mean), rounding of the inputs, and
// the shifts earlier layers pass on. The layers are split into `passes` consecutive groups in graph order; pass k
// measures group k in the QDQ model as corrected so far and corrects it (1 run of the fp32 model, `passes` runs of the
// QDQ model). passes = the number of layers is the exact sequential form (each layer sees its inputs corrected);
// fewer passes correct several layers from one measurement, and each of them also corrects the shift the earlier ones
// of its group pass on, which the earlier ones' own correction then removes as well: on PaddleOCR rec (38 layers) 2
// passes overcorrect badly (output SQNR 16.3 -> 0.8 dB), so use few passes only on shallow models. A layer's result
// is measured before its output QuantizeLinear (the Conv's own float output; before a removed Relu).
//
// Measured (static int8 per-channel, percentile 99.99, output SQNR vs fp32 on held-out synthetic text images): exact
// sequential correction moves PaddleOCR v4 det 15.91 -> 15.99 dB (at 16x the quantization time: 297 vs 18 s on 2
// cores) and rec 16.34 -> 15.29 dB, although every layer's channel means then match fp32's to ~1e-4: their error is
// not a mean shift. The Fashion-MNIST CNN / MLP keep their top-1 (SQNR 40.8 -> 41.5 / 42.4 -> 42.5 dB). So it is off
// by default (`hone quantize --bias-passes N`).
#pragma once
#include <string>
#include <vector>

#include "compress/quantize/calibration.h"
#include "compress/quantize/qdq.h"
#include "compress/quantize/quant_plan.h"

namespace hone::data {
class Dataset;
}

namespace hone::quant {

struct EmpiricalBiasReport {
  int layers = 0;                  // Conv / Gemm biases adjusted
  std::vector<double> mean_shift;  // per pass: the mean over its group's channels of |E[y_fp32 - y_quant]|,
                                   // measured before the correction
};

// Adjusts `q` (written by write_quantized for `plan` of `fp32`) in place. Layers without a constant bias (int32
// behind a DequantizeLinear, or float32) are left as they are. Throws what observe_tensors throws for data that does
// not fit.
EmpiricalBiasReport correct_bias_empirically(const Model& fp32, const QuantPlan& plan, QuantizedModel& q,
                                             const data::Dataset& data, const ObserveOptions& run, int passes = 2);

}  // namespace hone::quant
