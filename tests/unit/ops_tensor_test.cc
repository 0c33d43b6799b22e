// Data-movement, shape and indexing operators (src/ops/tensor): what the conformance corpus does not cover
// (legacy opset forms, error cases, empty and rank-0 shapes, string/bool elements, symbolic shape inference).
#include <gtest/gtest.h>

#include "hone/hone.h"
#include "ops/infer_graph.h"

namespace hone {
namespace {

template <typename T>
Tensor make(DType dtype, Shape shape, std::vector<T> values) {
  Tensor t(dtype, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size());
  for (size_t i = 0; i < values.size(); ++i) t.data<T>()[i] = values[i];
  return t;
}
Tensor f32(Shape s, std::vector<float> v) { return make<float>(DType::Float32, std::move(s), std::move(v)); }
Tensor i64(Shape s, std::vector<int64_t> v) { return make<int64_t>(DType::Int64, std::move(s), std::move(v)); }
Tensor i64v(std::vector<int64_t> v) {
  Shape s{static_cast<int64_t>(v.size())};
  return i64(s, std::move(v));
}
Tensor strs(Shape s, std::vector<std::string> v) { return make<std::string>(DType::String, std::move(s), std::move(v)); }
Tensor bools(Shape s, std::vector<uint8_t> v) { return make<uint8_t>(DType::Bool, std::move(s), std::move(v)); }

Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Int;
  a.i = v;
  return a;
}
Attribute ints_attr(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Ints;
  a.ints = std::move(v);
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

// An input of a one-node test graph: fed at run time, or an initializer (a plan-time constant).
struct In {
  Tensor t;
  bool constant = false;
};
In fed(Tensor t) { return {std::move(t), false}; }
In init(Tensor t) { return {std::move(t), true}; }

Model one_op_model(const std::string& op, int64_t opset, const std::vector<In>& inputs, std::vector<Attribute> attrs,
                   size_t num_outputs) {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", opset}};
  Graph& g = m.graph;
  g.name = "one_op";
  Node n;
  n.op_type = op;
  n.name = "n";
  n.attributes = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    n.inputs.push_back(name);
    if (inputs[i].constant) g.initializers[name] = inputs[i].t;
    else g.inputs.push_back({name, TypeInfo::tensor(inputs[i].t.dtype(), to_sym_shape(inputs[i].t.shape())), ""});
  }
  for (size_t k = 0; k < num_outputs; ++k) {
    n.outputs.push_back("out" + std::to_string(k));
    g.outputs.push_back({n.outputs.back(), TypeInfo::tensor(DType::Undefined), ""});
  }
  g.nodes.push_back(n);
  return m;
}

// Runs one node; inputs fed unless marked constant.
std::vector<Tensor> run_op(const std::string& op, int64_t opset, const std::vector<In>& inputs,
                           std::vector<Attribute> attrs = {}, size_t num_outputs = 1) {
  Model m = one_op_model(op, opset, inputs, std::move(attrs), num_outputs);
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].constant) feeds.emplace_back("in" + std::to_string(i), inputs[i].t);
  Session s(std::move(m), {.threads = 1});
  return s.run(feeds);
}
// All inputs fed.
std::vector<Tensor> run(const std::string& op, int64_t opset, const std::vector<Tensor>& inputs,
                        std::vector<Attribute> attrs = {}, size_t num_outputs = 1) {
  std::vector<In> in;
  for (const Tensor& t : inputs) in.push_back(fed(t));
  return run_op(op, opset, in, std::move(attrs), num_outputs);
}

