// `hone inspect MODEL`: what a model is (inputs, outputs, opsets, ops, parameters) and what it costs per node (MACs,
// FLOPs, bytes, arithmetic intensity against this machine's roofline), with the planned memory peak.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "bench/cost_model.h"
#include "bench/machine_probe.h"
#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "ops/infer_graph.h"
#include "runtime/plan.h"
#include "tools/hone/commands.h"

namespace hone::cli {
namespace {

using nlohmann::json;

struct InspectOptions {
  std::string model;
  std::vector<std::string> shapes;
  bool json = false;
  bool remeasure = false;
  std::string target;
};

struct ParamStats {
  int64_t count = 0, bytes = 0;
  std::map<std::string, std::pair<int64_t, int64_t>> by_dtype;  // dtype -> (count, bytes)
  void add(const Tensor& t) {
    count += t.numel();
    bytes += static_cast<int64_t>(t.nbytes());
    auto& e = by_dtype[dtype_label(t.dtype())];
    e.first += t.numel();
    e.second += static_cast<int64_t>(t.nbytes());
  }
};

// Initializers and Constant node tensors, subgraphs included.
void count_parameters(const Graph& g, ParamStats* p) {
  for (const auto& [name, t] : g.initializers) p->add(t);
  for (const Node& n : g.nodes) {
    if (n.op_type == "Constant" && (n.domain.empty() || n.domain == "ai.onnx")) {
      if (const Tensor* t = n.attr_tensor("value")) p->add(*t);
      else if (n.has_attr("value_float")) p->add(Tensor(DType::Float32, {}));
      else if (n.has_attr("value_int")) p->add(Tensor(DType::Int64, {}));
      else if (n.has_attr("value_floats")) p->add(Tensor(DType::Float32, {int64_t(n.attr_floats("value_floats").size())}));
      else if (n.has_attr("value_ints")) p->add(Tensor(DType::Int64, {int64_t(n.attr_ints("value_ints").size())}));
    }
    for (const Attribute& a : n.attributes) {
      if (a.g) count_parameters(*a.g, p);
      for (const auto& sg : a.graphs)
        if (sg) count_parameters(*sg, p);
    }
  }
}

json shape_json(const std::optional<SymShape>& s) {
  if (!s) return nullptr;
  json out = json::array();
  for (const Dim& d : *s) {
    if (d.known()) out.push_back(d.value);
    else if (!d.symbol.empty()) out.push_back(d.symbol);
    else out.push_back(nullptr);
  }
  return out;
}

std::string shape_text(const TypeInfo* t) {
  if (!t || !t->is_tensor() || !t->shape) return "?";
  std::string s = sym_shape_str(*t->shape);
  return s.empty() ? "scalar" : s;
}

struct NodeReport {
  size_t index = 0;
  const Node* node = nullptr;
  NodeCost cost;
  bool folded = false;
  std::string bound;  // memory-bound, compute-bound, folded, unknown
  double roofline_s = 0;
};

int inspect_model(const InspectOptions& o) {
  Model model = load_onnx_file(o.model);
  const Graph& g = model.graph;

  // Concrete shapes for every input: --shape, else declared dims with unknown ones set to 1.
  std::unordered_map<std::string, Shape> given;
  for (const std::string& arg : o.shapes) {
    auto [name, text] = split_assignment(arg, g.inputs, "--shape");
    find_input(g.inputs, name);
    if (given.count(name)) fail("input '{}' is given twice with --shape", name);
    given[name] = parse_shape(text, fmt::format("--shape for input '{}'", name));
  }
  std::vector<std::string> notes;
  notes.push_back("1 MAC = 2 FLOPs; intensity = FLOPs / (bytes read incl. weights + bytes written)");
  std::vector<Value> feeds;
  std::unordered_map<std::string, TypeInfo> input_types;
  std::map<std::string, Shape> used_shapes;
  bool feeds_ok = true;
  for (const ValueInfo& in : g.inputs) {
    auto it = given.find(in.name);
    if (!in.type.is_tensor() || in.type.elem == DType::Undefined || (!in.type.shape && it == given.end())) {
      notes.push_back(fmt::format("input '{}' ({}) has no concrete tensor type; its consumers' shapes stay unknown",
                                  in.name, in.type.str()));
      feeds_ok = false;
      continue;
    }
    Shape s = concrete_input_shape(in, it == given.end() ? std::nullopt : std::optional<Shape>(it->second), &notes);
    used_shapes[in.name] = s;
    input_types[in.name] = TypeInfo::tensor(in.type.elem, to_sym_shape(s));
    if (feeds_ok) feeds.push_back(Value::of(Tensor(in.type.elem, s)));
  }
  bool defaulted = std::any_of(notes.begin(), notes.end(), [](const std::string& n) { return n.find("set to 1") != n.npos; });
  if (defaulted) notes.push_back("give other sizes with --shape NAME=D0xD1x...");

  // Per-node types and constants come from inference on the model's own graph (the plan describes the graph as
  // lowered for the runtime, where fused values no longer exist); the plan gives the memory figures when the model
  // can be planned. Unsupported ops leave their outputs unknown, so inspection still works on models Hone cannot run.
  std::optional<Session> session;
  const Plan* plan = nullptr;
  GraphTypes inferred;
  std::string plan_problem;
  try {
    if (!feeds_ok) fail("not every input has a concrete type");
    session.emplace(model, SessionOptions{.threads = 1});
    plan = &session->plan_for(feeds);
  } catch (const std::exception& e) {
    plan_problem = e.what();
    notes.push_back(fmt::format("no memory plan: {}", plan_problem));
  }
  try {
    InferOptions io;
    io.opset = [&model](const std::string& d) { return model.opset(d); };
    io.throw_on_unsupported = false;
    inferred = infer_graph(g, io, input_types);
  } catch (const std::exception& e) {
    notes.push_back(fmt::format("shape inference failed: {}", e.what()));
  }
  const GraphTypes* types = &inferred;
  std::unordered_map<std::string, const TypeInfo*> declared;
  for (const ValueInfo& v : g.value_info) declared[v.name] = &v.type;
  for (const ValueInfo& v : g.outputs) declared[v.name] = &v.type;
  TypeLookup type_of = [&](const std::string& name) -> const TypeInfo* {
    auto it = types->types.find(name);
    if (it != types->types.end() && it->second.kind != TypeInfo::Kind::Unknown) return &it->second;
    auto jt = declared.find(name);
    return jt != declared.end() ? jt->second : nullptr;
  };

  MachinePeaks machine = o.target.empty() ? machine_peaks(o.remeasure) : target_peaks(o.target);
  double ridge = machine.ridge();

  std::vector<NodeReport> nodes;
  std::map<std::string, int64_t> histogram;
  int64_t total_macs = 0, total_flops = 0, total_act = 0, unknown = 0;
  double roofline_s = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    histogram[n.domain.empty() || n.domain == "ai.onnx" ? n.op_type : n.domain + "." + n.op_type]++;
    NodeReport r;
    r.index = i;
    r.node = &n;
    r.cost = node_cost(n, type_of);
    r.folded = !n.outputs.empty() && std::all_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& out) {
      return out.empty() || types->constants.count(out);
    });
    if (r.folded) {
      r.cost = NodeCost{};
      r.bound = "folded";
    } else if (!r.cost.known) {
      r.bound = "unknown";
      ++unknown;
    } else {
      r.bound = r.cost.intensity() >= ridge && r.cost.flops > 0 ? "compute-bound" : "memory-bound";
      r.roofline_s = std::max(static_cast<double>(r.cost.flops) / (machine.peak_gflops * 1e9),
                              static_cast<double>(r.cost.bytes_read + r.cost.bytes_written) / (machine.bandwidth_gbs * 1e9));
    }
    if (!r.folded) {
      total_macs += r.cost.macs;
      total_flops += r.cost.flops;
      total_act += r.cost.bytes_written;
      roofline_s += r.roofline_s;
    }
    nodes.push_back(r);
  }
  if (unknown)
    notes.push_back(fmt::format("{} node{} with unknown shapes are not in the totals", unknown, unknown == 1 ? "" : "s"));
  bool folded_any = std::any_of(nodes.begin(), nodes.end(), [](const NodeReport& r) { return r.folded; });
  if (folded_any) notes.push_back("nodes computed at plan time from constants ('folded') cost nothing per run");

  ParamStats params;
  count_parameters(g, &params);

  if (o.json) {
    json j;
    j["model"] = o.model;
    j["ir_version"] = model.ir_version;
    j["producer"] = {{"name", model.producer_name}, {"version", model.producer_version}};
    j["opsets"] = json::object();
    for (const OperatorSetId& s : model.opset_import) j["opsets"][s.domain.empty() ? "ai.onnx" : s.domain] = s.version;
    j["inputs"] = json::array();
    for (const ValueInfo& in : g.inputs) {
      json e = {{"name", in.name}, {"dtype", dtype_label(in.type.elem)}, {"shape", shape_json(in.type.shape)}};
      auto it = used_shapes.find(in.name);
      e["used_shape"] = it != used_shapes.end() ? json(it->second) : json(nullptr);
      j["inputs"].push_back(e);
    }
    j["outputs"] = json::array();
    for (const ValueInfo& out : g.outputs) {
      const TypeInfo* t = type_of(out.name);
      j["outputs"].push_back({{"name", out.name},
                              {"dtype", dtype_label(out.type.elem)},
                              {"shape", shape_json(out.type.shape)},
                              {"inferred_shape", t ? shape_json(t->shape) : json(nullptr)}});
    }
    j["op_histogram"] = histogram;
    json by_dtype = json::object();
    for (const auto& [dt, cb] : params.by_dtype) by_dtype[dt] = {{"count", cb.first}, {"bytes", cb.second}};
    j["parameters"] = {{"count", params.count}, {"bytes", params.bytes}, {"bytes_by_dtype", by_dtype}};
    j["nodes"] = json::array();
    for (const NodeReport& r : nodes) {
      json shapes = json::array();
      for (const std::string& out : r.node->outputs) {
        const TypeInfo* t = out.empty() ? nullptr : type_of(out);
        shapes.push_back(t && t->is_tensor() ? shape_json(t->shape) : json(nullptr));
      }
      bool k = r.cost.known || r.folded;
      j["nodes"].push_back({{"index", r.index},
                            {"name", r.node->name},
                            {"op", r.node->op_type},
                            {"domain", r.node->domain},
                            {"output_shapes", shapes},
                            {"macs", k ? json(r.cost.macs) : json(nullptr)},
                            {"flops", k ? json(r.cost.flops) : json(nullptr)},
                            {"bytes_read", r.cost.bytes_read},
                            {"activation_bytes", r.cost.bytes_written},
                            {"intensity", k ? json(r.cost.intensity()) : json(nullptr)},
                            {"bound", r.bound}});
    }
    j["totals"] = {{"macs", total_macs},         {"flops", total_flops},          {"activation_bytes", total_act},
                   {"nodes", g.nodes.size()},    {"unknown_cost_nodes", unknown}, {"roofline_ms", roofline_s * 1e3}};
    j["memory"] = {{"arena_peak_bytes", plan ? json(plan->arena_bytes) : json(nullptr)},
                   {"intermediate_sum_bytes", plan ? json(plan->intermediate_bytes) : json(nullptr)},
                   {"dynamic_values", plan ? json(plan->dynamic_values) : json(nullptr)}};
    if (!plan) j["memory"]["unavailable_reason"] = plan_problem;
    j["machine"] = {{"name", machine.name},
                    {"peak_gflops", machine.peak_gflops},
                    {"bandwidth_gbs", machine.bandwidth_gbs},
                    {"ridge_flops_per_byte", ridge},
                    {"nominal", machine.nominal},
                    {"source", machine.source}};
    j["notes"] = notes;
    fmt::print("{}\n", j.dump(2));
    return 0;
  }

  fmt::print("{}\n", describe_model_header(model, o.model));
  auto print_values = [&](const char* title, const std::vector<ValueInfo>& vs, bool is_input) {
    fmt::print("{}:\n", title);
    size_t w = 4;
    for (const ValueInfo& v : vs) w = std::max(w, v.name.size());
    for (const ValueInfo& v : vs) {
      std::string used;
      if (is_input) {
        auto it = used_shapes.find(v.name);
        if (it != used_shapes.end()) used = "  inspected as " + shape_str(it->second);
      } else if (const TypeInfo* t = type_of(v.name); t && t->shape) {
        used = "  inferred " + shape_text(t);
      }
      fmt::print("  {:<{}}  {:<8}  {}{}\n", v.name, w, dtype_label(v.type.elem),
                 v.type.shape ? sym_shape_str(*v.type.shape) : "?", used);
    }
  };
  print_values("inputs", g.inputs, true);
  print_values("outputs", g.outputs, false);
  std::vector<std::pair<std::string, int64_t>> ops(histogram.begin(), histogram.end());
  std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string op_line;
  for (const auto& [op, n] : ops) op_line += fmt::format("{}{} {}", op_line.empty() ? "" : ", ", op, n);
  fmt::print("ops ({} nodes): {}\n", g.nodes.size(), op_line);
  std::string by;
  for (const auto& [dt, cb] : params.by_dtype)
    by += fmt::format("{}{} {} ({})", by.empty() ? "" : ", ", dt, human_count(cb.first), human_bytes(cb.second));
  fmt::print("parameters: {} ({}){}{}\n", human_count(params.count), human_bytes(params.bytes), by.empty() ? "" : ": ", by);
  fmt::print("machine: {}: {:.1f} GFLOP/s fp32, {:.1f} GB/s read, ridge {:.1f} FLOP/byte\n  source: {}\n",
             machine.name, machine.peak_gflops, machine.bandwidth_gbs, ridge, machine.source);

  std::vector<const NodeReport*> shown;
  for (const NodeReport& r : nodes) shown.push_back(&r);
  size_t omitted = 0;
  constexpr size_t kFullTableMax = 60, kTop = 25;
  if (shown.size() > kFullTableMax) {
    std::stable_sort(shown.begin(), shown.end(),
                     [](const NodeReport* a, const NodeReport* b) { return a->cost.flops > b->cost.flops; });
    omitted = shown.size() - kTop;
    shown.resize(kTop);
  }
  auto label = [](const NodeReport& r) { return r.node->name.empty() ? fmt::format("#{}", r.index) : r.node->name; };
  size_t wn = 4, wo = 2, ws = 12;
  for (const NodeReport* r : shown) {
    wn = std::min<size_t>(std::max(wn, label(*r).size()), 40);
    wo = std::max(wo, r->node->op_type.size());
    ws = std::min<size_t>(std::max(ws, shape_text(r->node->outputs.empty() ? nullptr : type_of(r->node->outputs[0])).size()), 28);
  }
  fmt::print("\nnodes{}:\n", omitted ? fmt::format(" (top {} of {} by FLOPs)", kTop, nodes.size()) : "");
  fmt::print("  {:<{}}  {:<{}}  {:<{}}  {:>9}  {:>9}  {:>10}  {:>7}  {}\n", "name", wn, "op", wo, "output shape", ws,
             "MACs", "FLOPs", "act bytes", "FLOP/B", "bound");
  for (const NodeReport* r : shown) {
    std::string name = label(*r);
    if (name.size() > wn) name = name.substr(0, wn - 3) + "...";
    std::string shape = shape_text(r->node->outputs.empty() ? nullptr : type_of(r->node->outputs[0]));
    if (r->node->outputs.size() > 1) shape += fmt::format(" +{}", r->node->outputs.size() - 1);
    bool k = r->cost.known || r->folded;
    fmt::print("  {:<{}}  {:<{}}  {:<{}}  {:>9}  {:>9}  {:>10}  {:>7}  {}\n", name, wn, r->node->op_type, wo, shape, ws,
               k ? human_count(static_cast<double>(r->cost.macs)) : "?",
               k ? human_count(static_cast<double>(r->cost.flops)) : "?",
               human_bytes(static_cast<double>(r->cost.bytes_written)),
               k ? fmt::format("{:.2f}", r->cost.intensity()) : "?", r->bound);
  }
  if (omitted) fmt::print("  ... {} more nodes omitted (--json lists all)\n", omitted);
  fmt::print("\ntotals: {} MACs, {} FLOPs, {} of activations; roofline estimate {:.3f} ms per run (a lower bound)\n",
             human_count(static_cast<double>(total_macs)), human_count(static_cast<double>(total_flops)),
             human_bytes(static_cast<double>(total_act)), roofline_s * 1e3);
  if (plan)
    fmt::print("memory: planned arena peak {} vs {} for all intermediates without reuse{}\n",
               human_bytes(static_cast<double>(plan->arena_bytes)), human_bytes(static_cast<double>(plan->intermediate_bytes)),
               plan->dynamic_values ? fmt::format(" ({} values sized at run time not included)", plan->dynamic_values) : "");
  else
    fmt::print("memory: no plan ({})\n", plan_problem);
  for (const std::string& n : notes) fmt::print("note: {}\n", n);
  return 0;
}

}  // namespace

