// ONNX import and export: round trips are exact, and bad files get clear errors, never crashes.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "hone/hone.h"
#include "ir/graph_equal.h"
#include "ir/onnx/onnx_io.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace hone {
namespace {

std::string temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("hone_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// Expects loading `path` to throw a hone::Error whose message contains every fragment.
void expect_load_error(const std::string& path, const std::vector<std::string>& fragments) {
  try {
    load_onnx_file(path);
    ADD_FAILURE() << path << " loaded, but should have been refused";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "message: " << msg << "\nmissing: " << f;
  }
}

void expect_round_trip(const std::string& path) {
  SCOPED_TRACE(path);
  Model a = load_onnx_file(path);
  std::string bytes = save_onnx_bytes(a);
  Model b = load_onnx_bytes(bytes.data(), bytes.size(), fs::path(path).parent_path().string(), path + " (re-imported)");
  std::string why;
  EXPECT_TRUE(models_equal(a, b, &why)) << why;
}

// A minimal valid model: y = Relu(x) + w.
onnx::ModelProto tiny_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("tiny");
  auto add_vi = [](onnx::ValueInfoProto* v, const std::string& name) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(4);
  };
  add_vi(g->add_input(), "x");
  add_vi(g->add_output(), "y");
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(4);
  for (float v : {1.f, 2.f, 3.f, 4.f}) w->add_float_data(v);
  auto* relu = g->add_node();
  relu->set_op_type("Relu");
  relu->set_name("relu");
  relu->add_input("x");
  relu->add_output("r");
  auto* add = g->add_node();
  add->set_op_type("Add");
  add->set_name("add");
  add->add_input("r");
  add->add_input("w");
  add->add_output("y");
  return m;
}

std::string save_proto(const onnx::ModelProto& m, const std::string& dir, const std::string& name) {
  std::string path = dir + "/" + name;
  write_bytes(path, m.SerializeAsString());
  return path;
}

TEST(OnnxImport, TinyModelRunsAndTypedDataIsRead) {
  std::string dir = temp_dir("tiny");
  Session s = Session::load(save_proto(tiny_model(), dir, "tiny.onnx"), {.threads = 1});
  Tensor x(DType::Float32, {4});
  for (int i = 0; i < 4; ++i) x.data<float>()[i] = static_cast<float>(i) - 2.f;  // -2 -1 0 1
  std::vector<Tensor> y = s.run({{"x", x}});
  ASSERT_EQ(y.size(), 1u);
  EXPECT_EQ(y[0].shape(), Shape{4});
  std::vector<float> want = {1, 2, 3, 5};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y[0].data<float>()[i], want[static_cast<size_t>(i)]);
}

