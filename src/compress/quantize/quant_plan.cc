#include "compress/quantize/quant_plan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "ops/infer_graph.h"
#include "passes/pass.h"

namespace hone::quant {

const char* mode_name(QuantMode m) {
  switch (m) {
    case QuantMode::Static: return "static";
    case QuantMode::Dynamic: return "dynamic";
    case QuantMode::WeightsOnly: return "weights-only";
  }
  return "?";
}

int name_nodes(Graph& g) {
  std::unordered_set<std::string> used;
  for (const Node& n : g.nodes)
    if (!n.name.empty()) used.insert(n.name);
  int named = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (!n.name.empty()) continue;
    std::string base = fmt::format("{}_{}", n.op_type, i), name = base;
    for (int k = 1; used.count(name); ++k) name = fmt::format("{}_{}", base, k);
    used.insert(name);
    n.name = name;
    ++named;
  }
  return named;
}

void check_exclusions(const Graph& g, const std::vector<std::string>& exclude) {
  for (const std::string& e : exclude) {
    bool found = false;
    for (const Node& n : g.nodes) found = found || n.name == e || n.op_type == e;
    if (!found)
      fail("--exclude '{}' names neither a node nor an op type of the model (after hone optimize's passes; "
           "'hone quantize --list-nodes' prints the names)",
           e);
  }
}

