// Data-movement, shape and indexing operators (src/ops/tensor): what the conformance corpus does not cover
// (legacy opset forms, error cases, empty and rank-0 shapes, string/bool elements, symbolic shape inference).
#include <gtest/gtest.h>

#include "op_test_util.h"
#include "ops/infer_graph.h"

namespace hone::test {
namespace {

// Shape inference of one node whose fed inputs have the given symbolic shapes (constants as given).
TypeInfo infer_out(const std::string& op, int64_t opset, const std::vector<In>& inputs,
                   const std::vector<std::optional<SymShape>>& fed_shapes, std::vector<Attribute> attrs = {},
                   size_t which = 0, size_t num_outputs = 1) {
  Model m = one_node_model({op, "", opset, num_outputs}, inputs, std::move(attrs));
  std::unordered_map<std::string, TypeInfo> types;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].constant && i < fed_shapes.size())
      types[input_name(inputs, i)] = TypeInfo::tensor(inputs[i].value.tensor.dtype(), fed_shapes[i]);
  InferOptions opt;
  opt.opset = [opset](const std::string&) { return opset; };
  GraphTypes gt = infer_graph(m.graph, opt, types);
  return gt.types.at("out" + std::to_string(which));
}

SymShape sym(std::vector<Dim> d) { return SymShape(std::move(d)); }
Dim named(const char* s) { return Dim::named(s); }

// ---- Shape / Size ----

