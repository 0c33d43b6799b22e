#include "bench/evaluate.h"

#include <chrono>

#include "bench/progress.h"

namespace hone {
namespace {

using Clock = std::chrono::steady_clock;

const ValueInfo& single_input(const Session& s, const std::string& role) {
  const std::vector<ValueInfo>& in = s.inputs();
  if (in.size() == 1) return in[0];
  std::string names;
  for (const ValueInfo& v : in) names += (names.empty() ? "'" : ", '") + v.name + "'";
  fail("the {} has {} inputs ({}); evaluation feeds one input from the data set, so only models with a single "
       "input are supported",
       role, in.size(), names.empty() ? "none" : names);
}

// The first `rows` rows of `t` when its leading dimension is the batch (`batch_rows`) and the batch was padded;
// otherwise `t` itself.
Tensor real_rows(const Tensor& t, int64_t rows, int64_t batch_rows) {
  if (rows == batch_rows || t.rank() == 0 || t.shape()[0] != batch_rows) return t;
  Shape s = t.shape();
  s[0] = rows;
  return Tensor::borrow(t.dtype(), s, const_cast<void*>(t.raw())).clone();
}

// Float32 view of a floating output (float16 / bfloat16 / float64 converted).
Tensor as_float32(const Tensor& t) {
  if (t.dtype() == DType::Float32) return t;
  Tensor f(DType::Float32, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) f.data<float>()[i] = static_cast<float>(t.get_double(i));
  return f;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

EvalResult evaluate(Session& model, const data::Dataset& data, const std::vector<int64_t>* labels, Session* reference,
                    const EvalOptions& options) {
  const ValueInfo& input = single_input(model, "model");
  data::InputBatcher batcher(data, input, options.batch);
  std::optional<data::InputBatcher> ref_batcher;
  if (reference) {
    const ValueInfo& ref_input = single_input(*reference, "reference model");
    if (reference->outputs().size() != model.outputs().size())
      fail("the model has {} output{} and the reference model {}; outputs are compared by position",
           model.outputs().size(), model.outputs().size() == 1 ? "" : "s", reference->outputs().size());
    ref_batcher.emplace(data, ref_input, batcher.batch_size());
    if (ref_batcher->batch_size() != batcher.batch_size())
      fail("the reference model's input '{}' takes batches of {} samples, the model's input '{}' batches of {}; "
           "they must agree to be compared",
           ref_input.name, ref_batcher->batch_size(), input.name, batcher.batch_size());
  }
  if (labels && static_cast<int64_t>(labels->size()) != data.size())
    fail("{} labels for {} samples ({}); there must be one label per sample", labels->size(), data.size(),
         data.describe());

  EvalResult r;
  r.batch_size = batcher.batch_size();
  r.fixed_batch = batcher.fixed_batch();
  r.input = input.name;
  r.input_sample_shape = batcher.sample_shape();
  r.has_reference = reference != nullptr;
  const std::vector<ValueInfo>& outs = model.outputs();
  std::optional<size_t> accuracy_index;
  std::vector<size_t> compared;  // indices of the outputs in r.per_output
  if (labels) r.accuracy.emplace();

  ProgressBar bar(options.progress_label, options.progress);
  std::vector<Value> in(1), out, ref_in(1), ref_out;
  const int64_t n_batches = batcher.batches();
  for (int64_t b = 0; b < n_batches; ++b) {
    const int64_t first = batcher.first_sample(b), count = batcher.count(b);
    in[0] = Value::of(batcher.batch(b));
    model.plan_for(in);  // planning a new batch shape is not part of the timed run
    auto t0 = Clock::now();
    model.run_into(in, out);
    r.model_seconds += seconds_since(t0);
    if (reference) {
      ref_in[0] = Value::of(ref_batcher->batch(b));
      reference->plan_for(ref_in);
      auto t1 = Clock::now();
      reference->run_into(ref_in, ref_out);
      r.reference_seconds += seconds_since(t1);
    }

    if (b == 0) {  // which outputs take part, from what the first batch produced
      for (size_t k = 0; k < out.size(); ++k) {
        const bool is_float_tensor = out[k].is_tensor() && is_float(out[k].tensor.dtype());
        if (is_float_tensor && !accuracy_index) accuracy_index = k;
        if (!reference) continue;
        if (is_float_tensor) {
          r.per_output.push_back({outs[k].name, {}});
          compared.push_back(k);
        } else {
          r.not_compared.push_back(outs[k].name);
        }
      }
      if (labels && !accuracy_index) fail("labels were given but the model has no floating-point output to score");
      if (accuracy_index) r.accuracy_output = outs[*accuracy_index].name;
    }

    if (labels) {
      Tensor scores = as_float32(real_rows(out[*accuracy_index].tensor, count, r.batch_size));
      try {
        r.accuracy->add(scores, labels->data() + first, count);
      } catch (const Error& e) {
        fail("output '{}', samples {} to {}: {}", r.accuracy_output, first, first + count - 1, e.what());
      }
    }
    for (size_t p = 0; p < compared.size(); ++p) {
      const size_t k = compared[p];
      if (!out[k].is_tensor() || !ref_out[k].is_tensor() || !is_float(ref_out[k].tensor.dtype()))
        fail("output '{}' is floating-point in the model but not in the reference model (its output {}, '{}')",
             outs[k].name, k, reference->outputs()[k].name);
      Tensor mine = as_float32(real_rows(out[k].tensor, count, r.batch_size));
      Tensor theirs = as_float32(real_rows(ref_out[k].tensor, count, r.batch_size));
      try {
        r.per_output[p].fidelity.add(mine, theirs);
        r.overall.add(mine, theirs);
      } catch (const Error& e) {
        fail("output '{}' against the reference model's '{}': {}", outs[k].name, reference->outputs()[k].name,
             e.what());
      }
    }
    r.samples += count;
    ++r.batches;
    bar.update(static_cast<double>(b + 1) / static_cast<double>(n_batches),
               fmt::format("{} of {} samples", r.samples, data.size()));
  }
  return r;
}

}  // namespace hone