std::vector<std::string> QuantPlan::tensors() const {
  std::vector<std::string> v;
  for (const auto& [name, group] : tensor_group) v.push_back(name);
  return v;
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool is_shared_scale_op(const std::string& op) {
  static const std::unordered_set<std::string> ops = {"MaxPool", "Reshape", "Transpose", "Flatten",
                                                      "Squeeze", "Unsqueeze", "Resize", "Concat"};
  return ops.count(op) > 0;
}

// Scale groups: union-find over tensor names, each root holding the union of its members' ranges and the
// constraints of the folded activations among them.
class Groups {
 public:
  explicit Groups(const std::map<std::string, Range>* ranges) : ranges_(ranges) {}
  void add(const std::string& t) {
    if (parent_.count(t)) return;
    parent_[t] = t;
    Info& i = info_[t];
    if (ranges_) {
      auto it = ranges_->find(t);
      if (it == ranges_->end()) fail("no calibrated range for tensor '{}' (it was not observed)", t);
      i.range = it->second;
    }
  }
  const std::string& find(const std::string& t) {
    std::string* p = &parent_.at(t);
    if (*p == t) return *p;
    *p = find(*p);
    return *p;
  }
  void mark_folded(const std::string& t, double upper) {
    Info& i = info_.at(find(t));
    i.folded = true;
    i.fold_limit = std::min(i.fold_limit, upper);
  }
  // Whether joining the groups of `members` keeps every folded activation among them exact: the joined range starts
  // at 0 and ends within the tightest clip.
  bool can_join(const std::vector<std::string>& members) {
    if (!ranges_) return true;
    Range r{0, 0};
    bool folded = false;
    double limit = kInf;
    for (const std::string& m : members) {
      const Info& i = info_.at(find(m));
      r.lo = std::min(r.lo, i.range.lo);
      r.hi = std::max(r.hi, i.range.hi);
      folded = folded || i.folded;
      limit = std::min(limit, i.fold_limit);
    }
    return !folded || (r.lo >= 0 && r.hi <= limit);
  }
  void join(const std::string& a, const std::string& b) {
    std::string ra = find(a), rb = find(b);
    if (ra == rb) return;
    Info& ia = info_.at(ra);
    const Info& ib = info_.at(rb);
    ia.range.lo = std::min(ia.range.lo, ib.range.lo);
    ia.range.hi = std::max(ia.range.hi, ib.range.hi);
    ia.folded = ia.folded || ib.folded;
    ia.fold_limit = std::min(ia.fold_limit, ib.fold_limit);
    parent_[rb] = ra;
  }
  Range range(const std::string& t) { return info_.at(find(t)).range; }

 private:
  struct Info {
    Range range;
    bool folded = false;
    double fold_limit = kInf;
  };
  const std::map<std::string, Range>* ranges_;
  std::unordered_map<std::string, std::string> parent_;
  std::unordered_map<std::string, Info> info_;
};

struct PlanContext {
  const Model& m;
  const Graph& g;
  GraphTypes types;
  GraphUses uses;
  std::unordered_set<std::string> overridable;

  explicit PlanContext(const Model& model) : m(model), g(model.graph), uses(model.graph) {
    InferOptions io;
    io.opset = [&model](const std::string& d) { return model.opset(d); };
    io.fold_constants = false;
    io.throw_on_unsupported = false;
    types = infer_graph(g, io, {});
    overridable.insert(g.overridable_initializers.begin(), g.overridable_initializers.end());
  }
  const Tensor* constant(const std::string& name) const {
    if (name.empty() || overridable.count(name)) return nullptr;
    return g.find_initializer(name);
  }
  bool float_activation(const std::string& name) const {
    if (name.empty() || constant(name)) return false;
    auto it = types.types.find(name);
    return it != types.types.end() && it->second.is_tensor() && it->second.elem == DType::Float32;
  }
  bool float_weight(const std::string& name, int rank_min, int rank_max) const {
    const Tensor* w = constant(name);
    return w && w->dtype() == DType::Float32 && w->rank() >= rank_min && w->rank() <= rank_max;
  }
};

// Why a Conv / MatMul / Gemm cannot be quantized, or "" when it can.
std::string compute_obstacle(const PlanContext& c, const Node& n) {
  if (n.op_type == "Conv") {
    if (!c.float_activation(n.inputs.empty() ? "" : n.inputs[0])) return "its input is not a float32 activation";
    if (n.inputs.size() < 2 || !c.float_weight(n.inputs[1], 3, 8)) return "its weight is not a float32 constant";
    return "";
  }
  // MatMul / Gemm: A an activation, B a constant matrix.
  if (n.inputs.size() < 2) return "it has fewer than two inputs";
  if (!c.float_activation(n.inputs[0])) return "its first input is not a float32 activation";
  if (!c.float_weight(n.inputs[1], 2, 2)) return "its second input is not a constant float32 matrix";
  return "";
}

bool excluded(const Node& n, const QuantizeConfig& config) {
  return std::any_of(config.exclude.begin(), config.exclude.end(),
                     [&n](const std::string& e) { return e == n.name || e == n.op_type; });
}

// A Relu, or a Clip with minimum exactly 0: its upper bound (infinity when none), or NaN when it is neither.
double foldable_activation_limit(const PlanContext& c, const Node& n) {
  constexpr double kNot = std::numeric_limits<double>::quiet_NaN();
  if (n.op_type == "Relu") return kInf;
  if (n.op_type != "Clip") return kNot;
  double lo = -kInf, hi = kInf;
  if (c.m.opset("") < 11) {
    lo = n.attr_float("min", -std::numeric_limits<float>::max());
    hi = n.attr_float("max", std::numeric_limits<float>::max());
  } else {
    auto scalar = [&c, &n](size_t i, double def, double* v) {
      if (!n.has_input(i)) {
        *v = def;
        return true;
      }
      const Tensor* t = c.constant(n.inputs[i]);
      if (!t || t->numel() != 1 || t->dtype() != DType::Float32) return false;
      *v = t->get_double(0);
      return true;
    };
    if (!scalar(1, -kInf, &lo) || !scalar(2, kInf, &hi)) return kNot;
  }
  if (lo != 0 || !(hi > 0)) return kNot;
  return hi;
}

// The inputs of a shared-scale op that carry data (not shapes, axes, scales).
std::vector<std::string> data_inputs(const Node& n) {
  if (n.op_type == "Concat") return n.inputs;
  if (n.inputs.empty()) return {};
  return {n.inputs[0]};
}

bool shared_scale_applicable(const PlanContext& c, const Node& n) {
  if (!is_shared_scale_op(n.op_type) || n.outputs.empty() || n.outputs[0].empty()) return false;
  if (n.op_type == "MaxPool" && n.outputs.size() > 1 && !n.outputs[1].empty()) return false;  // Indices wanted
  if (n.op_type == "Resize" && n.attr_string("mode", "nearest") != "nearest") return false;
  return c.float_activation(n.outputs[0]);
}

}  // namespace

