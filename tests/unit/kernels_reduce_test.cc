// Hone's vectorized reductions (Reduce*, ArgMax/ArgMin) and Softmax / LogSoftmax / Hardmax against the reference
// kernels, on every ISA tier this machine has and in both layouts: reduced and kept extents around vector widths
// (1, 7, 15, 16, 17, 31, 33, 64, 1000), every axis pattern that collapses to rows or columns, special values, a fixed
// seed. Max, Min, the arg-extremes and Hardmax must match bit for bit; sums within 1e-5 of the magnitude they cancel
// from (sum |x|); exponentials within a few ulp.
#include <gtest/gtest.h>

#include "kernel_test_util.h"

namespace hone {
namespace {

using test::expect_fast;
using test::expect_near;
using test::expect_ulp;
using test::int_attr;
using test::ints_attr;
using test::kInf;
using test::kNan;
using test::label;
using test::NodeCase;
using test::Outcome;
using test::random_f32;
using test::tiers;

Tensor axes_tensor(const std::vector<int64_t>& axes) {
  Tensor t(DType::Int64, {static_cast<int64_t>(axes.size())});
  for (size_t i = 0; i < axes.size(); ++i) t.data<int64_t>()[i] = axes[i];
  return t;
}

// A Reduce* node with axes as the opset wants them: input 1 (a constant) from ReduceSum 13 / the others 18, else the
// attribute. Empty axes: omitted.
NodeCase reduce_node(const std::string& op, int64_t opset, const Tensor& x, const std::vector<int64_t>& axes,
                     bool keepdims, Layout layout = Layout::Plain) {
  NodeCase c{.op = op, .opset = opset, .inputs = {x}, .attrs = {int_attr("keepdims", keepdims ? 1 : 0)}, .layout = layout};
  bool from_input = op == "ReduceSum" ? opset >= 13 : opset >= 18;
  if (from_input && !axes.empty()) {
    c.inputs.push_back(axes_tensor(axes));
    c.constant = {false, true};
  } else if (!axes.empty()) {
    c.attrs.push_back(ints_attr("axes", axes));
  }
  return c;
}

struct ReduceOpCase {
  const char* op;
  float lo, hi;
  bool specials;  // inf, NaN, -0 sprinkled in (exact ops)
  double rtol;    // 0: bit for bit
  bool cancels;   // error relative to sum |x| (ReduceL1 of the same input), not to the result
};

const std::vector<ReduceOpCase> kReduceOps = {
    {"ReduceSum", -1, 1, false, 1e-5, true},       {"ReduceMean", -1, 1, false, 1e-5, true},
    {"ReduceMax", -5, 5, true, 0, false},          {"ReduceMin", -5, 5, true, 0, false},
    {"ReduceProd", 0.9f, 1.1f, false, 1e-4, false}, {"ReduceL1", -1, 1, false, 1e-5, false},
    {"ReduceL2", -1, 1, false, 1e-5, false},       {"ReduceLogSum", 0, 1, false, 1e-5, false},
    {"ReduceLogSumExp", -20, 20, false, 1e-5, false}, {"ReduceSumSquare", -1, 1, false, 1e-5, false},
};

struct AxesCase {
  Shape shape;
  std::vector<int64_t> axes;
};

const std::vector<AxesCase> kAxesCases = {
    {{1000}, {0}},          {{7}, {-1}},             {{3, 17}, {1}},           {{3, 17}, {0}},
    {{5, 33}, {0, 1}},      {{2, 64, 15}, {2}},      {{2, 64, 15}, {1}},       {{2, 64, 15}, {0}},
    {{2, 16, 7, 7}, {2, 3}}, {{2, 31, 5, 5}, {1}},   {{1, 33, 4, 4}, {1, 2, 3}}, {{2, 3, 4, 5}, {0, 1}},
    {{4, 1, 16, 1}, {2}},   {{2, 7, 1, 9}, {1, 2}},  {{1, 1, 1}, {1}},         {{3, 1}, {1}},
    {{2, 3, 4}, {}},        {{17, 31}, {-2}},        {{2, 1000, 3}, {1}},      {{1, 256, 56, 56}, {2, 3}},
    {{1, 64, 1000}, {1}},   {{1, 3, 100000}, {1}},   {{100000, 2}, {1}},
};

TEST(KernelsReduce, ReductionsMatchReference) {
  for (Isa isa : tiers())
    for (const ReduceOpCase& rc : kReduceOps)
      for (const AxesCase& ac : kAxesCases)
        for (bool keepdims : {true, false})
          for (int64_t opset : {13, 18}) {
            Tensor x = random_f32(ac.shape, rc.lo, rc.hi, 51 + static_cast<uint32_t>(ac.shape.size()), rc.specials);
            NodeCase c = reduce_node(rc.op, opset, x, ac.axes, keepdims);
            std::string what = label(isa, rc.op, ac.shape, "axes " + shape_str(ac.axes) + (keepdims ? " keep" : "") +
                                                             " opset " + std::to_string(opset));
            Outcome o = test::run_both(isa, c);
            expect_fast(o, isa, what);
            if (rc.rtol == 0) {
              expect_ulp(o, 0, what);
              continue;
            }
            std::vector<double> scale;
            if (rc.cancels) {
              Outcome l1 = test::run_both(isa, reduce_node("ReduceL1", opset, x, ac.axes, keepdims));
              double count = static_cast<double>(x.numel()) / static_cast<double>(std::max<int64_t>(1, l1.reference[0].numel()));
              for (int64_t i = 0; i < l1.reference[0].numel(); ++i)
                scale.push_back(l1.reference[0].get_double(i) / (std::string(rc.op) == "ReduceMean" ? count : 1.0));
            } else if (std::string(rc.op) == "ReduceLogSum" || std::string(rc.op) == "ReduceLogSumExp") {
              scale.assign(static_cast<size_t>(o.reference[0].numel()), 1.0);
            }
            expect_near(o, rc.rtol, what, scale);
          }
}

// Max / Min: the first extreme wins, so rows of zeros of both signs keep the reference's sign; NaN anywhere wins.
TEST(KernelsReduce, MaxMinSignedZerosAndNaN) {
  for (Isa isa : tiers())
    for (int64_t n : {1, 7, 16, 17, 33, 64, 1000})
      for (const char* op : {"ReduceMax", "ReduceMin"}) {
        Tensor x(DType::Float32, {4, n});
        float* p = x.data<float>();
        for (int64_t i = 0; i < 4 * n; ++i) p[i] = (i * 7919 % 5 == 0) ? -0.0f : 0.0f;
        p[n - 1] = -1.0f;
        p[2 * n + n / 2] = kNan;
        p[3 * n] = -kInf;
        for (bool by_columns : {false, true}) {
          Tensor in = by_columns ? x.reshaped({4, n, 1}) : x;
          Outcome o = test::run_both(isa, reduce_node(op, 18, in, {by_columns ? 0 : 1}, false));
          std::string what = label(isa, op, in.shape(), by_columns ? "columns" : "rows");
          expect_fast(o, isa, what);
          expect_ulp(o, 0, what);
        }
      }
}

TEST(KernelsReduce, UnsupportedStaysOnReference) {
  Tensor x = random_f32({2, 3, 4}, -1, 1, 61);
  EXPECT_EQ(test::run_both(test::top_tier(), reduce_node("ReduceSum", 18, x, {0, 2}, true)).kernel, "reference");
  NodeCase c = reduce_node("ReduceMean", 18, x, {1}, true);
  c.constant = {false, false};  // axes known only at run time
  EXPECT_EQ(test::run_both(test::top_tier(), c).kernel, "reference");
  c = reduce_node("ReduceMean", 18, x, {}, true);
  c.attrs.push_back(int_attr("noop_with_empty_axes", 1));
  EXPECT_EQ(test::run_both(test::top_tier(), c).kernel, "reference");
  EXPECT_EQ(test::run_both(test::top_tier(), reduce_node("ReduceMean", 18, random_f32({2, 0, 3}, -1, 1, 62), {1}, true)).kernel,
            "reference");
}

const std::vector<int64_t> kChannels = {1, 7, 15, 16, 17, 31, 33, 64};

TEST(KernelsReduce, ReductionsChannelsLast) {
  const std::vector<std::pair<std::vector<int64_t>, bool>> accepted = {
      {{2, 3}, true}, {{2, 3}, false}, {{1}, true}, {{1}, false}, {{1, 2, 3}, true}, {{1, 2, 3}, false},
      {{3}, true},    {{2}, true},     {{0}, true}, {{0, 1, 2, 3}, false}};
  for (Isa isa : tiers())
    for (int64_t ch : kChannels)
      for (const char* op : {"ReduceMean", "ReduceMax", "ReduceSumSquare"})
        for (const auto& [axes, keepdims] : accepted) {
          Shape s = {2, ch, 5, 7};
          NodeCase c = reduce_node(op, 18, random_f32(s, -1, 1, 63, false), axes, keepdims, Layout::ChannelsLast);
          std::string what = label(isa, op, s, "axes " + shape_str(axes) + (keepdims ? " keep" : "") + " channels-last");
          Outcome o = test::run_both(isa, c);
          expect_fast(o, isa, what);
          expect_near(o, 1e-5, what, std::vector<double>(static_cast<size_t>(o.reference[0].numel()), 1.0));
        }
  // Kept dims that would come out in N,H,W,C order into a plain (lower-rank) output: declined.
  // And axes that do not collapse into one run in plain order ((0,2,3) would in N,H,W,C order, but the planner only
  // asks about channels-last a kernel that applies to the plain query).
  for (const std::vector<int64_t>& axes : {std::vector<int64_t>{2}, std::vector<int64_t>{3}, std::vector<int64_t>{0, 3},
                                           std::vector<int64_t>{0, 2, 3}}) {
    NodeCase c = reduce_node("ReduceMean", 18, random_f32({2, 7, 5, 3}, -1, 1, 64), axes, false, Layout::ChannelsLast);
    EXPECT_EQ(test::run_both(test::top_tier(), c).kernel, "declined") << shape_str(axes);
  }
}

// ---- ArgMax / ArgMin ----

// Small integers, so that rows have ties; NaN and signed zeros in some rows.
Tensor tie_values(const Shape& shape, uint32_t seed) {
  Tensor t = random_f32(shape, -3, 3, seed, false);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::round(p[i]);
  for (int64_t i = 0; i < t.numel(); ++i)
    if (p[i] == 0.0f && i % 3 == 0) p[i] = -0.0f;
  if (t.numel() > 20) p[t.numel() - 5] = kNan;
  if (t.numel() > 40) p[t.numel() / 2] = kNan;
  return t;
}

TEST(KernelsReduce, ArgMaxArgMinLastAxis) {
  for (Isa isa : tiers())
    for (int64_t n : {1, 7, 15, 16, 17, 31, 33, 64, 1000})
      for (const char* op : {"ArgMax", "ArgMin"})
        for (int64_t opset : {11, 13})
          for (int64_t last : {0, 1})
            for (int64_t keepdims : {0, 1}) {
              Shape s = {5, n};
              NodeCase c{.op = op, .opset = opset, .inputs = {tie_values(s, 71 + static_cast<uint32_t>(n))},
                         .attrs = {int_attr("axis", -1), int_attr("keepdims", keepdims)}};
              if (opset >= 12) c.attrs.push_back(int_attr("select_last_index", last));
              std::string what = label(isa, op, s, "last " + std::to_string(last) + " opset " + std::to_string(opset));
              Outcome o = test::run_both(isa, c);
              expect_fast(o, isa, what);
              expect_near(o, 0, what);
            }
}

// Not the innermost axis: columns, vectorized across the dims after the axis.
TEST(KernelsReduce, ArgMaxArgMinOtherAxes) {
  const std::vector<std::pair<Shape, int64_t>> cases = {{{3, 17, 1}, 1}, {{3, 17, 2}, 1}, {{7, 33}, 0},
                                                        {{2, 16, 5, 5}, 1}, {{4, 31, 15}, 0}, {{1, 1000, 49}, 1},
                                                        {{2, 64, 17}, 1}, {{1, 10, 20000}, 1}};
  for (Isa isa : tiers())
    for (const auto& [s, axis] : cases)
      for (const char* op : {"ArgMax", "ArgMin"})
        for (int64_t last : {0, 1}) {
          NodeCase c{.op = op, .opset = 13, .inputs = {tie_values(s, 75)},
                     .attrs = {int_attr("axis", axis), int_attr("select_last_index", last)}};
          std::string what = label(isa, op, s, "axis " + std::to_string(axis) + " last " + std::to_string(last));
          Outcome o = test::run_both(isa, c);
          expect_fast(o, isa, what);
          expect_near(o, 0, what);
        }
  // Channels-last: the int64 output is plain, so the kept dims must come out of N,H,W,C in N,C,H,W order.
  for (Isa isa : tiers())
    for (int64_t ch : kChannels)
      for (int64_t axis : {1, 0}) {
        NodeCase c{.op = "ArgMax", .opset = 13, .inputs = {tie_values({2, ch, 3, 5}, 74)},
                   .attrs = {int_attr("axis", axis)}, .layout = Layout::ChannelsLast};
        Outcome o = test::run_both(isa, c);
        std::string what = label(isa, "ArgMax", {2, ch, 3, 5}, "channels-last axis " + std::to_string(axis));
        if (axis == 0 && ch > 1) {
          EXPECT_EQ(o.kernel, "declined") << what;
          continue;
        }
        expect_fast(o, isa, what);
        expect_near(o, 0, what);
      }
}

// ---- Softmax family ----

struct SoftmaxCase {
  Shape shape;
  int64_t axis;
};

const std::vector<SoftmaxCase> kSoftmaxCases = {
    {{1}, -1},        {{7}, 0},          {{3, 8}, -1},     {{5, 9}, 1},          {{2, 3, 17}, -1},
    {{4, 129}, -1},   {{40, 6625}, -1},  {{2, 100003}, -1}, {{1, 1000, 49}, 1},  {{7, 33}, 0},
    {{2, 17, 3, 5}, 1}, {{2, 3, 4, 5}, 2}, {{16, 64}, 0},    {{1, 64, 1000}, 1}, {{3, 31, 15}, 1},
    {{2, 15, 16, 17}, 0}, {{1, 2000, 70}, 1}};

TEST(KernelsReduce, SoftmaxAnyAxis) {
  for (Isa isa : tiers())
    for (const SoftmaxCase& sc : kSoftmaxCases)
      for (int64_t opset : {11, 13})
        for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
          std::string what = label(isa, op, sc.shape, "axis " + std::to_string(sc.axis) + " opset " + std::to_string(opset));
          bool hard = std::string(op) == "Hardmax";
          Tensor x = hard ? tie_values(sc.shape, 81) : random_f32(sc.shape, -20, 20, 81, false);
          NodeCase c{.op = op, .opset = opset, .inputs = {x}, .attrs = {int_attr("axis", sc.axis)}};
          Outcome o = test::run_both(isa, c);
          int64_t rank = static_cast<int64_t>(sc.shape.size());
          int64_t axis = sc.axis < 0 ? sc.axis + rank : sc.axis;
          int64_t inner = 1;
          for (int64_t d = axis + 1; d < rank; ++d) inner *= sc.shape[static_cast<size_t>(d)];
          if (hard && opset >= 13 && inner > 1) {  // Hardmax runs rows only
            EXPECT_EQ(o.kernel, "reference") << what;
            continue;
          }
          expect_fast(o, isa, what);
          if (hard) expect_ulp(o, 0, what);
          else if (std::string(op) == "Softmax") expect_ulp(o, 8, what);
          else expect_near(o, 1e-6, what, std::vector<double>(static_cast<size_t>(x.numel()), 1.0));
          if (hard) continue;
          // Large magnitudes: the maximum keeps every exponential in range.
          c.inputs = {random_f32(sc.shape, -1e4f, 1e4f, 82, false)};
          o = test::run_both(isa, c);
          if (std::string(op) == "Softmax") expect_ulp(o, 8, what + " large");
          else expect_near(o, 1e-6, what + " large", std::vector<double>(static_cast<size_t>(x.numel()), 1.0));
        }
}

// A NaN poisons its row (or column), -inf contributes 0, a row of -inf is NaN: as in the reference.
TEST(KernelsReduce, SoftmaxSpecialValues) {
  for (Isa isa : tiers())
    for (const char* op : {"Softmax", "LogSoftmax"})
      for (int64_t axis : {1, 0}) {
        Tensor x = random_f32({21, 21}, -5, 5, 83, false);
        float* p = x.data<float>();
        p[4] = kNan;
        p[21 + 3] = -kInf;
        for (int k = 0; k < 21; ++k) p[2 * 21 + k] = -kInf;
        p[5 * 21 + 6] = kInf;
        NodeCase c{.op = op, .opset = 13, .inputs = {x}, .attrs = {int_attr("axis", axis)}};
        Outcome o = test::run_both(isa, c);
        std::string what = label(isa, op, x.shape(), "specials axis " + std::to_string(axis));
        expect_fast(o, isa, what);
        expect_near(o, 1e-6, what, std::vector<double>(static_cast<size_t>(x.numel()), 1.0));
      }
}

TEST(KernelsReduce, HardmaxChannelsLast) {
  // Hardmax runs rows only, so over C (opset 13, axis 1) only when H * W == 1 (it declines columns in plain order
  // already); the legacy flattening from N or C would visit values in another order than the plain one, which
  // changes which maximum is first: declined.
  for (Isa isa : tiers())
    for (int64_t ch : kChannels)
      for (int64_t opset : {11, 13})
        for (int64_t hw : {1, 3}) {
          Shape s = {2, ch, hw, hw};
          NodeCase c{.op = "Hardmax", .opset = opset, .inputs = {tie_values(s, 85)}, .attrs = {int_attr("axis", 1)},
                     .layout = Layout::ChannelsLast};
          Outcome o = test::run_both(isa, c);
          std::string what = label(isa, "Hardmax", s, "opset " + std::to_string(opset) + " channels-last");
          if (opset < 13 || hw > 1) {
            EXPECT_EQ(o.kernel, "declined") << what;
            continue;
          }
          expect_fast(o, isa, what);
          expect_ulp(o, 0, what);
        }
}

TEST(KernelsReduce, SoftmaxChannelsLast) {
  for (Isa isa : tiers())
    for (int64_t ch : kChannels)
      for (const char* op : {"Softmax", "LogSoftmax"})
        for (int64_t axis : {0, 1, 2, 3, -1})
          for (int64_t opset : {11, 13}) {
            Shape s = {2, ch, 3, 5};
            NodeCase c{.op = op, .opset = opset, .inputs = {random_f32(s, -9, 9, 84, false)},
                       .attrs = {int_attr("axis", axis)}, .layout = Layout::ChannelsLast};
            Outcome o = test::run_both(isa, c);
            std::string what = label(isa, op, s, "axis " + std::to_string(axis) + " opset " + std::to_string(opset) +
                                                     " channels-last");
            if (opset < 13 && axis != 0 && axis != 1) {  // flattening from H or W is not a trailing block of N,H,W,C
              EXPECT_EQ(o.kernel, "declined") << what;
              continue;
            }
            expect_fast(o, isa, what);
            if (std::string(op) == "Softmax") expect_ulp(o, 8, what);
            else expect_near(o, 1e-6, what, std::vector<double>(static_cast<size_t>(shape_numel(s)), 1.0));
          }
}

TEST(KernelsReduce, Timing) {
  for (int threads : {1, 2}) {
    NodeCase c = reduce_node("ReduceMean", 18, random_f32({1, 256, 56, 56}, -1, 1, 91, false), {2, 3}, true);
    c.threads = threads;
    test::print_timing(c, "ReduceMean 1x256x56x56 axes (2,3)", 4.0 * 256 * 56 * 56);
    c.layout = Layout::ChannelsLast;
    test::print_timing(c, "ReduceMean 1x256x56x56 axes (2,3) channels-last", 4.0 * 256 * 56 * 56);
    NodeCase s{.op = "Softmax", .opset = 13, .inputs = {random_f32({1, 1000, 49}, -5, 5, 92, false)},
               .attrs = {int_attr("axis", 1)}, .threads = threads};
    test::print_timing(s, "Softmax 1x1000x49 axis 1", 2.0 * 4 * 49000);
    s.attrs = {int_attr("axis", -1)};
    s.inputs = {random_f32({49, 1000}, -5, 5, 93, false)};
    test::print_timing(s, "Softmax 49x1000 axis -1", 2.0 * 4 * 49000);
  }
}

}  // namespace
}  // namespace hone
