// A Triton-style model repository on disk:
//
//   DIR/<name>/config.pbtxt           optional; the subset of Triton's ModelConfig Hone uses (model_config.proto)
//   DIR/<name>/<version>/model.onnx   versions are positive integers; other folder names are skipped with a log line
//
// Which versions load follows the config's version_policy as in Triton (default: the latest one). A model folder,
// version folder or model file that resolves outside DIR (a symlink out, a "..") is refused.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "serve/inference_server.h"

namespace hone::serve {

struct VersionPolicy {
  enum class Kind { Latest, All, Specific };
  Kind kind = Kind::Latest;
  int64_t latest = 1;              // Latest: how many of the newest versions
  std::vector<int64_t> specific;   // Specific: exactly these
};

// A parsed config.pbtxt: the ModelConfig it yields over the server's defaults, and its version policy.
struct ParsedModelConfig {
  ModelConfig config;
  VersionPolicy policy;
  std::vector<std::string> notes;  // what was ignored (fields, parameters), for the log, each naming file and line
};
// Parses config.pbtxt text (protobuf text format). `file` names it in errors, which carry the line and column.
// Throws hone::Error. Triton fields Hone does not use (input, output, optimization, ...) are parsed and ignored.
ParsedModelConfig parse_model_config(const std::string& text, const std::string& file, const std::string& model,
                                     const ModelConfig& defaults);

struct RepositoryModel {
  std::string name;
  ParsedModelConfig parsed;
  std::string config_error;  // set instead of thrown when read_repository_model was asked to tolerate it
  std::map<int64_t, std::string> model_files;  // every version folder found -> its model.onnx ("" when missing)
  std::vector<std::string> notes;               // skipped folders and the config's notes, for the log
  // The versions the policy selects among those with a model file, ascending.
  std::vector<int64_t> selected_versions() const;
};

// Model folder names in the repository, sorted. Throws hone::Error when `root` is not a readable folder.
std::vector<std::string> repository_model_names(const std::string& root);
// Reads one model's folder. Unknown name: ServeError(NotFound); a path escaping the repository: hone::Error naming
// it; a bad config.pbtxt: hone::Error naming the file and line, or config_error when `tolerate_bad_config`.
RepositoryModel read_repository_model(const std::string& root, const std::string& name, const ModelConfig& defaults,
                                      bool tolerate_bad_config = false);

// Writes a line to the server's log (stderr).
void serve_log(const std::string& line);

}  // namespace hone::serve
