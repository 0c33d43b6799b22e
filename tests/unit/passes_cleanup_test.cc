// The cleanup passes of `hone optimize` (remove-identity, eliminate-dead, cse, simplify-reshapes, fold-pad) and the
// shape computations of fold-constants: on small graphs, what each rewrite leaves, that the outputs keep their
// values on random inputs, and the cases where a pass must leave the graph as it is.
#include <limits>

#include "ir/graph_equal.h"
#include "pass_test_util.h"

namespace hone::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Builds a model node by node; every node is named after its first output.
struct Builder {
  Model m;
  int next = 0;
  explicit Builder(int64_t opset = 13) {
    m.ir_version = 8;
    m.opset_import = {{"", opset}};
    m.graph.name = "g";
  }
  std::string input(const std::string& name, SymShape shape, DType t = DType::Float32) {
    m.graph.inputs.push_back({name, TypeInfo::tensor(t, std::move(shape)), ""});
    return name;
  }
  std::string init(const std::string& name, Tensor t) {
    m.graph.initializers[name] = std::move(t);
    return name;
  }
  std::string ints(const std::vector<int64_t>& v) { return init("c" + std::to_string(next++), int64_tensor(v)); }
  std::string floats(Shape s, float first = 0.5f) {
    Tensor t(DType::Float32, std::move(s));
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = first + 0.25f * static_cast<float>(i % 7);
    return init("f" + std::to_string(next++), t);
  }
  std::vector<std::string> node(const std::string& op, std::vector<std::string> in, std::vector<Attribute> attrs = {},
                                int outputs = 1) {
    std::vector<std::string> out;
    for (int k = 0; k < outputs; ++k) out.push_back(op + std::to_string(next++));
    m.graph.nodes.push_back({out[0], op, "", std::move(in), out, std::move(attrs), ""});
    return out;
  }
  std::string op(const std::string& op, std::vector<std::string> in, std::vector<Attribute> attrs = {}) {
    return node(op, std::move(in), std::move(attrs))[0];
  }
  void output(const std::string& name, DType t = DType::Float32) {
    m.graph.outputs.push_back({name, TypeInfo::tensor(t), ""});
  }
};

SymShape dims(std::initializer_list<Dim> d) { return SymShape(d); }
Dim sym(const char* s) { return Dim::named(s); }

const Node* producer_of(const Graph& g, const std::string& value) {
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs)
      if (o == value) return &n;
  return nullptr;
}

void expect_unchanged(const Model& before, const Model& after) {
  std::string why;
  EXPECT_TRUE(graphs_equal(before.graph, after.graph, &why)) << why;
}

// The outputs agree on two sets of random inputs (two seeds, so a boolean condition takes both values).
void expect_same(const Model& before, const Model& after) {
  expect_same_outputs(before, after, 1e-5, 1e-6, 1);
  expect_same_outputs(before, after, 1e-5, 1e-6, 2);
}

// remove-identity ---------------------------------------------------------------------------------------------

TEST(RemoveIdentity, ChainsBetweenNodesGo) {
  Builder b;
  std::string x = b.input("x", dims({2, 5}));
  std::string r = b.op("Relu", {x});
  std::string y = b.op("Neg", {b.op("Identity", {b.op("Identity", {r})})});
  std::string z = b.op("Add", {b.op("Identity", {r}), b.op("Identity", {x})});
  b.output(y);
  b.output(z);
  OptimizeReport rep;
  Model after = optimized(b.m, {"remove-identity"}, &rep);
  EXPECT_EQ(count_ops(after.graph, "Identity"), 0);
  EXPECT_EQ(after.graph.nodes.size(), 3u);
  EXPECT_EQ(producer_of(after.graph, y)->inputs[0], r);
  EXPECT_EQ(producer_of(after.graph, z)->inputs, (std::vector<std::string>{r, x}));
  EXPECT_EQ(rep.passes[0].rewrites, 4);
  expect_same(b.m, after);
}

TEST(RemoveIdentity, AtAGraphOutputTheProducerTakesTheName) {
  Builder b;
  std::string x = b.input("x", dims({3, 4}));
  std::string r = b.op("Relu", {x});
  std::string y = b.op("Identity", {b.op("Identity", {r})});
  std::string z = b.op("Neg", {r});  // r has another reader, which follows the rename
  b.output(y);
  b.output(z);
  Model after = optimized(b.m, {"remove-identity"});
  EXPECT_EQ(count_ops(after.graph, "Identity"), 0);
  ASSERT_NE(producer_of(after.graph, y), nullptr);
  EXPECT_EQ(producer_of(after.graph, y)->op_type, "Relu");
  EXPECT_EQ(producer_of(after.graph, z)->inputs[0], y);
  EXPECT_EQ(after.graph.outputs[0].name, y);
  EXPECT_EQ(after.graph.outputs[1].name, z);
  expect_same(b.m, after);
}