// Shape inference of one node whose fed inputs have the given symbolic shapes (constants as given).
TypeInfo infer_out(const std::string& op, int64_t opset, const std::vector<In>& inputs,
                   const std::vector<std::optional<SymShape>>& fed_shapes, std::vector<Attribute> attrs = {},
                   size_t which = 0, size_t num_outputs = 1) {
  Model m = one_op_model(op, opset, inputs, std::move(attrs), num_outputs);
  std::unordered_map<std::string, TypeInfo> types;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].constant && i < fed_shapes.size())
      types["in" + std::to_string(i)] = TypeInfo::tensor(inputs[i].t.dtype(), fed_shapes[i]);
  InferOptions opt;
  opt.opset = [opset](const std::string&) { return opset; };
  GraphTypes gt = infer_graph(m.graph, opt, types);
  return gt.types.at("out" + std::to_string(which));
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

SymShape sym(std::vector<Dim> d) { return SymShape(std::move(d)); }
Dim named(const char* s) { return Dim::named(s); }

// ---- Shape / Size ----

TEST(TensorShapeOp, StartEndClampAndFold) {
  Tensor x(DType::Float32, {2, 3, 4, 5});
  EXPECT_EQ(values<int64_t>(run("Shape", 15, {x}, {int_attr("start", -3), int_attr("end", -1)})[0]),
            (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(values<int64_t>(run("Shape", 15, {x}, {int_attr("start", 10)})[0]).size(), 0u);
  EXPECT_EQ(run("Shape", 13, {Tensor(DType::Float32, {})})[0].shape(), (Shape{0}));
  // Known dims fold to a constant even when other dims are symbolic.
  TypeInfo t = infer_out("Shape", 15, {fed(x)}, {sym({named("b"), 3, 4, 5})}, {int_attr("start", 1)});
  EXPECT_EQ(sym_shape_str(*t.shape), "[3]");
  TypeInfo u = infer_out("Shape", 15, {fed(x)}, {sym({named("b"), 3, 4, 5})});
  EXPECT_EQ(*u.shape, sym({4}));
}

TEST(TensorShapeOp, SizeOfEmptyAndScalar) {
  EXPECT_EQ(values<int64_t>(run("Size", 13, {Tensor(DType::Float32, {3, 0})})[0]), (std::vector<int64_t>{0}));
  Tensor s = run("Size", 13, {Tensor(DType::String, {})})[0];
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.data<int64_t>()[0], 1);
}

// ---- Reshape family ----

TEST(TensorReshape, ZeroCopiesAndMinusOneInfers) {
  Tensor x = f32({2, 3, 4}, std::vector<float>(24, 1.0f));
  EXPECT_EQ(run_op("Reshape", 13, {fed(x), init(i64v({0, -1}))})[0].shape(), (Shape{2, 12}));
  EXPECT_EQ(run_op("Reshape", 13, {fed(x), fed(i64v({-1, 0, 2}))})[0].shape(), (Shape{4, 3, 2}));
  EXPECT_THROW(run_op("Reshape", 13, {fed(x), fed(i64v({-1, -1}))}), Error);
  EXPECT_THROW(run_op("Reshape", 13, {fed(x), fed(i64v({5, -1}))}), Error);
  EXPECT_THROW(run_op("Reshape", 13, {fed(x), fed(i64v({0, 0, 0, 0}))}), Error);
  EXPECT_THROW(run_op("Reshape", 13, {fed(x), fed(i64v({-2, 12}))}), Error);
}

TEST(TensorReshape, AllowZeroKeepsZeroDims) {
  Tensor x(DType::Float32, {0, 3});
  EXPECT_EQ(run_op("Reshape", 14, {fed(x), fed(i64v({3, 0}))}, {int_attr("allowzero", 1)})[0].shape(), (Shape{3, 0}));
  // Without allowzero, 0 copies the input dim: [0, 3] -> [3, 0] means [3, 3], which does not fit 0 elements.
  EXPECT_THROW(run_op("Reshape", 14, {fed(x), fed(i64v({3, 0}))}), Error);
  EXPECT_THROW(run_op("Reshape", 14, {fed(x), fed(i64v({0, -1}))}, {int_attr("allowzero", 1)}), Error);
}

TEST(TensorReshape, LegacyShapeAttribute) {
  Tensor x = f32({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor y = run("Reshape", 4, {x}, {ints_attr("shape", {3, -1})})[0];
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(values<float>(y), values<float>(x));
}

TEST(TensorReshape, SymbolicInference) {
  Tensor x(DType::Float32, {2, 3, 4});
  TypeInfo t = infer_out("Reshape", 13, {fed(x), init(i64v({0, -1}))}, {sym({named("batch"), 3, 4})});
  EXPECT_EQ(*t.shape, sym({named("batch"), 12}));
  t = infer_out("Reshape", 13, {fed(x), init(i64v({-1, 4}))}, {sym({named("batch"), 3, 4})});
  EXPECT_EQ(*t.shape, sym({Dim(), 4}));  // batch*3 is not expressible
  t = infer_out("Reshape", 13, {fed(x), init(i64v({0, 0, -1}))}, {sym({named("b"), named("s"), 12})});
  EXPECT_EQ(*t.shape, sym({named("b"), named("s"), 12}));
  t = infer_out("Reshape", 13, {fed(x), init(i64v({12, -1}))}, {sym({3, named("s"), 4})});
  EXPECT_EQ(*t.shape, sym({12, named("s")}));
  // A runtime shape of known length gives the rank.
  t = infer_out("Reshape", 13, {fed(x), fed(i64v({1, 1, 1}))}, {sym({2, 3, 4}), sym({3})});
  EXPECT_EQ(t.shape->size(), 3u);
}

TEST(TensorReshape, FlattenAxes) {
  Tensor x(DType::Float32, {2, 3, 4});
  EXPECT_EQ(run("Flatten", 13, {x}, {int_attr("axis", 0)})[0].shape(), (Shape{1, 24}));
  EXPECT_EQ(run("Flatten", 13, {x}, {int_attr("axis", 3)})[0].shape(), (Shape{24, 1}));
  EXPECT_EQ(run("Flatten", 13, {x}, {int_attr("axis", -1)})[0].shape(), (Shape{6, 4}));
  EXPECT_THROW(run("Flatten", 9, {x}, {int_attr("axis", -1)}), Error);  // negative axes arrived in opset 11
  EXPECT_THROW(run("Flatten", 13, {x}, {int_attr("axis", 4)}), Error);
  TypeInfo t = infer_out("Flatten", 13, {fed(x)}, {sym({named("b"), 3, 4})});
  EXPECT_EQ(*t.shape, sym({named("b"), 12}));
}

TEST(TensorReshape, SqueezeAttributeAndInputForms) {
  Tensor x(DType::Float32, {1, 3, 1});
  EXPECT_EQ(run("Squeeze", 11, {x}, {ints_attr("axes", {-1})})[0].shape(), (Shape{1, 3}));
  EXPECT_EQ(run("Squeeze", 13, {x, i64v({0})})[0].shape(), (Shape{3, 1}));
  EXPECT_EQ(run("Squeeze", 13, {x})[0].shape(), (Shape{3}));
  EXPECT_THROW(run("Squeeze", 13, {x, i64v({1})}), Error);  // size 3
  EXPECT_THROW(run("Squeeze", 13, {x, i64v({3})}), Error);
  EXPECT_EQ(run("Squeeze", 13, {Tensor(DType::Float32, {1})})[0].rank(), 0);
}

TEST(TensorReshape, UnsqueezeForms) {
  Tensor x = strs({2}, {"a", "b"});
  Tensor y = run("Unsqueeze", 11, {x}, {ints_attr("axes", {0, -1})})[0];
  EXPECT_EQ(y.shape(), (Shape{1, 2, 1}));
  EXPECT_EQ(values<std::string>(y), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(run("Unsqueeze", 13, {Tensor(DType::Float32, {}), i64v({0})})[0].shape(), (Shape{1}));
  EXPECT_THROW(run("Unsqueeze", 13, {x, i64v({0, 0})}), Error);
  EXPECT_THROW(run("Unsqueeze", 13, {x, i64v({2})}), Error);
}

// ---- Transpose / Concat / Split / Slice ----

TEST(TensorMovement, TransposeStringsAndBadPerm) {
  Tensor x = strs({2, 3}, {"a", "b", "c", "d", "e", "f"});
  EXPECT_EQ(values<std::string>(run("Transpose", 13, {x})[0]), (std::vector<std::string>{"a", "d", "b", "e", "c", "f"}));
  EXPECT_THROW(run("Transpose", 13, {x}, {ints_attr("perm", {0, 0})}), Error);
  EXPECT_THROW(run("Transpose", 13, {x}, {ints_attr("perm", {0})}), Error);
  EXPECT_EQ(run("Transpose", 13, {Tensor(DType::Float32, {0, 2, 3})})[0].shape(), (Shape{3, 2, 0}));
}

TEST(TensorMovement, ConcatWithEmptyAndMismatch) {
  Tensor a = bools({1, 2}, {1, 0}), e(DType::Bool, {0, 2}), b = bools({1, 2}, {0, 1});
  Tensor y = run("Concat", 13, {a, e, b}, {int_attr("axis", 0)})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_THROW(run("Concat", 13, {a, Tensor(DType::Bool, {1, 3})}, {int_attr("axis", 0)}), Error);
  EXPECT_THROW(run("Concat", 13, {a, b}), Error);  // axis is required
  EXPECT_THROW(run("Concat", 13, {a, f32({1, 2}, {0, 0})}, {int_attr("axis", 0)}), Error);
}

TEST(TensorMovement, SplitOpsetForms) {
  Tensor x = f32({5}, {0, 1, 2, 3, 4});
  auto y = run("Split", 18, {x}, {int_attr("num_outputs", 3)}, 3);  // 2, 2, 1
  EXPECT_EQ(values<float>(y[2]), (std::vector<float>{4}));
  EXPECT_EQ(y[0].shape(), (Shape{2}));
  EXPECT_THROW(run("Split", 13, {x}, {}, 3), Error);  // uneven before opset 18
  y = run("Split", 11, {x}, {ints_attr("split", {1, 4})}, 2);
  EXPECT_EQ(values<float>(y[1]), (std::vector<float>{1, 2, 3, 4}));
  y = run("Split", 13, {x, i64v({0, 5})}, {}, 2);
  EXPECT_EQ(y[0].numel(), 0);
  EXPECT_THROW(run("Split", 13, {x, i64v({1, 1})}, {}, 2), Error);
}

TEST(TensorMovement, SliceStepsAndClamping) {
  Tensor x = f32({5}, {0, 1, 2, 3, 4});
  auto sl = [&](std::vector<int64_t> s, std::vector<int64_t> e, std::vector<int64_t> st) {
    return values<float>(run("Slice", 13, {x, i64v(s), i64v(e), i64v({0}), i64v(st)})[0]);
  };
  EXPECT_EQ(sl({-1}, {INT64_MIN}, {-1}), (std::vector<float>{4, 3, 2, 1, 0}));
  EXPECT_EQ(sl({10}, {-10}, {-2}), (std::vector<float>{4, 2, 0}));
  EXPECT_EQ(sl({1}, {INT64_MAX}, {3}), (std::vector<float>{1, 4}));
  EXPECT_EQ(sl({3}, {1}, {1}).size(), 0u);
  EXPECT_THROW(sl({0}, {1}, {0}), Error);
  // Opset 1-9: attributes.
  Tensor y = run("Slice", 9, {x}, {ints_attr("starts", {1}), ints_attr("ends", {-1})})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 2, 3}));
  // Constant starts/ends make the output shape exact even with a symbolic input dim elsewhere.
  Tensor m(DType::Float32, {4, 6});
  TypeInfo t = infer_out("Slice", 13, {fed(m), init(i64v({1})), init(i64v({-1})), init(i64v({1}))},
                         {sym({named("b"), 6})});
  EXPECT_EQ(*t.shape, sym({named("b"), 4}));
}

// ---- Gather / Scatter ----

TEST(TensorIndexing, GatherBoundsAndNegative) {
  Tensor x = f32({3, 2}, {0, 1, 2, 3, 4, 5});
  Tensor y = run("Gather", 13, {x, i64({}, {-1})}, {int_attr("axis", 0)})[0];
  EXPECT_EQ(y.shape(), (Shape{2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{4, 5}));
  EXPECT_THROW(run("Gather", 13, {x, i64v({3})}), Error);
  EXPECT_THROW(run("Gather", 13, {x, i64v({-4})}), Error);
  EXPECT_THROW(run("Gather", 13, {x, f32({1}, {0})}), Error);
  EXPECT_EQ(run("Gather", 13, {x, i64({0}, {})}, {int_attr("axis", 1)})[0].shape(), (Shape{3, 0}));
}

TEST(TensorIndexing, GatherElementsAndNDBounds) {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  EXPECT_THROW(run("GatherElements", 13, {x, i64({2, 1}, {0, 2})}), Error);
  EXPECT_EQ(values<float>(run("GatherElements", 13, {x, i64({1, 2}, {1, -2})})[0]), (std::vector<float>{3, 2}));
  EXPECT_THROW(run("GatherND", 13, {x, i64({1, 2}, {0, 5})}), Error);
  EXPECT_EQ(values<float>(run("GatherND", 13, {x, i64({2, 1}, {1, 0})})[0]), (std::vector<float>{3, 4, 1, 2}));
}

TEST(TensorIndexing, ScatterReductionsAndBounds) {
  Tensor data = f32({4}, {1, 1, 1, 1});
  Tensor y = run("ScatterND", 16, {data, i64({2, 1}, {1, 1}), f32({2}, {5, 6})}, {string_attr("reduction", "add")})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 12, 1, 1}));
  EXPECT_THROW(run("ScatterND", 16, {data, i64({1, 1}, {4}), f32({1}, {5})}), Error);
  EXPECT_THROW(run("ScatterND", 16, {data, i64({1, 1}, {0}), f32({2}, {5, 6})}), Error);  // updates shape
  y = run("ScatterElements", 18, {data, i64v({0, 0}), f32({2}, {3, 0.5f})}, {string_attr("reduction", "min")})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{0.5f, 1, 1, 1}));
  EXPECT_THROW(run("ScatterElements", 18, {data, i64v({-5}), f32({1}, {0})}), Error);
  EXPECT_THROW(run("ScatterElements", 18, {data, i64v({0}), f32({1}, {0})}, {string_attr("reduction", "avg")}), Error);
  // Scatter (opset 9-10) on strings.
  Tensor s = run("Scatter", 10, {strs({3}, {"a", "b", "c"}), i64v({2}), strs({1}, {"z"})})[0];
  EXPECT_EQ(values<std::string>(s), (std::vector<std::string>{"a", "b", "z"}));
}