TEST(OnnxImport, RefusesEmptyTruncatedAndRandomFiles) {
  std::string dir = temp_dir("bad_files");
  write_bytes(dir + "/empty.onnx", "");
  expect_load_error(dir + "/empty.onnx", {"empty.onnx", "empty"});

  std::string good = read_bytes(test::fixture("fashion_mnist_cnn.onnx"));
  ASSERT_GT(good.size(), 1000u);
  for (size_t cut : {good.size() / 2, good.size() - 3, size_t{7}}) {
    write_bytes(dir + "/truncated.onnx", good.substr(0, cut));
    expect_load_error(dir + "/truncated.onnx", {"truncated.onnx"});
  }

  std::mt19937 rng(42);
  for (int trial = 0; trial < 50; ++trial) {
    std::string junk(static_cast<size_t>(1 + rng() % 4096), '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    write_bytes(dir + "/random.onnx", junk);
    expect_load_error(dir + "/random.onnx", {"random.onnx"});
  }
  expect_load_error(dir + "/does_not_exist.onnx", {"does_not_exist.onnx", "cannot open"});
  expect_load_error(dir, {"directory"});
}

TEST(OnnxImport, RefusesOtherProtobufs) {
  // A serialized TensorProto is valid protobuf but not a model.
  std::string path = test::conformance_dir() + "/onnx-node/test_abs/test_data_set_0/input_0.pb";
  expect_load_error(path, {"input_0.pb", "not"});
}

TEST(OnnxImport, RefusesForgedHugeInitializerBeforeAllocating) {
  onnx::ModelProto m = tiny_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->clear_dims();
  w->add_dims(int64_t{1} << 20);
  w->add_dims(int64_t{1} << 20);  // 2^40 elements
  w->set_raw_data("abcd");
  std::string dir = temp_dir("forged");
  expect_load_error(save_proto(m, dir, "forged.onnx"), {"forged.onnx", "'w'", "2^34"});

  // A plausible size whose data is missing is refused too, before allocating.
  w->clear_dims();
  w->add_dims(int64_t{1} << 28);
  expect_load_error(save_proto(m, dir, "short.onnx"), {"short.onnx", "'w'", "bytes"});

  w->clear_dims();
  w->add_dims(-5);
  expect_load_error(save_proto(m, dir, "negative.onnx"), {"negative.onnx", "'w'", "negative"});
}

TEST(OnnxImport, RefusesMissingInitializerDanglingInputsAndCycles) {
  std::string dir = temp_dir("structure");
  onnx::ModelProto m = tiny_model();
  m.mutable_graph()->clear_initializer();  // 'w' no longer exists
  expect_load_error(save_proto(m, dir, "missing_init.onnx"), {"missing_init.onnx", "Add 'add'", "'w'"});

  m = tiny_model();
  m.mutable_graph()->mutable_node(0)->set_input(0, "nowhere");
  expect_load_error(save_proto(m, dir, "dangling.onnx"), {"dangling.onnx", "Relu 'relu'", "'nowhere'"});

  m = tiny_model();
  m.mutable_graph()->mutable_node(0)->set_input(0, "y");  // relu reads add's output, add reads relu's
  expect_load_error(save_proto(m, dir, "cycle.onnx"), {"cycle.onnx", "cycle"});

  m = tiny_model();
  m.mutable_graph()->mutable_output(0)->set_name("ghost");
  expect_load_error(save_proto(m, dir, "ghost_output.onnx"), {"ghost_output.onnx", "'ghost'"});

  m = tiny_model();
  m.set_ir_version(0);
  expect_load_error(save_proto(m, dir, "no_ir.onnx"), {"no_ir.onnx", "not an ONNX model"});
}

TEST(OnnxImport, UnknownOperatorIsNamedWithItsOpset) {
  std::string dir = temp_dir("unknown_op");
  onnx::ModelProto m = tiny_model();
  m.mutable_graph()->mutable_node(0)->set_op_type("FrobnicateV2");
  std::string path = save_proto(m, dir, "unknown.onnx");
  try {
    Session::load(path);
    ADD_FAILURE() << "loaded a model with an unknown operator";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported operator FrobnicateV2 (opset 13)"), std::string::npos) << e.what();
  }
}

TEST(OnnxImport, ExternalDataInsideFolderLoadsAndOutsideIsRefused) {
  std::string dir = temp_dir("external");
  fs::create_directories(dir + "/model");
  std::vector<float> w = {10, 20, 30, 40};
  write_bytes(dir + "/model/weights.bin", std::string(reinterpret_cast<const char*>(w.data()), 16));
  write_bytes(dir + "/secret.bin", std::string(16, '\1'));
  auto with_location = [&](const std::string& loc) {
    onnx::ModelProto m = tiny_model();
    auto* t = m.mutable_graph()->mutable_initializer(0);
    t->clear_float_data();
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value(loc);
    return m;
  };
  Model ok = load_onnx_file(save_proto(with_location("weights.bin"), dir + "/model", "ok.onnx"));
  const Tensor* t = ok.graph.find_initializer("w");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->data<float>()[3], 40.f);

  expect_load_error(save_proto(with_location("../secret.bin"), dir + "/model", "escape.onnx"),
                    {"escape.onnx", "'w'", "outside the model's folder"});
  expect_load_error(save_proto(with_location(dir + "/secret.bin"), dir + "/model", "absolute.onnx"),
                    {"absolute.onnx", "'w'", "absolute"});
  fs::create_symlink(dir + "/secret.bin", dir + "/model/link.bin");
  expect_load_error(save_proto(with_location("link.bin"), dir + "/model", "symlink.onnx"),
                    {"symlink.onnx", "outside the model's folder"});
  expect_load_error(save_proto(with_location("missing.bin"), dir + "/model", "missing.onnx"), {"missing.onnx", "'w'"});
}

TEST(Session, WrongInputNameShapeOrDtypeIsAClearError) {
  std::string dir = temp_dir("run_errors");
  Session s = Session::load(save_proto(tiny_model(), dir, "tiny.onnx"), {.threads = 1});
  auto expect_run_error = [&](const std::vector<std::pair<std::string, Tensor>>& feeds, const std::string& fragment) {
    try {
      s.run(feeds);
      ADD_FAILURE() << "ran with bad inputs";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_run_error({{"X", Tensor(DType::Float32, {4})}}, "no input named 'X'");
  expect_run_error({{"x", Tensor(DType::Float32, {5})}}, "input 'x' must have shape [4]");
  expect_run_error({{"x", Tensor(DType::Float32, {2, 2})}}, "input 'x' must have shape [4]");
  expect_run_error({{"x", Tensor(DType::Int64, {4})}}, "input 'x' must be float but is int64");
  expect_run_error({}, "input 'x' is missing");
}

TEST(OnnxExport, RefusesToOverwrite) {
  std::string dir = temp_dir("overwrite");
  Model m = load_onnx_file(test::fixture("fashion_mnist_mlp.onnx"));
  save_onnx_file(m, dir + "/out.onnx");
  EXPECT_THROW(save_onnx_file(m, dir + "/out.onnx"), Error);
  EXPECT_NO_THROW(save_onnx_file(m, dir + "/out.onnx", /*overwrite=*/true));
}

TEST(OnnxRoundTrip, FixturesAndRealModels) {
  expect_round_trip(test::fixture("fashion_mnist_cnn.onnx"));
  expect_round_trip(test::fixture("fashion_mnist_mlp.onnx"));
  for (const char* rel : {test::kPaddleDet, test::kPaddleRec, test::kPaddleCls, test::kMelspec, test::kEmbedding, test::kHeyJarvis}) {
    std::string path = test::npm_model(rel);
    ASSERT_TRUE(fs::exists(path)) << path << " is missing: run scripts/install_deps.sh";
    expect_round_trip(path);
  }
}

TEST(OnnxRoundTrip, EveryConformanceModel) {
  int n = 0;
  for (const auto& suite : fs::directory_iterator(test::conformance_dir())) {
    if (!suite.is_directory()) continue;
    for (const auto& entry : fs::recursive_directory_iterator(suite.path())) {
      if (entry.path().extension() != ".onnx") continue;
      expect_round_trip(entry.path().string());
      ++n;
    }
  }
  EXPECT_GT(n, 1900);
}

}  // namespace
}  // namespace hone
