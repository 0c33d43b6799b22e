#include "compress/quantize/opset22.h"

#include <algorithm>
#include <set>
#include <string>

#include "core/error.h"

namespace hone {
namespace {

constexpr int64_t kFrom = 17;

const std::set<std::string>& reductions_18() {
  static const std::set<std::string> ops = {"ReduceL1",  "ReduceL2",  "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                                            "ReduceMean", "ReduceMin", "ReduceProd",   "ReduceSumSquare"};
  return ops;
}

bool onnx_domain(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

std::string label(const Node& n) { return (n.name.empty() ? n.outputs.at(0) : n.name) + " (" + n.op_type + ")"; }

[[noreturn]] void refuse(const Node& n, int64_t from, const std::string& why) {
  throw Error("cannot raise the opset from " + std::to_string(from) + " to 22: node " + label(n) + ": " + why);
}

// Whether the node needs a rewrite between 17 and 22 (after refusing what cannot be rewritten).
bool needs_rewrite(const Node& n, int64_t from) {
  if (!onnx_domain(n)) return false;
  const std::string& op = n.op_type;
  if (op == "GroupNormalization" && from < 21) refuse(n, from, "its scale and bias changed meaning in opset 21");
  if (op == "DFT" && from < 20) refuse(n, from, "its axis became an input in opset 20");
  if (op == "GridSample" && from < 20) refuse(n, from, "its mode values changed in opset 20");
  if (from >= 18) return false;
  if (reductions_18().count(op)) return n.has_attr("axes");
  if (op == "Split") return !n.has_input(1) && !n.has_attr("num_outputs");
  return false;
}

void check_subgraphs(const Graph& g, int64_t from) {
  for (const Node& n : g.nodes)
    for (const Attribute& a : n.attributes) {
      std::vector<const Graph*> subs;
      if (a.g) subs.push_back(a.g.get());
      for (const auto& s : a.graphs) subs.push_back(s.get());
      for (const Graph* s : subs) {
        for (const Node& inner : s->nodes)
          if (needs_rewrite(inner, from))
            refuse(inner, from, "it is inside the body of " + label(n) + ", which the converter does not rewrite");
        check_subgraphs(*s, from);
      }
    }
}

std::string fresh_name(const Graph& g, const std::set<std::string>& used, const std::string& base) {
  std::string name = base;
  for (int k = 1; used.count(name) || g.initializers.count(name); ++k) name = base + "_" + std::to_string(k);
  return name;
}

}  // namespace

OpsetUpgrade upgrade_opset_to_22(Model& m) {
  OpsetUpgrade r;
  r.from = m.opset("");
  r.to = std::max<int64_t>(r.from, kBfloat16ConvOpset);
  if (r.from >= kBfloat16ConvOpset) return r;
  Model out = m;  // `m` changes only when everything converted
  if (r.from < kFrom) {
    OpsetUpgrade lower = upgrade_opset(out, kFrom);
    r.rewritten = lower.rewritten;
  }
  int64_t from = out.opset("");
  check_subgraphs(out.graph, from);
  std::set<std::string> used;
  for (const Node& n : out.graph.nodes)
    for (const std::string& o : n.outputs) used.insert(o);
  for (Node& n : out.graph.nodes) {
    if (!needs_rewrite(n, from)) continue;
    r.rewritten.push_back(label(n));
    if (n.op_type == "Split") {
      n.attributes.push_back(Attribute::of_int("num_outputs", static_cast<int64_t>(n.outputs.size())));
      continue;
    }
    std::vector<int64_t> axes = n.attr_ints("axes");
    Tensor t(DType::Int64, {static_cast<int64_t>(axes.size())});
    std::copy(axes.begin(), axes.end(), t.data<int64_t>());
    std::string name = fresh_name(out.graph, used, (n.name.empty() ? n.outputs.at(0) : n.name) + "_axes");
    used.insert(name);
    out.graph.initializers[name] = std::move(t);
    n.inputs.resize(1);
    n.inputs.push_back(name);
    n.attributes.erase(std::remove_if(n.attributes.begin(), n.attributes.end(),
                                      [](const Attribute& a) { return a.name == "axes"; }),
                       n.attributes.end());
  }
  verify_graph(out.graph);
  bool found = false;
  for (OperatorSetId& o : out.opset_import)
    if (o.domain.empty() || o.domain == "ai.onnx") o.version = kBfloat16ConvOpset, found = true;
  if (!found) out.opset_import.push_back({"", kBfloat16ConvOpset});
  if (out.ir_version < 10) out.ir_version = 10;  // what ONNX pairs with opset 22 (onnx 1.16+)
  m = std::move(out);
  return r;
}

}  // namespace hone
