// The planner: memory packing is valid and reuses memory; plans are made per input shape and cached.
#include <gtest/gtest.h>

#include <random>

#include "hone/hone.h"
#include "runtime/plan.h"

namespace hone {
namespace {

TEST(PackLifetimes, DisjointLifetimesShareMemory) {
  std::vector<Lifetime> items = {{1000, 0, 1}, {1000, 2, 3}, {1000, 4, 5}};
  int64_t peak = 0;
  std::vector<int64_t> off = pack_lifetimes(items, 64, &peak);
  EXPECT_EQ(peak, 1024);
  for (int64_t o : off) EXPECT_EQ(o, 0);
}

TEST(PackLifetimes, RandomItemsNeverOverlapWhileAlive) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<Lifetime> items;
    int n = 1 + static_cast<int>(rng() % 40);
    int64_t sum = 0;
    for (int i = 0; i < n; ++i) {
      int a = static_cast<int>(rng() % 30), b = a + static_cast<int>(rng() % 10);
      int64_t bytes = 1 + static_cast<int64_t>(rng() % 5000);
      items.push_back({bytes, a, b});
      sum += (bytes + 63) / 64 * 64;
    }
    int64_t peak = 0;
    std::vector<int64_t> off = pack_lifetimes(items, 64, &peak);
    EXPECT_LE(peak, sum);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(off[static_cast<size_t>(i)] % 64, 0);
      EXPECT_LE(off[static_cast<size_t>(i)] + items[static_cast<size_t>(i)].bytes, peak);
      for (int j = i + 1; j < n; ++j) {
        const Lifetime& x = items[static_cast<size_t>(i)];
        const Lifetime& y = items[static_cast<size_t>(j)];
        bool alive_together = !(x.last < y.first || y.last < x.first);
        bool mem_overlap = off[static_cast<size_t>(i)] < off[static_cast<size_t>(j)] + y.bytes &&
                           off[static_cast<size_t>(j)] < off[static_cast<size_t>(i)] + x.bytes;
        EXPECT_FALSE(alive_together && mem_overlap) << "trial " << trial << " items " << i << "," << j;
      }
    }
  }
}

// y = Relu(Relu(x) + 1) * 2 over a dynamic batch: three intermediates, two of which can share memory.
Model chain_model() {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  Graph& g = m.graph;
  g.name = "chain";
  g.inputs.push_back({"x", TypeInfo::tensor(DType::Float32, SymShape{Dim::named("batch"), Dim(16)}), ""});
  g.outputs.push_back({"y", TypeInfo::tensor(DType::Float32), ""});
  g.initializers["one"] = scalar_tensor(DType::Float32, 1.0f);
  g.initializers["two"] = scalar_tensor(DType::Float32, 2.0f);
  g.nodes.push_back({"r1", "Relu", "", {"x"}, {"a"}, {}, ""});
  g.nodes.push_back({"add", "Add", "", {"a", "one"}, {"b"}, {}, ""});
  g.nodes.push_back({"r2", "Relu", "", {"b"}, {"c"}, {}, ""});
  g.nodes.push_back({"mul", "Mul", "", {"c", "two"}, {"y"}, {}, ""});
  return m;
}

TEST(Session, PlansPerShapeAndReusesArena) {
  Session s(chain_model(), {.threads = 1});
  for (int64_t batch : {1, 3, 1}) {
    Tensor x(DType::Float32, {batch, 16});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 5) - 2.0f;
    std::vector<Tensor> y = s.run({{"x", x}});
    ASSERT_EQ(y[0].shape(), (Shape{batch, 16}));
    for (int64_t i = 0; i < x.numel(); ++i) {
      float v = x.data<float>()[i];
      EXPECT_EQ(y[0].data<float>()[i], std::max(std::max(v, 0.f) + 1.f, 0.f) * 2.f);
    }
    const Plan& p = s.plan_for({Value::of(x)});
    EXPECT_EQ(p.steps.size(), 4u);
    EXPECT_EQ(p.intermediate_bytes, 3 * batch * 16 * 4);
    // a, b, c live in sequence: a and c can share, b overlaps both (sizes are multiples of the 64-byte alignment).
    EXPECT_LT(p.arena_bytes, p.intermediate_bytes);
    EXPECT_EQ(p.dynamic_values, 0);
  }
}

TEST(Session, ConstantSubgraphsAreFoldedAtPlanTime) {
  Model m = chain_model();
  // Replace the initializer 'one' by a computation on constants: one = two - 1 (a Constant node and a Sub).
  m.graph.initializers.erase("one");
  Attribute v;
  v.name = "value";
  v.type = Attribute::Type::Tensor;
  v.t = scalar_tensor(DType::Float32, 1.0f);
  m.graph.nodes.insert(m.graph.nodes.begin(), Node{"c1", "Constant", "", {}, {"k1"}, {v}, ""});
  m.graph.nodes.insert(m.graph.nodes.begin() + 1, Node{"sub", "Sub", "", {"two", "k1"}, {"one"}, {}, ""});
  Session s(std::move(m), {.threads = 1});
  Tensor x(DType::Float32, {2, 16});
  const Plan& p = s.plan_for({Value::of(x)});
  EXPECT_EQ(p.steps.size(), 4u);  // Constant and Sub are gone
  std::vector<Tensor> y = s.run({{"x", x}});
  EXPECT_EQ(y[0].data<float>()[0], 2.0f);
}

}  // namespace
}  // namespace hone

namespace hone {
namespace {

TEST(Session, ProfilingCountsEveryStepOfEveryRun) {
  Session s(chain_model(), {.threads = 1});
  Tensor x(DType::Float32, {4, 16});
  s.set_profiling(true);
  for (int i = 0; i < 3; ++i) s.run({{"x", x}});
  const Plan& p = s.plan_for({Value::of(x)});
  for (const PlanStep& st : p.steps) EXPECT_EQ(st.profile_calls, 3) << st.node->label();
  s.reset_profile();
  for (const PlanStep& st : p.steps) EXPECT_EQ(st.profile_calls, 0);
  s.set_profiling(false);
  s.run({{"x", x}});
  for (const PlanStep& st : p.steps) EXPECT_EQ(st.profile_calls, 0);
}

}  // namespace
}  // namespace hone