TEST(TensorShapeOp, StartEndClampAndFold) {
  Tensor x(DType::Float32, {2, 3, 4, 5});
  EXPECT_EQ(values<int64_t>(run_op("Shape", 15, {x}, {Attribute::of_int("start", -3), Attribute::of_int("end", -1)})[0]),
            (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(values<int64_t>(run_op("Shape", 15, {x}, {Attribute::of_int("start", 10)})[0]).size(), 0u);
  EXPECT_EQ(run_op("Shape", 13, {Tensor(DType::Float32, {})})[0].shape(), (Shape{0}));
  // Known dims fold to a constant even when other dims are symbolic.
  TypeInfo t = infer_out("Shape", 15, {x}, {sym({named("b"), 3, 4, 5})}, {Attribute::of_int("start", 1)});
  EXPECT_EQ(sym_shape_str(*t.shape), "[3]");
  TypeInfo u = infer_out("Shape", 15, {x}, {sym({named("b"), 3, 4, 5})});
  EXPECT_EQ(*u.shape, sym({4}));
}

TEST(TensorShapeOp, SizeOfEmptyAndScalar) {
  EXPECT_EQ(values<int64_t>(run_op("Size", 13, {Tensor(DType::Float32, {3, 0})})[0]), (std::vector<int64_t>{0}));
  Tensor s = run_op("Size", 13, {Tensor(DType::String, {})})[0];
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.data<int64_t>()[0], 1);
}

// ---- Reshape family ----

TEST(TensorReshape, ZeroCopiesAndMinusOneInfers) {
  Tensor x = f32({2, 3, 4}, std::vector<float>(24, 1.0f));
  EXPECT_EQ(run_op("Reshape", 13, {x, constant(i64v({0, -1}))})[0].shape(), (Shape{2, 12}));
  EXPECT_EQ(run_op("Reshape", 13, {x, i64v({-1, 0, 2})})[0].shape(), (Shape{4, 3, 2}));
  EXPECT_THROW(run_op("Reshape", 13, {x, i64v({-1, -1})}), Error);
  EXPECT_THROW(run_op("Reshape", 13, {x, i64v({5, -1})}), Error);
  EXPECT_THROW(run_op("Reshape", 13, {x, i64v({0, 0, 0, 0})}), Error);
  EXPECT_THROW(run_op("Reshape", 13, {x, i64v({-2, 12})}), Error);
}

TEST(TensorReshape, AllowZeroKeepsZeroDims) {
  Tensor x(DType::Float32, {0, 3});
  EXPECT_EQ(run_op("Reshape", 14, {x, i64v({3, 0})}, {Attribute::of_int("allowzero", 1)})[0].shape(), (Shape{3, 0}));
  // Without allowzero, 0 copies the input dim: [0, 3] -> [3, 0] means [3, 3], which does not fit 0 elements.
  EXPECT_THROW(run_op("Reshape", 14, {x, i64v({3, 0})}), Error);
  EXPECT_THROW(run_op("Reshape", 14, {x, i64v({0, -1})}, {Attribute::of_int("allowzero", 1)}), Error);
}

TEST(TensorReshape, LegacyShapeAttribute) {
  Tensor x = f32({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor y = run_op("Reshape", 4, {x}, {Attribute::of_ints("shape", {3, -1})})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(values<float>(y), values<float>(x));
}

TEST(TensorReshape, SymbolicInference) {
  Tensor x(DType::Float32, {2, 3, 4});
  TypeInfo t = infer_out("Reshape", 13, {x, constant(i64v({0, -1}))}, {sym({named("batch"), 3, 4})});
  EXPECT_EQ(*t.shape, sym({named("batch"), 12}));
  t = infer_out("Reshape", 13, {x, constant(i64v({-1, 4}))}, {sym({named("batch"), 3, 4})});
  EXPECT_EQ(*t.shape, sym({Dim(), 4}));  // batch*3 is not expressible
  t = infer_out("Reshape", 13, {x, constant(i64v({0, 0, -1}))}, {sym({named("b"), named("s"), 12})});
  EXPECT_EQ(*t.shape, sym({named("b"), named("s"), 12}));
  t = infer_out("Reshape", 13, {x, constant(i64v({12, -1}))}, {sym({3, named("s"), 4})});
  EXPECT_EQ(*t.shape, sym({12, named("s")}));
  // A runtime shape of known length gives the rank.
  t = infer_out("Reshape", 13, {x, i64v({1, 1, 1})}, {sym({2, 3, 4}), sym({3})});
  EXPECT_EQ(t.shape->size(), 3u);
}

TEST(TensorReshape, FlattenAxes) {
  Tensor x(DType::Float32, {2, 3, 4});
  EXPECT_EQ(run_op("Flatten", 13, {x}, {Attribute::of_int("axis", 0)})[0].shape(), (Shape{1, 24}));
  EXPECT_EQ(run_op("Flatten", 13, {x}, {Attribute::of_int("axis", 3)})[0].shape(), (Shape{24, 1}));
  EXPECT_EQ(run_op("Flatten", 13, {x}, {Attribute::of_int("axis", -1)})[0].shape(), (Shape{6, 4}));
  EXPECT_THROW(run_op("Flatten", 9, {x}, {Attribute::of_int("axis", -1)}), Error);  // negative axes arrived in opset 11
  EXPECT_THROW(run_op("Flatten", 13, {x}, {Attribute::of_int("axis", 4)}), Error);
  TypeInfo t = infer_out("Flatten", 13, {x}, {sym({named("b"), 3, 4})});
  EXPECT_EQ(*t.shape, sym({named("b"), 12}));
}

TEST(TensorReshape, SqueezeAttributeAndInputForms) {
  Tensor x(DType::Float32, {1, 3, 1});
  EXPECT_EQ(run_op("Squeeze", 11, {x}, {Attribute::of_ints("axes", {-1})})[0].shape(), (Shape{1, 3}));
  EXPECT_EQ(run_op("Squeeze", 13, {x, i64v({0})})[0].shape(), (Shape{3, 1}));
  EXPECT_EQ(run_op("Squeeze", 13, {x})[0].shape(), (Shape{3}));
  EXPECT_THROW(run_op("Squeeze", 13, {x, i64v({1})}), Error);  // size 3
  EXPECT_THROW(run_op("Squeeze", 13, {x, i64v({3})}), Error);
  EXPECT_EQ(run_op("Squeeze", 13, {Tensor(DType::Float32, {1})})[0].rank(), 0);
}

TEST(TensorReshape, UnsqueezeForms) {
  Tensor x = strs({2}, {"a", "b"});
  Tensor y = run_op("Unsqueeze", 11, {x}, {Attribute::of_ints("axes", {0, -1})})[0];
  EXPECT_EQ(y.shape(), (Shape{1, 2, 1}));
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(run_op("Unsqueeze", 13, {Tensor(DType::Float32, {}), i64v({0})})[0].shape(), (Shape{1}));
  EXPECT_THROW(run_op("Unsqueeze", 13, {x, i64v({0, 0})}), Error);
  EXPECT_THROW(run_op("Unsqueeze", 13, {x, i64v({2})}), Error);
}

// ---- Transpose / Concat / Split / Slice ----

TEST(TensorMovement, TransposeStringsAndBadPerm) {
  Tensor x = strs({2, 3}, {"a", "b", "c", "d", "e", "f"});
  EXPECT_EQ(values<std::string>(run_op("Transpose", 13, {x})[0]),
            (std::vector<std::string>{"a", "d", "b", "e", "c", "f"}));
  EXPECT_THROW(run_op("Transpose", 13, {x}, {Attribute::of_ints("perm", {0, 0})}), Error);
  EXPECT_THROW(run_op("Transpose", 13, {x}, {Attribute::of_ints("perm", {0})}), Error);
  EXPECT_EQ(run_op("Transpose", 13, {Tensor(DType::Float32, {0, 2, 3})})[0].shape(), (Shape{3, 2, 0}));
}

TEST(TensorMovement, ConcatWithEmptyAndMismatch) {
  Tensor a = bools({1, 2}, {1, 0}), e(DType::Bool, {0, 2}), b = bools({1, 2}, {0, 1});
  Tensor y = run_op("Concat", 13, {a, e, b}, {Attribute::of_int("axis", 0)})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_THROW(run_op("Concat", 13, {a, Tensor(DType::Bool, {1, 3})}, {Attribute::of_int("axis", 0)}), Error);
  EXPECT_THROW(run_op("Concat", 13, {a, b}), Error);  // axis is required
  EXPECT_THROW(run_op("Concat", 13, {a, f32({1, 2}, {0, 0})}, {Attribute::of_int("axis", 0)}), Error);
}

TEST(TensorMovement, SplitOpsetForms) {
  Tensor x = f32({5}, {0, 1, 2, 3, 4});
  auto y = run_op("Split", 18, {x}, {Attribute::of_int("num_outputs", 3)}, 3);  // 2, 2, 1
  EXPECT_EQ(values<float>(y[2]), (std::vector<float>{4}));
  EXPECT_EQ(y[0].shape(), (Shape{2}));
  EXPECT_THROW(run_op("Split", 13, {x}, {}, 3), Error);  // uneven before opset 18
  y = run_op("Split", 11, {x}, {Attribute::of_ints("split", {1, 4})}, 2);
  EXPECT_EQ(values<float>(y[1]), (std::vector<float>{1, 2, 3, 4}));
  y = run_op("Split", 13, {x, i64v({0, 5})}, {}, 2);
  EXPECT_EQ(y[0].numel(), 0);
  EXPECT_THROW(run_op("Split", 13, {x, i64v({1, 1})}, {}, 2), Error);
}

TEST(TensorMovement, SliceStepsAndClamping) {
  Tensor x = f32({5}, {0, 1, 2, 3, 4});
  auto sl = [&](std::vector<int64_t> s, std::vector<int64_t> e, std::vector<int64_t> st) {
    return values<float>(run_op("Slice", 13, {x, i64v(s), i64v(e), i64v({0}), i64v(st)})[0]);
  };
  EXPECT_EQ(sl({-1}, {INT64_MIN}, {-1}), (std::vector<float>{4, 3, 2, 1, 0}));
  EXPECT_EQ(sl({10}, {-10}, {-2}), (std::vector<float>{4, 2, 0}));
  EXPECT_EQ(sl({1}, {INT64_MAX}, {3}), (std::vector<float>{1, 4}));
  EXPECT_EQ(sl({3}, {1}, {1}).size(), 0u);
  EXPECT_THROW(sl({0}, {1}, {0}), Error);
  // Opset 1-9: attributes.
  Tensor y = run_op("Slice", 9, {x}, {Attribute::of_ints("starts", {1}), Attribute::of_ints("ends", {-1})})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 2, 3}));
  // Constant starts/ends make the output shape exact even with a symbolic input dim elsewhere.
  Tensor m(DType::Float32, {4, 6});
  TypeInfo t = infer_out("Slice", 13, {m, constant(i64v({1})), constant(i64v({-1})), constant(i64v({1}))},
                         {sym({named("b"), 6})});
  EXPECT_EQ(*t.shape, sym({named("b"), 4}));
}

