// evaluate() (bench/evaluate.h) on tiny models built in memory: padded fixed batches, outputs that are not compared,
// several inputs, labels and references that do not fit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "../cli/cli_models.h"
#include "bench/evaluate.h"
#include "data/npy.h"

namespace hone {
namespace {

namespace fs = std::filesystem;
using testing::empty_model;
using testing::filled;
using testing::make_node;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

std::unique_ptr<data::Dataset> dataset_of(const Tensor& t) {
  static int n = 0;
  fs::path p = fs::temp_directory_path() / fmt::format("hone-evaluate-test-{}-{}.npy", ::getpid(), n++);
  write_npy_file(t, p.string(), true);
  auto d = data::open_dataset(p.string(), {});
  fs::remove(p);  // the data set holds the array in memory
  return d;
}

// scores = x * w (w a [4] initializer broadcast over rows) and, second output, ArgMax(scores) as int64.
Session scorer(SymShape input_shape, float w_scale = 1) {
  Model m = empty_model(13);
  Graph& g = m.graph;
  g.inputs = {{"x", TypeInfo::tensor(DType::Float32, std::move(input_shape))}};
  g.initializers["w"] = filled(DType::Float32, {4}, 1 * w_scale, 0);
  g.nodes.push_back(make_node("Mul", {"x", "w"}, {"scores"}, "mul"));
  Node am = make_node("ArgMax", {"scores"}, {"best"}, "argmax");
  am.attributes.push_back(testing::int_attr("axis", 1));
  g.nodes.push_back(am);
  g.outputs = {{"scores", TypeInfo::tensor(DType::Float32)}, {"best", TypeInfo::tensor(DType::Int64)}};
  return Session(std::move(m), {.threads = 1});
}

// Five samples of 4 scores; the argmax of sample i is i % 4.
Tensor five_samples() {
  Tensor t(DType::Float32, {5, 4});
  for (int64_t i = 0; i < 5; ++i) t.data<float>()[i * 4 + i % 4] = 1;
  return t;
}

TEST(Evaluate, FixedBatchPaddingIsNotCounted) {
  auto d = dataset_of(five_samples());
  std::vector<int64_t> labels = {0, 1, 2, 0, 0};  // samples 0, 1, 2 and 4 right, 3 wrong
  Session fixed = scorer(SymShape{3, 4});
  Session reference = scorer(SymShape{Dim::named("N"), 4}, 2);
  EvalResult r = evaluate(fixed, *d, &labels, &reference, {.batch = 100, .progress = false});
  EXPECT_EQ(r.samples, 5);
  EXPECT_EQ(r.batches, 2);
  EXPECT_EQ(r.batch_size, 3);
  EXPECT_TRUE(r.fixed_batch);
  ASSERT_TRUE(r.accuracy);
  EXPECT_EQ(r.accuracy->count(), 5);
  EXPECT_DOUBLE_EQ(r.accuracy->top1(), 4.0 / 5);
  EXPECT_EQ(r.accuracy_output, "scores");
  // Fidelity to the same scores doubled: cosine 1, error the scores themselves, only the 20 real values compared.
  ASSERT_EQ(r.per_output.size(), 1u);
  EXPECT_EQ(r.per_output[0].name, "scores");
  EXPECT_EQ(r.per_output[0].fidelity.elements(), 20);
  EXPECT_NEAR(r.overall.cosine(), 1, 1e-12);
  EXPECT_EQ(r.overall.max_abs_error(), 1);
  EXPECT_NEAR(r.overall.sqnr_db(), 10 * std::log10(4.0), 1e-9);  // sum (2s)^2 / sum s^2
  EXPECT_EQ(r.overall.top1_agreement(), 1);
  EXPECT_EQ(r.not_compared, std::vector<std::string>{"best"});
}

TEST(Evaluate, SymbolicBatchUsesTheGivenSize) {
  auto d = dataset_of(five_samples());
  Session s = scorer(SymShape{Dim::named("N"), 4});
  EvalResult r = evaluate(s, *d, nullptr, nullptr, {.batch = 2, .progress = false});
  EXPECT_EQ(r.batches, 3);
  EXPECT_EQ(r.samples, 5);
  EXPECT_FALSE(r.accuracy);
  EXPECT_FALSE(r.has_reference);
  EXPECT_TRUE(r.per_output.empty());
}

TEST(Evaluate, WhatDoesNotFitIsAnError) {
  auto d = dataset_of(five_samples());
  Session s = scorer(SymShape{Dim::named("N"), 4});
  std::vector<int64_t> four = {0, 1, 2, 3};
  std::string e = error_of([&] { evaluate(s, *d, &four, nullptr, {.progress = false}); });
  EXPECT_NE(e.find("4 labels for 5 samples"), std::string::npos) << e;
  std::vector<int64_t> big = {0, 1, 2, 3, 9};
  e = error_of([&] { evaluate(s, *d, &big, nullptr, {.progress = false}); });
  EXPECT_NE(e.find("output 'scores'"), std::string::npos) << e;
  EXPECT_NE(e.find("label 9 of sample 4 is outside the model's 4 classes"), std::string::npos) << e;

  Session wide = scorer(SymShape{Dim::named("N"), 8});
  e = error_of([&] { evaluate(wide, *d, nullptr, nullptr, {.progress = false}); });
  EXPECT_NE(e.find("input 'x' takes [Nx8]"), std::string::npos) << e;

  Model two = empty_model(13);
  two.graph.inputs = {{"a", TypeInfo::tensor(DType::Float32, SymShape{Dim::named("N"), 4})},
                      {"b", TypeInfo::tensor(DType::Float32, SymShape{Dim::named("N"), 4})}};
  two.graph.nodes.push_back(make_node("Add", {"a", "b"}, {"y"}, "add"));
  two.graph.outputs = {{"y", TypeInfo::tensor(DType::Float32)}};
  Session pair(std::move(two), {.threads = 1});
  e = error_of([&] { evaluate(pair, *d, nullptr, nullptr, {.progress = false}); });
  EXPECT_NE(e.find("the model has 2 inputs ('a', 'b')"), std::string::npos) << e;
  e = error_of([&] { evaluate(s, *d, nullptr, &pair, {.progress = false}); });
  EXPECT_NE(e.find("the reference model has 2 inputs"), std::string::npos) << e;

  Session fixed4 = scorer(SymShape{4, 4});
  e = error_of([&] { evaluate(s, *d, nullptr, &fixed4, {.batch = 2, .progress = false}); });
  EXPECT_NE(e.find("takes batches of 4 samples"), std::string::npos) << e;
}

}  // namespace
}  // namespace hone