TEST(TensorIndexing, TensorScatterCircularAndLinearBounds) {
  Tensor cache = f32({1, 3, 1}, {0, 0, 0});
  Tensor y = run("TensorScatter", 24, {cache, f32({1, 2, 1}, {7, 8}), i64v({2})}, {string_attr("mode", "circular")})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{8, 0, 7}));
  EXPECT_THROW(run("TensorScatter", 24, {cache, f32({1, 2, 1}, {7, 8}), i64v({2})}), Error);
}

// ---- Expand / Tile / Pad ----

TEST(TensorExpand, BroadcastsBothWaysAndEmpty) {
  Tensor x = f32({3, 1}, {1, 2, 3});
  Tensor y = run("Expand", 13, {x, i64v({2, 1, 2})})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values<float>(y)[3], 2.0f);
  EXPECT_EQ(run("Expand", 13, {Tensor(DType::Float32, {1, 2}), i64v({0, 1})})[0].shape(), (Shape{0, 2}));
  EXPECT_THROW(run("Expand", 13, {x, i64v({0, 1})}), Error);
  EXPECT_THROW(run("Expand", 13, {x, i64v({2, 2, 1})}), Error);
  EXPECT_EQ(run("Tile", 13, {x, i64v({0, 2})})[0].shape(), (Shape{0, 2}));
  EXPECT_EQ(values<float>(run("Tile", 13, {x, i64v({1, 2})})[0]), (std::vector<float>{1, 1, 2, 2, 3, 3}));
  EXPECT_THROW(run("Tile", 13, {x, i64v({2})}), Error);
}