// ---- Gather / Scatter ----

TEST(TensorIndexing, GatherBoundsAndNegative) {
  Tensor x = f32({3, 2}, {0, 1, 2, 3, 4, 5});
  Tensor y = run_op("Gather", 13, {x, i64({}, {-1})}, {Attribute::of_int("axis", 0)})[0];
  EXPECT_EQ(y.shape(), (Shape{2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{4, 5}));
  EXPECT_THROW(run_op("Gather", 13, {x, i64v({3})}), Error);
  EXPECT_THROW(run_op("Gather", 13, {x, i64v({-4})}), Error);
  EXPECT_THROW(run_op("Gather", 13, {x, f32({1}, {0})}), Error);
  EXPECT_EQ(run_op("Gather", 13, {x, i64({0}, {})}, {Attribute::of_int("axis", 1)})[0].shape(), (Shape{3, 0}));
}

TEST(TensorIndexing, GatherElementsAndNDBounds) {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  EXPECT_THROW(run_op("GatherElements", 13, {x, i64({2, 1}, {0, 2})}), Error);
  EXPECT_EQ(values<float>(run_op("GatherElements", 13, {x, i64({1, 2}, {1, -2})})[0]), (std::vector<float>{3, 2}));
  EXPECT_THROW(run_op("GatherND", 13, {x, i64({1, 2}, {0, 5})}), Error);
  EXPECT_EQ(values<float>(run_op("GatherND", 13, {x, i64({2, 1}, {1, 0})})[0]), (std::vector<float>{3, 4, 1, 2}));
}

TEST(TensorIndexing, ScatterReductionsAndBounds) {
  Tensor data = f32({4}, {1, 1, 1, 1});
  Tensor y = run_op("ScatterND", 16, {data, i64({2, 1}, {1, 1}), f32({2}, {5, 6})},
                    {Attribute::of_string("reduction", "add")})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 12, 1, 1}));
  EXPECT_THROW(run_op("ScatterND", 16, {data, i64({1, 1}, {4}), f32({1}, {5})}), Error);
  EXPECT_THROW(run_op("ScatterND", 16, {data, i64({1, 1}, {0}), f32({2}, {5, 6})}), Error);  // updates shape
  y = run_op("ScatterElements", 18, {data, i64v({0, 0}), f32({2}, {3, 0.5f})},
             {Attribute::of_string("reduction", "min")})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{0.5f, 1, 1, 1}));
  EXPECT_THROW(run_op("ScatterElements", 18, {data, i64v({-5}), f32({1}, {0})}), Error);
  EXPECT_THROW(
      run_op("ScatterElements", 18, {data, i64v({0}), f32({1}, {0})}, {Attribute::of_string("reduction", "avg")}),
      Error);
  // Scatter (opset 9-10) on strings.
  Tensor s = run_op("Scatter", 10, {strs({3}, {"a", "b", "c"}), i64v({2}), strs({1}, {"z"})})[0];
  EXPECT_EQ(values<std::string>(s), (std::vector<std::string>{"a", "b", "z"}));
}

