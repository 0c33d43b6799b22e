// InferenceServer: the models by name and version, the repository API and the server's life cycle. The queueing and
// running of requests is DynamicBatcher's (dynamic_batcher.h), request checks ServedModel's (served_model.h).
#include "serve/inference_server.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <charconv>
#include <future>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "serve/model_repository.h"
#include "serve/served_model.h"
#include "serve/serve_metrics.h"

namespace hone::serve {

namespace {

using Versions = std::map<int64_t, std::shared_ptr<ServedModel>>;

// Versions are positive integers; anything else names no version.
int64_t parse_version(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return -1;
  return v;
}

// Drains retired versions outside every lock; their queued requests finish on them.
void drain_all(const Versions& versions) {
  for (const auto& [v, m] : versions) m->batcher().drain();
}

}  // namespace

struct InferenceServer::Impl {
  ServerOptions options;
  ServeMetrics metrics;
  std::atomic<bool> draining{false};

  mutable std::shared_mutex models_mutex;
  std::map<std::string, Versions> models;  // loaded and ready
  // Why a repository model's version is not ready (failed to load, unloaded); cleared when it loads.
  std::map<std::string, std::map<int64_t, std::string>> not_ready;
  std::mutex load_mutex;  // one load / unload at a time

  // The version a request names ("" = newest). Throws ServeError(NotFound).
  std::shared_ptr<ServedModel> find(const std::string& name, const std::string& version) const {
    std::shared_lock lock(models_mutex);
    auto it = models.find(name);
    if (it == models.end() || it->second.empty())
      throw ServeError(ErrorKind::NotFound, fmt::format("unknown model '{}'", name));
    if (version.empty()) return it->second.rbegin()->second;
    auto v = it->second.find(parse_version(version));
    if (v == it->second.end())
      throw ServeError(ErrorKind::NotFound, fmt::format("model '{}' has no version '{}'", name, version));
    return v->second;
  }

  // Metrics series for a request refused before it reached a model version.
  ModelMetrics& metrics_for(const std::string& name, const std::string& version) {
    {
      std::shared_lock lock(models_mutex);
      auto it = models.find(name);
      if (it == models.end() || it->second.empty()) return metrics.model("", "");
      auto v = it->second.find(parse_version(version));
      if (v != it->second.end()) return v->second->metrics();
      return it->second.rbegin()->second->metrics();
    }
  }

  // Installs `versions` as the model's loaded set; returns the set it replaced (to be drained by the caller).
  Versions install(const std::string& name, Versions versions) {
    std::unique_lock lock(models_mutex);
    Versions old = std::move(models[name]);
    if (versions.empty()) models.erase(name);
    else models[name] = std::move(versions);
    return old;
  }