Command add_inspect_command(CLI::App& root) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* app = root.add_subcommand("inspect", "Show a model's structure, per-node cost and planned memory");
  app->add_option("MODEL", o->model, "ONNX model file")->required();
  app->add_option("--shape", o->shapes, "Concrete shape for an input with symbolic dims (repeatable; default 1)")
      ->type_name("NAME=D0xD1x...");
  app->add_flag("--json", o->json, "Print one JSON object with stable snake_case keys");
  std::string targets;
  for (const MachinePeaks& t : builtin_targets()) targets += (targets.empty() ? "" : ", ") + t.name;
  app->add_option("--target", o->target,
                  "Judge nodes against a nominal target instead of this machine's measured peaks: " + targets +
                      ", or a JSON file {\"name\", \"peak_gflops\", \"bandwidth_gbs\"}")
      ->type_name("NAME|FILE.json");
  app->add_flag("--remeasure", o->remeasure, "Measure this machine's peaks again instead of using the cached ones");
  app->footer(
      "MACs are multiply-accumulates (1 MAC = 2 FLOPs). A node is memory-bound when its FLOPs per byte moved fall below "
      "the machine's ridge point (peak FLOP/s / bandwidth). This machine's peaks are measured once (< 1 s) and cached "
      "in $XDG_CACHE_HOME/hone/machine.json.");
  return {app, [o] { return inspect_model(*o); }};
}

}  // namespace hone::cli