TEST(TensorIndexing, TensorScatterCircularAndLinearBounds) {
  Tensor cache = f32({1, 3, 1}, {0, 0, 0});
  Tensor y = run_op("TensorScatter", 24, {cache, f32({1, 2, 1}, {7, 8}), i64v({2})},
                    {Attribute::of_string("mode", "circular")})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{8, 0, 7}));
  EXPECT_THROW(run_op("TensorScatter", 24, {cache, f32({1, 2, 1}, {7, 8}), i64v({2})}), Error);
}

// ---- Expand / Tile / Pad ----

TEST(TensorExpand, BroadcastsBothWaysAndEmpty) {
  Tensor x = f32({3, 1}, {1, 2, 3});
  Tensor y = run_op("Expand", 13, {x, i64v({2, 1, 2})})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values<float>(y)[3], 2.0f);
  EXPECT_EQ(run_op("Expand", 13, {Tensor(DType::Float32, {1, 2}), i64v({0, 1})})[0].shape(), (Shape{0, 2}));
  EXPECT_THROW(run_op("Expand", 13, {x, i64v({0, 1})}), Error);
  EXPECT_THROW(run_op("Expand", 13, {x, i64v({2, 2, 1})}), Error);
  EXPECT_EQ(run_op("Tile", 13, {x, i64v({0, 2})})[0].shape(), (Shape{0, 2}));
  EXPECT_EQ(values<float>(run_op("Tile", 13, {x, i64v({1, 2})})[0]), (std::vector<float>{1, 1, 2, 2, 3, 3}));
  EXPECT_THROW(run_op("Tile", 13, {x, i64v({2})}), Error);
}

