// Shared by the graph pass tests (tests/unit/passes_*_test.cc): run a model before and after a rewrite and check
// that every output keeps its value, and count what a rewrite left.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "hone/hone.h"
#include "passes/pass_manager.h"

namespace hone::test {

// Seeded random feeds for every graph input: floats uniform in [-1, 1), integers in [0, 4). Symbolic or unknown
// dims become `free_dim`.
inline std::vector<Value> random_feeds(const Graph& g, uint64_t seed = 1, int64_t free_dim = 2) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uf(-1.f, 1.f);
  std::vector<Value> feeds;
  for (const ValueInfo& v : g.inputs) {
    Shape s;
    if (v.type.shape)
      for (const Dim& d : *v.type.shape) s.push_back(d.known() ? d.value : free_dim);
    DType dt = v.type.elem == DType::Undefined ? DType::Float32 : v.type.elem;
    Tensor t(dt, s);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.set_double(i, dt == DType::Float32 || dt == DType::Float64 ? uf(rng) : static_cast<double>(rng() % 4));
    feeds.push_back(Value::of(std::move(t)));
  }
  return feeds;
}

// Runs both models on the same random inputs with the reference kernels and no runtime lowering, and checks every
// output elementwise: |a - b| <= atol + rtol * |a|.
inline void expect_same_outputs(const Model& before, const Model& after, double rtol = 1e-4, double atol = 1e-5,
                                uint64_t seed = 1) {
  SessionOptions o{.threads = 1, .optimize_graph = false, .reference_kernels = true};
  Session a(before, o), b(after, o);
  std::vector<Value> feeds = random_feeds(before.graph, seed);
  std::vector<Value> ya = a.run_values(feeds), yb = b.run_values(feeds);
  ASSERT_EQ(ya.size(), yb.size());
  for (size_t i = 0; i < ya.size(); ++i) {
    ASSERT_TRUE(ya[i].is_tensor() && yb[i].is_tensor());
    const Tensor& ta = ya[i].tensor;
    const Tensor& tb = yb[i].tensor;
    ASSERT_EQ(ta.dtype(), tb.dtype()) << "output " << i;
    ASSERT_EQ(ta.shape(), tb.shape()) << "output " << i;
    int bad = 0;
    for (int64_t k = 0; k < ta.numel() && bad < 5; ++k) {
      double x = ta.get_double(k), y = tb.get_double(k);
      if (!(std::fabs(x - y) <= atol + rtol * std::fabs(x)) && !(std::isnan(x) && std::isnan(y))) {
        ADD_FAILURE() << "output " << i << " element " << k << ": " << x << " before, " << y << " after";
        ++bad;
      }
    }
  }
}

// Nodes of the top-level graph with this op type.
inline int count_ops(const Graph& g, const std::string& op_type) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_type == op_type ? 1 : 0;
  return n;
}

// Runs the named passes (as `hone optimize --passes` would) on a copy of `m` and returns it.
inline Model optimized(const Model& m, std::vector<std::string> passes, OptimizeReport* report = nullptr) {
  Model out = m;
  OptimizeOptions o;
  o.passes = std::move(passes);
  OptimizeReport r = optimize_model(out, o);
  if (report) *report = r;
  return out;
}

}  // namespace hone::test
