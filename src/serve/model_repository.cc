#include "serve/model_repository.h"

#include <fmt/format.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "serve/model_config.pb.h"

namespace hone::serve {

namespace fs = std::filesystem;

void serve_log(const std::string& line) { fmt::print(stderr, "hone serve: {}\n", line); }

namespace {

// Collects the parser's complaints with 1-based lines; warnings are fields skipped as unknown.
class ConfigErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit ConfigErrors(const std::string& file) : file_(file) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (error.empty()) error = fmt::format("{}:{}:{}: {}", file_, line + 1, column + 1, message);
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    warnings.push_back(fmt::format("{}:{}:{}: {} (ignored)", file_, line + 1, column + 1, message));
  }
  std::string error;
  std::vector<std::string> warnings;

 private:
  const std::string& file_;
};

int64_t positive_int(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0 || std::to_string(v) != text) return -1;
  return v;
}

// Whether `path`, with every symlink resolved, lies inside the (resolved) repository root.
bool inside(const fs::path& root, const fs::path& path) {
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  if (ec) return false;
  auto [r, p] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  return r == root.end();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  HONE_CHECK(in, "cannot read {}", path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int32_t checked_int(uint64_t v, const std::string& file, const char* field) {
  HONE_CHECK(v <= static_cast<uint64_t>(INT32_MAX), "{}: {} {} is too large", file, field, v);
  return static_cast<int32_t>(v);
}

}  // namespace

ParsedModelConfig parse_model_config(const std::string& text, const std::string& file, const std::string& model,
                                     const ModelConfig& defaults) {
  config::ModelConfig pb;
  google::protobuf::TextFormat::Parser parser;
  ConfigErrors errors(file);
  parser.RecordErrorsTo(&errors);
  parser.AllowUnknownField(true);  // Triton's fields Hone does not use
  if (!parser.ParseFromString(text, &pb))
    fail("{}", errors.error.empty() ? fmt::format("{}: not a valid config.pbtxt", file) : errors.error);
  ParsedModelConfig out;
  out.notes = errors.warnings;
  ModelConfig& c = out.config;
  c = defaults;
  HONE_CHECK(pb.name().empty() || pb.name() == model, "{}: name '{}' differs from the model's folder name '{}'",
             file, pb.name(), model);
  HONE_CHECK(pb.platform().empty() || pb.platform() == "onnxruntime_onnx" || pb.platform() == "onnx",
             "{}: platform '{}': Hone serves ONNX models (platform \"onnxruntime_onnx\")", file, pb.platform());
  HONE_CHECK(pb.backend().empty() || pb.backend() == "onnxruntime" || pb.backend() == "hone",
             "{}: backend '{}': Hone serves ONNX models (backend \"onnxruntime\" or \"hone\")", file, pb.backend());
  if (pb.has_max_batch_size()) {
    HONE_CHECK(pb.max_batch_size() >= 0, "{}: max_batch_size {} is negative", file, pb.max_batch_size());
    c.max_batch_size = pb.max_batch_size();
  }
  if (pb.instance_group_size() > 0) {
    int count = 0;
    for (const auto& g : pb.instance_group()) {
      HONE_CHECK(g.count() >= 0, "{}: instance_group count {} is negative", file, g.count());
      count += g.count() == 0 ? 1 : g.count();  // Triton: a group without a count has one instance
    }
    c.instances = count;
  }
  if (pb.has_dynamic_batching()) {
    const auto& db = pb.dynamic_batching();
    if (db.has_max_queue_delay_microseconds())
      c.max_queue_delay_us = checked_int(db.max_queue_delay_microseconds(), file, "max_queue_delay_microseconds");
    if (db.has_default_queue_policy()) {
      const auto& q = db.default_queue_policy();
      if (q.has_default_timeout_microseconds())
        c.default_timeout_us = static_cast<int64_t>(
            std::min<uint64_t>(q.default_timeout_microseconds(), static_cast<uint64_t>(INT64_MAX)));
      if (q.has_max_queue_size() && q.max_queue_size() > 0)
        c.max_queue = checked_int(q.max_queue_size(), file, "max_queue_size");
    }
  }
  for (const auto& entry : pb.parameters()) {
    const std::string& key = entry.key();
    const config::ModelParameter& param = entry.value();
    if (key == "threads") {
      int64_t t = positive_int(param.string_value());
      HONE_CHECK(t > 0 && t <= 1024, "{}: parameters \"threads\" must be a positive integer, not '{}'", file,
                 param.string_value());
      c.threads = static_cast<int>(t);
    } else {
      out.notes.push_back(fmt::format("{}: parameter '{}' is not one Hone uses (ignored)", file, key));
    }
  }
  if (pb.has_version_policy()) {
    const auto& vp = pb.version_policy();
    if (vp.has_all()) {
      out.policy.kind = VersionPolicy::Kind::All;
    } else if (vp.has_specific()) {
      out.policy.kind = VersionPolicy::Kind::Specific;
      for (int64_t v : vp.specific().versions()) {
        HONE_CHECK(v > 0, "{}: version_policy specific version {} is not a positive integer", file, v);
        out.policy.specific.push_back(v);
      }
    } else if (vp.has_latest()) {
      out.policy.latest = std::max<int64_t>(1, vp.latest().num_versions());
    }
  }
  return out;
}

std::vector<int64_t> RepositoryModel::selected_versions() const {
  std::vector<int64_t> have;
  for (const auto& [v, file] : model_files)
    if (!file.empty()) have.push_back(v);
  const VersionPolicy& p = parsed.policy;
  std::vector<int64_t> out;
  if (p.kind == VersionPolicy::Kind::All) return have;
  if (p.kind == VersionPolicy::Kind::Specific) {
    for (int64_t v : have)
      if (std::find(p.specific.begin(), p.specific.end(), v) != p.specific.end()) out.push_back(v);
    return out;
  }
  size_t keep = std::min(have.size(), static_cast<size_t>(p.latest));
  return {have.end() - static_cast<std::ptrdiff_t>(keep), have.end()};
}

std::vector<std::string> repository_model_names(const std::string& root) {
  std::error_code ec;
  HONE_CHECK(fs::is_directory(root, ec), "model repository '{}' is not a folder", root);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_directory(ec)) continue;
    names.push_back(name);
  }
  HONE_CHECK(!ec, "cannot list model repository '{}': {}", root, ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

RepositoryModel read_repository_model(const std::string& root, const std::string& name, const ModelConfig& defaults,
                                      bool tolerate_bad_config) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    throw ServeError(ErrorKind::NotFound, fmt::format("'{}' is not a model name of the repository", name));
  std::error_code ec;
  const fs::path real_root = fs::canonical(root, ec);
  HONE_CHECK(!ec, "model repository '{}' is not readable: {}", root, ec.message());
  const fs::path dir = fs::path(root) / name;
  if (!fs::is_directory(dir, ec))
    throw ServeError(ErrorKind::NotFound, fmt::format("no model '{}' in repository '{}'", name, root));
  HONE_CHECK(inside(real_root, dir), "model folder {} leads outside the repository '{}'", dir.string(), root);

  RepositoryModel m;
  m.name = name;
  const fs::path config_path = dir / "config.pbtxt";
  m.parsed.config = defaults;
  if (fs::exists(config_path, ec)) {
    HONE_CHECK(inside(real_root, config_path), "{} leads outside the repository", config_path.string());
    try {
      m.parsed = parse_model_config(read_file(config_path), config_path.string(), name, defaults);
    } catch (const Error& e) {
      if (!tolerate_bad_config) throw;
      m.config_error = e.what();
    }
    m.notes = m.parsed.notes;
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_directory(ec)) continue;
    std::string folder = entry.path().filename().string();
    int64_t v = positive_int(folder);
    if (v < 0) {
      m.notes.push_back(fmt::format("{}: folder '{}' is not a version (versions are positive integers; skipped)",
                                    dir.string(), folder));
      continue;
    }
    HONE_CHECK(inside(real_root, entry.path()), "version folder {} leads outside the repository '{}'",
               entry.path().string(), root);
    const fs::path file = entry.path() / "model.onnx";
    std::string found;
    if (fs::is_regular_file(file, ec)) {
      HONE_CHECK(inside(real_root, file), "{} leads outside the repository '{}'", file.string(), root);
      found = file.string();
    }
    m.model_files[v] = found;
  }
  return m;
}

}  // namespace hone::serve
