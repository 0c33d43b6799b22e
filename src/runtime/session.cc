#include <omp.h>
#include <sched.h>

#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "passes/runtime_lowering.h"
#include "runtime/graph_runner.h"
#include "runtime/thread_placement.h"

namespace hone {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

Session Session::load(const std::string& path, SessionOptions opt) { return Session(load_onnx_file(path), opt); }

Session Session::load_bytes(const void* data, size_t size, SessionOptions opt) {
  return Session(load_onnx_bytes(data, size, "", "<memory>"), opt);
}

Session::Session(Model model, SessionOptions opt) : model_(std::make_unique<Model>(std::move(model))) {
  threads_ = opt.threads > 0 ? opt.threads : available_cores();
  const Model* m = model_.get();
  auto opset = [m](const std::string& domain) { return domain == "hone" ? kHoneOpset : m->opset(domain); };
  // Surface unsupported operators at load, with their names and opsets, rather than at the first run.
  InferOptions io;
  io.opset = opset;
  io.fold_constants = false;
  io.throw_on_unsupported = false;
  GraphTypes t = infer_graph(model_->graph, io, {});
  if (!t.unsupported.empty()) {
    std::string msg = t.unsupported.front();
    if (t.unsupported.size() > 1) msg += fmt::format(" (and {} more)", t.unsupported.size() - 1);
    fail("{}", msg);
  }
  PlanOptions po;
  po.threads = threads_;
  po.reference_kernels = opt.reference_kernels;
  if (opt.optimize_graph && !opt.reference_kernels) graph_ = lower_for_runtime(model_->graph, opset);
  else graph_ = std::shared_ptr<Graph>(std::shared_ptr<Graph>{}, &model_->graph);  // not owning
  runner_ = std::make_unique<GraphRunner>(*graph_, opset, po);
}

Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

const std::vector<ValueInfo>& Session::inputs() const { return model_->graph.inputs; }
const std::vector<ValueInfo>& Session::outputs() const { return model_->graph.outputs; }

void Session::check_inputs(const std::vector<Value>& inputs) const {
  const auto& decl = model_->graph.inputs;
  if (inputs.size() != decl.size()) fail("the model takes {} inputs, given {}", decl.size(), inputs.size());
  for (size_t i = 0; i < decl.size(); ++i) {
    const ValueInfo& d = decl[i];
    const Value& v = inputs[i];
    if (d.type.kind == TypeInfo::Kind::Tensor) {
      if (!v.is_tensor()) fail("input '{}' must be a tensor", d.name);
      const Tensor& t = v.tensor;
      if (d.type.elem != DType::Undefined && t.dtype() != d.type.elem)
        fail("input '{}' must be {} but is {}", d.name, dtype_name(d.type.elem), dtype_name(t.dtype()));
      if (d.type.shape) {
        const SymShape& s = *d.type.shape;
        if (static_cast<size_t>(t.rank()) != s.size())
          fail("input '{}' must have shape {} (rank {}) but has shape {}", d.name, sym_shape_str(s), s.size(),
               shape_str(t.shape()));
        for (size_t k = 0; k < s.size(); ++k)
          if (s[k].known() && s[k].value != t.shape()[k])
            fail("input '{}' must have shape {} but has shape {} (dimension {} differs)", d.name, sym_shape_str(s),
                 shape_str(t.shape()), k);
      }
    } else if (d.type.kind == TypeInfo::Kind::Sequence) {
      if (!v.is_sequence()) fail("input '{}' must be a sequence", d.name);
    }
  }
}

std::vector<Value> Session::run_values(const std::vector<Value>& inputs) {
  check_inputs(inputs);
  omp_set_num_threads(threads_);
  keep_omp_threads_spread(threads_);
  return runner_->run(inputs);
}

void Session::run_into(const std::vector<Value>& inputs, std::vector<Value>& outputs) {
  check_inputs(inputs);
  if (omp_get_max_threads() != threads_) omp_set_num_threads(threads_);
  keep_omp_threads_spread(threads_);
  runner_->run_into(inputs, outputs);
}

const Plan& Session::plan_for(const std::vector<Value>& inputs) {
  check_inputs(inputs);
  // Kernels size their thread teams when they are created (oneDNN fixes a primitive's partitioning then), so the
  // session's thread count must be in force at plan time too, not only at run time.
  omp_set_num_threads(threads_);
  return runner_->plan_for(inputs);
}

void Session::set_profiling(bool on) { runner_->set_profiling(on); }
void Session::reset_profile() { runner_->reset_profile(); }

std::vector<Tensor> Session::run(const std::vector<std::pair<std::string, Tensor>>& feeds) {
  const auto& decl = model_->graph.inputs;
  std::vector<Value> ordered(decl.size());
  std::vector<bool> given(decl.size(), false);
  for (const auto& [name, t] : feeds) {
    size_t k = 0;
    while (k < decl.size() && decl[k].name != name) ++k;
    if (k == decl.size()) {
      std::string names;
      for (const auto& d : decl) names += (names.empty() ? "" : ", ") + d.name;
      fail("the model has no input named '{}' (its inputs: {})", name, names);
    }
    if (given[k]) fail("input '{}' is given twice", name);
    given[k] = true;
    ordered[k] = Value::of(t);
  }
  for (size_t k = 0; k < decl.size(); ++k)
    if (!given[k]) fail("input '{}' is missing", decl[k].name);
  std::vector<Value> out = run_values(ordered);
  std::vector<Tensor> tensors;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!out[i].is_tensor()) fail("output '{}' is not a tensor; use run_values", model_->graph.outputs[i].name);
    tensors.push_back(std::move(out[i].tensor));
  }
  return tensors;
}

}  // namespace hone