TEST(TensorPad, ModesWithCropAndLegacyForms) {
  Tensor x = f32({4}, {1, 2, 3, 4});
  auto pad = [&](const char* mode, std::vector<int64_t> pads) {
    return values<float>(run("Pad", 19, {x, i64v(pads)}, {string_attr("mode", mode)})[0]);
  };
  EXPECT_EQ(pad("reflect", {3, 0}), (std::vector<float>{4, 3, 2, 1, 2, 3, 4}));
  EXPECT_EQ(pad("edge", {1, 2}), (std::vector<float>{1, 1, 2, 3, 4, 4, 4}));
  EXPECT_EQ(pad("wrap", {2, -1}), (std::vector<float>{2, 3, 1, 2, 3}));
  EXPECT_EQ(pad("reflect", {-1, 2}), (std::vector<float>{2, 3, 4, 3, 2}));  // crop first, then reflect
  EXPECT_EQ(pad("constant", {-2, -2}).size(), 0u);
  EXPECT_THROW(pad("constant", {-3, -2}), Error);
  EXPECT_THROW(pad("mirror", {1, 1}), Error);
  Tensor y = run("Pad", 2, {x}, {ints_attr("pads", {1, 0}), float_attr("value", 9)})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{9, 1, 2, 3, 4}));
  y = run("Pad", 18, {f32({2, 2}, {1, 2, 3, 4}), i64v({1, 0}), f32({}, {7}), i64v({-1})})[0];
  EXPECT_EQ(values<float>(y), (std::vector<float>{7, 1, 2, 7, 3, 4}));
  EXPECT_THROW(run("Pad", 13, {Tensor(DType::Float32, {0}), i64v({1, 1})}, {string_attr("mode", "edge")}), Error);
}

