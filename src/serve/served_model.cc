#include "serve/served_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>

#include "serve/model_repository.h"

namespace hone::serve {

namespace {

std::string datatype_of(DType t) {
  if (t == DType::Undefined) return "";
  try {
    return kserve_datatype(t);
  } catch (const ServeError&) {
    return std::string(dtype_name(t));
  }
}

std::vector<int64_t> metadata_shape(const TypeInfo& type) {
  std::vector<int64_t> shape;
  if (type.shape)
    for (const Dim& d : *type.shape) shape.push_back(d.known() ? d.value : -1);
  return shape;
}

std::string shape_text(const std::vector<int64_t>& dims) { return fmt::format("[{}]", fmt::join(dims, ",")); }

TensorMetadata describe(const ValueInfo& v, const std::string& model, const char* role) {
  if (v.type.kind != TypeInfo::Kind::Tensor && v.type.kind != TypeInfo::Kind::Unknown)
    fail("model '{}' {} '{}' is {}; KServe v2 carries only tensors", model, role, v.name, v.type.str());
  if (v.type.elem != DType::Undefined) {
    try {
      kserve_datatype(v.type.elem);
    } catch (const ServeError&) {
      fail("model '{}' {} '{}' has element type {}, which KServe v2 has no datatype for", model, role, v.name,
           dtype_name(v.type.elem));
    }
  }
  return {v.name, datatype_of(v.type.elem), metadata_shape(v.type)};
}

std::string names_of(const std::vector<TensorMetadata>& ts) {
  std::string s;
  for (const auto& t : ts) s += (s.empty() ? "" : ", ") + t.name;
  return s;
}

[[noreturn]] void invalid(std::string message) { throw ServeError(ErrorKind::InvalidArgument, message); }

}  // namespace

Parallelism resolve_parallelism(const ModelConfig& config, int cores, const std::function<double()>& single_run) {
  cores = std::max(1, cores);
  if (config.instances > 0 && config.threads > 0)
    return {config.instances, config.threads, "as configured"};
  if (config.instances > 0)
    return {config.instances, std::max(1, cores / config.instances), "threads: the cores shared among the instances"};
  if (config.threads > 0) return {1, config.threads, "threads as configured"};
  if (cores == 1) return {1, 1, "one core"};
  double t = single_run ? single_run() : -1;
  if (t < 0) return {1, cores, "a batch-1 run could not be timed (inputs with symbolic dims other than the first)"};
  std::string took = fmt::format("a batch-1 run takes {} on one thread", format_duration(t));
  if (t < kSmallModelSeconds)
    return {cores, 1, took + ": small, so concurrent requests run in parallel on single-threaded instances"};
  return {1, cores, took + ": one instance runs each batch on every core"};
}

std::string format_duration(double seconds) {
  if (seconds < 1e-3) return fmt::format("{:.0f} us", seconds * 1e6);
  if (seconds < 1) return fmt::format("{:.2f} ms", seconds * 1e3);
  return fmt::format("{:.2f} s", seconds);
}

namespace {

// Zero-filled batch-1 inputs for `infos`, or nothing when a dim other than a symbolic first one is unknown or an
// input is not a numeric tensor.
std::optional<std::vector<std::pair<std::string, Tensor>>> probe_inputs(const std::vector<ValueInfo>& infos) {
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (const ValueInfo& v : infos) {
    if (v.type.kind != TypeInfo::Kind::Tensor || !v.type.shape || v.type.elem == DType::Undefined ||
        v.type.elem == DType::String)
      return std::nullopt;
    Shape shape;
    for (size_t d = 0; d < v.type.shape->size(); ++d) {
      const Dim& dim = (*v.type.shape)[d];
      if (dim.known()) shape.push_back(dim.value);
      else if (d == 0) shape.push_back(1);
      else return std::nullopt;
    }
    feeds.emplace_back(v.name, Tensor(v.type.elem, shape));
  }
  return feeds;
}

// Median of a few runs (stopping early for slow models); -1 when the model cannot be fed or a run fails.
double time_single_run(Session& session) {
  auto feeds = probe_inputs(session.inputs());
  if (!feeds) return -1;
  using Clock = std::chrono::steady_clock;
  std::vector<double> times;
  try {
    session.run(*feeds);  // warm-up: plans, arenas
    Clock::time_point start = Clock::now();
    while (times.size() < 21 && Clock::now() - start < std::chrono::milliseconds(200)) {
      Clock::time_point t0 = Clock::now();
      session.run(*feeds);
      times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      if (times.back() > 10 * kSmallModelSeconds) return times.back();  // clearly large: one run says enough
    }
  } catch (const std::exception&) {
    return -1;  // e.g. a model whose zeros are not a valid input; serving reports its own errors per request
  }
  std::nth_element(times.begin(), times.begin() + static_cast<ptrdiff_t>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

}  // namespace

ServedModel::ServedModel(std::string name, std::string version, const std::string& onnx_path,
                         const ModelConfig& config, ModelMetrics& metrics)
    : name_(std::move(name)), version_(std::move(version)), config_(config), metrics_(metrics) {
  HONE_CHECK(config.instances >= 0, "model '{}': instances must not be negative, not {}", name_, config.instances);
  HONE_CHECK(config.threads >= 0, "model '{}': threads must not be negative, not {}", name_, config.threads);
  HONE_CHECK(config.max_queue >= 1, "model '{}': max_queue must be at least 1, not {}", name_, config.max_queue);
  HONE_CHECK(config.max_queue_delay_us >= 0, "model '{}': max_queue_delay_us must not be negative", name_);
  std::vector<Session> sessions;
  const bool measure = config.instances == 0 && config.threads == 0;
  if (measure) sessions.push_back(Session::load(onnx_path, {.threads = 1}));
  Parallelism p = resolve_parallelism(config, available_cores(),
                                      [&] { return time_single_run(sessions.front()); });
  if (measure && p.threads != 1) sessions.clear();
  config_.instances = p.instances;
  config_.threads = p.threads;
  while (static_cast<int>(sessions.size()) < p.instances)
    sessions.push_back(Session::load(onnx_path, {.threads = p.threads}));
  serve_log(fmt::format("model '{}' version {}: {} instance{} x {} thread{} ({})", name_, version_, p.instances,
                        p.instances == 1 ? "" : "s", p.threads, p.threads == 1 ? "" : "s", p.why));
  const Session& s = sessions.front();
  input_infos_ = s.inputs();
  for (const ValueInfo& v : s.inputs()) inputs_.push_back(describe(v, name_, "input"));
  for (const ValueInfo& v : s.outputs()) outputs_.push_back(describe(v, name_, "output"));

  batching_ = config.max_batch_size > 1 && !input_infos_.empty();
  for (const ValueInfo& v : input_infos_)
    if (!v.type.shape || v.type.shape->empty() || v.type.shape->front().known()) batching_ = false;
  // An output declared with a fixed first dim (or none) cannot be cut back into rows: batching would only fail.
  for (const ValueInfo& v : s.outputs())
    if (batching_ && v.type.shape && (v.type.shape->empty() || v.type.shape->front().known())) {
      batching_ = false;
      serve_log(fmt::format("model '{}' version {}: output '{}' has shape {}, not batch-major: dynamic batching off",
                            name_, version_, v.name, shape_text(metadata_shape(v.type))));
    }

  BatcherSettings b;
  b.model = name_;
  b.version = version_;
  for (const auto& o : outputs_) b.output_names.push_back(o.name);
  b.max_batch_size = batching_ ? config.max_batch_size : 0;
  b.max_queue_delay_us = config.max_queue_delay_us;
  b.max_queue = config.max_queue;
  b.metrics = &metrics_;
  batcher_ = std::make_unique<DynamicBatcher>(std::move(b), std::move(sessions));
}

std::unique_ptr<QueuedRequest> ServedModel::validate(InferRequest request) const {
  auto q = std::make_unique<QueuedRequest>();
  const size_t n = input_infos_.size();
  std::vector<NamedTensor> ordered(n);
  std::vector<bool> given(n, false);
  for (NamedTensor& in : request.inputs) {
    size_t k = 0;
    while (k < n && input_infos_[k].name != in.name) ++k;
    if (k == n) invalid(fmt::format("model '{}' has no input named '{}' (its inputs: {})", name_, in.name,
                                    names_of(inputs_)));
    if (given[k]) invalid(fmt::format("input '{}' is given twice", in.name));
    given[k] = true;
    ordered[k] = std::move(in);
  }
  for (size_t k = 0; k < n; ++k)
    if (!given[k]) invalid(fmt::format("input '{}' is missing (model '{}' takes: {})", input_infos_[k].name, name_,
                                       names_of(inputs_)));

  int64_t rows = -1;
  for (size_t k = 0; k < n; ++k) {
    const TypeInfo& type = input_infos_[k].type;
    const Tensor& t = ordered[k].tensor;
    const std::string& in = ordered[k].name;
    if (!t.defined()) invalid(fmt::format("input '{}' has no data", in));
    if (type.elem != DType::Undefined && t.dtype() != type.elem)
      invalid(fmt::format("input '{}' must be {} but is {}", in, datatype_of(type.elem), datatype_of(t.dtype())));
    if (!type.shape) continue;
    const std::vector<int64_t>& want = inputs_[k].shape;
    if (t.rank() != static_cast<int>(want.size()))
      invalid(fmt::format("input '{}' must have rank {} (shape {}) but has shape {}", in, want.size(),
                          shape_text(want), shape_text(t.shape())));
    for (int d = 0; d < t.rank(); ++d)
      if (want[static_cast<size_t>(d)] >= 0 && t.dim(d) != want[static_cast<size_t>(d)])
        invalid(fmt::format("input '{}' dimension {} must be {} but is {} (expected shape {}, given {})", in, d,
                            want[static_cast<size_t>(d)], t.dim(d), shape_text(want), shape_text(t.shape())));
    if (t.rank() >= 1 && want[0] < 0 && t.dim(0) == 0)
      invalid(fmt::format("input '{}' is an empty batch (dimension 0 is 0, shape {})", in, shape_text(t.shape())));
    if (batching_) {
      if (rows >= 0 && t.dim(0) != rows)
        invalid(fmt::format("input '{}' has {} rows but '{}' has {}: every input of a batch must have the same "
                            "dimension 0",
                            in, t.dim(0), ordered[0].name, rows));
      rows = t.dim(0);
    }
  }
  if (batching_ && rows > config_.max_batch_size)
    invalid(fmt::format("a batch of {} rows is larger than model '{}''s max_batch_size {}", rows, name_,
                        config_.max_batch_size));
  q->rows = std::max<int64_t>(rows, 0);

  for (const std::string& want : request.outputs) {
    size_t j = 0;
    while (j < outputs_.size() && outputs_[j].name != want) ++j;
    if (j == outputs_.size())
      invalid(fmt::format("model '{}' has no output named '{}' (its outputs: {})", name_, want, names_of(outputs_)));
    if (std::find(q->outputs.begin(), q->outputs.end(), j) != q->outputs.end())
      invalid(fmt::format("output '{}' is asked for twice", want));
    q->outputs.push_back(j);
  }
  if (request.outputs.empty())
    for (size_t j = 0; j < outputs_.size(); ++j) q->outputs.push_back(j);

  if (request.timeout_us < 0) invalid(fmt::format("timeout {} us is negative", request.timeout_us));
  q->timeout_us = request.timeout_us > 0 ? request.timeout_us : config_.default_timeout_us;
  if (request.deadline_us > 0 && (q->timeout_us == 0 || request.deadline_us < q->timeout_us))
    q->timeout_us = request.deadline_us;
  q->arrival = Clock::now();
  if (q->timeout_us > 0) q->expires = q->arrival + std::chrono::microseconds(q->timeout_us);
  request.inputs = std::move(ordered);
  q->request = std::move(request);
  return q;
}

}  // namespace hone::serve