TEST(RemoveIdentity, KeepsTheIdentityThatIsTheOnlyProducerOfAGraphOutput) {
  for (int source = 0; source < 3; ++source) {
    Builder b;
    std::string x = b.input("x", dims({3, 4}));
    std::string w = source == 1 ? b.floats({3, 4}) : "";
    std::string a = source == 2 ? b.op("Relu", {x}) : "";
    if (source == 2) b.output(a);  // the source is itself a graph output
    std::string y = b.op("Identity", {source == 0 ? x : source == 1 ? w : a});
    b.output(y);
    Model after = optimized(b.m, {"remove-identity"});
    expect_unchanged(b.m, after);
    expect_same(b.m, after);
  }
}

TEST(RemoveIdentity, InferenceDropoutGoesAtEveryOpset) {
  for (int64_t opset : {7, 10, 13}) {
    Builder b(opset);
    std::string x = b.input("x", dims({4, 3}));
    std::vector<Attribute> attrs;
    if (opset < 12) attrs.push_back(Attribute::of_float("ratio", 0.3f));
    std::vector<std::string> in = {b.op("Relu", {x})};
    if (opset >= 12) in = {in[0], b.init("ratio", scalar_tensor(DType::Float32, 0.3f)),
                           b.init("train", scalar_tensor(DType::Bool, 0))};
    std::vector<std::string> d = b.node("Dropout", in, attrs, 2);  // the mask is named but unused
    std::string y = b.op("Neg", {d[0]});
    b.output(y);
    Model after = optimized(b.m, {"remove-identity"});
    EXPECT_EQ(count_ops(after.graph, "Dropout"), 0) << "opset " << opset;
    expect_same(b.m, after);
  }
}

TEST(RemoveIdentity, KeepsTrainingDropoutAndAReadMask) {
  for (int variant = 0; variant < 3; ++variant) {
    Builder b(13);
    std::string x = b.input("x", dims({4, 3}));
    std::string t = variant == 1 ? b.input("training", dims({}), DType::Bool)
                                 : b.init("train", scalar_tensor(DType::Bool, variant == 0 ? 1 : 0));
    std::vector<std::string> d = b.node("Dropout", {x, "", t}, {}, 2);
    b.output(b.op("Neg", {d[0]}));
    if (variant == 2) b.output(d[1], DType::Bool);  // inference, but the mask is wanted
    Model after = optimized(b.m, {"remove-identity"});
    EXPECT_EQ(count_ops(after.graph, "Dropout"), 1) << "variant " << variant;
  }
}

// y = If(cond) { Neg(id) } else { id }: reads from a subgraph (and a branch returning the outer value) are renamed.
TEST(RemoveIdentity, RenamesReadsInsideSubgraphsWithoutTouchingTheOriginal) {
  Builder b;
  std::string cond = b.input("cond", dims({}), DType::Bool);
  std::string x = b.input("x", dims({2, 3}));
  std::string id = b.op("Identity", {b.op("Relu", {x})});
  auto then_g = std::make_shared<Graph>();
  then_g->name = "then";
  then_g->nodes.push_back({"neg", "Neg", "", {id}, {"t"}, {}, ""});
  then_g->outputs.push_back({"t", TypeInfo::tensor(DType::Float32), ""});
  auto else_g = std::make_shared<Graph>();
  else_g->name = "else";
  else_g->outputs.push_back({id, TypeInfo::tensor(DType::Float32), ""});
  std::string y = b.op("If", {cond}, {Attribute::of_graph("then_branch", then_g), Attribute::of_graph("else_branch", else_g)});
  b.output(y);
  Model after = optimized(b.m, {"remove-identity"});
  EXPECT_EQ(count_ops(after.graph, "Identity"), 0);
  const Node* if_node = producer_of(after.graph, y);
  EXPECT_NE(if_node->attr_graph("then_branch")->nodes[0].inputs[0], id);
  EXPECT_NE(if_node->attr_graph("else_branch")->outputs[0].name, id);
  EXPECT_EQ(then_g->nodes[0].inputs[0], id);  // the model optimized from is as it was
  EXPECT_EQ(else_g->outputs[0].name, id);
  expect_same(b.m, after);
}

// eliminate-dead ----------------------------------------------------------------------------------------------

TEST(SumToAdd, TwoInputSumsBecomeAddsOneInputSumsGoThreeInputSumsStay) {
  Builder b;
  std::string x = b.input("x", dims({2, 3})), y = b.input("y", dims({3}));
  std::string s2 = b.op("Sum", {x, y});            // broadcasts like Add
  std::string s1 = b.op("Sum", {s2});              // a copy
  std::string s3 = b.op("Sum", {s1, x, s2});       // stays
  b.output(s3);
  Model after = optimized(b.m, {"sum-to-add", "remove-identity"});
  EXPECT_EQ(count_ops(after.graph, "Add"), 1);
  EXPECT_EQ(count_ops(after.graph, "Sum"), 1);
  EXPECT_EQ(count_ops(after.graph, "Identity"), 0);
  EXPECT_EQ(after.graph.nodes.size(), 2u);
  expect_same_outputs(b.m, after);
}

