#include "passes/pass_manager.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace hone {

PassRegistry& PassRegistry::instance() {
  static PassRegistry r;
  return r;
}

void PassRegistry::add(PassInfo info) {
  if (find(info.name)) fail("pass '{}' registered twice", info.name);
  auto at = std::upper_bound(passes_.begin(), passes_.end(), info.order,
                             [](int order, const PassInfo& p) { return order < p.order; });
  passes_.insert(at, std::move(info));
}

const PassInfo* PassRegistry::find(const std::string& name) const {
  for (const PassInfo& p : passes_)
    if (p.name == name) return &p;
  return nullptr;
}

int64_t count_parameters(const Graph& g) {
  int64_t n = 0;
  for (const auto& [name, t] : g.initializers) n += t.numel();
  return n;
}

namespace {

std::vector<const PassInfo*> pipeline(const OptimizeOptions& o) {
  const PassRegistry& reg = PassRegistry::instance();
  std::vector<const PassInfo*> out;
  if (o.passes.empty()) {
    for (const PassInfo& p : reg.all()) out.push_back(&p);
    return out;
  }
  for (const std::string& name : o.passes) {
    const PassInfo* p = reg.find(name);
    if (!p) {
      std::string known;
      for (const PassInfo& q : reg.all()) known += (known.empty() ? "" : ", ") + q.name;
      fail("unknown pass '{}' (passes: {})", name, known);
    }
    out.push_back(p);
  }
  return out;
}

void apply_input_shapes(Graph& g, const std::unordered_map<std::string, Shape>& shapes) {
  for (const auto& [name, shape] : shapes) {
    auto it = std::find_if(g.inputs.begin(), g.inputs.end(), [&](const ValueInfo& v) { return v.name == name; });
    if (it == g.inputs.end()) fail("--shape names '{}', which is not an input of the model", name);
    TypeInfo& t = it->type;
    if (t.shape) {
      const SymShape& s = *t.shape;
      if (s.size() != shape.size())
        fail("input '{}' has rank {} but the given shape {} has rank {}", name, s.size(), shape_str(shape),
             shape.size());
      for (size_t k = 0; k < s.size(); ++k)
        if (s[k].known() && s[k].value != shape[k])
          fail("input '{}': dimension {} is fixed at {} but the given shape {} says {}", name, k, s[k].value,
               shape_str(shape), shape[k]);
    }
    SymShape fixed;
    for (int64_t d : shape) fixed.push_back(Dim(d));
    t.shape = fixed;
  }
}

}  // namespace

OptimizeReport run_passes(Graph& g, const std::function<int64_t(const std::string&)>& opset,
                          const std::vector<const PassInfo*>& passes, int max_rounds, bool keep_quantized_weights) {
  PassContext ctx;
  ctx.opset = opset;
  ctx.keep_quantized_weights = keep_quantized_weights;
  OptimizeReport r;
  r.nodes_before = static_cast<int64_t>(g.nodes.size());
  r.params_before = count_parameters(g);
  r.passes.resize(passes.size());
  for (size_t i = 0; i < passes.size(); ++i) r.passes[i].name = passes[i]->name;
  for (int round = 0; round < std::max(max_rounds, 1); ++round) {
    int changed = 0;
    for (size_t i = 0; i < passes.size(); ++i) {
      PassStats& st = r.passes[i];
      if (round == 0) {
        st.nodes_before = static_cast<int64_t>(g.nodes.size());
        st.params_before = count_parameters(g);
      }
      int64_t nodes = static_cast<int64_t>(g.nodes.size()), params = count_parameters(g);
      auto t0 = std::chrono::steady_clock::now();
      ctx.refresh_types(g);
      int n = passes[i]->run(g, ctx);
      st.ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      st.rewrites += n;
      changed += n;
      st.nodes_after = static_cast<int64_t>(g.nodes.size());
      st.params_after = count_parameters(g);
      st.nodes_removed += nodes - st.nodes_after;
      st.params_removed += params - st.params_after;
    }
    r.rounds = round + 1;
    if (changed == 0) break;
  }
  remove_unused_initializers(g);
  r.nodes_after = static_cast<int64_t>(g.nodes.size());
  r.params_after = count_parameters(g);
  return r;
}

OptimizeReport optimize_model(Model& m, const OptimizeOptions& options) {
  std::vector<const PassInfo*> passes = pipeline(options);
  apply_input_shapes(m.graph, options.input_shapes);
  const Model* model = &m;
  OptimizeReport r = run_passes(m.graph, [model](const std::string& domain) { return model->opset(domain); }, passes,
                                options.max_rounds,
                                /*keep_quantized_weights=*/true);
  verify_graph(m.graph);
  return r;
}

}  // namespace hone
