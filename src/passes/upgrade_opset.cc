#include "passes/upgrade_opset.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "passes/pass.h"
#include "passes/weight_folding.h"

namespace hone {
namespace {

constexpr int64_t kMinSource = 7;
constexpr int64_t kMaxTarget = 17;  // 13 -> 17 only added ops, types and optional attributes/inputs

// The opset in which each convertible op last changed meaning or signature (at or below kMaxTarget): a node of that
// op needs rewriting when from < version <= to.
int64_t change_version(const std::string& op) {
  if (op == "BatchNormalization") return 9;
  if (op == "Slice" || op == "TopK" || op == "Upsample") return 10;
  if (op == "Clip" || op == "Pad" || op == "Scatter") return 11;
  if (op == "Resize") return 11;  // opset 10's Resize
  if (op == "Dropout") return 12;
  if (op == "Squeeze" || op == "Unsqueeze" || op == "Split" || op == "ReduceSum" || op == "Softmax" ||
      op == "LogSoftmax" || op == "Hardmax")
    return 13;
  return 0;
}

bool needs_rewrite(const Node& n, int64_t from, int64_t to) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return false;
  int64_t v = change_version(n.op_type);
  if (v == 0 || from >= v || to < v) return false;
  if (n.op_type == "Resize") return from == 10;
  return true;
}

std::string label(const Node& n) { return (n.name.empty() ? n.outputs.at(0) : n.name) + " (" + n.op_type + ")"; }

[[noreturn]] void refuse(const Node& n, int64_t from, int64_t to, const std::string& why) {
  throw Error("cannot raise the opset from " + std::to_string(from) + " to " + std::to_string(to) + ": node " +
              label(n) + " (opset " + std::to_string(from) + "): " + why);
}

void drop_attr(Node& n, std::string_view name) {
  n.attributes.erase(std::remove_if(n.attributes.begin(), n.attributes.end(),
                                    [&](const Attribute& a) { return a.name == name; }),
                     n.attributes.end());
}

void set_attr(Node& n, Attribute a) {
  drop_attr(n, a.name);
  n.attributes.push_back(std::move(a));
}

Tensor int64_vector(const std::vector<int64_t>& v) {
  Tensor t(DType::Int64, {static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

// A scalar of the element type of `like` (float, double or float16 inputs of Clip / Pad).
Tensor scalar_like(DType elem, double v, const Node& n, int64_t from, int64_t to) {
  if (elem == DType::Float32 || elem == DType::Undefined) {
    Tensor t(DType::Float32, {});
    *t.data<float>() = static_cast<float>(v);
    return t;
  }
  if (elem == DType::Float64) {
    Tensor t(DType::Float64, {});
    *t.data<double>() = v;
    return t;
  }
  refuse(n, from, to, "input type " + std::string(dtype_name(elem)) + " is not supported by the converter");
}

class Upgrader {
 public:
  Upgrader(Graph& g, int64_t from, int64_t to) : g_(g), from_(from), to_(to) {
    ctx_.opset = [from](const std::string& d) { return d.empty() || d == "ai.onnx" ? from : int64_t{1}; };
    ctx_.refresh_types(g_);
  }

  // Rewrites node `i` in place; new nodes that must run before it are collected in `before`, after it in `after`.
  void rewrite(Node& n, std::vector<Node>& before, std::vector<Node>& after) {
    const std::string& op = n.op_type;
    if (op == "Slice") {
      // Slice-1: starts, ends, axes attributes.
      auto starts = n.attr_ints("starts"), ends = n.attr_ints("ends");
      if (!n.has_attr("starts") || !n.has_attr("ends")) refuse(n, from_, to_, "starts and ends are required");
      std::vector<std::string> in = {n.inputs.at(0), constant(n, "starts", int64_vector(starts)),
                                     constant(n, "ends", int64_vector(ends))};
      if (n.has_attr("axes")) in.push_back(constant(n, "axes", int64_vector(n.attr_ints("axes"))));
      n.inputs = in;
      drop_attr(n, "starts"), drop_attr(n, "ends"), drop_attr(n, "axes");
    } else if (op == "TopK") {
      n.inputs.resize(1);
      n.inputs.push_back(constant(n, "k", int64_vector({n.require_int("k")})));
      drop_attr(n, "k");
    } else if (op == "Clip") {
      DType elem = elem_of(n.inputs.at(0));
      n.inputs.resize(1);
      n.inputs.push_back(n.has_attr("min") ? constant(n, "min", scalar_like(elem, n.attr_float("min", 0), n, from_, to_))
                                           : std::string());
      n.inputs.push_back(n.has_attr("max") ? constant(n, "max", scalar_like(elem, n.attr_float("max", 0), n, from_, to_))
                                           : std::string());
      while (!n.inputs.empty() && n.inputs.back().empty()) n.inputs.pop_back();
      drop_attr(n, "min"), drop_attr(n, "max");
    } else if (op == "Pad") {
      if (!n.has_attr("pads")) refuse(n, from_, to_, "the pads attribute is missing");
      DType elem = elem_of(n.inputs.at(0));
      n.inputs.resize(1);
      n.inputs.push_back(constant(n, "pads", int64_vector(n.attr_ints("pads"))));
      float value = n.attr_float("value", 0.f);
      if (n.attr_string("mode", "constant") == "constant" && value != 0.f)
        n.inputs.push_back(constant(n, "value", scalar_like(elem, value, n, from_, to_)));
      drop_attr(n, "pads"), drop_attr(n, "value");
    } else if (op == "Scatter") {
      n.op_type = "ScatterElements";
    } else if (op == "Dropout") {
      if (n.has_attr("ratio")) {
        n.inputs.resize(1);
        n.inputs.push_back(constant(n, "ratio", scalar_like(DType::Float32, n.attr_float("ratio", 0.5f), n, from_, to_)));
      }
      drop_attr(n, "ratio"), drop_attr(n, "is_test");
    } else if (op == "BatchNormalization") {
      if (n.attr_int("spatial", 1) != 1) refuse(n, from_, to_, "spatial = 0 has no equivalent from opset 9 on");
      drop_attr(n, "spatial");
    } else if (op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") {
      if (n.has_attr("axes")) {
        n.inputs.resize(1);
        n.inputs.push_back(constant(n, "axes", int64_vector(n.attr_ints("axes"))));
        drop_attr(n, "axes");
      }
    } else if (op == "Split") {
      if (n.has_attr("split")) {
        n.inputs.resize(1);
        n.inputs.push_back(constant(n, "split", int64_vector(n.attr_ints("split"))));
        drop_attr(n, "split");
      }
    } else if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") {
      softmax(n, before, after);
    } else if (op == "Upsample" || op == "Resize") {
      upsample(n);
    }
  }

 private:
  DType elem_of(const std::string& v) const {
    const TypeInfo* t = ctx_.type(v);
    return t && t->is_tensor() ? t->elem : DType::Undefined;
  }

  std::string constant(const Node& n, const std::string& what, const Tensor& t) {
    return folding::add_initializer(g_, ctx_, (n.name.empty() ? n.outputs.at(0) : n.name) + "_" + what, t);
  }

  std::string value(const Node& n, const std::string& what) {
    return folding::add_value_name(g_, ctx_, (n.name.empty() ? n.outputs.at(0) : n.name) + "_" + what, TypeInfo{});
  }

  // Opsets < 13 coerce the input to 2-D at `axis` (default 1) and normalise each row; 13 normalises along `axis`.
  // The same when `axis` is the last dimension; otherwise Flatten -> op(axis=-1) -> Reshape to the input's shape.
  void softmax(Node& n, std::vector<Node>& before, std::vector<Node>& after) {
    int64_t axis = n.attr_int("axis", 1);
    const TypeInfo* t = ctx_.type(n.inputs.at(0));
    int rank = t && t->is_tensor() && t->shape ? static_cast<int>(t->shape->size()) : -1;
    if (rank > 0 && (axis == rank - 1 || axis == -1)) {
      set_attr(n, Attribute::of_int("axis", -1));
      return;
    }
    std::string x = n.inputs.at(0), y = n.outputs.at(0);
    std::string shape = value(n, "shape"), flat = value(n, "flat"), flat_out = value(n, "flat_out");
    Node sh;
    sh.name = n.name + "_shape", sh.op_type = "Shape", sh.inputs = {x}, sh.outputs = {shape};
    Node fl;
    fl.name = n.name + "_flatten", fl.op_type = "Flatten", fl.inputs = {x}, fl.outputs = {flat};
    fl.attributes = {Attribute::of_int("axis", axis)};
    before.push_back(std::move(sh));
    before.push_back(std::move(fl));
    n.inputs = {flat};
    n.outputs = {flat_out};
    set_attr(n, Attribute::of_int("axis", -1));
    Node rs;
    rs.name = n.name + "_reshape", rs.op_type = "Reshape", rs.inputs = {flat_out, shape}, rs.outputs = {y};
    after.push_back(std::move(rs));
  }

  // Upsample-7 (scales attribute), Upsample-9 and Resize-10 (scales input): x_in = x_out / scale (asymmetric),
  // nearest rounds down. Resize-11 says the same with coordinate_transformation_mode = asymmetric and
  // nearest_mode = floor, for upsampling; downsampling's old rounding differs between runtimes, so it is refused.
  void upsample(Node& n) {
    std::vector<float> scales;
    if (n.has_attr("scales")) {
      scales = n.attr_floats("scales");
    } else {
      const Tensor* s = n.inputs.size() > 1 ? ctx_.constant(n.inputs[1]) : nullptr;
      if (!s || s->dtype() != DType::Float32) refuse(n, from_, to_, "its scales are not a float32 constant");
      scales.assign(s->data<float>(), s->data<float>() + s->numel());
    }
    for (float s : scales)
      if (!(s >= 1.f) || !std::isfinite(s)) refuse(n, from_, to_, "only upsampling (every scale >= 1) is converted");
    std::string mode = n.attr_string("mode", "nearest");
    if (mode == "bilinear") mode = "linear";
    if (mode != "nearest" && mode != "linear") refuse(n, from_, to_, "mode '" + mode + "' is not known");
    Tensor st(DType::Float32, {static_cast<int64_t>(scales.size())});
    std::copy(scales.begin(), scales.end(), st.data<float>());
    std::string roi;
    if (to_ < 13) roi = constant(n, "roi", Tensor(DType::Float32, {0}));
    n.inputs = {n.inputs.at(0), roi, constant(n, "scales", st)};
    n.op_type = "Resize";
    n.attributes.clear();
    n.attributes.push_back(Attribute::of_string("mode", mode));
    n.attributes.push_back(Attribute::of_string("coordinate_transformation_mode", "asymmetric"));
    if (mode == "nearest") n.attributes.push_back(Attribute::of_string("nearest_mode", "floor"));
  }

  Graph& g_;
  int64_t from_, to_;
  PassContext ctx_;
};

void check_subgraphs(const Graph& g, int64_t from, int64_t to) {
  for (const Node& n : g.nodes)
    for (const Attribute& a : n.attributes) {
      std::vector<const Graph*> subs;
      if (a.g) subs.push_back(a.g.get());
      for (const auto& s : a.graphs) subs.push_back(s.get());
      for (const Graph* s : subs) {
        for (const Node& inner : s->nodes)
          if (needs_rewrite(inner, from, to))
            refuse(inner, from, to, "it is inside the body of " + label(n) + ", which the converter does not rewrite");
        check_subgraphs(*s, from, to);
      }
    }
}

}  // namespace

OpsetUpgrade upgrade_opset(Model& m, int64_t target) {
  OpsetUpgrade r;
  r.from = m.opset("");
  r.to = std::max(r.from, target);
  if (r.from >= target) return r;
  if (r.from < kMinSource)
    throw Error("cannot raise the opset from " + std::to_string(r.from) + ": models older than opset " +
                std::to_string(kMinSource) + " are not converted");
  if (target > kMaxTarget)
    throw Error("cannot raise the opset to " + std::to_string(target) + ": the converter goes up to opset " +
                std::to_string(kMaxTarget));
  Graph g = m.graph;  // the model changes only when everything converted
  check_subgraphs(g, r.from, target);
  Upgrader up(g, r.from, target);
  std::vector<Node> nodes;
  nodes.reserve(g.nodes.size());
  for (Node& n : g.nodes) {
    if (!needs_rewrite(n, r.from, target)) {
      nodes.push_back(std::move(n));
      continue;
    }
    std::vector<Node> before, after;
    std::string name = label(n);
    up.rewrite(n, before, after);
    r.rewritten.push_back(name);
    for (Node& b : before) nodes.push_back(std::move(b));
    nodes.push_back(std::move(n));
    for (Node& a : after) nodes.push_back(std::move(a));
  }
  g.nodes = std::move(nodes);
  verify_graph(g);
  m.graph = std::move(g);
  bool found = false;
  for (OperatorSetId& o : m.opset_import)
    if (o.domain.empty() || o.domain == "ai.onnx") o.version = target, found = true;
  if (!found) m.opset_import.push_back({"", target});
  if (m.ir_version < 7) m.ir_version = 7;  // opset 13 needs IR version 7
  return r;
}

}  // namespace hone
