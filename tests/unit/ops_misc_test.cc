// String, ai.onnx.ml, training, random and linalg operators: what the conformance corpus does not cover (error
// cases, empty and rank-0 shapes, opset differences, seeds, non-ASCII case mapping).
#include <gtest/gtest.h>

#include <cmath>

#include "hone/hone.h"

namespace hone {
namespace {

template <typename T>
Tensor make(DType dtype, Shape shape, std::vector<T> values) {
  Tensor t(dtype, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size());
  for (size_t i = 0; i < values.size(); ++i) t.data<T>()[i] = values[i];
  return t;
}
Tensor f32(Shape shape, std::vector<float> v) { return make<float>(DType::Float32, std::move(shape), std::move(v)); }
Tensor f64(Shape shape, std::vector<double> v) { return make<double>(DType::Float64, std::move(shape), std::move(v)); }
Tensor i64(Shape shape, std::vector<int64_t> v) { return make<int64_t>(DType::Int64, std::move(shape), std::move(v)); }
Tensor str(Shape shape, std::vector<std::string> v) {
  return make<std::string>(DType::String, std::move(shape), std::move(v));
}

Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Int;
  a.i = v;
  return a;
}
Attribute float_attr(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Float;
  a.f = v;
  return a;
}
Attribute string_attr(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::String;
  a.s = v;
  return a;
}
Attribute strings_attr(const std::string& name, std::vector<std::string> v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Strings;
  a.strings = std::move(v);
  return a;
}
Attribute ints_attr(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Ints;
  a.ints = std::move(v);
  return a;
}
Attribute floats_attr(const std::string& name, std::vector<float> v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Floats;
  a.floats = std::move(v);
  return a;
}
Attribute tensor_attr(const std::string& name, Tensor t) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Tensor;
  a.t = std::move(t);
  return a;
}

struct OpSpec {
  std::string op;
  std::string domain;
  int64_t opset = 0;
  size_t outputs = 1;
};

// Runs one node with the given inputs fed as graph inputs; returns its outputs.
std::vector<Tensor> run_op(const OpSpec& spec, const std::vector<Tensor>& inputs, std::vector<Attribute> attrs = {}) {
  Model m;
  m.ir_version = 9;
  m.opset_import = {{"", 20}};
  if (!spec.domain.empty()) m.opset_import.push_back({spec.domain, spec.opset});
  else m.opset_import[0].version = spec.opset;
  Graph& g = m.graph;
  g.name = "one_op";
  Node n;
  n.op_type = spec.op;
  n.domain = spec.domain;
  n.name = "n";
  n.attributes = std::move(attrs);
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    g.inputs.push_back({name, TypeInfo::tensor(inputs[i].dtype(), to_sym_shape(inputs[i].shape())), ""});
    n.inputs.push_back(name);
    feeds.emplace_back(name, inputs[i]);
  }
  for (size_t i = 0; i < spec.outputs; ++i) {
    std::string name = "out" + std::to_string(i);
    n.outputs.push_back(name);
    g.outputs.push_back({name, TypeInfo::tensor(DType::Undefined), ""});
  }
  g.nodes.push_back(n);
  Session s(std::move(m), {.threads = 1});
  return s.run(feeds);
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

const OpSpec kNormalizer{"StringNormalizer", "", 10};

// ---- StringNormalizer

TEST(StringNormalizer, CaseInsensitiveStopwordsAndNonAsciiUpper) {
  Tensor x = str({4}, {"Straße", "MONDAY", "élan", "ΑΒΓ"});
  Tensor y = run_op(kNormalizer, {x}, {string_attr("case_change_action", "UPPER"), strings_attr("stopwords", {"monday"}),
                                       string_attr("locale", "fr_FR")})[0];
  EXPECT_EQ(y.shape(), (Shape{3}));
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"STRAßE", "ÉLAN", "ΑΒΓ"}));
}