QuantPlan plan_quantization(const Model& m, const QuantizeConfig& config, const std::set<std::string>& keep_float,
                            const std::map<std::string, Range>* ranges) {
  PlanContext c(m);
  const Graph& g = m.graph;
  QuantPlan plan;
  plan.mode = config.mode;
  const bool is_static = config.mode == QuantMode::Static;
  std::set<std::string> graph_outputs;
  for (const ValueInfo& v : g.outputs) graph_outputs.insert(v.name);

  Groups groups(ranges);
  std::set<std::string> quantized_outputs;            // tensors a quantized node produces (in effect)
  std::map<std::string, std::string> effective_output;  // compute node -> its (possibly folded) result
  std::set<std::string> pairs;
  std::vector<const Node*> compute_nodes, shared_nodes;

  for (size_t i : topological_order(g)) {
    const Node& n = g.nodes[i];
    const std::string& op = n.op_type;
    bool weight_op = op == "Conv" || op == "MatMul" || op == "Gemm";
    if (weight_op || (is_static && op == "Add")) {
      std::string why;
      if (op == "Add") {
        if (n.inputs.size() != 2 || !c.float_activation(n.inputs[0]) || !c.float_activation(n.inputs[1])) continue;
      } else if (config.mode == QuantMode::Dynamic && op == "Conv") {
        why = "dynamic mode quantizes MatMul and Gemm only";
      } else {
        why = compute_obstacle(c, n);
      }
      if (why.empty() && excluded(n, config)) why = "excluded (--exclude)";
      if (why.empty() && keep_float.count(n.name)) why = "kept float (accuracy target)";
      if (!why.empty()) {
        plan.skipped.push_back({n.name, op, why});
        continue;
      }
      plan.compute.push_back(n.name);
      compute_nodes.push_back(&n);
      if (is_static && !n.outputs.empty() && c.float_activation(n.outputs[0])) {
        quantized_outputs.insert(n.outputs[0]);
        effective_output[n.name] = n.outputs[0];
      }
      continue;
    }
    if (op == "ConvTranspose") {
      plan.skipped.push_back({n.name, op, "ConvTranspose is not in the quantized set"});
      continue;
    }
    if (!is_static) continue;
    // A Relu / Clip(0, c) right after a compute node, under asymmetric activations: folded into the quantization.
    double limit = foldable_activation_limit(c, n);
    // (Not when its output is a graph output: that stays the float op's own.)
    if (!config.symmetric && !std::isnan(limit) && !excluded(n, config) && !n.inputs.empty() &&
        quantized_outputs.count(n.inputs[0]) && c.uses.sole_consumer(n.inputs[0]) >= 0 && n.outputs.size() == 1 &&
        c.float_activation(n.outputs[0]) && !graph_outputs.count(n.outputs[0])) {
      const Node& producer = g.nodes[static_cast<size_t>(c.uses.producer(n.inputs[0]))];
      bool from_compute = effective_output.count(producer.name) && effective_output[producer.name] == n.inputs[0];
      bool exact = true;
      if (ranges) {
        auto it = ranges->find(n.outputs[0]);
        if (it == ranges->end()) fail("no calibrated range for tensor '{}' (it was not observed)", n.outputs[0]);
        exact = it->second.lo >= 0 && it->second.hi <= limit;
      }
      if (from_compute && exact) {
        plan.folded[n.name] = producer.name;
        quantized_outputs.erase(n.inputs[0]);
        quantized_outputs.insert(n.outputs[0]);
        groups.add(n.outputs[0]);
        groups.mark_folded(n.outputs[0], limit);
        effective_output[producer.name] = n.outputs[0];
        continue;
      }
    }
    if (shared_scale_applicable(c, n) && !excluded(n, config)) {
      std::vector<std::string> in = data_inputs(n);
      bool all = !in.empty() && std::all_of(in.begin(), in.end(), [&](const std::string& t) {
        return quantized_outputs.count(t) > 0;
      });
      if (!all) continue;
      // Members of the group: the data inputs and, unless it is a graph output (which stays float), the output.
      std::vector<std::string> members = in;
      if (!graph_outputs.count(n.outputs[0])) members.push_back(n.outputs[0]);
      for (const std::string& t : members) groups.add(t);
      if (!groups.can_join(members)) {
        plan.skipped.push_back({n.name, op, "its inputs' ranges differ and joining them would undo a removed "
                                            "Relu/Clip"});
        continue;
      }
      for (const std::string& t : members) groups.join(members[0], t);
      plan.shared.push_back(n.name);
      shared_nodes.push_back(&n);
      quantized_outputs.insert(n.outputs[0]);
    }
  }

  for (const auto& [node, result] : effective_output) plan.result_tensor[node] = result;
  for (const Node* n : compute_nodes) {
    if (plan.result_tensor.count(n->name) == 0 && !n->outputs.empty()) plan.result_tensor[n->name] = n->outputs[0];
    if (!is_static) continue;
    size_t activations = n->op_type == "Add" ? 2 : 1;
    for (size_t k = 0; k < activations && k < n->inputs.size(); ++k)
      if (c.float_activation(n->inputs[k])) pairs.insert(n->inputs[k]);
    auto it = effective_output.find(n->name);
    if (it != effective_output.end() && !graph_outputs.count(it->second)) pairs.insert(it->second);
  }
  for (const Node* n : shared_nodes) {
    for (const std::string& t : data_inputs(*n)) pairs.insert(t);
    if (!graph_outputs.count(n->outputs[0])) pairs.insert(n->outputs[0]);
  }
  // Number the groups of the tensors that get pairs.
  std::map<std::string, int> root_index;
  for (const std::string& t : pairs) {
    groups.add(t);
    const std::string& root = groups.find(t);
    auto [it, fresh] = root_index.emplace(root, static_cast<int>(root_index.size()));
    if (fresh && ranges) plan.group_range.push_back(groups.range(t));
    plan.tensor_group[t] = it->second;
  }
  return plan;
}

}  // namespace hone::quant
