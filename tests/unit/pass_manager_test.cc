// The pass manager behind `hone optimize`: the registry's default order, errors for unknown passes and bad input
// shapes, rounds that stop once nothing changes, and the counts the report gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <set>

#include "pass_test_util.h"

namespace hone {
namespace {

using test::count_ops;
using test::expect_same_outputs;
using test::optimized;

// A pass that rewrites nothing but claims `changes_left` more rewrites, one per call, while a test arms it; it lets
// the tests see how many rounds the manager runs. Unarmed (every other test) it is a no-op, last in the default order.
struct Probe {
  bool armed = false;
  int changes_left = 0;
  int calls = 0;
  int64_t nodes_seen = -1;  // nodes of the graph the last call saw
  size_t types_seen = 0;    // ctx.types.types.size() at the last call
};
Probe probe;

int probe_pass(Graph& g, PassContext& ctx) {
  if (!probe.armed) return 0;
  ++probe.calls;
  probe.nodes_seen = static_cast<int64_t>(g.nodes.size());
  probe.types_seen = ctx.types.types.size();
  if (probe.changes_left <= 0) return 0;
  --probe.changes_left;
  return 1;
}

HONE_REGISTER_PASS({.name = "test-round-probe",
                    .summary = "pass_manager_test only: rewrites nothing; armed by a test, it reports changes",
                    .order = INT_MAX,
                    .run = probe_pass});

struct ArmedProbe {
  explicit ArmedProbe(int changes) { probe = Probe{.armed = true, .changes_left = changes}; }
  ~ArmedProbe() { probe = Probe{}; }
};

Node node(std::string op, std::vector<std::string> in, std::vector<std::string> out, std::string name = "") {
  Node n;
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.name = std::move(name);
  return n;
}

Tensor filled(Shape s, float start) {
  Tensor t(DType::Float32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

// y = x + (k + k) with k a Constant node [4]: two foldable nodes, one that is not. `w` (an initializer of 6 elements)
// feeds nothing, so the pipeline's clean-up drops it.
Model constant_chain_model() {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 17}};
  Graph& g = m.graph;
  g.name = "chain";
  g.inputs = {{"x", TypeInfo::tensor(DType::Float32, SymShape{Dim::named("n"), 4})}};
  g.outputs = {{"y", TypeInfo::tensor(DType::Float32)}};
  g.initializers["w"] = filled({2, 3}, 0);
  Node k = node("Constant", {}, {"k"}, "k");
  k.attributes.push_back(Attribute::of_tensor("value", filled({4}, 1)));
  g.nodes.push_back(k);
  g.nodes.push_back(node("Add", {"k", "k"}, {"kk"}, "double"));
  g.nodes.push_back(node("Add", {"x", "kk"}, {"y"}, "add"));
  return m;
}

TEST(PassRegistry, DefaultOrderFollowsTheSlotsAndNamesAreUnique) {
  const std::vector<PassInfo>& all = PassRegistry::instance().all();
  ASSERT_FALSE(all.empty());
  std::set<std::string> names;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_TRUE(names.insert(all[i].name).second) << all[i].name;
    EXPECT_FALSE(all[i].summary.empty()) << all[i].name;
    EXPECT_TRUE(all[i].run) << all[i].name;
    if (i > 0) EXPECT_LE(all[i - 1].order, all[i].order) << all[i - 1].name << " before " << all[i].name;
  }
  // The slots the default pipeline gives each pass (those registered so far must sit in theirs).
  const std::vector<std::pair<std::string, int>> slots = {
      {"fold-constants", 100}, {"remove-identity", 150}, {"simplify-reshapes", 200}, {"fold-pad", 250},
      {"fold-batchnorm", 300}, {"fold-scale", 400},      {"matmul-add-to-gemm", 500}, {"reparameterize", 600},
      {"merge-conv", 650},     {"cse", 800},             {"batchnorm-to-affine", 900}, {"eliminate-dead", 1000}};
  for (const auto& [name, order] : slots)
    if (const PassInfo* p = PassRegistry::instance().find(name)) EXPECT_EQ(p->order, order) << name;
  ASSERT_NE(PassRegistry::instance().find("fold-constants"), nullptr);
  ASSERT_NE(PassRegistry::instance().find("fold-batchnorm"), nullptr);
  EXPECT_EQ(all.front().name, "fold-constants");
  EXPECT_EQ(PassRegistry::instance().find("no-such-pass"), nullptr);
}

TEST(PassRegistry, RegisteringANameTwiceFails) {
  PassRegistry local;  // not the global registry: a failed add must leave it unchanged
  local.add({.name = "a", .summary = "first", .order = 2, .run = [](Graph&, PassContext&) { return 0; }});
  local.add({.name = "b", .summary = "second", .order = 1, .run = [](Graph&, PassContext&) { return 0; }});
  EXPECT_THROW(local.add({.name = "a", .summary = "again", .order = 3, .run = nullptr}), Error);
  ASSERT_EQ(local.all().size(), 2u);
  EXPECT_EQ(local.all()[0].name, "b");  // sorted by order, not by registration
  EXPECT_EQ(local.all()[1].name, "a");
}

TEST(OptimizeModel, UnknownPassIsAnErrorListingTheKnownOnesAndLeavesTheModelAlone) {
  Model m = constant_chain_model();
  OptimizeOptions o;
  o.passes = {"fold-constants", "fold-everything"};
  try {
    optimize_model(m, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("unknown pass 'fold-everything'"), std::string::npos) << msg;
    for (const PassInfo& p : PassRegistry::instance().all()) EXPECT_NE(msg.find(p.name), std::string::npos) << msg;
  }
  EXPECT_EQ(m.graph.nodes.size(), 3u);  // checked before any pass ran
}

TEST(OptimizeModel, RoundsRepeatWhileAPassChangesSomethingAndStopAfterAQuietOne) {
  Model m = constant_chain_model();
  {
    ArmedProbe armed(2);  // changes in rounds 1 and 2, quiet in round 3
    OptimizeReport r;
    optimized(m, {"test-round-probe"}, &r);
    EXPECT_EQ(r.rounds, 3);
    EXPECT_EQ(probe.calls, 3);
    ASSERT_EQ(r.passes.size(), 1u);
    EXPECT_EQ(r.passes[0].rewrites, 2);
  }
  {
    ArmedProbe armed(0);
    OptimizeReport r;
    optimized(m, {"test-round-probe"}, &r);
    EXPECT_EQ(r.rounds, 1);
    EXPECT_EQ(probe.calls, 1);
  }
  {
    ArmedProbe armed(100);  // never quiet: max_rounds bounds it
    Model copy = m;
    OptimizeOptions o;
    o.passes = {"test-round-probe"};
    o.max_rounds = 3;
    OptimizeReport r = optimize_model(copy, o);
    EXPECT_EQ(r.rounds, 3);
    EXPECT_EQ(probe.calls, 3);
    EXPECT_EQ(r.passes[0].rewrites, 3);
  }
}

TEST(OptimizeModel, EachPassSeesTheGraphAndFreshTypesLeftByThePassBefore) {
  Model m = constant_chain_model();
  ArmedProbe armed(0);
  optimized(m, {"fold-constants", "test-round-probe"});
  EXPECT_EQ(probe.nodes_seen, 1);  // only the Add of x remains
  // Types are inferred for the graph the probe sees: x, kk (now an initializer) and y, not the folded k.
  Model folded = optimized(m, {"fold-constants"});
  PassContext ctx;
  ctx.opset = [](const std::string&) { return int64_t{17}; };
  ctx.refresh_types(folded.graph);
  EXPECT_EQ(probe.types_seen, ctx.types.types.size());
}

TEST(OptimizeModel, ReportCountsNodesParametersAndRewritesPerPass) {
  Model m = constant_chain_model();
  OptimizeReport r;
  Model out = optimized(m, {"fold-constants", "fold-batchnorm"}, &r);
  EXPECT_EQ(r.rounds, 2);  // round 1 folds both constant nodes; round 2 finds nothing
  EXPECT_EQ(r.nodes_before, 3);
  EXPECT_EQ(r.nodes_after, 1);
  EXPECT_EQ(r.params_before, 6);  // w
  EXPECT_EQ(r.params_after, 4);   // kk; w, which nothing reads, is dropped
  ASSERT_EQ(r.passes.size(), 2u);
  EXPECT_EQ(r.passes[0].name, "fold-constants");
  EXPECT_EQ(r.passes[0].rewrites, 2);
  EXPECT_EQ(r.passes[0].nodes_before, 3);
  EXPECT_EQ(r.passes[0].nodes_after, 1);
  EXPECT_EQ(r.passes[0].params_before, 6);
  EXPECT_EQ(r.passes[0].params_after, 4);  // fold-constants drops unused initializers itself
  EXPECT_EQ(r.passes[0].nodes_removed, 2);
  EXPECT_EQ(r.passes[0].params_removed, 2);
  EXPECT_GE(r.passes[0].ms, 0);
  EXPECT_EQ(r.passes[1].name, "fold-batchnorm");
  EXPECT_EQ(r.passes[1].rewrites, 0);
  EXPECT_EQ(r.passes[1].nodes_before, 1);
  EXPECT_EQ(r.passes[1].nodes_after, 1);
  EXPECT_EQ(r.passes[1].nodes_removed, 0);
  EXPECT_EQ(r.passes[1].params_removed, 0);
  EXPECT_EQ(count_ops(out.graph, "Constant"), 0);
  EXPECT_EQ(out.graph.initializers.count("w"), 0u);
  ASSERT_EQ(out.graph.initializers.count("kk"), 1u);
  EXPECT_EQ(out.graph.initializers.at("kk").data<float>()[3], 8.f);  // (4 + 4)
  expect_same_outputs(m, out);
}

TEST(OptimizeModel, DefaultPipelineRunsEveryRegisteredPassInOrder) {
  Model m = constant_chain_model();
  OptimizeReport r;
  Model out = optimized(m, {}, &r);
  const std::vector<PassInfo>& all = PassRegistry::instance().all();
  ASSERT_EQ(r.passes.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(r.passes[i].name, all[i].name);
  EXPECT_EQ(out.graph.nodes.size(), 1u);
  expect_same_outputs(m, out);
}

TEST(OptimizeModel, InputShapesFixSymbolicDimsSoShapeComputationsFold) {
  // y = Reshape(x, Shape(x)): with x's shape declared [n, 4], Shape(x) is not a constant until n is fixed.
  Model m = constant_chain_model();
  Graph& g = m.graph;
  g.nodes.clear();
  g.initializers.clear();
  g.nodes.push_back(node("Shape", {"x"}, {"s"}, "shape"));
  g.nodes.push_back(node("Reshape", {"x", "s"}, {"y"}, "reshape"));
  Model as_declared = optimized(m, {"fold-constants"});
  EXPECT_EQ(count_ops(as_declared.graph, "Shape"), 1);
  Model fixed = m;
  OptimizeOptions o;
  o.passes = {"fold-constants"};
  o.input_shapes = {{"x", Shape{3, 4}}};
  optimize_model(fixed, o);
  EXPECT_EQ(count_ops(fixed.graph, "Shape"), 0);
  ASSERT_TRUE(fixed.graph.inputs[0].type.shape.has_value());
  const SymShape& s = *fixed.graph.inputs[0].type.shape;
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(s[0].known() && s[0].value == 3);
  EXPECT_TRUE(s[1].known() && s[1].value == 4);
  expect_same_outputs(fixed, m);  // random_feeds follows the fixed model's [3, 4]
}

TEST(OptimizeModel, InputShapeErrors) {
  auto shape_error = [](std::unordered_map<std::string, Shape> shapes) {
    Model m = constant_chain_model();
    OptimizeOptions o;
    o.passes = {"fold-constants"};
    o.input_shapes = std::move(shapes);
    try {
      optimize_model(m, o);
    } catch (const Error& e) {
      EXPECT_EQ(m.graph.nodes.size(), 3u) << "a bad shape must stop the work before any pass";
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  std::string rank = shape_error({{"x", Shape{2, 4, 1}}});
  EXPECT_NE(rank.find("rank 2"), std::string::npos) << rank;
  EXPECT_NE(rank.find("rank 3"), std::string::npos) << rank;
  std::string fixed = shape_error({{"x", Shape{2, 5}}});
  EXPECT_NE(fixed.find("dimension 1 is fixed at 4"), std::string::npos) << fixed;
  std::string unknown = shape_error({{"z", Shape{2, 4}}});
  EXPECT_NE(unknown.find("'z'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("not an input"), std::string::npos) << unknown;
  EXPECT_EQ(shape_error({{"x", Shape{7, 4}}}), "(no error)");
}

}  // namespace
}  // namespace hone