TEST(StringNormalizer, LowerCyrillicAndGreek) {
  Tensor y = run_op(kNormalizer, {str({1, 2}, {"ПРИВЕТ", "ΣΟΦΙΑ"})}, {string_attr("case_change_action", "LOWER")})[0];
  EXPECT_EQ(y.shape(), (Shape{1, 2}));
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"привет", "σοφια"}));
}

TEST(StringNormalizer, CaseSensitiveKeepsOtherCase) {
  Tensor y = run_op(kNormalizer, {str({3}, {"Monday", "monday", ""})},
                    {int_attr("is_case_sensitive", 1), strings_attr("stopwords", {"monday"})})[0];
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"Monday", ""}));
}

TEST(StringNormalizer, AllDroppedGivesOneEmptyString2D) {
  Tensor y = run_op(kNormalizer, {str({1, 2}, {"a", "A"})}, {strings_attr("stopwords", {"a"})})[0];
  EXPECT_EQ(y.shape(), (Shape{1, 1}));
  EXPECT_EQ(y.data<std::string>()[0], "");
}

TEST(StringNormalizer, RejectsBadShapeAndAction) {
  EXPECT_THROW(run_op(kNormalizer, {str({2, 2}, {"a", "b", "c", "d"})}), Error);
  EXPECT_THROW(run_op(kNormalizer, {str({1}, {"a"})}, {string_attr("case_change_action", "TITLE")}), Error);
}

// ---- StringSplit / StringConcat / RegexFullMatch

TEST(StringSplit, WhitespaceWithMaxsplitKeepsRemainder) {
  auto out = run_op({"StringSplit", "", 20, 2}, {str({2}, {"  a  b c ", ""})}, {int_attr("maxsplit", 1)});
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values<std::string>(out[0]), (std::vector<std::string>{"a", "b c ", "", ""}));
  EXPECT_EQ(values<int64_t>(out[1]), (std::vector<int64_t>{2, 0}));
}

TEST(StringSplit, DelimiterKeepsEmptyPiecesAndRank0) {
  auto out = run_op({"StringSplit", "", 20, 2}, {str({}, {",a,,"})}, {string_attr("delimiter", ",")});
  EXPECT_EQ(out[0].shape(), (Shape{4}));
  EXPECT_EQ(values<std::string>(out[0]), (std::vector<std::string>{"", "a", "", ""}));
  EXPECT_EQ(out[1].shape(), Shape{});
  EXPECT_EQ(out[1].data<int64_t>()[0], 4);
}

TEST(StringConcat, BroadcastsAndRejectsMismatch) {
  Tensor y = run_op({"StringConcat", "", 20}, {str({2, 1}, {"a", "b"}), str({3}, {"x", "y", "z"})})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"ax", "ay", "az", "bx", "by", "bz"}));
  EXPECT_THROW(run_op({"StringConcat", "", 20}, {str({2}, {"a", "b"}), str({3}, {"x", "y", "z"})}), Error);
}

TEST(RegexFullMatch, FullNotPartialAndBadPattern) {
  Tensor y = run_op({"RegexFullMatch", "", 20}, {str({3}, {"abc", "xabc", "ab"})}, {string_attr("pattern", "a\\w+")})[0];
  EXPECT_EQ(y.dtype(), DType::Bool);
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_THROW(run_op({"RegexFullMatch", "", 20}, {str({1}, {"a"})}, {string_attr("pattern", "(a")}), Error);
}

// ---- TfIdfVectorizer

std::vector<Attribute> tfidf_attrs(const std::string& mode) {
  return {int_attr("min_gram_length", 1), int_attr("max_gram_length", 2), int_attr("max_skip_count", 0),
          string_attr("mode", mode), ints_attr("ngram_counts", {0, 2}), ints_attr("ngram_indexes", {0, 1, 2}),
          strings_attr("pool_strings", {"a", "b", "a", "b"}), floats_attr("weights", {0.5f, 2.0f, 4.0f})};
}