TEST(TensorPad, CenterCropPadOddDifferences) {
  Tensor x = f32({4}, {1, 2, 3, 4});
  EXPECT_EQ(values<float>(run("CenterCropPad", 18, {x, i64v({1})})[0]), (std::vector<float>{2}));
  EXPECT_EQ(values<float>(run("CenterCropPad", 18, {x, i64v({7})})[0]), (std::vector<float>{0, 1, 2, 3, 4, 0, 0}));
}

// ---- Identity / Dropout ----

TEST(TensorIdentity, PassesSequences) {
  Model m = one_op_model("Identity", 16, {fed(f32({1}, {0}))}, {}, 1);
  m.graph.inputs[0].type = TypeInfo{};
  m.graph.inputs[0].type.kind = TypeInfo::Kind::Sequence;
  m.graph.inputs[0].type.inner = std::make_shared<TypeInfo>(TypeInfo::tensor(DType::Float32));
  Session s(std::move(m), {.threads = 1});
  std::vector<Value> out = s.run_values({Value::of_sequence({f32({1}, {1}), f32({2}, {2, 3})}, DType::Float32)});
  ASSERT_TRUE(out[0].is_sequence());
  ASSERT_EQ(out[0].sequence.size(), 2u);
  EXPECT_EQ(out[0].sequence[1].data<float>()[1], 3.0f);
}

