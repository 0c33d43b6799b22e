// The Triton-style repository: layouts good and bad, config.pbtxt (Triton's own fields, errors with lines), version
// folders and policies, escaping paths; the server's repository API (index, load, reload, unload).
#include "serve/model_repository.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "serve_core_test_util.h"

namespace hone::serve {
namespace {

using namespace testing;
namespace fs = std::filesystem;

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

void add_version(const TempDir& repo, const std::string& model, const std::string& version,
                 const std::string& onnx = cnn_path()) {
  fs::create_directories(repo.path() / model / version);
  fs::copy_file(onnx, repo.path() / model / version / "model.onnx", fs::copy_options::overwrite_existing);
}

// A config as Triton users write them, with fields Hone does not use (input, output, kind, optimization).
constexpr const char* kTritonConfig = R"(name: "cnn"
platform: "onnxruntime_onnx"
max_batch_size: 4
input [
  { name: "input", data_type: TYPE_FP32, dims: [ 1, 28, 28 ] }
]
output [ { name: "logits" data_type: TYPE_FP32 dims: [ 10 ] } ]
instance_group [ { count: 2, kind: KIND_CPU } ]
dynamic_batching {
  preferred_batch_size: [ 2, 4 ]
  max_queue_delay_microseconds: 300
  default_queue_policy { default_timeout_microseconds: 5000 max_queue_size: 16 }
}
optimization { execution_accelerators { cpu_execution_accelerator: [ { name: "openvino" } ] } }
parameters { key: "threads" value: { string_value: "1" } }
version_policy: { all: {} }
)";

TEST(ModelConfigText, TritonFieldsMapOntoModelConfig) {
  ModelConfig defaults;
  defaults.max_queue = 99;
  ParsedModelConfig p = parse_model_config(kTritonConfig, "cnn/config.pbtxt", "cnn", defaults);
  EXPECT_EQ(p.config.max_batch_size, 4);
  EXPECT_EQ(p.config.instances, 2);
  EXPECT_EQ(p.config.max_queue_delay_us, 300);
  EXPECT_EQ(p.config.default_timeout_us, 5000);
  EXPECT_EQ(p.config.max_queue, 16);
  EXPECT_EQ(p.config.threads, 1);
  EXPECT_EQ(p.policy.kind, VersionPolicy::Kind::All);
  std::string notes;
  for (const auto& n : p.notes) notes += n + "\n";
  // Skipped fields are noted with their line: preferred_batch_size (line 10) and optimization (line 14).
  EXPECT_TRUE(contains(notes, "cnn/config.pbtxt:10:")) << notes;
  EXPECT_TRUE(contains(notes, "cnn/config.pbtxt:14:")) << notes;
  EXPECT_TRUE(contains(notes, "optimization")) << notes;
}

TEST(ModelConfigText, FieldsLeftOutKeepTheServersDefaults) {
  ModelConfig defaults;
  defaults.max_batch_size = 16;
  defaults.max_queue_delay_us = 700;
  defaults.instances = 3;
  ParsedModelConfig p = parse_model_config("dynamic_batching { }\n", "m/config.pbtxt", "m", defaults);
  EXPECT_EQ(p.config.max_batch_size, 16);
  EXPECT_EQ(p.config.max_queue_delay_us, 700);
  EXPECT_EQ(p.config.instances, 3);
  EXPECT_EQ(p.policy.kind, VersionPolicy::Kind::Latest);
  EXPECT_EQ(p.policy.latest, 1);
  EXPECT_EQ(parse_model_config("max_batch_size: 0", "f", "m", defaults).config.max_batch_size, 0);
}

TEST(ModelConfigText, ErrorsNameTheFileAndLine) {
  struct Case {
    std::string text;
    std::vector<std::string> words;
  };
  const std::vector<Case> cases = {
      {"max_batch_size: 4\ninstance_group [ { count: 2 }\n", {"m/config.pbtxt:3:"}},    // unclosed list
      {"name: \"m\"\n\nmax_batch_size: \"eight\"\n", {"m/config.pbtxt:3:", "eight"}},
      {"dynamic_batching {\n  max_queue_delay_microseconds: -5\n}\n", {"m/config.pbtxt:2:"}},
      {"name: \"other\"\n", {"m/config.pbtxt", "'other'", "'m'"}},
      {"platform: \"tensorflow_savedmodel\"\n", {"m/config.pbtxt", "tensorflow_savedmodel", "ONNX"}},
      {"max_batch_size: -1\n", {"m/config.pbtxt", "negative"}},
      {"parameters { key: \"threads\" value: { string_value: \"many\" } }\n", {"threads", "'many'"}},
      {"version_policy { specific { versions: [ 0 ] } }\n", {"version_policy", "0"}},
  };
  for (const Case& c : cases) {
    try {
      parse_model_config(c.text, "m/config.pbtxt", "m", {});
      ADD_FAILURE() << "accepted:\n" << c.text;
    } catch (const Error& e) {
      for (const std::string& w : c.words) EXPECT_TRUE(contains(e.what(), w)) << e.what() << "\nfor:\n" << c.text;
    }
  }
}

TEST(ModelRepository, VersionFoldersAndPolicies) {
  TempDir repo;
  add_version(repo, "cnn", "1");
  add_version(repo, "cnn", "2");
  fs::create_directories(repo.path() / "cnn" / "3");  // no model.onnx
  for (const char* skipped : {"03", "0", "latest", "-1"}) add_version(repo, "cnn", skipped);
  RepositoryModel m = read_repository_model(repo.path().string(), "cnn", {});
  ASSERT_EQ(m.model_files.size(), 3u);
  EXPECT_EQ(m.model_files.at(3), "");
  EXPECT_TRUE(contains(m.model_files.at(2), "cnn/2/model.onnx"));
  EXPECT_EQ(m.selected_versions(), std::vector<int64_t>{2});  // Triton's default: the latest one
  m.parsed.policy.kind = VersionPolicy::Kind::All;
  EXPECT_EQ(m.selected_versions(), (std::vector<int64_t>{1, 2}));
  m.parsed.policy.kind = VersionPolicy::Kind::Specific;
  m.parsed.policy.specific = {1, 3, 7};
  EXPECT_EQ(m.selected_versions(), std::vector<int64_t>{1});
  m.parsed.policy.kind = VersionPolicy::Kind::Latest;
  m.parsed.policy.latest = 5;
  EXPECT_EQ(m.selected_versions(), (std::vector<int64_t>{1, 2}));

  write_text(repo.path() / "README.md", "not a model");
  fs::create_directories(repo.path() / ".hidden" / "1");
  fs::create_directories(repo.path() / "empty");
  EXPECT_EQ(repository_model_names(repo.path().string()), (std::vector<std::string>{"cnn", "empty"}));
  EXPECT_TRUE(read_repository_model(repo.path().string(), "empty", {}).selected_versions().empty());
}

TEST(ModelRepository, UnknownNamesAndPathsThatEscapeAreRefused) {
  TempDir repo, outside;
  add_version(repo, "cnn", "1");
  add_version(outside, "secret", "1");
  for (const char* name : {"nope", "..", ".", "../secret", "cnn/1", ""})
    EXPECT_EQ(error_of([&] { read_repository_model(repo.path().string(), name, {}); }).kind(), ErrorKind::NotFound)
        << name;
  // A model folder that is a symlink out of the repository.
  fs::create_directory_symlink(outside.path() / "secret", repo.path() / "evil");
  try {
    read_repository_model(repo.path().string(), "evil", {});
    ADD_FAILURE() << "a symlink out of the repository was followed";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "outside the repository")) << e.what();
  }
  // A version folder, and a model file, that lead out.
  fs::create_directories(repo.path() / "sneaky");
  fs::create_directory_symlink(outside.path() / "secret" / "1", repo.path() / "sneaky" / "1");
  EXPECT_THROW(read_repository_model(repo.path().string(), "sneaky", {}), Error);
  fs::create_directories(repo.path() / "sly" / "1");
  fs::create_symlink(outside.path() / "secret" / "1" / "model.onnx", repo.path() / "sly" / "1" / "model.onnx");
  EXPECT_THROW(read_repository_model(repo.path().string(), "sly", {}), Error);
  // A symlink that stays inside is fine.
  fs::create_directory_symlink(repo.path() / "cnn", repo.path() / "alias");
  EXPECT_EQ(read_repository_model(repo.path().string(), "alias", {}).selected_versions(), std::vector<int64_t>{1});
  EXPECT_THROW(repository_model_names((repo.path() / "no_such_folder").string()), Error);
}