TEST(TfIdfVectorizer, StringsTfidfWeights) {
  Tensor x = str({2, 3}, {"a", "b", "a", "b", "b", "c"});
  Tensor y = run_op({"TfIdfVectorizer", "", 9}, {x}, tfidf_attrs("TFIDF"))[0];
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  // row 0: a x2, b x1, "a b" x1; row 1: b x2.
  EXPECT_EQ(values<float>(y), (std::vector<float>{1.0f, 2.0f, 4.0f, 0.0f, 4.0f, 0.0f}));
  Tensor idf = run_op({"TfIdfVectorizer", "", 9}, {x}, tfidf_attrs("IDF"))[0];
  EXPECT_EQ(values<float>(idf), (std::vector<float>{0.5f, 2.0f, 4.0f, 0.0f, 2.0f, 0.0f}));
}

TEST(TfIdfVectorizer, RejectsBadModeAndRank) {
  auto attrs = tfidf_attrs("BM25");
  EXPECT_THROW(run_op({"TfIdfVectorizer", "", 9}, {str({1}, {"a"})}, attrs), Error);
  EXPECT_THROW(run_op({"TfIdfVectorizer", "", 9}, {str({1, 1, 1}, {"a"})}, tfidf_attrs("TF")), Error);
}

// ---- Det

TEST(Det, BatchedWithPivotingAndSingular) {
  Tensor x = f64({3, 2, 2}, {0, 1, 1, 0, 2, 0, 0, 3, 1, 2, 2, 4});
  Tensor y = run_op({"Det", "", 11}, {x})[0];
  EXPECT_EQ(y.shape(), (Shape{3}));
  EXPECT_EQ(values<double>(y), (std::vector<double>{-1, 6, 0}));
  EXPECT_THROW(run_op({"Det", "", 11}, {f32({2, 3}, {1, 2, 3, 4, 5, 6})}), Error);
}

TEST(Det, EmptyBatchAndZeroSizeMatrix) {
  EXPECT_EQ(run_op({"Det", "", 11}, {f32({0, 2, 2}, {})})[0].shape(), (Shape{0}));
  Tensor one = run_op({"Det", "", 11}, {f32({0, 0}, {})})[0];
  EXPECT_EQ(one.shape(), Shape{});
  EXPECT_EQ(one.data<float>()[0], 1.0f);
}

// ---- ai.onnx.ml

TEST(LabelEncoder, Opset2FloatKeysToStringsWithDefault) {
  auto y = run_op({"LabelEncoder", "ai.onnx.ml", 2}, {f32({3}, {1.5f, 2.0f, NAN})},
                  {floats_attr("keys_floats", {1.5f, 2.0f}), strings_attr("values_strings", {"x", "y"}),
                   string_attr("default_string", "?")})[0];
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"x", "y", "?"}));
}

TEST(LabelEncoder, Opset4TensorKeysMatchNaNAndDefaultInt) {
  auto y = run_op({"LabelEncoder", "ai.onnx.ml", 4}, {f64({3}, {NAN, 3.0, 7.0})},
                  {tensor_attr("keys_tensor", f64({2}, {NAN, 3.0})), ints_attr("values_int64s", {10, 30})})[0];
  EXPECT_EQ(y.dtype(), DType::Int64);
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{10, 30, -1}));
}

TEST(LabelEncoder, RejectsMismatchedLengthsTypesAndTensorsBeforeOpset4) {
  const OpSpec v4{"LabelEncoder", "ai.onnx.ml", 4};
  EXPECT_THROW(run_op(v4, {str({1}, {"a"})}, {strings_attr("keys_strings", {"a", "b"}), ints_attr("values_int64s", {1})}),
               Error);
  EXPECT_THROW(run_op(v4, {i64({1}, {1})}, {strings_attr("keys_strings", {"a"}), ints_attr("values_int64s", {1})}),
               Error);
  EXPECT_THROW(run_op({"LabelEncoder", "ai.onnx.ml", 2}, {str({1}, {"a"})},
                      {strings_attr("keys_strings", {"a"}), tensor_attr("values_tensor", i64({1}, {1}))}),
               Error);
}