TEST(EliminateDead, RemovesUnreachableNodesTheirInitializersAndTypeAnnotations) {
  Builder b;
  std::string x = b.input("x", dims({2, 3}));
  b.input("unused", dims({1}));
  std::string w = b.floats({2, 3});
  std::string y = b.op("Relu", {x});
  std::string dead = b.op("Abs", {b.op("Mul", {x, w})});
  b.m.graph.value_info.push_back({dead, TypeInfo::tensor(DType::Float32), ""});
  b.m.graph.value_info.push_back({y, TypeInfo::tensor(DType::Float32), ""});
  b.output(y);
  OptimizeReport rep;
  Model after = optimized(b.m, {"eliminate-dead"}, &rep);
  ASSERT_EQ(after.graph.nodes.size(), 1u);
  EXPECT_EQ(after.graph.nodes[0].op_type, "Relu");
  EXPECT_TRUE(after.graph.initializers.empty());
  ASSERT_EQ(after.graph.value_info.size(), 1u);
  EXPECT_EQ(after.graph.value_info[0].name, y);
  EXPECT_EQ(after.graph.inputs.size(), 2u);  // inputs are the model's interface: they stay
  EXPECT_EQ(rep.passes[0].rewrites, 3);      // two nodes, one initializer
  expect_same(b.m, after);
}

TEST(EliminateDead, KeepsNodesReadOnlyFromASubgraphAndPartlyUsedNodes) {
  Builder b;
  std::string cond = b.input("cond", dims({}), DType::Bool);
  std::string x = b.input("x", dims({4, 3}));
  std::vector<std::string> halves = b.node("Split", {x}, {Attribute::of_int("axis", 0)}, 2);  // second half unused
  std::string outer = b.op("Neg", {halves[0]});  // read only by the branch
  auto then_g = std::make_shared<Graph>();
  then_g->name = "then";
  then_g->nodes.push_back({"abs", "Abs", "", {outer}, {"t"}, {}, ""});
  then_g->outputs.push_back({"t", TypeInfo::tensor(DType::Float32), ""});
  auto else_g = std::make_shared<Graph>();
  else_g->name = "else";
  else_g->nodes.push_back({"relu", "Relu", "", {halves[0]}, {"e"}, {}, ""});
  else_g->outputs.push_back({"e", TypeInfo::tensor(DType::Float32), ""});
  std::string y = b.op("If", {cond}, {Attribute::of_graph("then_branch", then_g), Attribute::of_graph("else_branch", else_g)});
  b.output(y);
  OptimizeReport rep;
  Model after = optimized(b.m, {"eliminate-dead"}, &rep);
  EXPECT_EQ(rep.passes[0].rewrites, 0);
  expect_unchanged(b.m, after);
  expect_same(b.m, after);
}

// cse ---------------------------------------------------------------------------------------------------------

TEST(Cse, DuplicatedChainsCollapseInOneRun) {
  Builder b;
  std::string x = b.input("x", dims({sym("N"), 6}));
  std::string a1 = b.op("Sigmoid", {b.op("Relu", {x})});
  std::string a2 = b.op("Sigmoid", {b.op("Relu", {x})});
  std::string s = b.op("Softmax", {b.op("Add", {a1, a2})}, {Attribute::of_int("axis", 1)});
  std::string t = b.op("Softmax", {b.op("Add", {a1, a2})}, {Attribute::of_int("axis", 1)});
  b.output(b.op("Mul", {s, t}));
  OptimizeReport rep;
  Model after = optimized(b.m, {"cse"}, &rep);
  EXPECT_EQ(count_ops(after.graph, "Relu"), 1);
  EXPECT_EQ(count_ops(after.graph, "Sigmoid"), 1);
  EXPECT_EQ(count_ops(after.graph, "Add"), 1);
  EXPECT_EQ(count_ops(after.graph, "Softmax"), 1);
  EXPECT_EQ(rep.passes[0].rewrites, 4);
  EXPECT_EQ(rep.rounds, 2);  // the second round finds nothing left
  expect_same(b.m, after);
}