TEST(TensorPad, ModesWithCropAndLegacyForms) {
  Tensor x = f32({4}, {1, 2, 3, 4});
  auto pad = [&](const char* mode, std::vector<int64_t> pads) {
    return values<float>(run_op("Pad", 19, {x, i64v(pads)}, {Attribute::of_string("mode", mode)})[0]);
  };
  EXPECT_EQ(pad("reflect", {3, 0}), (std::vector<float>{4, 3, 2, 1, 2, 3, 4}));
  EXPECT_EQ(pad("edge", {1, 2}), (std::vector<float>{1, 1, 2, 3, 4, 4, 4}));
  EXPECT_EQ(pad("wrap", {2, -1}), (std::vector<float>{2, 3, 1, 2, 3}));
  EXPECT_EQ(pad("reflect", {-1, 2}), (std::vector<float>{2, 3, 4, 3, 2}));  // crop first, then reflect
  EXPECT_EQ(pad("constant", {-2, -2}).size(), 0u);
  EXPECT_THROW(pad("constant", {-3, -2}), Error);
  EXPECT_THROW(pad("mirror", {1, 1}), Error);
  Tensor y = run_op("Pad", 2, {x}, {Attribute::of_ints("pads", {1, 0}), Attribute::of_float("value", 9)})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{9, 1, 2, 3, 4}));
  y = run_op("Pad", 18, {f32({2, 2}, {1, 2, 3, 4}), i64v({1, 0}), f32({}, {7}), i64v({-1})})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{7, 1, 2, 7, 3, 4}));
  EXPECT_THROW(run_op("Pad", 13, {Tensor(DType::Float32, {0}), i64v({1, 1})}, {Attribute::of_string("mode", "edge")}),
               Error);
}

TEST(TensorPad, CenterCropPadOddDifferences) {
  Tensor x = f32({4}, {1, 2, 3, 4});
  EXPECT_EQ(values<float>(run_op("CenterCropPad", 18, {x, i64v({1})})[0]), (std::vector<float>{2}));
  EXPECT_EQ(values<float>(run_op("CenterCropPad", 18, {x, i64v({7})})[0]), (std::vector<float>{0, 1, 2, 3, 4, 0, 0}));
}

// ---- Identity / Dropout ----

TEST(TensorIdentity, PassesSequences) {
  std::vector<Value> out =
      run_values({"Identity", "", 16}, {Value::of_sequence({f32({1}, {1}), f32({2}, {2, 3})}, DType::Float32)});
  ASSERT_TRUE(out[0].is_sequence());
  ASSERT_EQ(out[0].sequence.size(), 2u);
  EXPECT_EQ(out[0].sequence[1].data<float>()[1], 3.0f);
}

