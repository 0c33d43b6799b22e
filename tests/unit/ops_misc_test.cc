// String, ai.onnx.ml, training, random and linalg operators: what the conformance corpus does not cover (error
// cases, empty and rank-0 shapes, opset differences, seeds, non-ASCII case mapping).
#include <gtest/gtest.h>

#include <cmath>

#include "op_test_util.h"

namespace hone::test {
namespace {

const OpSpec kNormalizer{"StringNormalizer", "", 10};

// ---- StringNormalizer

TEST(StringNormalizer, CaseInsensitiveStopwordsAndNonAsciiUpper) {
  Tensor x = strs({4}, {"Straße", "MONDAY", "élan", "ΑΒΓ"});
  Tensor y = run_op(kNormalizer, {x},
                    {Attribute::of_string("case_change_action", "UPPER"),
                     Attribute::of_strings("stopwords", {"monday"}), Attribute::of_string("locale", "fr_FR")})[0];
  EXPECT_EQ(y.shape(), (Shape{3}));
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"STRAßE", "ÉLAN", "ΑΒΓ"}));
}

TEST(StringNormalizer, LowerCyrillicAndGreek) {
  Tensor y = run_op(kNormalizer, {strs({1, 2}, {"ПРИВЕТ", "ΣΟΦΙΑ"})},
                    {Attribute::of_string("case_change_action", "LOWER")})[0];
  EXPECT_EQ(y.shape(), (Shape{1, 2}));
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"привет", "σοφια"}));
}

TEST(StringNormalizer, CaseSensitiveKeepsOtherCase) {
  Tensor y = run_op(kNormalizer, {strs({3}, {"Monday", "monday", ""})},
                    {Attribute::of_int("is_case_sensitive", 1), Attribute::of_strings("stopwords", {"monday"})})[0];
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"Monday", ""}));
}

TEST(StringNormalizer, AllDroppedGivesOneEmptyString2D) {
  Tensor y = run_op(kNormalizer, {strs({1, 2}, {"a", "A"})}, {Attribute::of_strings("stopwords", {"a"})})[0];
  EXPECT_EQ(y.shape(), (Shape{1, 1}));
  EXPECT_EQ(y.data<std::string>()[0], "");
}

TEST(StringNormalizer, RejectsBadShapeAndAction) {
  EXPECT_THROW(run_op(kNormalizer, {strs({2, 2}, {"a", "b", "c", "d"})}), Error);
  EXPECT_THROW(run_op(kNormalizer, {strs({1}, {"a"})}, {Attribute::of_string("case_change_action", "TITLE")}), Error);
}

// ---- StringSplit / StringConcat / RegexFullMatch

TEST(StringSplit, WhitespaceWithMaxsplitKeepsRemainder) {
  auto out = run_op({"StringSplit", "", 20, 2}, {strs({2}, {"  a  b c ", ""})}, {Attribute::of_int("maxsplit", 1)});
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values<std::string>(out[0]), (std::vector<std::string>{"a", "b c ", "", ""}));
  EXPECT_EQ(values<int64_t>(out[1]), (std::vector<int64_t>{2, 0}));
}

TEST(StringSplit, DelimiterKeepsEmptyPiecesAndRank0) {
  auto out = run_op({"StringSplit", "", 20, 2}, {strs({}, {",a,,"})}, {Attribute::of_string("delimiter", ",")});
  EXPECT_EQ(out[0].shape(), (Shape{4}));
  EXPECT_EQ(values<std::string>(out[0]), (std::vector<std::string>{"", "a", "", ""}));
  EXPECT_EQ(out[1].shape(), Shape{});
  EXPECT_EQ(out[1].data<int64_t>()[0], 4);
}

TEST(StringConcat, BroadcastsAndRejectsMismatch) {
  Tensor y = run_op({"StringConcat", "", 20}, {strs({2, 1}, {"a", "b"}), strs({3}, {"x", "y", "z"})})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"ax", "ay", "az", "bx", "by", "bz"}));
  EXPECT_THROW(run_op({"StringConcat", "", 20}, {strs({2}, {"a", "b"}), strs({3}, {"x", "y", "z"})}), Error);
}

TEST(RegexFullMatch, FullNotPartialAndBadPattern) {
  Tensor y = run_op({"RegexFullMatch", "", 20}, {strs({3}, {"abc", "xabc", "ab"})},
                    {Attribute::of_string("pattern", "a\\w+")})[0];
  EXPECT_EQ(y.dtype(), DType::Bool);
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_THROW(run_op({"RegexFullMatch", "", 20}, {strs({1}, {"a"})}, {Attribute::of_string("pattern", "(a")}), Error);
}

// ---- TfIdfVectorizer