TEST(Cse, AttributesMustBeEqualButTheirOrderDoesNotMatter) {
  Builder b;
  std::string x = b.input("x", dims({2, 3}));
  std::string w = b.floats({3, 4});
  std::string g1 = b.op("Gemm", {x, w}, {Attribute::of_float("alpha", 0.5f), Attribute::of_float("beta", 2.f)});
  std::string g2 = b.op("Gemm", {x, w}, {Attribute::of_float("beta", 2.f), Attribute::of_float("alpha", 0.5f)});
  std::string l1 = b.op("LeakyRelu", {x}, {Attribute::of_float("alpha", 0.1f)});
  std::string l2 = b.op("LeakyRelu", {x}, {Attribute::of_float("alpha", 0.2f)});
  std::string l3 = b.op("LeakyRelu", {x});  // default alpha 0.01 is not the same attribute list as alpha=0.01
  std::string s1 = b.op("Sub", {l1, l2});
  std::string s2 = b.op("Sub", {l2, l1});  // input order matters
  b.output(b.op("Add", {g1, g2}));
  b.output(b.op("Mul", {b.op("Add", {s1, s2}), l3}));
  Model after = optimized(b.m, {"cse"});
  EXPECT_EQ(count_ops(after.graph, "Gemm"), 1);
  EXPECT_EQ(count_ops(after.graph, "LeakyRelu"), 3);
  EXPECT_EQ(count_ops(after.graph, "Sub"), 2);
  expect_same(b.m, after);
}

TEST(Cse, NeverMergesRandomOpsSubgraphsOrALaterGraphOutput) {
  Builder b;
  std::string cond = b.input("cond", dims({}), DType::Bool);
  std::string x = b.input("x", dims({2, 3}));
  std::string r1 = b.op("RandomUniformLike", {x}, {Attribute::of_float("seed", 3.f)});
  std::string r2 = b.op("RandomUniformLike", {x}, {Attribute::of_float("seed", 3.f)});
  auto branch = [&](const char* name) {
    auto g = std::make_shared<Graph>();
    g->name = name;
    g->nodes.push_back({std::string(name) + "_neg", "Neg", "", {x}, {std::string(name) + "_y"}, {}, ""});
    g->outputs.push_back({std::string(name) + "_y", TypeInfo::tensor(DType::Float32), ""});
    return g;
  };
  std::vector<Attribute> if_attrs = {Attribute::of_graph("then_branch", branch("t")),
                                     Attribute::of_graph("else_branch", branch("e"))};
  std::string i1 = b.op("If", {cond}, if_attrs);
  std::string i2 = b.op("If", {cond}, if_attrs);
  std::string e1 = b.op("Exp", {x});
  std::string e2 = b.op("Exp", {x});  // the later one is a graph output: its name must stay produced
  b.output(b.op("Add", {r1, r2}));
  b.output(b.op("Add", {i1, i2}));
  b.output(b.op("Neg", {e1}));
  b.output(e2);
  Model after = optimized(b.m, {"cse"});
  EXPECT_EQ(count_ops(after.graph, "RandomUniformLike"), 2);
  EXPECT_EQ(count_ops(after.graph, "If"), 2);
  EXPECT_EQ(count_ops(after.graph, "Exp"), 2);
  expect_unchanged(b.m, after);
}

TEST(Cse, EqualConstantsBecomeOne) {
  Builder b;
  std::string x = b.input("x", dims({2, 3}));
  std::string w1 = b.floats({2, 3}), w2 = b.floats({2, 3}), w3 = b.floats({2, 3}, 0.75f);  // w3 differs
  Tensor zeros_f(DType::Float32, {2, 3}), zeros_i(DType::Int32, {2, 3});                   // same bytes, two dtypes
  std::string zf = b.init("zf", zeros_f), zi = b.init("zi", zeros_i);
  std::string c1 = b.op("Constant", {}, {Attribute::of_tensor("value", b.m.graph.initializers[w1])});
  std::string c2 = b.op("Constant", {}, {Attribute::of_floats("value_floats", {1.f, 2.f, 3.f})});
  std::string c3 = b.op("Constant", {}, {Attribute::of_floats("value_floats", {1.f, 2.f, 3.f})});
  std::string y = b.op("Add", {b.op("Mul", {x, w1}), b.op("Mul", {x, w2})});
  y = b.op("Add", {y, b.op("Mul", {x, w3})});
  y = b.op("Add", {y, b.op("Mul", {x, c1})});
  y = b.op("Add", {y, b.op("Mul", {zf, b.op("Cast", {zi}, {Attribute::of_int("to", 1)})})});
  y = b.op("Add", {y, b.op("Add", {c2, c3})});
  b.output(y);
  Model after = optimized(b.m, {"cse"});
  EXPECT_EQ(after.graph.initializers.size(), 4u);  // w1 (= w2 = c1), w3, zf, zi
  EXPECT_TRUE(after.graph.initializers.count(w1) && after.graph.initializers.count(w3));
  EXPECT_EQ(count_ops(after.graph, "Constant"), 1);  // c2 = c3; c1 became w1
  EXPECT_EQ(count_ops(after.graph, "Mul"), 3);       // x * w1 computed once
  expect_same(b.m, after);
}