TEST(TensorIdentity, DropoutMaskTypesByOpset) {
  Tensor x = f32({3}, {1, 2, 3});
  auto y = run_op("Dropout", 7, {x}, {Attribute::of_float("ratio", 0.3f)}, 2);
  EXPECT_EQ(values<float>(y[0]), values<float>(x));
  EXPECT_EQ(y[1].dtype(), DType::Float32);  // mask had the data type before opset 10
  EXPECT_EQ(values<float>(y[1]), (std::vector<float>{1, 1, 1}));
  y = run_op("Dropout", 13, {x, f32({}, {0.0f}), bools({}, {1})}, {}, 2);
  EXPECT_EQ(values<float>(y[0]), values<float>(x));
  EXPECT_EQ(values<uint8_t>(y[1]), (std::vector<uint8_t>{1, 1, 1}));
  y = run_op("Dropout", 13, {f32({1000}, std::vector<float>(1000, 1.0f)), f32({}, {0.5f}), bools({}, {1})}, {}, 2);
  int kept = 0;
  for (int i = 0; i < 1000; ++i) {
    float v = y[0].data<float>()[i];
    EXPECT_TRUE(v == 0.0f || v == 2.0f);
    EXPECT_EQ(v != 0.0f, y[1].data<uint8_t>()[i] != 0);
    kept += v != 0.0f;
  }
  EXPECT_GT(kept, 400);
  EXPECT_LT(kept, 600);
  EXPECT_THROW(run_op("Dropout", 13, {x, f32({}, {1.0f}), bools({}, {1})}), Error);
}

// ---- Generators ----

TEST(TensorGenerators, ConstantOfShapeAndRange) {
  Tensor y = run_op("ConstantOfShape", 13, {i64v({2, 0})})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 0}));
  EXPECT_EQ(y.dtype(), DType::Float32);
  EXPECT_THROW(run_op("ConstantOfShape", 13, {i64v({-1})}), Error);
  EXPECT_EQ(run_op("ConstantOfShape", 13, {i64({0}, {})})[0].rank(), 0);
  EXPECT_EQ(values<int64_t>(run_op("Range", 11, {i64({}, {10}), i64({}, {1}), i64({}, {-3})})[0]),
            (std::vector<int64_t>{10, 7, 4}));
  EXPECT_EQ(run_op("Range", 11, {i64({}, {1}), i64({}, {10}), i64({}, {-3})})[0].numel(), 0);
  EXPECT_THROW(run_op("Range", 11, {i64({}, {1}), i64({}, {10}), i64({}, {0})}), Error);
  EXPECT_EQ(values<float>(run_op("Range", 11, {f32({}, {0}), f32({}, {1}), f32({}, {0.25f})})[0]),
            (std::vector<float>{0, 0.25f, 0.5f, 0.75f}));
}

TEST(TensorGenerators, EyeLikeOneHot) {
  Tensor y = run_op("EyeLike", 9, {Tensor(DType::Int32, {2, 3})},
                    {Attribute::of_int("k", 1), Attribute::of_int("dtype", 11)})[0];
  EXPECT_EQ(y.dtype(), DType::Float64);
  EXPECT_EQ(values<double>(y), (std::vector<double>{0, 1, 0, 0, 0, 1}));
  EXPECT_THROW(run_op("EyeLike", 9, {Tensor(DType::Int32, {3})}), Error);
  Tensor h = run_op("OneHot", 11, {i64v({1, -1, 5}), i64({}, {3}), f32({2}, {0, 9})})[0];
  EXPECT_EQ(h.shape(), (Shape{3, 3}));
  EXPECT_EQ(values<float>(h), (std::vector<float>{0, 9, 0, 0, 0, 9, 0, 0, 0}));  // 5 is out of range: all off
  EXPECT_THROW(run_op("OneHot", 11, {i64v({1}), i64({}, {0}), f32({2}, {0, 1})}), Error);
}

// ---- Data-dependent shapes ----