TEST(LabelEncoder, Opset1ClassesBothDirections) {
  const OpSpec v1{"LabelEncoder", "ai.onnx.ml", 1};
  auto attrs = std::vector<Attribute>{strings_attr("classes_strings", {"a", "b"})};
  EXPECT_EQ(values<int64_t>(run_op(v1, {str({3}, {"b", "a", "z"})}, attrs)[0]), (std::vector<int64_t>{1, 0, -1}));
  EXPECT_EQ(values<std::string>(run_op(v1, {i64({3}, {1, 5, -1})}, attrs)[0]),
            (std::vector<std::string>{"b", "_Unused", "_Unused"}));
}

TEST(Binarizer, IntegersAndThreshold) {
  auto y = run_op({"Binarizer", "ai.onnx.ml", 1}, {i64({4}, {-1, 0, 2, 3})}, {float_attr("threshold", 1.5f)})[0];
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{0, 0, 1, 1}));
}

TEST(ArrayFeatureExtractor, OneDimInputAndOutOfRange) {
  const OpSpec op{"ArrayFeatureExtractor", "ai.onnx.ml", 1};
  auto y = run_op(op, {str({3}, {"a", "b", "c"}), i64({2}, {2, 0})})[0];
  EXPECT_EQ(y.shape(), (Shape{1, 2}));
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"c", "a"}));
  EXPECT_THROW(run_op(op, {f32({2, 2}, {1, 2, 3, 4}), i64({1}, {2})}), Error);
  EXPECT_THROW(run_op(op, {f32({2, 2}, {1, 2, 3, 4}), i64({1}, {-1})}), Error);
}

std::vector<Attribute> stump_attrs(int64_t aggregate, int64_t post) {
  // One node: x[0] <= 0.5 -> leaf 0 (target 0, weight 2), else leaf 1 (target 1, weight 1); used as two trees.
  return {tensor_attr("nodes_splits", f32({1}, {0.5f})), tensor_attr("nodes_modes", i64({1}, {0})),
          ints_attr("nodes_featureids", {0}), ints_attr("nodes_truenodeids", {0}), ints_attr("nodes_falsenodeids", {1}),
          ints_attr("nodes_trueleafs", {1}), ints_attr("nodes_falseleafs", {1}), ints_attr("leaf_targetids", {0, 1}),
          tensor_attr("leaf_weights", f32({2}, {2.0f, 1.0f})), ints_attr("tree_roots", {0, 0}),
          int_attr("n_targets", 2), int_attr("aggregate_function", aggregate), int_attr("post_transform", post)};
}

TEST(TreeEnsemble, AverageAndSoftmax) {
  const OpSpec op{"TreeEnsemble", "ai.onnx.ml", 5};
  auto avg = run_op(op, {f32({2, 1}, {0.0f, 1.0f})}, stump_attrs(0, 0))[0];
  EXPECT_EQ(values<float>(avg), (std::vector<float>{2, 0, 0, 1}));
  auto soft = run_op(op, {f32({1, 1}, {0.0f})}, stump_attrs(1, 1))[0];  // sum = [4, 0]
  EXPECT_NEAR(soft.data<float>()[0], std::exp(4.0) / (std::exp(4.0) + 1), 1e-6);
  EXPECT_THROW(run_op(op, {f32({1, 1}, {0.0f})}, stump_attrs(7, 0)), Error);
}

// ---- ai.onnx.preview.training

TEST(Momentum, FirstStepUsesUnitGradientCoefficient) {
  const OpSpec op{"Momentum", "ai.onnx.preview.training", 1, 2};
  std::vector<Attribute> attrs{float_attr("alpha", 0.5f), float_attr("beta", 0.25f),
                               float_attr("norm_coefficient", 0.0f), string_attr("mode", "standard")};
  Tensor r = f32({}, {0.1f});
  auto out = run_op(op, {r, i64({}, {0}), f32({1}, {1.0f}), f32({1}, {2.0f}), f32({1}, {4.0f})}, attrs);
  EXPECT_FLOAT_EQ(out[1].data<float>()[0], 0.5f * 4.0f + 2.0f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 1.0f - 0.1f * 4.0f);
  attrs[3] = string_attr("mode", "heavy");
  EXPECT_THROW(run_op(op, {r, i64({}, {0}), f32({1}, {1}), f32({1}, {2}), f32({1}, {4})}, attrs), Error);
}