TEST(Cse, KeepsOverridableInitializersApart) {
  Builder b;
  std::string x = b.input("x", dims({3}));
  std::string w1 = b.floats({3}), w2 = b.floats({3});
  b.m.graph.overridable_initializers = {w2};  // w2 may be fed: it is an input, not a constant
  b.output(b.op("Add", {b.op("Mul", {x, w1}), b.op("Mul", {x, w2})}));
  Model after = optimized(b.m, {"cse"});
  expect_unchanged(b.m, after);
}

// simplify-reshapes -------------------------------------------------------------------------------------------

TEST(SimplifyReshapes, ReshapeChainWithAConstantFinalShapeReadsTheSource) {
  Builder b;
  std::string x = b.input("x", dims({sym("N"), 3, 4}));
  std::string r1 = b.op("Reshape", {x, b.ints({-1, 4})});
  std::string u = b.op("Unsqueeze", {r1, b.ints({0})});
  std::string r2 = b.op("Reshape", {u, b.ints({-1, 6})});
  b.output(b.op("Relu", {r2}));
  Model after = optimized(b.m, {"simplify-reshapes"});
  EXPECT_EQ(count_ops(after.graph, "Unsqueeze"), 0);
  ASSERT_EQ(count_ops(after.graph, "Reshape"), 1);
  const Node* r = producer_of(after.graph, r2);
  EXPECT_EQ(r->inputs[0], x);
  expect_same(b.m, after);
}

TEST(SimplifyReshapes, ZeroInTheFinalShapeNeedsStaticShapes) {
  {  // symbolic: "copy dim 0" of the middle value is not "copy dim 0" of x
    Builder b;
    std::string x = b.input("x", dims({sym("N"), 3, 4}));
    std::string r = b.op("Reshape", {b.op("Reshape", {x, b.ints({0, 12})}), b.ints({0, 2, 6})});
    b.output(r);
    Model after = optimized(b.m, {"simplify-reshapes"});
    EXPECT_EQ(count_ops(after.graph, "Reshape"), 2);
  }
  {  // static: one Reshape to the known result shape
    Builder b;
    std::string x = b.input("x", dims({2, 3, 4}));
    std::string r = b.op("Reshape", {b.op("Reshape", {x, b.ints({6, 4})}), b.ints({0, 2, 2})});
    b.output(b.op("Relu", {r}));
    Model after = optimized(b.m, {"simplify-reshapes"});
    ASSERT_EQ(count_ops(after.graph, "Reshape"), 1);
    const Node* n = producer_of(after.graph, r);
    EXPECT_EQ(n->inputs[0], x);
    EXPECT_EQ(after.graph.initializers.at(n->inputs[1]).to_int64_vector(), (std::vector<int64_t>{6, 2, 2}));
    expect_same(b.m, after);
  }
}

TEST(SimplifyReshapes, StaticSqueezeFlattenUnsqueezeChainBecomesOneReshape) {
  Builder b;
  std::string x = b.input("x", dims({2, 1, 3, 4}));
  std::string s = b.op("Squeeze", {x, b.ints({1})});
  std::string f = b.op("Flatten", {s}, {Attribute::of_int("axis", 1)});
  std::string u = b.op("Unsqueeze", {f, b.ints({-1})});
  b.output(b.op("Relu", {u}));
  Model after = optimized(b.m, {"simplify-reshapes"});
  EXPECT_EQ(after.graph.nodes.size(), 2u);
  const Node* r = producer_of(after.graph, u);
  ASSERT_EQ(r->op_type, "Reshape");
  EXPECT_EQ(r->inputs[0], x);
  EXPECT_EQ(after.graph.initializers.at(r->inputs[1]).to_int64_vector(), (std::vector<int64_t>{2, 12, 1}));
  expect_same(b.m, after);
}

TEST(SimplifyReshapes, NoOpReshapeAndFlattenGo) {
  Builder b;
  std::string x = b.input("x", dims({2, 6}));
  std::string r = b.op("Reshape", {x, b.ints({2, -1})});
  std::string f = b.op("Flatten", {b.op("Relu", {r})}, {Attribute::of_int("axis", 1)});
  b.output(b.op("Neg", {f}));
  Model after = optimized(b.m, {"simplify-reshapes"});
  EXPECT_EQ(after.graph.nodes.size(), 2u);
  EXPECT_EQ(producer_of(after.graph, after.graph.outputs[0].name)->inputs[0], after.graph.nodes[0].outputs[0]);
  EXPECT_EQ(after.graph.nodes[0].inputs[0], x);
  expect_same(b.m, after);
}

