// Evaluation of a model over a data set: top-1 / top-5 accuracy against labels, and fidelity of every float output
// to a reference model's on the same samples. What `hone eval` prints and what `hone quantize`'s accuracy-aware
// mode measures each candidate with.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/fidelity.h"
#include "data/dataset.h"
#include "hone/hone.h"

namespace hone {

struct EvalOptions {
  int64_t batch = 32;  // samples per run when the model's batch dimension is symbolic
  bool progress = true;  // a progress bar on stderr (terminals only, after a second)
  std::string progress_label = "hone eval";
};

struct OutputFidelity {
  std::string name;  // the model's output name
  FidelityAccumulator fidelity;
};

struct EvalResult {
  int64_t samples = 0, batches = 0, batch_size = 0;
  bool fixed_batch = false;  // the model's batch dimension is fixed (short last batches were padded)
  std::string input;         // the input the data fed
  Shape input_sample_shape;  // one sample as fed to it
  // With labels: accuracy of `accuracy_output` (the model's first float output), one row of class scores per sample.
  std::optional<AccuracyAccumulator> accuracy;
  std::string accuracy_output;
  // With a reference: every float output of the model against the reference's output at the same position, and
  // all of them together. Outputs that are not floating-point are listed in `not_compared`.
  bool has_reference = false;
  FidelityAccumulator overall;
  std::vector<OutputFidelity> per_output;
  std::vector<std::string> not_compared;
  double model_seconds = 0, reference_seconds = 0;  // wall time inside the runs (planning each batch shape excluded)
};

// Runs `model` (and `reference`, when given) over every sample of `data` in batches fitted to the model's single
// input (data::InputBatcher). `labels` (may be null), one per sample of `data`. Throws hone::Error naming the input,
// the output or the sample on anything that does not fit: several inputs, shapes, a labels count, a reference whose
// outputs differ in number or shape.
EvalResult evaluate(Session& model, const data::Dataset& data, const std::vector<int64_t>* labels, Session* reference,
                    const EvalOptions& options = {});

}  // namespace hone