  void check_not_draining(const std::string& what) const {
    if (draining.load()) throw ServeError(ErrorKind::Unavailable, fmt::format("server is draining; {}", what));
  }
};

InferenceServer::InferenceServer(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

InferenceServer::~InferenceServer() {
  drain();
  std::map<std::string, Versions> models;
  {
    std::unique_lock lock(impl_->models_mutex);
    models.swap(impl_->models);
  }
  // ServedModel destructors join the (already drained) instance threads.
}

const ServerOptions& InferenceServer::options() const { return impl_->options; }

void InferenceServer::add_model(const std::string& name, const std::string& onnx_path) {
  std::lock_guard load_lock(impl_->load_mutex);
  impl_->check_not_draining(fmt::format("model '{}' not added", name));
  HONE_CHECK(!name.empty() && name.find('/') == std::string::npos,
             "model name '{}' must be non-empty and must not contain '/'", name);
  Versions versions;
  versions[1] = std::make_shared<ServedModel>(name, "1", onnx_path, impl_->options.defaults,
                                              impl_->metrics.model(name, "1"));
  drain_all(impl_->install(name, std::move(versions)));
}

// -- repository API --

std::vector<RepositoryEntry> InferenceServer::repository_index() const {
  std::vector<RepositoryEntry> out;
  std::map<std::string, std::map<int64_t, RepositoryEntry>> entries;
  if (!impl_->options.repository.empty()) {
    for (const std::string& name : repository_model_names(impl_->options.repository)) {
      auto& versions = entries[name];
      try {
        RepositoryModel m = read_repository_model(impl_->options.repository, name, impl_->options.defaults, true);
        for (const auto& [v, file] : m.model_files)
          versions[v] = {name, std::to_string(v), "UNAVAILABLE",
                         !m.config_error.empty() ? m.config_error : file.empty() ? "no model.onnx" : "not loaded"};
      } catch (const std::exception& e) {
        versions[0] = {name, "", "UNAVAILABLE", e.what()};
      }
      if (versions.empty())
        versions[0] = {name, "", "UNAVAILABLE", "no version folder (<name>/<positive integer>/model.onnx)"};
    }
  }
  {
    std::shared_lock lock(impl_->models_mutex);
    for (const auto& [name, reasons] : impl_->not_ready)
      for (const auto& [v, reason] : reasons) {
        auto& e = entries[name][v];
        e = {name, v > 0 ? std::to_string(v) : "", "UNAVAILABLE", reason};
      }
    for (const auto& [name, versions] : impl_->models)
      for (const auto& [v, m] : versions) entries[name][v] = {name, std::to_string(v), "READY", ""};
  }
  for (auto& [name, versions] : entries) {
    // A model-level problem (version 0) hides behind versions that are known.
    if (versions.size() > 1) versions.erase(0);
    for (auto& [v, e] : versions) out.push_back(std::move(e));
  }
  return out;
}

void InferenceServer::load_model(const std::string& name) {
  std::lock_guard load_lock(impl_->load_mutex);
  impl_->check_not_draining(fmt::format("model '{}' not loaded", name));
  const std::string& root = impl_->options.repository;
  if (root.empty())
    throw ServeError(ErrorKind::NotFound,
                     fmt::format("model '{}': the server has no model repository to load from", name));
  RepositoryModel m;
  try {
    m = read_repository_model(root, name, impl_->options.defaults);
  } catch (const ServeError&) {
    throw;
  } catch (const std::exception& e) {
    // A broken config leaves the versions already loaded serving.
    throw ServeError(ErrorKind::InvalidArgument, fmt::format("model '{}' not loaded: {}", name, e.what()));
  }
  for (const std::string& note : m.notes) serve_log(note);
  std::vector<int64_t> selected = m.selected_versions();
  Versions versions;
  std::map<int64_t, std::string> failures;
  for (int64_t v : selected) {
    std::string version = std::to_string(v);
    try {
      versions[v] = std::make_shared<ServedModel>(name, version, m.model_files.at(v), m.parsed.config,
                                                  impl_->metrics.model(name, version));
    } catch (const std::exception& e) {
      failures[v] = e.what();
      serve_log(fmt::format("model '{}' version {} failed to load: {}", name, v, e.what()));
    }
  }
  if (versions.empty()) {
    std::string why = selected.empty() ? "no version folder with a model.onnx"
                                       : fmt::format("{}", failures.begin()->second);
    {
      std::unique_lock lock(impl_->models_mutex);
      impl_->not_ready[name] = failures;
    }
    throw ServeError(ErrorKind::InvalidArgument, fmt::format("model '{}' not loaded: {}", name, why));
  }
  {
    std::unique_lock lock(impl_->models_mutex);
    impl_->not_ready[name] = failures;
  }
  for (const auto& [v, m2] : versions) serve_log(fmt::format("model '{}' version {} loaded", name, v));
  drain_all(impl_->install(name, std::move(versions)));
}

void InferenceServer::unload_model(const std::string& name) {
  std::lock_guard load_lock(impl_->load_mutex);
  Versions old;
  {
    std::unique_lock lock(impl_->models_mutex);
    auto it = impl_->models.find(name);
    if (it == impl_->models.end())
      throw ServeError(ErrorKind::NotFound, fmt::format("model '{}' is not loaded", name));
    old = std::move(it->second);
    impl_->models.erase(it);
    auto& reasons = impl_->not_ready[name];
    reasons.clear();
    for (const auto& [v, m] : old) reasons[v] = "unloaded";
  }
  drain_all(old);
  serve_log(fmt::format("model '{}' unloaded", name));
}

void InferenceServer::load_repository() {
  HONE_CHECK(!impl_->options.repository.empty(), "no model repository given");
  std::vector<std::string> failed;
  for (const std::string& name : repository_model_names(impl_->options.repository)) {
    try {
      load_model(name);
    } catch (const std::exception& e) {
      failed.push_back(e.what());
    }
  }
  if (!failed.empty())
    fail("{} model(s) of repository '{}' failed to load: {}", failed.size(), impl_->options.repository,
         fmt::format("{}", fmt::join(failed, "; ")));
}

// -- health and metadata --

bool InferenceServer::live() const { return true; }

bool InferenceServer::ready() const { return !impl_->draining.load(); }

bool InferenceServer::model_ready(const std::string& name, const std::string& version) const {
  if (impl_->draining.load()) return false;
  try {
    impl_->find(name, version);
    return true;
  } catch (const ServeError&) {
    return false;
  }
}

ModelMetadata InferenceServer::model_metadata(const std::string& name, const std::string& version) const {
  std::shared_ptr<ServedModel> m = impl_->find(name, version);
  ModelMetadata md;
  md.name = name;
  {
    std::shared_lock lock(impl_->models_mutex);
    auto it = impl_->models.find(name);
    if (it != impl_->models.end())
      for (const auto& [v, served] : it->second) md.versions.push_back(std::to_string(v));
  }
  md.inputs = m->inputs();
  md.outputs = m->outputs();
  return md;
}

// -- inference --

void InferenceServer::infer_async(InferRequest request, std::function<void(Result)> done) {
  submit(std::move(request), std::move(done), /*may_run_here=*/false);
}

void InferenceServer::submit(InferRequest request, std::function<void(Result)> done, bool may_run_here) {
  const std::string model = request.model;
  const std::string version = request.version;
  try {
    impl_->check_not_draining("request refused");
    // A reload retires the version found between the lookup and the submit; the retry finds its successor.
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::shared_ptr<ServedModel> m = impl_->find(request.model, request.version);
      std::unique_ptr<QueuedRequest> q = m->validate(std::move(request));
      q->done = std::move(done);
      if (may_run_here && m->batcher().try_run_inline(q)) return;
      if (m->batcher().submit(q)) return;
      request = std::move(q->request);
      done = std::move(q->done);
      impl_->check_not_draining("request refused");
    }
    throw ServeError(ErrorKind::Unavailable, fmt::format("model '{}' is being unloaded", model));
  } catch (const ServeError& e) {
    impl_->metrics_for(model, version).count_error(e.kind());
    throw;
  }
}

InferResponse InferenceServer::infer(InferRequest request) {
  std::promise<Result> promise;
  std::future<Result> future = promise.get_future();
  submit(std::move(request), [&promise](Result r) { promise.set_value(std::move(r)); }, /*may_run_here=*/true);
  Result r = future.get();
  if (auto* e = std::get_if<ServeError>(&r)) throw *e;
  return std::get<InferResponse>(std::move(r));
}

void InferenceServer::count_rejected(const std::string& model, ErrorKind kind) {
  impl_->metrics_for(model, "").count_error(kind);
}

std::string InferenceServer::metrics_text() const { return impl_->metrics.text(); }

void InferenceServer::drain() {
  impl_->draining.store(true);
  std::vector<std::shared_ptr<ServedModel>> all;
  {
    std::shared_lock lock(impl_->models_mutex);
    for (const auto& [name, versions] : impl_->models)
      for (const auto& [v, m] : versions) all.push_back(m);
  }
  for (const auto& m : all) m->batcher().drain();
}

}  // namespace hone::serve