TEST(TensorIdentity, DropoutMaskTypesByOpset) {
  Tensor x = f32({3}, {1, 2, 3});
  auto y = run("Dropout", 7, {x}, {float_attr("ratio", 0.3f)}, 2);
  EXPECT_EQ(values<float>(y[0]), values<float>(x));
  EXPECT_EQ(y[1].dtype(), DType::Float32);  // mask had the data type before opset 10
  EXPECT_EQ(values<float>(y[1]), (std::vector<float>{1, 1, 1}));
  y = run("Dropout", 13, {x, f32({}, {0.0f}), bools({}, {1})}, {}, 2);
  EXPECT_EQ(values<float>(y[0]), values<float>(x));
  EXPECT_EQ(values<uint8_t>(y[1]), (std::vector<uint8_t>{1, 1, 1}));
  y = run("Dropout", 13, {f32({1000}, std::vector<float>(1000, 1.0f)), f32({}, {0.5f}), bools({}, {1})}, {}, 2);
  int kept = 0;
  for (int i = 0; i < 1000; ++i) {
    float v = y[0].data<float>()[i];
    EXPECT_TRUE(v == 0.0f || v == 2.0f);
    EXPECT_EQ(v != 0.0f, y[1].data<uint8_t>()[i] != 0);
    kept += v != 0.0f;
  }
  EXPECT_GT(kept, 400);
  EXPECT_LT(kept, 600);
  EXPECT_THROW(run("Dropout", 13, {x, f32({}, {1.0f}), bools({}, {1})}), Error);
}