ServerOptions with_repository(const TempDir& repo) {
  ServerOptions o;
  o.repository = repo.path().string();
  o.defaults.max_batch_size = 4;
  return o;
}

std::map<std::string, RepositoryEntry> index_of(const InferenceServer& server) {
  std::map<std::string, RepositoryEntry> out;
  for (const RepositoryEntry& e : server.repository_index()) out[e.name + "/" + e.version] = e;
  return out;
}

TEST(ModelRepository, ServerLoadsIndexesUnloadsAndReloads) {
  TempDir repo;
  add_version(repo, "cnn", "1");
  write_text(repo.path() / "cnn" / "config.pbtxt", "max_batch_size: 2\ninstance_group [ { count: 2 } ]\n");
  add_version(repo, "broken", "1");
  write_text(repo.path() / "broken" / "config.pbtxt", "max_batch_size: 2\n  bogus_block {\n");
  fs::create_directories(repo.path() / "hollow" / "1");  // no model.onnx
  InferenceServer server(with_repository(repo));
  try {
    server.load_repository();
    ADD_FAILURE() << "a broken model loaded";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "broken/config.pbtxt:3")) << e.what();
    EXPECT_TRUE(contains(e.what(), "hollow")) << e.what();
  }
  EXPECT_TRUE(server.model_ready("cnn", "1"));
  EXPECT_FALSE(server.model_ready("broken", ""));
  // The repository's max_batch_size (2) applies, not the server's (4).
  EXPECT_EQ(error_of([&] { server.infer(request_for("cnn", "input", images(0, 3))); }).kind(),
            ErrorKind::InvalidArgument);
  EXPECT_EQ(server.infer(request_for("cnn", "input", images(0, 2))).outputs[0].tensor.dim(0), 2);

  auto idx = index_of(server);
  EXPECT_EQ(idx["cnn/1"].state, "READY");
  EXPECT_EQ(idx["broken/1"].state, "UNAVAILABLE");
  EXPECT_EQ(idx["hollow/1"].state, "UNAVAILABLE");
  EXPECT_TRUE(contains(idx["hollow/1"].reason, "model.onnx")) << idx["hollow/1"].reason;

  server.unload_model("cnn");
  EXPECT_FALSE(server.model_ready("cnn", ""));
  EXPECT_EQ(index_of(server)["cnn/1"].state, "UNAVAILABLE");
  EXPECT_EQ(index_of(server)["cnn/1"].reason, "unloaded");
  EXPECT_EQ(error_of([&] { server.infer(request_for("cnn", "input", images(0, 1))); }).kind(), ErrorKind::NotFound);
  EXPECT_EQ(error_of([&] { server.unload_model("cnn"); }).kind(), ErrorKind::NotFound);
  EXPECT_EQ(error_of([&] { server.load_model("nope"); }).kind(), ErrorKind::NotFound);

  server.load_model("cnn");
  EXPECT_TRUE(server.model_ready("cnn", ""));
  EXPECT_EQ(index_of(server)["cnn/1"].state, "READY");

  // A config broken after loading: the reload fails with the file and line, and version 1 keeps serving.
  write_text(repo.path() / "cnn" / "config.pbtxt", "max_batch_size: 2\nmax_batch_size: [\n");
  ServeError e = error_of([&] { server.load_model("cnn"); });
  EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
  EXPECT_TRUE(contains(e.what(), "cnn/config.pbtxt:")) << e.what();
  EXPECT_TRUE(server.model_ready("cnn", "1"));
}