std::vector<Attribute> tfidf_attrs(const std::string& mode) {
  return {Attribute::of_int("min_gram_length", 1),
          Attribute::of_int("max_gram_length", 2),
          Attribute::of_int("max_skip_count", 0),
          Attribute::of_string("mode", mode),
          Attribute::of_ints("ngram_counts", {0, 2}),
          Attribute::of_ints("ngram_indexes", {0, 1, 2}),
          Attribute::of_strings("pool_strings", {"a", "b", "a", "b"}),
          Attribute::of_floats("weights", {0.5f, 2.0f, 4.0f})};
}

TEST(TfIdfVectorizer, StringsTfidfWeights) {
  Tensor x = strs({2, 3}, {"a", "b", "a", "b", "b", "c"});
  Tensor y = run_op({"TfIdfVectorizer", "", 9}, {x}, tfidf_attrs("TFIDF"))[0];
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  // row 0: a x2, b x1, "a b" x1; row 1: b x2.
  EXPECT_EQ(values<float>(y), (std::vector<float>{1.0f, 2.0f, 4.0f, 0.0f, 4.0f, 0.0f}));
  Tensor idf = run_op({"TfIdfVectorizer", "", 9}, {x}, tfidf_attrs("IDF"))[0];
  EXPECT_EQ(values<float>(idf), (std::vector<float>{0.5f, 2.0f, 4.0f, 0.0f, 2.0f, 0.0f}));
}

TEST(TfIdfVectorizer, RejectsBadModeAndRank) {
  auto attrs = tfidf_attrs("BM25");
  EXPECT_THROW(run_op({"TfIdfVectorizer", "", 9}, {strs({1}, {"a"})}, attrs), Error);
  EXPECT_THROW(run_op({"TfIdfVectorizer", "", 9}, {strs({1, 1, 1}, {"a"})}, tfidf_attrs("TF")), Error);
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
                  {Attribute::of_floats("keys_floats", {1.5f, 2.0f}), Attribute::of_strings("values_strings", {"x", "y"}),
                   Attribute::of_string("default_string", "?")})[0];
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"x", "y", "?"}));
}

TEST(LabelEncoder, Opset4TensorKeysMatchNaNAndDefaultInt) {
  auto y = run_op(
      {"LabelEncoder", "ai.onnx.ml", 4}, {f64({3}, {NAN, 3.0, 7.0})},
      {Attribute::of_tensor("keys_tensor", f64({2}, {NAN, 3.0})), Attribute::of_ints("values_int64s", {10, 30})})[0];
  EXPECT_EQ(y.dtype(), DType::Int64);
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{10, 30, -1}));
}

TEST(LabelEncoder, RejectsMismatchedLengthsTypesAndTensorsBeforeOpset4) {
  const OpSpec v4{"LabelEncoder", "ai.onnx.ml", 4};
  EXPECT_THROW(run_op(v4, {strs({1}, {"a"})},
                      {Attribute::of_strings("keys_strings", {"a", "b"}), Attribute::of_ints("values_int64s", {1})}),
               Error);
  EXPECT_THROW(run_op(v4, {i64({1}, {1})},
                      {Attribute::of_strings("keys_strings", {"a"}), Attribute::of_ints("values_int64s", {1})}),
               Error);
  EXPECT_THROW(
      run_op({"LabelEncoder", "ai.onnx.ml", 2}, {strs({1}, {"a"})},
             {Attribute::of_strings("keys_strings", {"a"}), Attribute::of_tensor("values_tensor", i64({1}, {1}))}),
      Error);
}

TEST(LabelEncoder, Opset1ClassesBothDirections) {
  const OpSpec v1{"LabelEncoder", "ai.onnx.ml", 1};
  auto attrs = std::vector<Attribute>{Attribute::of_strings("classes_strings", {"a", "b"})};
  EXPECT_EQ(values<int64_t>(run_op(v1, {strs({3}, {"b", "a", "z"})}, attrs)[0]), (std::vector<int64_t>{1, 0, -1}));
  EXPECT_EQ(values<std::string>(run_op(v1, {i64({3}, {1, 5, -1})}, attrs)[0]),
            (std::vector<std::string>{"b", "_Unused", "_Unused"}));
}

TEST(Binarizer, IntegersAndThreshold) {
  auto y = run_op({"Binarizer", "ai.onnx.ml", 1}, {i64({4}, {-1, 0, 2, 3})}, {Attribute::of_float("threshold", 1.5f)})[0];
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{0, 0, 1, 1}));
}

TEST(ArrayFeatureExtractor, OneDimInputAndOutOfRange) {
  const OpSpec op{"ArrayFeatureExtractor", "ai.onnx.ml", 1};
  auto y = run_op(op, {strs({3}, {"a", "b", "c"}), i64({2}, {2, 0})})[0];
  EXPECT_EQ(y.shape(), (Shape{1, 2}));
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"c", "a"}));
  EXPECT_THROW(run_op(op, {f32({2, 2}, {1, 2, 3, 4}), i64({1}, {2})}), Error);
  EXPECT_THROW(run_op(op, {f32({2, 2}, {1, 2, 3, 4}), i64({1}, {-1})}), Error);
}

