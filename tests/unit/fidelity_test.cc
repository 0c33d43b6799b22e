// Fidelity and accuracy metrics (bench/fidelity.h) against straightforward formulas in long double, on hand-made
// cases (ties, NaN, identical outputs, zero vectors) and on the Fashion-MNIST logits fixture.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "bench/fidelity.h"
#include "data/npy.h"
#include "test_paths.h"

namespace hone {
namespace {

Tensor floats(Shape shape, std::vector<float> v) {
  Tensor t(DType::Float32, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), v.size());
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

Tensor random_floats(Shape shape, std::mt19937& rng, float scale = 1) {
  Tensor t(DType::Float32, std::move(shape));
  std::normal_distribution<float> d(0, scale);
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Fidelity, MatchesTheFormulasAndDoesNotDependOnBatching) {
  std::mt19937 rng(7);
  Tensor ref = random_floats({37, 13}, rng);
  Tensor noise = random_floats({37, 13}, rng, 0.05f);
  Tensor out = ref.clone();
  for (int64_t i = 0; i < out.numel(); ++i) out.data<float>()[i] += noise.data<float>()[i];

  long double dot = 0, oo = 0, rr = 0, ee = 0, mx = 0;
  for (int64_t i = 0; i < out.numel(); ++i) {
    long double a = out.data<float>()[i], b = ref.data<float>()[i];
    dot += a * b, oo += a * a, rr += b * b, ee += (a - b) * (a - b);
    mx = std::max(mx, std::fabs(a - b));
  }
  int64_t agree = 0;
  for (int64_t r = 0; r < 37; ++r) {
    int64_t ia = 0, ib = 0;
    for (int64_t c = 1; c < 13; ++c) {
      if (out.data<float>()[r * 13 + c] > out.data<float>()[r * 13 + ia]) ia = c;
      if (ref.data<float>()[r * 13 + c] > ref.data<float>()[r * 13 + ib]) ib = c;
    }
    agree += ia == ib;
  }
  ASSERT_LT(agree, 37) << "the noise should flip at least one row's argmax";

  FidelityAccumulator whole;
  whole.add(out, ref);
  EXPECT_NEAR(whole.cosine(), static_cast<double>(dot / std::sqrt(oo * rr)), 1e-12);
  EXPECT_NEAR(whole.sqnr_db(), static_cast<double>(10 * std::log10(rr / ee)), 1e-9);
  EXPECT_EQ(whole.max_abs_error(), static_cast<double>(mx));
  EXPECT_EQ(whole.top1_agreement(), static_cast<double>(agree) / 37);
  EXPECT_EQ(whole.elements(), 37 * 13);
  EXPECT_EQ(whole.rows(), 37);

  // The same data in batches of 1, 5 and the rest.
  FidelityAccumulator parts;
  int64_t first = 0;
  for (int64_t count : {1, 5, 31}) {
    parts.add(Tensor::borrow(DType::Float32, {count, 13}, out.data<float>() + first * 13),
              Tensor::borrow(DType::Float32, {count, 13}, ref.data<float>() + first * 13));
    first += count;
  }
  EXPECT_NEAR(parts.cosine(), whole.cosine(), 1e-12);
  EXPECT_NEAR(parts.sqnr_db(), whole.sqnr_db(), 1e-9);
  EXPECT_EQ(parts.max_abs_error(), whole.max_abs_error());
  EXPECT_EQ(parts.top1_agreement(), whole.top1_agreement());
}

TEST(Fidelity, IdenticalOutputsGiveCosineOneAndInfiniteSqnr) {
  Tensor a = floats({2, 3}, {1, -2, 3, 0, 0.5f, INFINITY});
  FidelityAccumulator f;
  f.add(a, a);
  EXPECT_EQ(f.max_abs_error(), 0);
  EXPECT_TRUE(std::isinf(f.sqnr_db()) && f.sqnr_db() > 0);
  EXPECT_EQ(f.top1_agreement(), 1);
  std::mt19937 rng(1);
  Tensor r = random_floats({1000}, rng);
  FidelityAccumulator same;
  same.add(r, r);
  EXPECT_EQ(same.cosine(), 1);  // exactly, though the sums round
  FidelityAccumulator zeros;
  Tensor z(DType::Float32, {4});
  zeros.add(z, z);
  EXPECT_EQ(zeros.cosine(), 1);
  EXPECT_TRUE(std::isinf(zeros.sqnr_db()));
}

TEST(Fidelity, HandMadeValues) {
  // out = [3, 4], ref = [3, 0]: error 4, sqnr 10 log10(9 / 16), cosine 9 / (5 * 3).
  FidelityAccumulator f;
  f.add(floats({2}, {3, 4}), floats({2}, {3, 0}));
  EXPECT_DOUBLE_EQ(f.max_abs_error(), 4);
  EXPECT_DOUBLE_EQ(f.sqnr_db(), 10 * std::log10(9.0 / 16.0));
  EXPECT_DOUBLE_EQ(f.cosine(), 0.6);
  EXPECT_EQ(f.top1_agreement(), 0);  // one row: argmax 1 against 0
  FidelityAccumulator one_zero;
  one_zero.add(floats({2}, {0, 0}), floats({2}, {1, 0}));
  EXPECT_EQ(one_zero.cosine(), 0);
  // Ties take the first index on both sides; a scalar is one row.
  FidelityAccumulator ties;
  ties.add(floats({2, 3}, {5, 5, 1, 2, 7, 7}), floats({2, 3}, {5, 4, 5, 1, 7, 7}));
  EXPECT_EQ(ties.top1_agreement(), 1);
  FidelityAccumulator scalar;
  scalar.add(floats({}, {2}), floats({}, {1}));
  EXPECT_EQ(scalar.rows(), 1);
  EXPECT_EQ(scalar.top1_agreement(), 1);
  EXPECT_TRUE(std::isnan(FidelityAccumulator().top1_agreement()));
}

TEST(Fidelity, NanIsReportedNotHidden) {
  FidelityAccumulator f;
  f.add(floats({3}, {1, NAN, 2}), floats({3}, {1, 1, 2}));
  EXPECT_TRUE(std::isnan(f.max_abs_error()));
  EXPECT_TRUE(std::isnan(f.sqnr_db()));
  EXPECT_TRUE(std::isnan(f.cosine()));
  EXPECT_EQ(f.top1_agreement(), 0);  // argmax picks the NaN
}

TEST(Fidelity, RefusesMismatchedShapesAndTypes) {
  FidelityAccumulator f;
  std::string e = error_of([&] { f.add(Tensor(DType::Float32, {2, 3}), Tensor(DType::Float32, {3, 2})); });
  EXPECT_NE(e.find("[2x3]"), std::string::npos) << e;
  EXPECT_NE(e.find("[3x2]"), std::string::npos) << e;
  e = error_of([&] { f.add(Tensor(DType::Int32, {2}), Tensor(DType::Float32, {2})); });
  EXPECT_NE(e.find("float32"), std::string::npos) << e;
  EXPECT_EQ(f.elements(), 0);
}

TEST(Accuracy, TopOneAndTopFiveWithTies) {
  // 6 classes. Row 0: label 2 is the max. Row 1: label 0 ranks 3rd. Row 2: label 5 ties with 0 and 1 for the max
  // and ranks 3rd (lower indices first). Row 3: label 4 ranks last (6th). Row 4: a NaN: wrong. Row 5: label 0 ties
  // with 4 for the max and ranks first.
  Tensor logits = floats({6, 6}, {0, 1, 9, 2, 3, 4,  //
                                  1, 3, 2, 0, 0, 0,  //
                                  7, 7, 1, 1, 1, 7,  //
                                  6, 5, 4, 3, 0, 1,  //
                                  NAN, 0, 0, 0, 9, 0,  //
                                  3, 0, 0, 0, 3, 0});
  std::vector<int64_t> labels = {2, 0, 5, 4, 4, 0};
  AccuracyAccumulator a;
  a.add(logits, labels.data(), 6);
  EXPECT_EQ(a.count(), 6);
  EXPECT_EQ(a.classes(), 6);
  EXPECT_DOUBLE_EQ(a.top1(), 2.0 / 6);
  EXPECT_DOUBLE_EQ(a.top5(), 4.0 / 6);
  // Row by row gives the same.
  AccuracyAccumulator b;
  for (int64_t r = 0; r < 6; ++r) b.add(Tensor::borrow(DType::Float32, {1, 6}, logits.data<float>() + r * 6), &labels[r], 1);
  EXPECT_EQ(b.top1(), a.top1());
  EXPECT_EQ(b.top5(), a.top5());
}

TEST(Accuracy, TopFiveNeedsFiveClassesAndLabelsMustFit) {
  AccuracyAccumulator a;
  EXPECT_TRUE(std::isnan(a.top1()));
  std::vector<int64_t> labels = {1, 0};
  a.add(floats({2, 3}, {0, 1, 0, 1, 0, 0}), labels.data(), 2);
  EXPECT_EQ(a.top1(), 1);
  EXPECT_FALSE(a.has_top5());
  EXPECT_TRUE(std::isnan(a.top5()));
  std::vector<int64_t> bad = {0, 3};
  std::string e = error_of([&] { a.add(floats({2, 3}, {0, 1, 0, 1, 0, 0}), bad.data(), 2); });
  EXPECT_NE(e.find("label 3 of sample 3"), std::string::npos) << e;
  EXPECT_NE(e.find("3 classes"), std::string::npos) << e;
  e = error_of([&] { a.add(floats({3, 2}, {0, 1, 0, 1, 0, 0}), labels.data(), 2); });
  EXPECT_NE(e.find("[3x2]"), std::string::npos) << e;
  EXPECT_EQ(a.count(), 2);
}

TEST(Accuracy, FashionMnistLogitsFixtureGivesTheRecordedAccuracy) {
  Tensor logits = read_npy_file(test::fixture("fashion_mnist_test_1000_cnn_logits.npy"));
  Tensor labels = read_npy_file(test::fixture("fashion_mnist_test_1000_labels.npy"));
  std::vector<int64_t> l = labels.to_int64_vector();
  AccuracyAccumulator a;
  a.add(logits, l.data(), 1000);
  EXPECT_DOUBLE_EQ(a.top1(), 0.903);  // tests/fixtures/fashion_mnist.json: test_1000_accuracy
  EXPECT_GT(a.top5(), a.top1());
  EXPECT_LE(a.top5(), 1.0);
}

}  // namespace
}  // namespace hone