TEST(TensorSelect, NonZeroCompressUnique) {
  Tensor nz = run_op("NonZero", 13, {bools({2, 2}, {0, 1, 1, 0})})[0];
  EXPECT_EQ(nz.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<int64_t>(nz), (std::vector<int64_t>{0, 1, 1, 0}));
  EXPECT_EQ(run_op("NonZero", 13, {Tensor(DType::Float32, {0, 3})})[0].shape(), (Shape{2, 0}));
  Tensor c = run_op("Compress", 11, {strs({3}, {"a", "b", "c"}), bools({2}, {0, 1})}, {Attribute::of_int("axis", 0)})[0];
  EXPECT_EQ(values<std::string>(c), (std::vector<std::string>{"b"}));
  EXPECT_THROW(run_op("Compress", 11, {f32({1}, {0}), bools({2}, {0, 1})}, {Attribute::of_int("axis", 0)}), Error);
  auto u = run_op("Unique", 11, {strs({4}, {"b", "a", "b", "c"})}, {Attribute::of_int("sorted", 0)}, 4);
  EXPECT_EQ(values<std::string>(u[0]), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(values<int64_t>(u[1]), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(values<int64_t>(u[2]), (std::vector<int64_t>{0, 1, 0, 2}));
  EXPECT_EQ(values<int64_t>(u[3]), (std::vector<int64_t>{2, 1, 1}));
}

TEST(TensorSelect, TriluReverseSequenceSpaceDepth) {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(values<float>(run_op("Trilu", 14, {x, i64({}, {-1})}, {Attribute::of_int("upper", 0)})[0]),
            (std::vector<float>{0, 0, 3, 0}));
  EXPECT_EQ(run_op("Trilu", 14, {Tensor(DType::Float32, {0, 3})})[0].shape(), (Shape{0, 3}));
  EXPECT_THROW(run_op("Trilu", 14, {f32({2}, {1, 2})}), Error);
  Tensor r = run_op("ReverseSequence", 10, {x, i64v({2, 1})},
                    {Attribute::of_int("batch_axis", 0), Attribute::of_int("time_axis", 1)})[0];
  EXPECT_EQ(values<float>(r), (std::vector<float>{2, 1, 3, 4}));
  EXPECT_THROW(run_op("ReverseSequence", 10, {x, i64v({3, 1})}), Error);
  Tensor img = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor d = run_op("SpaceToDepth", 13, {img}, {Attribute::of_int("blocksize", 2)})[0];
  EXPECT_EQ(d.shape(), (Shape{1, 4, 1, 1}));
  Tensor back = run_op("DepthToSpace", 13, {d}, {Attribute::of_int("blocksize", 2)})[0];
  EXPECT_EQ(values<float>(back), values<float>(img));
  EXPECT_THROW(run_op("DepthToSpace", 13, {img}, {Attribute::of_int("blocksize", 2)}), Error);
}

TEST(TensorRobustness, AbsurdSizesThrowInsteadOfOverflowing) {
  Tensor x = f32({2}, {1, 2});
  const int64_t big = int64_t{1} << 34;
  EXPECT_THROW(run_op("Reshape", 13, {x, i64v({big, big, -1})}), Error);
  EXPECT_THROW(run_op("Reshape", 13, {x, i64v({big, big})}), Error);
  EXPECT_THROW(
      run_op("Reshape", 14, {Tensor(DType::Float32, {0}), i64v({big, big, 0})}, {Attribute::of_int("allowzero", 1)}),
      Error);
  EXPECT_THROW(run_op("Tile", 13, {x, i64v({INT64_MAX})}), Error);
  EXPECT_THROW(run_op("Pad", 13, {x, i64v({INT64_MAX, 1})}), Error);
  EXPECT_EQ(values<float>(run_op("Slice", 13, {x, i64v({0}), i64v({2}), i64v({0}), i64v({INT64_MAX})})[0]),
            (std::vector<float>{1}));
  EXPECT_EQ(values<float>(run_op("Slice", 13, {x, i64v({-1}), i64v({INT64_MIN}), i64v({0}), i64v({INT64_MIN})})[0]),
            (std::vector<float>{2}));
  EXPECT_THROW(run_op("DepthToSpace", 13, {Tensor(DType::Float32, {1, 4, 1, 1})},
                      {Attribute::of_int("blocksize", int64_t{1} << 40)}),
               Error);
  EXPECT_THROW(run_op("EyeLike", 9, {Tensor(DType::Float32, {2, 2})}, {Attribute::of_int("dtype", 99)}), Error);
}

}  // namespace
}  // namespace hone