// ---- Generators ----

TEST(TensorGenerators, ConstantOfShapeAndRange) {
  Tensor y = run("ConstantOfShape", 13, {i64v({2, 0})})[0];
  EXPECT_EQ(y.shape(), (Shape{2, 0}));
  EXPECT_EQ(y.dtype(), DType::Float32);
  EXPECT_THROW(run("ConstantOfShape", 13, {i64v({-1})}), Error);
  EXPECT_EQ(run("ConstantOfShape", 13, {i64({0}, {})})[0].rank(), 0);
  EXPECT_EQ(values<int64_t>(run("Range", 11, {i64({}, {10}), i64({}, {1}), i64({}, {-3})})[0]),
            (std::vector<int64_t>{10, 7, 4}));
  EXPECT_EQ(run("Range", 11, {i64({}, {1}), i64({}, {10}), i64({}, {-3})})[0].numel(), 0);
  EXPECT_THROW(run("Range", 11, {i64({}, {1}), i64({}, {10}), i64({}, {0})}), Error);
  EXPECT_EQ(values<float>(run("Range", 11, {f32({}, {0}), f32({}, {1}), f32({}, {0.25f})})[0]),
            (std::vector<float>{0, 0.25f, 0.5f, 0.75f}));
}

TEST(TensorGenerators, EyeLikeOneHot) {
  Tensor y = run("EyeLike", 9, {Tensor(DType::Int32, {2, 3})}, {int_attr("k", 1), int_attr("dtype", 11)})[0];
  EXPECT_EQ(y.dtype(), DType::Float64);
  EXPECT_EQ(values<double>(y), (std::vector<double>{0, 1, 0, 0, 0, 1}));
  EXPECT_THROW(run("EyeLike", 9, {Tensor(DType::Int32, {3})}), Error);
  Tensor h = run("OneHot", 11, {i64v({1, -1, 5}), i64({}, {3}), f32({2}, {0, 9})})[0];
  EXPECT_EQ(h.shape(), (Shape{3, 3}));
  EXPECT_EQ(values<float>(h), (std::vector<float>{0, 9, 0, 0, 0, 9, 0, 0, 0}));  // 5 is out of range: all off
  EXPECT_THROW(run("OneHot", 11, {i64v({1}), i64({}, {0}), f32({2}, {0, 1})}), Error);
}

// ---- Data-dependent shapes ----