TEST(SimplifyReshapes, TransposesCompose) {
  Builder b;
  std::string x = b.input("x", dims({sym("N"), 3, 4, 5}));
  std::string back = b.op("Transpose", {b.op("Transpose", {x}, {Attribute::of_ints("perm", {0, 2, 3, 1})})},
                          {Attribute::of_ints("perm", {0, 3, 1, 2})});  // NHWC and back: identity
  std::string t = b.op("Transpose", {back}, {Attribute::of_ints("perm", {1, 2, 0, 3})});
  t = b.op("Transpose", {t}, {Attribute::of_ints("perm", {0, 2, 1, 3})});
  t = b.op("Transpose", {t});  // no perm: reversed axes
  b.output(b.op("Relu", {t}));
  Model after = optimized(b.m, {"simplify-reshapes"});
  ASSERT_EQ(count_ops(after.graph, "Transpose"), 1);
  const Node* n = producer_of(after.graph, t);
  EXPECT_EQ(n->inputs[0], x);
  // Transpose(p1) then Transpose(p2) is Transpose(q), q[k] = p1[p2[k]]: (1 2 0 3), (0 2 1 3) -> (1 0 2 3), then
  // with (3 2 1 0) -> (3 2 0 1). Read the other way round it would be (1 2 3 0).
  EXPECT_EQ(n->attr_ints("perm"), (std::vector<int64_t>{3, 2, 0, 1}));
  expect_same(b.m, after);
}

TEST(SimplifyReshapes, IdentityTransposePairBetweenAGraphInputAndOutputLeavesOneTranspose) {
  Builder b;
  std::string x = b.input("x", dims({2, 3}));
  std::string y = b.op("Transpose", {b.op("Transpose", {x})});
  b.output(y);
  Model after = optimized(b.m, {"simplify-reshapes"});
  ASSERT_EQ(after.graph.nodes.size(), 1u);
  EXPECT_EQ(after.graph.nodes[0].inputs[0], x);
  EXPECT_EQ(after.graph.nodes[0].outputs[0], y);
  expect_same(b.m, after);
}

TEST(SimplifyReshapes, SqueezeUnsqueezePairsCancelWithSymbolicShapes) {
  for (int64_t opset : {11, 13}) {
    Builder b(opset);
    std::string x = b.input("x", dims({sym("N"), 1, sym("C")}));
    auto axes = [&](const char* op, std::string in, std::vector<int64_t> a) {
      if (opset < 13) return b.op(op, {in}, {Attribute::of_ints("axes", a)});
      return b.op(op, {in, b.ints(a)});
    };
    std::string a = axes("Squeeze", axes("Unsqueeze", b.op("Relu", {x}), {-1}), {3});
    std::string c = axes("Unsqueeze", axes("Squeeze", a, {1}), {-2});
    std::string keep = axes("Squeeze", axes("Unsqueeze", c, {0}), {2});  // different axes: not a pair
    b.output(b.op("Neg", {keep}));
    Model after = optimized(b.m, {"simplify-reshapes"});
    EXPECT_EQ(count_ops(after.graph, "Squeeze"), 1) << "opset " << opset;
    EXPECT_EQ(count_ops(after.graph, "Unsqueeze"), 1) << "opset " << opset;
    expect_same(b.m, after);
  }
}

TEST(SimplifyReshapes, LeavesSharedAndOutputIntermediatesAlone) {
  for (int variant = 0; variant < 2; ++variant) {
    Builder b;
    std::string x = b.input("x", dims({2, 3, 4}));
    std::string mid = b.op("Reshape", {x, b.ints({6, 4})});
    std::string y = b.op("Reshape", {mid, b.ints({4, 6})});
    std::string t = b.op("Transpose", {mid});
    std::string z = b.op("Transpose", {t});
    b.output(y);
    b.output(z);
    if (variant == 0) b.output(b.op("Relu", {mid}));
    else b.output(mid);
    if (variant == 0) b.output(b.op("Neg", {t}));
    else b.output(t);
    Model after = optimized(b.m, {"simplify-reshapes"});
    expect_unchanged(b.m, after);
  }
}

// fold-pad ----------------------------------------------------------------------------------------------------

Tensor conv_weight(int64_t cout, int64_t cin, int64_t k) {
  Tensor w(DType::Float32, {cout, cin, k, k});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = 0.1f * static_cast<float>((i * 7) % 11) - 0.5f;
  return w;
}

// x -> Pad(pads, value) -> consumer; the Pad written in the form of `opset`.
struct PadModel {
  Builder b;
  std::string x, pad;
  PadModel(int64_t opset, std::vector<int64_t> pads, float value = 0.f, std::string mode = "constant",
           std::vector<int64_t> axes = {})
      : b(opset) {
    x = b.input("x", dims({1, 2, 6, 7}));
    std::vector<Attribute> attrs;
    if (mode != "constant") attrs.push_back(Attribute::of_string("mode", mode));
    if (opset < 11) {
      attrs.push_back(Attribute::of_ints("pads", pads));
      if (value != 0) attrs.push_back(Attribute::of_float("value", value));
      pad = b.op("Pad", {x}, attrs);
    } else {
      std::vector<std::string> in = {x, b.ints(pads), b.init("v" + std::to_string(b.next++), scalar_tensor(DType::Float32, value))};
      if (!axes.empty()) in.push_back(b.ints(axes));
      pad = b.op("Pad", in, attrs);
    }
  }
  std::string conv(std::vector<int64_t> pads = {}) {
    std::vector<Attribute> attrs;
    if (!pads.empty()) attrs.push_back(Attribute::of_ints("pads", pads));
    return b.op("Conv", {pad, b.init("w", conv_weight(3, 2, 3))}, attrs);
  }
  Model with_output(const std::string& y) {
    b.output(y);
    return b.m;
  }
};

