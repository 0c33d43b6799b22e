// The data-movement kernels (Transpose, Concat, Split, Slice, Gather, Expand, Tile) against the reference kernels,
// byte for byte: every element size (1, 2, 4, 8, 16 bytes), permutations of rank 2..6, every axis (negative too),
// 1-sized and empty dims, sizes around tile and vector widths, one and two threads, and the channels-last layout for
// Concat and Split.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <numeric>

#include "kernel_run_util.h"
#include "runtime/plan.h"

namespace hone {
namespace {

using test::Arg;
using test::attr_int;
using test::attr_ints;

const std::vector<DType> kDtypes = {DType::UInt8, DType::Float16, DType::Float32, DType::Int64, DType::Complex128};

Tensor int64s(std::vector<int64_t> v, Shape shape = {}) {
  if (shape.empty()) shape = {static_cast<int64_t>(v.size())};
  Tensor t(DType::Int64, shape);
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}
Tensor int32s(std::vector<int64_t> v, Shape shape) {
  Tensor t(DType::Int32, shape);
  for (size_t i = 0; i < v.size(); ++i) t.data<int32_t>()[i] = static_cast<int32_t>(v[i]);
  return t;
}

// Runs the node on the fast kernel and the reference; expects the named fast kernel and identical outputs.
void check(const std::string& op, int64_t opset, const std::vector<Arg>& args, std::vector<Attribute> attrs,
           const std::string& want_kernel, const std::string& what, int threads = 1, size_t outputs = 1,
           bool channels_last = false, Isa isa = best_isa()) {
  test::RunOptions o{.isa = isa, .threads = threads, .outputs = outputs, .channels_last = channels_last};
  test::KernelRun r = test::run_kernel_and_reference(op, opset, args, std::move(attrs), o);
  ASSERT_EQ(r.fast.size(), outputs) << what;
  EXPECT_TRUE(r.kernel.starts_with(want_kernel)) << what << ": chose " << r.kernel;
  for (size_t k = 0; k < outputs; ++k) test::expect_identical(r.fast[k], r.reference[k], what + " output " + std::to_string(k));
}

std::string str(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (int64_t x : v) s += std::to_string(x) + ",";
  return s + ")";
}

// ---- Dropout (inference) ----

// A model of one Dropout node (output types come from shape inference, which the kernel needs) run fast and with the
// reference kernels; returns the fast kernel's name.
std::string check_dropout(int64_t opset, bool mask, const Tensor* training) {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", opset}};
  m.graph.inputs.push_back({"x", TypeInfo::tensor(DType::Float32, to_sym_shape({2, 3, 5})), ""});
  Node n{"d", "Dropout", "", {"x"}, {"y"}, {}, ""};
  if (training) {
    m.graph.initializers["t"] = *training;
    n.inputs = {"x", "", "t"};
  }
  if (mask) n.outputs.push_back("mask");
  m.graph.nodes.push_back(n);
  m.graph.outputs.push_back({"y", TypeInfo::tensor(DType::Float32), ""});
  if (mask) m.graph.outputs.push_back({"mask", TypeInfo{}, ""});
  Tensor x(DType::Float32, {2, 3, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i) - 7.5f;
  std::vector<Value> in = {Value::of(x)};
  Session fast(m, {.threads = 1}), ref(m, {.threads = 1, .reference_kernels = true});
  std::string kernel = fast.plan_for(in).steps.at(0).kernel->name();
  std::vector<Value> a = fast.run_values(in), b = ref.run_values(in);
  EXPECT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size() && k < b.size(); ++k) test::expect_identical(a[k].tensor, b[k].tensor, "output " + std::to_string(k));
  return kernel;
}

TEST(KernelsCopy, InferenceDropoutPassesThroughWithItsMask) {
  Tensor no(DType::Bool, {}), yes(DType::Bool, {});
  no.data<uint8_t>()[0] = 0;
  yes.data<uint8_t>()[0] = 1;
  // Opset 9: the mask has the input's type; opset 13: bool; training_mode a constant false.
  EXPECT_EQ(check_dropout(9, false, nullptr), "copy_reshape");
  EXPECT_EQ(check_dropout(9, true, nullptr), "copy_reshape");
  EXPECT_EQ(check_dropout(13, true, nullptr), "copy_reshape");
  EXPECT_EQ(check_dropout(13, true, &no), "copy_reshape");
  // Training mode: the reference kernel (whose output is random, so only the kernel choice is checked).
  KernelQuery q{Node{"d", "Dropout", "", {"x", "", "t"}, {"y"}, {}, ""}, 13, {}, {}, {}, 1};
  TypeInfo xt = TypeInfo::tensor(DType::Float32, to_sym_shape({2, 3, 5})), tt = TypeInfo::tensor(DType::Bool, SymShape{});
  q.input_types = {&xt, nullptr, &tt};
  q.input_constants = {nullptr, nullptr, &yes};
  q.output_types = {xt};
  EXPECT_EQ(KernelRegistry::instance().best(q), nullptr);
  q.input_constants = {nullptr, nullptr, nullptr};  // known only at run time
  EXPECT_EQ(KernelRegistry::instance().best(q), nullptr);
  q.input_constants = {nullptr, nullptr, &no};
  EXPECT_NE(KernelRegistry::instance().best(q), nullptr);
}

// ---- Transpose ----

TEST(KernelsCopy, TransposeEveryPermutationRank2To5) {
  const std::vector<Shape> shapes = {{3, 17}, {16, 1, 33}, {2, 5, 7, 3}, {1, 4, 1, 9}, {3, 2, 5, 1, 17},
                                     {2, 3, 4, 5, 6}, {31, 33}, {1, 64, 65}};
  for (const Shape& s : shapes)
    for (DType dt : kDtypes) {
      Tensor x = test::random_tensor(dt, s, static_cast<uint32_t>(s.size() * 7 + s[0]));
      std::vector<int64_t> perm(s.size());
      std::iota(perm.begin(), perm.end(), 0);
      do {
        check("Transpose", 13, {Arg(x)}, {attr_ints("perm", perm)}, "copy_transpose",
              "Transpose " + shape_str(s) + " " + std::string(dtype_name(dt)) + " perm " + str(perm));
      } while (std::next_permutation(perm.begin(), perm.end()));
    }
}

TEST(KernelsCopy, TransposeRank6DefaultNegativeAndThreads) {
  Shape s = {2, 3, 1, 4, 5, 3};
  std::mt19937 rng(3);
  std::vector<int64_t> perm = {0, 1, 2, 3, 4, 5};
  for (int i = 0; i < 60; ++i) {
    std::shuffle(perm.begin(), perm.end(), rng);
    for (DType dt : {DType::UInt8, DType::Float32, DType::Complex128})
      check("Transpose", 13, {Arg(test::random_tensor(dt, s, static_cast<uint32_t>(i)))}, {attr_ints("perm", perm)},
            "copy_transpose", "Transpose rank 6 perm " + str(perm));
  }
  Tensor x = test::random_tensor(DType::Float32, {3, 5, 7}, 4);
  check("Transpose", 13, {Arg(x)}, {}, "copy_transpose", "Transpose default perm");
  check("Transpose", 13, {Arg(x)}, {attr_ints("perm", {-1, 0, -2})}, "copy_transpose", "Transpose negative perm");
  check("Transpose", 13, {Arg(test::random_tensor(DType::Float32, {0, 5, 7}, 4))}, {attr_ints("perm", {2, 0, 1})},
        "copy_transpose", "Transpose empty");
  // Large enough to split over two threads, both the tiled and the run-copy forms.
  for (const auto& p : {std::vector<int64_t>{0, 2, 1, 3, 4}, std::vector<int64_t>{0, 3, 4, 1, 2},
                        std::vector<int64_t>{4, 1, 2, 3, 0}})
    for (DType dt : {DType::UInt8, DType::Float32, DType::Int64})
      check("Transpose", 13, {Arg(test::random_tensor(dt, {2, 8, 29, 28, 33}, 5))}, {attr_ints("perm", p)},
            "copy_transpose", "Transpose threads perm " + str(p), 2);
}

// The tiled transpose of 4-byte elements has an AVX2 form (8x8 register tiles) beside the plain loops: both, on
// row and column counts around 8 and 16, on every tier.
TEST(KernelsCopy, TransposeTilesOnEveryTier) {
  for (Isa isa : test::isa_tiers())
    for (int64_t m : {1, 7, 8, 9, 16, 17, 33})
      for (int64_t n : {2, 7, 8, 15, 16, 24, 65}) {
        std::string want = isa == Isa::Scalar ? "copy_transpose_tiled" : "copy_transpose_tiled_avx2";
        Tensor x = test::random_tensor(DType::Float32, {3, m, n}, static_cast<uint32_t>(m * n));
        std::string what = std::string(isa_name(isa)) + " Transpose " + shape_str(x.shape());
        check("Transpose", 13, {Arg(x)}, {attr_ints("perm", {0, 2, 1})}, m == 1 ? "copy_transpose_runs" : want, what,
              1, 1, false, isa);
        check("Transpose", 13, {Arg(x)}, {attr_ints("perm", {2, 1, 0})}, want, what + " (2,1,0)", 1, 1, false, isa);
        Tensor i = test::random_tensor(DType::Int32, {2, n, 3, m}, 3);
        check("Transpose", 13, {Arg(i)}, {attr_ints("perm", {0, 3, 2, 1})}, m == 1 ? "copy_transpose" : want,
              what + " int32 (0,3,2,1)", 2, 1, false, isa);
      }
  Tensor big = test::random_tensor(DType::Float32, {2, 64, 56, 57}, 4);
  for (Isa isa : test::isa_tiers())
    check("Transpose", 13, {Arg(big)}, {attr_ints("perm", {0, 2, 3, 1})}, "copy_transpose_tiled", "big", 2, 1, false, isa);
}

// ---- Concat ----

TEST(KernelsCopy, ConcatEveryAxisAndDtype) {
  const std::vector<Shape> bases = {{7}, {3, 17}, {2, 1, 16}, {2, 3, 5, 7}, {1, 2, 3, 1, 33}};
  for (const Shape& base : bases)
    for (DType dt : kDtypes) {
      int64_t rank = static_cast<int64_t>(base.size());
      for (int64_t axis = -rank; axis < rank; ++axis) {
        size_t a = static_cast<size_t>(axis < 0 ? axis + rank : axis);
        std::vector<Arg> args;
        for (int64_t len : {base[a], int64_t{1}, int64_t{0}, int64_t{3}}) {
          Shape s = base;
          s[a] = len;
          args.push_back(Arg(test::random_tensor(dt, s, static_cast<uint32_t>(args.size() + 11))));
        }
        args[1] = Arg::constant(args[1].tensor);  // a constant among the fed inputs
        std::string what = "Concat " + shape_str(base) + " " + std::string(dtype_name(dt)) + " axis " + std::to_string(axis);
        check("Concat", 13, args, {attr_int("axis", axis)}, "copy_concat", what);
        check("Concat", 13, {args[0]}, {attr_int("axis", axis)}, "copy_concat", what + " one input");
      }
    }
  // Threads, on ShuffleNet / ResNet-like sizes.
  std::vector<Arg> big;
  for (int i = 0; i < 4; ++i) big.push_back(Arg(test::random_tensor(DType::Float32, {2, 64, 28, 28}, 20 + i)));
  for (int64_t axis : {0, 1, 2, 3}) check("Concat", 13, big, {attr_int("axis", axis)}, "copy_concat", "Concat big", 2);
}

TEST(KernelsCopy, ConcatChannelsLast) {
  const std::vector<Shape> bases = {{1, 16, 5, 7}, {2, 7, 3, 1}, {2, 33, 4, 4}, {1, 1, 1, 1}};
  for (const Shape& base : bases)
    for (int64_t axis = -4; axis < 4; ++axis)
      for (bool with_constant : {false, true}) {
        size_t a = static_cast<size_t>(axis < 0 ? axis + 4 : axis);
        std::vector<Arg> args;
        for (int64_t len : {base[a], int64_t{1}, int64_t{17}}) {
          Shape s = base;
          s[a] = len;
          args.push_back(Arg(test::random_tensor(DType::Float32, s, static_cast<uint32_t>(len + a))));
        }
        if (with_constant) args[1] = Arg::constant(args[1].tensor);
        check("Concat", 13, args, {attr_int("axis", axis)}, "copy_concat_nhwc",
              "Concat nhwc " + shape_str(base) + " axis " + std::to_string(axis), 1, 1, true);
      }
  std::vector<Arg> big;
  for (int i = 0; i < 4; ++i) big.push_back(Arg(test::random_tensor(DType::Float32, {1, 64, 56, 56}, 30 + i)));
  check("Concat", 13, big, {attr_int("axis", 1)}, "copy_concat_nhwc", "Concat nhwc big", 2, 1, true);
}

// ---- Split ----

TEST(KernelsCopy, SplitOpsetsAxesAndLayouts) {
  const std::vector<Shape> shapes = {{12}, {6, 17}, {2, 12, 3}, {2, 6, 5, 12}};
  for (const Shape& s : shapes)
    for (DType dt : kDtypes) {
      Tensor x = test::random_tensor(dt, s, 17);
      int64_t rank = static_cast<int64_t>(s.size());
      for (int64_t axis = -rank; axis < rank; ++axis) {
        int64_t dim = s[static_cast<size_t>(axis < 0 ? axis + rank : axis)];
        std::string what = "Split " + shape_str(s) + " " + std::string(dtype_name(dt)) + " axis " + std::to_string(axis);
        std::vector<int64_t> sizes = {dim / 3, 0, dim - dim / 3};
        check("Split", 11, {Arg(x)}, {attr_int("axis", axis), attr_ints("split", sizes)}, "copy_split", what + " attr", 1, 3);
        check("Split", 13, {Arg(x), Arg::constant(int64s(sizes))}, {attr_int("axis", axis)}, "copy_split",
              what + " input", 1, 3);
        if (dim % 2 == 0) check("Split", 2, {Arg(x)}, {attr_int("axis", axis)}, "copy_split", what + " halves", 1, 2);
        check("Split", 18, {Arg(x)}, {attr_int("axis", axis), attr_int("num_outputs", 3)}, "copy_split",
              what + " num_outputs", 1, 3);
        if (s.size() == 4 && dt == DType::Float32)
          check("Split", 13, {Arg(x), Arg::constant(int64s(sizes))}, {attr_int("axis", axis)}, "copy_split_nhwc",
                what + " nhwc", 1, 3, true);
      }
    }
  Tensor big = test::random_tensor(DType::Float32, {1, 116, 28, 28}, 3);
  check("Split", 13, {Arg(big), Arg::constant(int64s({58, 58}))}, {attr_int("axis", 1)}, "copy_split", "Split big", 2, 2);
  check("Split", 13, {Arg(big), Arg::constant(int64s({58, 58}))}, {attr_int("axis", 1)}, "copy_split_nhwc",
        "Split big nhwc", 2, 2, true);
  // Split sizes fed at run time: reference.
  test::KernelRun r = test::run_kernel_and_reference("Split", 13, {Arg(big), Arg(int64s({58, 58}))}, {attr_int("axis", 1)},
                                                     {.isa = best_isa(), .outputs = 2});
  EXPECT_EQ(r.kernel, "reference");
}

// ---- Slice ----

TEST(KernelsCopy, SliceStartsEndsStepsAxes) {
  Shape s = {4, 1, 17, 9};
  std::mt19937 rng(5);
  std::uniform_int_distribution<int64_t> pos(-20, 20), step(-4, 4);
  for (DType dt : kDtypes) {
    Tensor x = test::random_tensor(dt, s, 2);
    for (int i = 0; i < 80; ++i) {
      std::vector<int64_t> axes = {0, 1, 2, 3};
      std::shuffle(axes.begin(), axes.end(), rng);
      axes.resize(static_cast<size_t>(1 + i % 4));
      std::vector<int64_t> starts, ends, steps;
      for (size_t k = 0; k < axes.size(); ++k) {
        starts.push_back(pos(rng));
        ends.push_back(i % 5 == 0 ? INT64_MAX : pos(rng));
        int64_t st = step(rng);
        steps.push_back(st == 0 ? 1 : st);
        if (i % 3 == 0) axes[k] -= 4;  // negative axes
      }
      std::string what = "Slice " + std::string(dtype_name(dt)) + " starts " + str(starts) + " ends " + str(ends) +
                         " axes " + str(axes) + " steps " + str(steps);
      check("Slice", 13,
            {Arg(x), Arg::constant(int64s(starts)), Arg::constant(int64s(ends)), Arg::constant(int64s(axes)),
             Arg::constant(int64s(steps))},
            {}, "copy_slice", what);
      if (i % 4 == 0)  // axes and steps omitted: the leading axes, step 1
        check("Slice", 13, {Arg(x), Arg::constant(int64s(starts)), Arg::constant(int64s(ends))}, {}, "copy_slice",
              what + " (no axes)");
      check("Slice", 9, {Arg(x)}, {attr_ints("starts", starts), attr_ints("ends", ends), attr_ints("axes", axes)},
            "copy_slice", what + " (opset 9)");
    }
  }
  Tensor big = test::random_tensor(DType::Float32, {1, 64, 160, 161}, 6);
  check("Slice", 13, {Arg(big), Arg::constant(int64s({1, 0})), Arg::constant(int64s({-1, 161})), Arg::constant(int64s({2, 3}))},
        {}, "copy_slice", "Slice big", 2);
  // Starts fed at run time: reference.
  test::KernelRun r = test::run_kernel_and_reference(
      "Slice", 13, {Arg(big), Arg(int64s({1})), Arg::constant(int64s({5}))}, {}, {.isa = best_isa()});
  EXPECT_EQ(r.kernel, "reference");
}

// ---- Gather ----

TEST(KernelsCopy, GatherAxesIndicesAndDtypes) {
  Shape s = {5, 1, 7, 33};
  std::mt19937 rng(8);
  for (DType dt : kDtypes) {
    Tensor x = test::random_tensor(dt, s, 9);
    for (int64_t axis = -4; axis < 4; ++axis) {
      int64_t dim = s[static_cast<size_t>(axis < 0 ? axis + 4 : axis)];
      std::uniform_int_distribution<int64_t> any(-dim, dim - 1);
      for (const Shape& ishape : {Shape{}, Shape{4}, Shape{2, 3}}) {
        std::vector<int64_t> idx(static_cast<size_t>(shape_numel(ishape)));
        for (int64_t& i : idx) i = any(rng);
        std::string what = "Gather " + std::string(dtype_name(dt)) + " axis " + std::to_string(axis) + " indices " +
                           shape_str(ishape) + " " + str(idx);
        check("Gather", 13, {Arg(x), Arg(int64s(idx, ishape))}, {attr_int("axis", axis)}, "copy_gather", what + " int64");
        check("Gather", 13, {Arg(x), Arg(int32s(idx, ishape))}, {attr_int("axis", axis)}, "copy_gather", what + " int32");
        check("Gather", 13, {Arg(x), Arg::constant(int64s(idx, ishape))}, {attr_int("axis", axis)}, "copy_gather_const",
              what + " constant");
        check("Gather", 13, {Arg::constant(x), Arg(int32s(idx, ishape))}, {attr_int("axis", axis)}, "copy_gather",
              what + " constant data");
      }
    }
  }
  // Shapes known only at run time: Gather works them out per run; the planned copies leave such nodes to the
  // reference.
  for (DType dt : kDtypes) {
    Tensor x = test::random_tensor(dt, {3, 5, 2}, 12);
    for (int64_t axis : {0, 1, -1}) {
      test::RunOptions o{.isa = best_isa(), .unknown_dims = true};
      test::KernelRun r = test::run_kernel_and_reference("Gather", 13, {Arg(x), Arg(int64s({1, -1, 0}))},
                                                         {attr_int("axis", axis)}, o);
      EXPECT_EQ(r.kernel, "copy_gather");
      test::expect_identical(r.fast[0], r.reference[0], "Gather unknown dims axis " + std::to_string(axis));
      r = test::run_kernel_and_reference("Gather", 13, {Arg(x), Arg::constant(int64s({1, -1}))}, {attr_int("axis", axis)}, o);
      EXPECT_EQ(r.kernel, "copy_gather");  // constant indices, but no planned dim to check them against
      test::expect_identical(r.fast[0], r.reference[0], "Gather unknown dims, constant indices");
    }
    test::RunOptions o{.isa = best_isa(), .unknown_dims = true};
    EXPECT_EQ(test::run_kernel_and_reference("Transpose", 13, {Arg(x)}, {}, o).kernel, "reference");
    EXPECT_EQ(test::run_kernel_and_reference("Concat", 13, {Arg(x), Arg(x)}, {attr_int("axis", 0)}, o).kernel,
              "reference");
  }
  Tensor big = test::random_tensor(DType::Float32, {4, 3000, 64}, 10);
  std::vector<int64_t> idx(2000);
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>((i * 7919) % 3000) - (i % 2 ? 3000 : 0);
  check("Gather", 13, {Arg(big), Arg(int64s(idx))}, {attr_int("axis", 1)}, "copy_gather", "Gather big", 2);
}

TEST(KernelsCopy, GatherOutOfRangeIndex) {
  Tensor x = test::random_tensor(DType::Float32, {3, 4}, 1);
  for (int64_t bad : {4, -5, 1000}) {
    try {
      test::run_kernel_and_reference("Gather", 13, {Arg(x), Arg(int64s({0, bad}))}, {attr_int("axis", 1)},
                                     {.isa = best_isa()});
      ADD_FAILURE() << "no error for index " << bad;
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("index " + std::to_string(bad) + " is out of range [-4, 4)"), std::string::npos) << m;
    }
  }
  // An out-of-range constant index leaves the node to the reference kernel (which reports it when it runs).
  Node n;
  n.op_type = "Gather";
  n.inputs = {"x", "i"};
  n.outputs = {"y"};
  TypeInfo tx = TypeInfo::tensor(DType::Float32, to_sym_shape(x.shape())), ti = TypeInfo::tensor(DType::Int64, SymShape{Dim(1)});
  Tensor bad = int64s({9});
  KernelQuery q{n, 13, {&tx, &ti}, {nullptr, &bad}, {TypeInfo{}}, 1};
  EXPECT_EQ(KernelRegistry::instance().best(q), nullptr);
}

// ---- Expand and Tile ----

TEST(KernelsCopy, ExpandAndTile) {
  const std::vector<std::pair<Shape, std::vector<int64_t>>> expands = {
      {{3, 1}, {2, 3, 17}}, {{1}, {4, 5}}, {{2, 1, 5}, {2, 7, 5}}, {{1, 16, 1, 1}, {2, 16, 9, 9}},
      {{5}, {1}}, {{4, 1, 1}, {1, 1}}, {{1, 3}, {0, 3}}};
  for (DType dt : kDtypes)
    for (const auto& [s, target] : expands)
      check("Expand", 13, {Arg(test::random_tensor(dt, s, 4)), Arg::constant(int64s(target))}, {}, "copy_expand",
            "Expand " + shape_str(s) + " to " + str(target) + " " + std::string(dtype_name(dt)));
  const std::vector<std::pair<Shape, std::vector<int64_t>>> tiles = {
      {{3, 17}, {2, 3}}, {{5}, {4}}, {{2, 1, 3}, {1, 7, 1}}, {{2, 3}, {0, 2}}, {{1, 2, 3, 4}, {2, 1, 3, 2}}};
  for (DType dt : kDtypes)
    for (const auto& [s, reps] : tiles)
      check("Tile", 13, {Arg(test::random_tensor(dt, s, 5)), Arg::constant(int64s(reps))}, {}, "copy_tile",
            "Tile " + shape_str(s) + " reps " + str(reps) + " " + std::string(dtype_name(dt)));
  check("Expand", 13, {Arg(test::random_tensor(DType::Float32, {64, 1, 1}, 6)), Arg::constant(int64s({4, 64, 64, 64}))},
        {}, "copy_expand", "Expand big", 2);
}

// ---- the benchmark shapes ----

double time_ms(const std::string& op, int64_t opset, const std::vector<Arg>& args, const std::vector<Attribute>& attrs,
               int threads, bool reference, bool channels_last = false) {
  Node n;
  n.op_type = op;
  n.name = "n";
  n.attributes = attrs;
  n.outputs = {"y"};
  std::vector<TypeInfo> types;
  for (size_t i = 0; i < args.size(); ++i) {
    n.inputs.push_back("in" + std::to_string(i));
    types.push_back(TypeInfo::tensor(args[i].tensor.dtype(), to_sym_shape(args[i].tensor.shape())));
  }
  KernelQuery q{n, opset, {}, {}, {TypeInfo{}}, threads};
  std::vector<Value> values;
  std::vector<const Value*> ptrs;
  for (size_t i = 0; i < args.size(); ++i) {
    q.input_types.push_back(&types[i]);
    q.input_constants.push_back(args[i].is_constant ? &args[i].tensor : nullptr);
    values.push_back(Value::of(args[i].tensor));
  }
  for (const Value& v : values) ptrs.push_back(&v);
  const OpSchema* schema = OpRegistry::instance().find("", op, opset);
  std::unique_ptr<Kernel> k;
  if (reference) {
    k = std::make_unique<ReferenceKernel>(*schema);
  } else {
    if (channels_last) q.layout = Layout::ChannelsLast;  // the bytes' order does not change a copy's speed much
    k = KernelRegistry::instance().best(q)->create(q);
  }
  return test::time_kernel_ms(*k, n, opset, ptrs, 1, threads, reference ? 5 : 50);
}

// ShuffleNet's channel shuffle and a DenseNet/PP-OCR-like channel concat: checked, then timed against the reference.
TEST(KernelsCopy, BenchmarkShapesMatchAndAreTimed) {
  Tensor x = test::random_tensor(DType::Float32, {1, 2, 58, 28, 28}, 1);
  std::vector<Attribute> perm = {attr_ints("perm", {0, 2, 1, 3, 4})};
  std::vector<Arg> concat;
  for (int i = 0; i < 4; ++i) concat.push_back(Arg(test::random_tensor(DType::Float32, {1, 64, 56, 56}, 2 + i)));
  for (int threads : {1, 2}) {
    check("Transpose", 13, {Arg(x)}, perm, "copy_transpose", "ShuffleNet transpose", threads);
    check("Concat", 13, concat, {attr_int("axis", 1)}, "copy_concat", "Concat 4x1x64x56x56", threads);
    check("Concat", 13, concat, {attr_int("axis", 1)}, "copy_concat_nhwc", "Concat 4x1x64x56x56 nhwc", threads, 1, true);
  }
  auto report = [](const std::string& what, double bytes, double fast, double ref) {
    std::cout << "[ timing   ] " << what << ": fast " << fast * 1e3 << " us (" << bytes / fast / 1e6
              << " GB/s read+write), reference " << ref * 1e3 << " us (1 thread): " << ref / fast << "x\n";
  };
  // NCHW to NHWC and back: the tiled transpose.
  Tensor nchw = test::random_tensor(DType::Float32, {1, 64, 56, 56}, 7);
  std::vector<Attribute> to_nhwc = {attr_ints("perm", {0, 2, 3, 1})};
  check("Transpose", 13, {Arg(nchw)}, to_nhwc, "copy_transpose_tiled", "NCHW to NHWC");
  double tiled_ref = time_ms("Transpose", 13, {Arg(nchw)}, to_nhwc, 1, true);
  for (int threads : {1, 2})
    report("Transpose (0,2,3,1) 1x64x56x56 f32 threads=" + std::to_string(threads), 2.0 * static_cast<double>(nchw.nbytes()),
           time_ms("Transpose", 13, {Arg(nchw)}, to_nhwc, threads, false), tiled_ref);
  double tref = time_ms("Transpose", 13, {Arg(x)}, perm, 1, true);
  double cref = time_ms("Concat", 13, concat, {attr_int("axis", 1)}, 1, true);
  for (int threads : {1, 2}) {
    std::string t = " threads=" + std::to_string(threads);
    report("Transpose (0,2,1,3,4) 1x2x58x28x28 f32" + t, 2.0 * static_cast<double>(x.nbytes()),
           time_ms("Transpose", 13, {Arg(x)}, perm, threads, false), tref);
    report("Concat axis 1, 4 x 1x64x56x56 f32" + t, 2.0 * 4 * 64 * 56 * 56 * 4,
           time_ms("Concat", 13, concat, {attr_int("axis", 1)}, threads, false), cref);
    report("Concat axis 1, 4 x 1x64x56x56 f32 nhwc" + t, 2.0 * 4 * 64 * 56 * 56 * 4,
           time_ms("Concat", 13, concat, {attr_int("axis", 1)}, threads, false, true), cref);
  }
}

}  // namespace
}  // namespace hone