TEST(TensorSelect, NonZeroCompressUnique) {
  Tensor nz = run("NonZero", 13, {bools({2, 2}, {0, 1, 1, 0})})[0];
  EXPECT_EQ(nz.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<int64_t>(nz), (std::vector<int64_t>{0, 1, 1, 0}));
  EXPECT_EQ(run("NonZero", 13, {Tensor(DType::Float32, {0, 3})})[0].shape(), (Shape{2, 0}));
  Tensor c = run("Compress", 11, {strs({3}, {"a", "b", "c"}), bools({2}, {0, 1})}, {int_attr("axis", 0)})[0];
  EXPECT_EQ(values<std::string>(c), (std::vector<std::string>{"b"}));
  EXPECT_THROW(run("Compress", 11, {f32({1}, {0}), bools({2}, {0, 1})}, {int_attr("axis", 0)}), Error);
  auto u = run("Unique", 11, {strs({4}, {"b", "a", "b", "c"})}, {int_attr("sorted", 0)}, 4);
  EXPECT_EQ(values<std::string>(u[0]), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(values<int64_t>(u[1]), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(values<int64_t>(u[2]), (std::vector<int64_t>{0, 1, 0, 2}));
  EXPECT_EQ(values<int64_t>(u[3]), (std::vector<int64_t>{2, 1, 1}));
}

TEST(TensorSelect, TriluReverseSequenceSpaceDepth) {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(values<float>(run("Trilu", 14, {x, i64({}, {-1})}, {int_attr("upper", 0)})[0]), (std::vector<float>{0, 0, 3, 0}));
  EXPECT_EQ(run("Trilu", 14, {Tensor(DType::Float32, {0, 3})})[0].shape(), (Shape{0, 3}));
  EXPECT_THROW(run("Trilu", 14, {f32({2}, {1, 2})}), Error);
  Tensor r = run("ReverseSequence", 10, {x, i64v({2, 1})}, {int_attr("batch_axis", 0), int_attr("time_axis", 1)})[0];
  EXPECT_EQ(values<float>(r), (std::vector<float>{2, 1, 3, 4}));
  EXPECT_THROW(run("ReverseSequence", 10, {x, i64v({3, 1})}), Error);
  Tensor img = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor d = run("SpaceToDepth", 13, {img}, {int_attr("blocksize", 2)})[0];
  EXPECT_EQ(d.shape(), (Shape{1, 4, 1, 1}));
  Tensor back = run("DepthToSpace", 13, {d}, {int_attr("blocksize", 2)})[0];
  EXPECT_EQ(values<float>(back), values<float>(img));
  EXPECT_THROW(run("DepthToSpace", 13, {img}, {int_attr("blocksize", 2)}), Error);
}

TEST(TensorRobustness, AbsurdSizesThrowInsteadOfOverflowing) {
  Tensor x = f32({2}, {1, 2});
  const int64_t big = int64_t{1} << 34;
  EXPECT_THROW(run("Reshape", 13, {x, i64v({big, big, -1})}), Error);
  EXPECT_THROW(run("Reshape", 13, {x, i64v({big, big})}), Error);
  EXPECT_THROW(run("Reshape", 14, {Tensor(DType::Float32, {0}), i64v({big, big, 0})}, {int_attr("allowzero", 1)}), Error);
  EXPECT_THROW(run("Tile", 13, {x, i64v({INT64_MAX})}), Error);
  EXPECT_THROW(run("Pad", 13, {x, i64v({INT64_MAX, 1})}), Error);
  EXPECT_EQ(values<float>(run("Slice", 13, {x, i64v({0}), i64v({2}), i64v({0}), i64v({INT64_MAX})})[0]), (std::vector<float>{1}));
  EXPECT_EQ(values<float>(run("Slice", 13, {x, i64v({-1}), i64v({INT64_MIN}), i64v({0}), i64v({INT64_MIN})})[0]), (std::vector<float>{2}));
  EXPECT_THROW(run("DepthToSpace", 13, {Tensor(DType::Float32, {1, 4, 1, 1})}, {int_attr("blocksize", int64_t{1} << 40)}), Error);
  EXPECT_THROW(run("EyeLike", 9, {Tensor(DType::Float32, {2, 2})}, {int_attr("dtype", 99)}), Error);
}

}  // namespace
}  // namespace hone
