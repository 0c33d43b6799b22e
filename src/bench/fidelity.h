// How close a model's outputs are to a reference's, and how often a classifier is right. Both accumulate over
// batches in double precision, so the figures over a whole data set do not depend on how it was cut into batches.
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace hone {

// Index of the largest of `n` values; the first one on ties, the first NaN if any (numpy.argmax's rule).
int64_t argmax_row(const float* v, int64_t n);

// Fidelity of outputs `out` to reference outputs `ref` of the same shape, over every element added.
class FidelityAccumulator {
 public:
  // `out` and `ref`: float32 of the same shape (throws naming both shapes otherwise).
  void add(const Tensor& out, const Tensor& ref);

  // Cosine similarity of all elements as one vector: exactly 1 when out == ref, 0 when only one side is zero.
  double cosine() const;
  // Largest |out - ref|; NaN when either side held a NaN (equal infinities agree).
  double max_abs_error() const;
  // 10 log10(sum ref^2 / sum (out - ref)^2): +inf when out == ref everywhere.
  double sqnr_db() const;
  // Share of rows of the last axis (a scalar is one row) whose argmax agrees; NaN before any row.
  double top1_agreement() const;
  int64_t elements() const { return elements_; }
  int64_t rows() const { return rows_; }

 private:
  double dot_ = 0, out_sq_ = 0, ref_sq_ = 0, err_sq_ = 0, max_abs_ = 0;
  bool nan_ = false;
  int64_t elements_ = 0, rows_ = 0, rows_agreeing_ = 0;
};

// Top-1 / top-5 accuracy of a classifier's scores against integer labels.
class AccuracyAccumulator {
 public:
  // `logits`: float32 with `n` rows of the last axis (shape [n, classes], or [n, ..., classes] with one row per
  // sample); `labels`: n class indices in [0, classes). A row holding a NaN counts as wrong. Ties rank the lower
  // class index first (as argmax does). Throws on a shape or label out of range, naming the sample.
  void add(const Tensor& logits, const int64_t* labels, int64_t n);

  double top1() const;  // fraction in [0, 1]; NaN before any sample
  double top5() const;  // NaN before any sample or when there are fewer than 5 classes
  bool has_top5() const { return count_ > 0 && classes_ >= 5; }
  int64_t count() const { return count_; }
  int64_t classes() const { return classes_; }

 private:
  int64_t count_ = 0, top1_ = 0, top5_ = 0, classes_ = 0;
};

}  // namespace hone