TEST(Adagrad, RejectsMismatchedShapesAndInputCount) {
  const OpSpec op{"Adagrad", "ai.onnx.preview.training", 1, 2};
  Tensor r = f32({}, {0.1f}), t = i64({}, {0});
  EXPECT_THROW(run_op(op, {r, t, f32({2}, {1, 2}), f32({1}, {1}), f32({2}, {0, 0})}), Error);
  EXPECT_THROW(run_op({"Adagrad", "ai.onnx.preview.training", 1, 2}, {r, t, f32({1}, {1}), f32({1}, {1})}), Error);
}

// ---- random

TEST(RandomOps, SeededRunsRepeatAndShapesAreRight) {
  std::vector<Attribute> attrs{ints_attr("shape", {2, 3}), float_attr("seed", 3.0f), int_attr("dtype", 11),
                               float_attr("low", -1.0f), float_attr("high", 1.0f)};
  Tensor a = run_op({"RandomUniform", "", 22}, {}, attrs)[0];
  Tensor b = run_op({"RandomUniform", "", 22}, {}, attrs)[0];
  EXPECT_EQ(a.dtype(), DType::Float64);
  EXPECT_EQ(a.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<double>(a), values<double>(b));
  for (double v : values<double>(a)) EXPECT_TRUE(v >= -1.0 && v < 1.0);
}

TEST(RandomOps, UnseededIsNotFoldedAndDrawsAfreshEachRun) {
  Model m;
  m.ir_version = 9;
  m.opset_import = {{"", 22}};
  Node n;
  n.op_type = "RandomNormal";
  n.name = "n";
  n.attributes = {ints_attr("shape", {16})};
  n.outputs = {"y"};
  m.graph.nodes.push_back(n);
  m.graph.outputs.push_back({"y", TypeInfo::tensor(DType::Undefined), ""});
  Session s(std::move(m), {.threads = 1});
  Tensor a = s.run({})[0], b = s.run({})[0];
  EXPECT_EQ(a.shape(), (Shape{16}));
  EXPECT_NE(values<float>(a), values<float>(b));
}

TEST(RandomOps, LikeVariantsFollowInputShape) {
  Tensor x = f32({4, 0, 2}, {});
  EXPECT_EQ(run_op({"RandomNormalLike", "", 22}, {x})[0].shape(), (Shape{4, 0, 2}));
  Tensor y = run_op({"RandomUniformLike", "", 22}, {i64({3}, {1, 2, 3})}, {int_attr("dtype", 10)})[0];
  EXPECT_EQ(y.dtype(), DType::Float16);
  EXPECT_EQ(y.shape(), (Shape{3}));
  EXPECT_THROW(run_op({"RandomNormalLike", "", 22}, {i64({1}, {1})}), Error);  // int output type
}

TEST(RandomOps, BernoulliExtremesAndBadProbability) {
  Tensor y = run_op({"Bernoulli", "", 22}, {f32({4}, {0, 1, 0, 1})}, {int_attr("dtype", 9)})[0];
  EXPECT_EQ(y.dtype(), DType::Bool);
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{0, 1, 0, 1}));
  EXPECT_THROW(run_op({"Bernoulli", "", 22}, {f32({1}, {1.5f})}), Error);
}

TEST(RandomOps, MultinomialPicksOnlyPossibleClasses) {
  Tensor x = f32({2, 3}, {-INFINITY, 0.0f, -INFINITY, 0.0f, -INFINITY, -INFINITY});
  Tensor y = run_op({"Multinomial", "", 7}, {x}, {int_attr("sample_size", 5), int_attr("dtype", 7)})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 5}));
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{1, 1, 1, 1, 1, 0, 0, 0, 0, 0}));
  EXPECT_THROW(run_op({"Multinomial", "", 7}, {x}, {int_attr("dtype", 1)}), Error);
}

}  // namespace
}  // namespace hone