TEST(FoldPad, ZeroPadAddsToConvPadsInEveryPadForm) {
  for (int64_t opset : {10, 11, 18}) {
    bool with_axes = opset >= 18;
    PadModel pm(opset, with_axes ? std::vector<int64_t>{1, 2, 3, 4} : std::vector<int64_t>{0, 0, 1, 2, 0, 0, 3, 4}, 0.f,
                "constant", with_axes ? std::vector<int64_t>{-2, 3} : std::vector<int64_t>{});
    std::string y = pm.conv({1, 0, 1, 1});
    Model m = pm.with_output(y);
    Model after = optimized(m, {"fold-pad"});
    EXPECT_EQ(count_ops(after.graph, "Pad"), 0) << "opset " << opset;
    const Node* conv = producer_of(after.graph, y);
    EXPECT_EQ(conv->inputs[0], pm.x);
    EXPECT_EQ(conv->attr_ints("pads"), (std::vector<int64_t>{2, 2, 4, 5})) << "opset " << opset;
    expect_same(m, after);
  }
}

TEST(FoldPad, AveragePoolCountingPadsAndMaxPoolWithMinusInfinity) {
  {
    PadModel pm(13, {0, 0, 1, 1, 0, 0, 1, 1});
    std::string y = pm.b.op("AveragePool", {pm.pad}, {Attribute::of_ints("kernel_shape", {3, 3}),
                                                      Attribute::of_int("count_include_pad", 1)});
    Model m = pm.with_output(y);
    Model after = optimized(m, {"fold-pad"});
    EXPECT_EQ(count_ops(after.graph, "Pad"), 0);
    EXPECT_EQ(producer_of(after.graph, y)->attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
    expect_same(m, after);
  }
  {
    PadModel pm(13, {0, 0, 0, 1, 0, 0, 2, 0}, -kInf);
    std::string y = pm.b.op("MaxPool", {pm.pad}, {Attribute::of_ints("kernel_shape", {3, 2}),
                                                  Attribute::of_ints("strides", {2, 2})});
    Model m = pm.with_output(y);
    Model after = optimized(m, {"fold-pad"});
    EXPECT_EQ(count_ops(after.graph, "Pad"), 0);
    EXPECT_EQ(producer_of(after.graph, y)->attr_ints("pads"), (std::vector<int64_t>{0, 1, 2, 0}));
    expect_same(m, after);
  }
}

TEST(FoldPad, LeavesPadsTheConsumerWouldNotReproduce) {
  auto unchanged = [](const Model& m, const char* what) {
    Model after = optimized(m, {"fold-pad"});
    EXPECT_EQ(count_ops(after.graph, "Pad"), 1) << what;
  };
  std::vector<int64_t> spatial = {0, 0, 1, 1, 0, 0, 1, 1};
  {
    PadModel pm(13, spatial, 1.f);
    unchanged(pm.with_output(pm.conv()), "non-zero value before Conv");
  }
  {
    PadModel pm(13, spatial, 0.f, "reflect");
    unchanged(pm.with_output(pm.conv()), "reflect mode");
  }
  {
    PadModel pm(13, {0, 1, 1, 1, 0, 0, 1, 1});
    std::string y = pm.b.op("AveragePool", {pm.pad}, {Attribute::of_ints("kernel_shape", {3, 3}),
                                                      Attribute::of_int("count_include_pad", 1)});
    unchanged(pm.with_output(y), "channel padding");
  }
  {
    PadModel pm(13, {0, 0, -1, 1, 0, 0, 1, 1});
    unchanged(pm.with_output(pm.conv()), "negative pads (a crop)");
  }
  {
    PadModel pm(13, spatial);
    std::string y = pm.b.op("AveragePool", {pm.pad}, {Attribute::of_ints("kernel_shape", {3, 3})});
    unchanged(pm.with_output(y), "AveragePool not counting pads");
  }
  {
    PadModel pm(13, spatial);
    std::string y = pm.b.op("MaxPool", {pm.pad}, {Attribute::of_ints("kernel_shape", {3, 3})});
    unchanged(pm.with_output(y), "MaxPool after a zero pad");
  }
  {
    PadModel pm(13, {0, 0, 3, 0, 0, 0, 0, 0});
    std::string y = pm.b.op("AveragePool", {pm.pad}, {Attribute::of_ints("kernel_shape", {3, 3}),
                                                      Attribute::of_int("count_include_pad", 1)});
    unchanged(pm.with_output(y), "pool pads as large as the kernel");
  }
  {
    PadModel pm(13, spatial);
    std::string y = pm.b.op("Conv", {pm.pad, pm.b.init("w", conv_weight(3, 2, 3))},
                            {Attribute::of_string("auto_pad", "SAME_UPPER")});
    unchanged(pm.with_output(y), "auto_pad SAME_UPPER");
  }
  {
    PadModel pm(13, spatial);
    std::string y = pm.conv();
    pm.b.output(pm.pad);
    unchanged(pm.with_output(y), "padded value is a graph output");
  }
  {
    Builder b;
    std::string x = b.input("x", dims({1, 2, 6, 7}));
    std::string pads = b.input("pads", dims({8}), DType::Int64);
    std::string p = b.op("Pad", {x, pads});
    b.output(b.op("Conv", {p, b.init("w", conv_weight(3, 2, 3))}));
    unchanged(b.m, "pads fed at run time");
  }
}

// fold-constants: shape computations --------------------------------------------------------------------------

// y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])): flatten all but the first dim, as exporters write it.
Model shape_computation(SymShape x_shape) {
  Builder b;
  std::string x = b.input("x", std::move(x_shape));
  std::string n = b.op("Gather", {b.op("Shape", {x}), b.init("zero", scalar_tensor(DType::Int64, 0))});
  std::string target = b.op("Concat", {b.op("Unsqueeze", {n, b.ints({0})}), b.ints({-1})}, {Attribute::of_int("axis", 0)});
  b.output(b.op("Relu", {b.op("Reshape", {x, target})}));
  return b.m;
}

TEST(FoldConstants, ShapeComputationFoldsOnceTheInputShapeIsStatic) {
  Model m = shape_computation(dims({2, 3, 4}));
  Model after = optimized(m, {"fold-constants"});
  EXPECT_EQ(after.graph.nodes.size(), 2u);
  const Node* r = &after.graph.nodes[0];
  ASSERT_EQ(r->op_type, "Reshape");
  EXPECT_EQ(after.graph.initializers.at(r->inputs[1]).to_int64_vector(), (std::vector<int64_t>{2, -1}));
  expect_same(m, after);
}

TEST(FoldConstants, ShapeComputationStaysWhileTheDimIsSymbolic) {
  Model m = shape_computation(dims({sym("N"), 3, 4}));
  Model after = optimized(m, {"fold-constants"});
  expect_unchanged(m, after);
}

TEST(FoldConstants, DeclaredInputShapesMakeItFold) {
  Model m = shape_computation(dims({sym("N"), 3, 4}));
  Model after = m;
  OptimizeOptions o;
  o.passes = {"fold-constants"};
  o.input_shapes = {{"x", {2, 3, 4}}};
  optimize_model(after, o);
  EXPECT_EQ(after.graph.nodes.size(), 2u);
  EXPECT_EQ(count_ops(after.graph, "Shape"), 0);
  EXPECT_EQ(sym_shape_str(*after.graph.inputs[0].type.shape), "[2,3,4]");
  expect_same(m, after);  // random_feeds gives the symbolic dim 2
}

// The whole default pipeline on a graph with a bit of everything: fewer nodes, same outputs, a valid graph.
TEST(CleanupPipeline, DefaultPipelineShrinksAMixedGraph) {
  Builder b;
  std::string x = b.input("x", dims({1, 2, 6, 6}));
  std::string p = b.op("Pad", {b.op("Identity", {x}), b.ints({0, 0, 1, 1, 0, 0, 1, 1}),
                               b.init("pv", scalar_tensor(DType::Float32, 0.f))});
  std::string c = b.op("Conv", {p, b.init("w", conv_weight(4, 2, 3))});
  std::string t = b.op("Transpose", {b.op("Transpose", {c}, {Attribute::of_ints("perm", {0, 2, 3, 1})})},
                       {Attribute::of_ints("perm", {0, 3, 1, 2})});
  std::string f1 = b.op("Flatten", {t}), f2 = b.op("Flatten", {t});
  b.op("Sigmoid", {f1});  // dead
  b.output(b.op("Add", {b.op("Relu", {f1}), b.op("Relu", {f2})}));
  Model after = b.m;
  OptimizeReport rep = optimize_model(after);
  EXPECT_EQ(count_ops(after.graph, "Identity"), 0);
  EXPECT_EQ(count_ops(after.graph, "Pad"), 0);
  EXPECT_EQ(count_ops(after.graph, "Transpose"), 0);
  EXPECT_EQ(count_ops(after.graph, "Relu"), 1);
  EXPECT_EQ(count_ops(after.graph, "Sigmoid"), 0);
  EXPECT_LT(rep.nodes_after, rep.nodes_before);
  expect_same(b.m, after);
}

}  // namespace
}  // namespace hone::test