TEST(ModelRepository, ReloadLetsQueuedRequestsFinishOnTheOldVersion) {
  TempDir repo, models;
  std::string any_width = write_two_output_model(models, true);
  add_version(repo, "two", "1", any_width);
  ServerOptions options = with_repository(repo);
  options.defaults.max_batch_size = 1;
  InferenceServer server(options);
  server.load_repository();
  std::atomic<int> succeeded{0}, answered{0};
  auto count = [&](InferenceServer::Result r) {
    succeeded += std::holds_alternative<InferResponse>(r);
    ++answered;
  };
  server.infer_async(request_for("two", "x", wide_tensor()), count);
  for (int i = 0; i < 6; ++i) server.infer_async(request_for("two", "x", rows_tensor(1, i)), count);
  add_version(repo, "two", "2", any_width);
  server.load_model("two");  // the newest version replaces version 1, which drains first
  EXPECT_EQ(answered.load(), 7);
  EXPECT_EQ(succeeded.load(), 7);
  EXPECT_EQ(server.model_metadata("two", "").versions, std::vector<std::string>{"2"});
  EXPECT_FALSE(server.model_ready("two", "1"));
  EXPECT_EQ(server.infer(request_for("two", "x", rows_tensor(1, 0))).version, "2");
}

TEST(ModelRepository, RequestsDuringReloadsAreNeverLost) {
  TempDir repo, models;
  add_version(repo, "two", "1", write_two_output_model(models));
  InferenceServer server(with_repository(repo));
  server.load_repository();
  std::atomic<bool> stop{false};
  std::atomic<int> succeeded{0}, refused{0};
  std::thread client([&] {
    while (!stop) {
      try {
        server.infer(request_for("two", "x", rows_tensor(1, 0)));
        ++succeeded;
      } catch (const ServeError& e) {
        ++refused;
        ADD_FAILURE() << e.what();
      }
    }
  });
  // Each reload starts only once the client has been answered since the last one, so the requests really do
  // interleave with the reloads (on a loaded machine the client thread may otherwise not run before all five end).
  auto await_progress = [&](int past) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (succeeded.load() + refused.load() <= past && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
  };
  await_progress(0);
  for (int i = 0; i < 5; ++i) {
    int before = succeeded.load() + refused.load();
    server.load_model("two");
    await_progress(before);
  }
  stop = true;
  client.join();
  EXPECT_GE(succeeded.load(), 6);
  EXPECT_EQ(refused.load(), 0);
}

}  // namespace
}  // namespace hone::serve