std::vector<Attribute> stump_attrs(int64_t aggregate, int64_t post) {
  // One node: x[0] <= 0.5 -> leaf 0 (target 0, weight 2), else leaf 1 (target 1, weight 1); used as two trees.
  return {Attribute::of_tensor("nodes_splits", f32({1}, {0.5f})),
          Attribute::of_tensor("nodes_modes", i64({1}, {0})),
          Attribute::of_ints("nodes_featureids", {0}),
          Attribute::of_ints("nodes_truenodeids", {0}),
          Attribute::of_ints("nodes_falsenodeids", {1}),
          Attribute::of_ints("nodes_trueleafs", {1}),
          Attribute::of_ints("nodes_falseleafs", {1}),
          Attribute::of_ints("leaf_targetids", {0, 1}),
          Attribute::of_tensor("leaf_weights", f32({2}, {2.0f, 1.0f})),
          Attribute::of_ints("tree_roots", {0, 0}),
          Attribute::of_int("n_targets", 2),
          Attribute::of_int("aggregate_function", aggregate),
          Attribute::of_int("post_transform", post)};
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
  std::vector<Attribute> attrs{Attribute::of_float("alpha", 0.5f), Attribute::of_float("beta", 0.25f),
                               Attribute::of_float("norm_coefficient", 0.0f), Attribute::of_string("mode", "standard")};
  Tensor r = f32({}, {0.1f});
  auto out = run_op(op, {r, i64({}, {0}), f32({1}, {1.0f}), f32({1}, {2.0f}), f32({1}, {4.0f})}, attrs);
  EXPECT_FLOAT_EQ(out[1].data<float>()[0], 0.5f * 4.0f + 2.0f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 1.0f - 0.1f * 4.0f);
  attrs[3] = Attribute::of_string("mode", "heavy");
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
  std::vector<Attribute> attrs{Attribute::of_ints("shape", {2, 3}), Attribute::of_float("seed", 3.0f),
                               Attribute::of_int("dtype", 11), Attribute::of_float("low", -1.0f),
                               Attribute::of_float("high", 1.0f)};
  Tensor a = run_op({"RandomUniform", "", 22}, {}, attrs)[0];
  Tensor b = run_op({"RandomUniform", "", 22}, {}, attrs)[0];
  EXPECT_EQ(a.dtype(), DType::Float64);
  EXPECT_EQ(a.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<double>(a), values<double>(b));
  for (double v : values<double>(a)) EXPECT_TRUE(v >= -1.0 && v < 1.0);
}

TEST(RandomOps, UnseededIsNotFoldedAndDrawsAfreshEachRun) {
  Session s(one_node_model({"RandomNormal", "", 22}, {}, {Attribute::of_ints("shape", {16})}), {.threads = 1});
  Tensor a = s.run({})[0], b = s.run({})[0];
  EXPECT_EQ(a.shape(), (Shape{16}));
  EXPECT_NE(values<float>(a), values<float>(b));
}

TEST(RandomOps, LikeVariantsFollowInputShape) {
  Tensor x = f32({4, 0, 2}, {});
  EXPECT_EQ(run_op({"RandomNormalLike", "", 22}, {x})[0].shape(), (Shape{4, 0, 2}));
  Tensor y = run_op({"RandomUniformLike", "", 22}, {i64({3}, {1, 2, 3})}, {Attribute::of_int("dtype", 10)})[0];
  EXPECT_EQ(y.dtype(), DType::Float16);
  EXPECT_EQ(y.shape(), (Shape{3}));
  EXPECT_THROW(run_op({"RandomNormalLike", "", 22}, {i64({1}, {1})}), Error);  // int output type
}

TEST(RandomOps, BernoulliExtremesAndBadProbability) {
  Tensor y = run_op({"Bernoulli", "", 22}, {f32({4}, {0, 1, 0, 1})}, {Attribute::of_int("dtype", 9)})[0];
  EXPECT_EQ(y.dtype(), DType::Bool);
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{0, 1, 0, 1}));
  EXPECT_THROW(run_op({"Bernoulli", "", 22}, {f32({1}, {1.5f})}), Error);
}

TEST(RandomOps, MultinomialPicksOnlyPossibleClasses) {
  Tensor x = f32({2, 3}, {-INFINITY, 0.0f, -INFINITY, 0.0f, -INFINITY, -INFINITY});
  Tensor y = run_op({"Multinomial", "", 7}, {x}, {Attribute::of_int("sample_size", 5), Attribute::of_int("dtype", 7)})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 5}));
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{1, 1, 1, 1, 1, 0, 0, 0, 0, 0}));
  EXPECT_THROW(run_op({"Multinomial", "", 7}, {x}, {Attribute::of_int("dtype", 1)}), Error);
}

}  // namespace
}  // namespace hone
