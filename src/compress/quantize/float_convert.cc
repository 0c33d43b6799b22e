#include "compress/quantize/float_convert.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "bench/cost_model.h"
#include "compress/quantize/float_ranges.h"
#include "compress/quantize/opset22.h"
#include "hone/hone.h"
#include "ops/infer_graph.h"
#include "passes/pass.h"

namespace hone {
namespace {

// Which inputs and outputs of an op version may be float16 / bfloat16 (codes: scripts/gen_onnx_float_slots.py).
struct SlotRow {
  const char* op;
  int since;
  const char* inputs;
  const char* outputs;
};
constexpr SlotRow kSlotRows[] = {
#include "compress/quantize/onnx_float_slots.inc"
    // Ops after opset 17 (the installed onnx package's last), from the ONNX changelog.
    {"Mish", 18, "a", "a"},
    {"Gelu", 20, "A", "A"},
};

// The opset from which an op's float16-only type parameters also admit bfloat16: 22 for the ops onnx/onnx#6099 ("Add
// bfloat16 to all relevant ops") updated, 20 for ConstantOfShape and IsInf; 0: never (as far as this table knows).
int64_t bfloat16_since(const std::string& op) {
  static const std::set<std::string> at_22 = {
      "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "AveragePool", "Bernoulli", "Conv", "ConvTranspose", "Cos",
      "Cosh", "DeformConv", "Det", "Dropout", "Elu", "EyeLike", "GRU", "GlobalAveragePool", "GlobalLpPool",
      "GlobalMaxPool", "GridSample", "HardSigmoid", "HardSwish", "InstanceNormalization", "LSTM", "LpNormalization",
      "LpPool", "MaxPool", "MaxRoiPool", "MaxUnpool", "Mish", "Multinomial", "NegativeLogLikelihoodLoss", "RNN",
      "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "RoiAlign", "Round", "Selu", "Sin",
      "Sinh", "Softplus", "Softsign", "Tan", "ThresholdedRelu"};
  if (at_22.count(op)) return 22;
  if (op == "ConstantOfShape" || op == "IsInf") return 20;
  return 0;
}

// Ops whose float output type comes from an attribute, not their inputs: left float32.
const std::set<std::string>& dtype_attribute_ops() {
  static const std::set<std::string> ops = {"EyeLike",         "RandomNormal", "RandomUniform", "RandomNormalLike",
                                            "RandomUniformLike", "Multinomial", "Bernoulli"};
  return ops;
}

// Without calibration data: ops whose results can leave their inputs' range by far stay float32 in float16.
const std::set<std::string>& range_risky_ops() {
  static const std::set<std::string> ops = {"Exp",        "Pow",          "ReduceSumSquare", "ReduceL2",
                                            "ReduceProd", "ReduceLogSumExp", "CumSum",       "ReduceSum"};
  return ops;
}

const SlotRow* find_row(const std::string& op, int64_t opset) {
  const SlotRow* best = nullptr;
  for (const SlotRow& r : kSlotRows)
    if (op == r.op && r.since <= opset && (!best || r.since > best->since)) best = &r;
  return best;
}

char slot_code(const char* codes, size_t i) {
  size_t n = std::char_traits<char>::length(codes);
  if (n == 0) return 0;
  return codes[std::min(i, n - 1)];
}

bool is_group(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
int group_id(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  return c - '0';
}
bool group_admits(char c, DType target, bool bf16_from_22) {
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= 'a' && c <= 'z') return target == DType::Float16 || bf16_from_22;
  if (c >= '0' && c <= '9') return target == DType::BFloat16;
  return false;
}

const char* type_tag(DType t) { return t == DType::Float16 ? "fp16" : "bf16"; }

bool has_subgraph(const Node& n) {
  for (const Attribute& a : n.attributes)
    if (a.g || !a.graphs.empty()) return true;
  return false;
}

std::string node_label(const Node& n, size_t index) {
  return n.name.empty() ? fmt::format("{} (node {})", n.op_type, index) : n.name;
}

// A float32 tensor converted to the target type (round to nearest even).
Tensor convert_tensor(const Tensor& t, DType target) {
  Tensor out(target, t.shape());
  const float* p = t.data<float>();
  if (target == DType::Float16) {
    Float16* q = out.data<Float16>();
    for (int64_t i = 0; i < t.numel(); ++i) q[i] = Float16(p[i]);
  } else {
    BFloat16* q = out.data<BFloat16>();
    for (int64_t i = 0; i < t.numel(); ++i) q[i] = BFloat16(p[i]);
  }
  return out;
}

// Why a float32 constant cannot be held in the target type, or "": values beyond the safe range, or a non-zero value
// that rounds to zero while being larger than the rounding error of the constant's largest value (a 1e-10 clamp or
// epsilon, as in log(max(x, 1e-10)); not the negligible entries of a weight tensor).
std::string constant_problem(const Tensor& t, DType target, double limit) {
  const float* p = t.data<float>();
  double max_abs = 0;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (std::isfinite(p[i])) max_abs = std::max(max_abs, static_cast<double>(std::fabs(p[i])));
  if (max_abs > limit)
    return fmt::format("holds {:.4g}, beyond the {} safe range {:.5g}", max_abs, dtype_name(target), limit);
  double negligible = max_abs * (target == DType::Float16 ? 0x1p-11 : 0x1p-8);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v = p[i];
    if (v == 0.f || !std::isfinite(v) || std::fabs(v) <= negligible) continue;
    float r = target == DType::Float16 ? static_cast<float>(Float16(v)) : static_cast<float>(BFloat16(v));
    if (r == 0.f) return fmt::format("holds {:.3g}, which rounds to 0 in {}", v, dtype_name(target));
  }
  return "";
}


// What a node does with each float slot after the conversion.
enum class Want : char { None, Target, Float32, Any };

struct NodePlan {
  bool touches_float = false;  // reads (outside free slots) or writes a float32 value
  bool convert = false;        // writes target-type values
  std::string reason;          // kept float32: why
  std::vector<Want> inputs;    // per input
  std::vector<bool> any_admits_target;  // per input with Want::Any: whether the slot takes the target type
  std::vector<bool> outputs_target;     // per output: written in the target type
};

class Converter {
 public:
  Converter(Model& m, const FloatConvertOptions& opt, FloatConvertReport& report)
      : m_(m), g_(m.graph), opt_(opt), report_(report), target_(opt.target),
        limit_(opt.range_fraction * float_type_max(opt.target)) {}

  void run(const data::Dataset* calibration) {
    int64_t opset = m_.opset("");
    InferOptions io;
    io.opset = [&](const std::string& d) { return d.empty() || d == "ai.onnx" ? opset : m_.opset(d); };
    io.fold_constants = false;
    io.throw_on_unsupported = false;
    std::unordered_map<std::string, TypeInfo> input_types;
    std::vector<int64_t> shape = opt_.input_shape;
    if (shape.empty() && calibration && !g_.inputs.empty()) {
      data::InputBatcher batcher(*calibration, g_.inputs[0], opt_.calibration_batch);
      shape = batcher.batch(0).shape();
    }
    if (!shape.empty() && !g_.inputs.empty())
      input_types[g_.inputs[0].name] = TypeInfo::tensor(g_.inputs[0].type.elem, to_sym_shape(shape));
    report_.input_shape = shape;
    types_ = infer_graph(g_, io, input_types);
    if (opt_.observed) ranges_ = *opt_.observed;
    else if (calibration) ranges_ = observe_float_ranges(m_, types_, *calibration, opt_, report_);
    const bool calibrated = calibration != nullptr || opt_.observed != nullptr;
    report_.ranges_checked = calibrated;
    report_.observed = ranges_;
    collect_outer_reads();
    find_unsafe_values();
    plans_.resize(g_.nodes.size());
    for (size_t i = 0; i < g_.nodes.size(); ++i) plans_[i] = plan_node(i, opset, calibrated);
    keep_constants_of_float32_readers();
    rewrite();
  }

 private:
  bool is_f32(const std::string& v) const {
    if (v.empty()) return false;
    auto it = types_.types.find(v);
    return it != types_.types.end() && it->second.is_tensor() && it->second.elem == DType::Float32;
  }
  bool type_unknown(const std::string& v) const {
    if (v.empty()) return false;
    auto it = types_.types.find(v);
    return it == types_.types.end() || it->second.kind == TypeInfo::Kind::Unknown ||
           (it->second.is_tensor() && it->second.elem == DType::Undefined);
  }
  bool is_initializer(const std::string& v) const {
    return g_.initializers.count(v) && !overridable_.count(v);
  }

  void collect_outer_reads() {
    overridable_.insert(g_.overridable_initializers.begin(), g_.overridable_initializers.end());
    for (const Node& n : g_.nodes)
      for (const Attribute& a : n.attributes) {
        std::vector<const Graph*> subs;
        if (a.g) subs.push_back(a.g.get());
        for (const auto& s : a.graphs) subs.push_back(s.get());
        for (const Graph* s : subs)
          for (const std::string& name : outer_scope_names(*s)) must_stay_f32_named_.insert(name);
      }
    for (const ValueInfo& o : g_.outputs)
      if (opt_.keep_io_types) must_stay_f32_named_.insert(o.name);
  }

  // Values whose range the target type cannot hold: from the calibration data, and the constants.
  void find_unsafe_values() {
    for (const auto& [name, r] : ranges_)
      if (r.max_abs > limit_)
        unsafe_[name] = fmt::format("'{}' reaches {:.4g} on the calibration data ({} safe range {:.5g})", name,
                                    r.max_abs, dtype_name(target_), limit_);
    for (const auto& [name, t] : g_.initializers) {
      if (t.dtype() != DType::Float32 || overridable_.count(name)) continue;
      std::string why = constant_problem(t, target_, limit_);
      if (!why.empty()) unsafe_[name] = fmt::format("constant '{}' {}", name, why);
    }
    for (const Node& n : g_.nodes)
      if (n.op_type == "Constant" && (n.domain.empty() || n.domain == "ai.onnx") && !n.outputs.empty())
        if (const Tensor* t = n.attr_tensor("value"); t && t->dtype() == DType::Float32) {
          std::string why = constant_problem(*t, target_, limit_);
          if (!why.empty()) unsafe_[n.outputs[0]] = fmt::format("constant '{}' {}", n.outputs[0], why);
        }
  }

  // A Constant node (how some exporters, PaddleOCR's among them, store every weight) whose readers all stay float32
  // stays float32 too, as an initializer does: converting it would only round the weights a kept node reads.
  void keep_constants_of_float32_readers() {
    std::unordered_map<std::string, std::vector<size_t>> readers;
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      for (const std::string& v : g_.nodes[i].inputs) readers[v].push_back(i);
    std::unordered_set<std::string> graph_outputs;
    for (const ValueInfo& v : g_.outputs) graph_outputs.insert(v.name);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      NodePlan& p = plans_[i];
      if (n.op_type != "Constant" || !p.convert || n.outputs.size() != 1 || graph_outputs.count(n.outputs[0]) ||
          overridable_.count(n.outputs[0]) || must_stay_f32_named_.count(n.outputs[0]))
        continue;
      auto it = readers.find(n.outputs[0]);
      if (it == readers.end()) continue;
      bool all_float32 = true;
      for (size_t r : it->second) all_float32 = all_float32 && plans_[r].touches_float && !plans_[r].convert;
      if (!all_float32) continue;
      p.convert = false;
      p.reason = "its readers all stay float32";
      std::fill(p.outputs_target.begin(), p.outputs_target.end(), false);
    }
  }

  NodePlan plan_node(size_t index, int64_t opset, bool calibrated) {
    const Node& n = g_.nodes[index];
    NodePlan p;
    p.inputs.assign(n.inputs.size(), Want::None);
    p.any_admits_target.assign(n.inputs.size(), false);
    p.outputs_target.assign(n.outputs.size(), false);
    bool reads = false, writes = false;
    for (const std::string& v : n.inputs) reads |= is_f32(v);
    for (const std::string& v : n.outputs) writes |= is_f32(v);
    if (!reads && !writes) return p;
    auto keep = [&](std::string why) {
      p.touches_float = true;
      p.convert = false;
      p.reason = std::move(why);
      for (size_t i = 0; i < n.inputs.size(); ++i) p.inputs[i] = is_f32(n.inputs[i]) ? Want::Float32 : Want::None;
      std::fill(p.outputs_target.begin(), p.outputs_target.end(), false);
      return p;
    };
    bool onnx = n.domain.empty() || n.domain == "ai.onnx";
    if (!onnx) return keep(fmt::format("operator of domain '{}'", n.domain));
    if (has_subgraph(n)) return keep("has a subgraph");
    if (std::find(opt_.exclude_nodes.begin(), opt_.exclude_nodes.end(), n.name) != opt_.exclude_nodes.end())
      return keep("excluded by name");
    if (std::find(opt_.exclude_op_types.begin(), opt_.exclude_op_types.end(), n.op_type) != opt_.exclude_op_types.end())
      return keep("excluded by op type");
    for (const std::string& v : n.outputs)
      if (type_unknown(v)) return keep(fmt::format("the type of output '{}' is unknown", v));
    for (const std::string& v : n.inputs)
      if (!v.empty() && !is_f32(v) && types_.types.count(v) && !types_.types.at(v).is_tensor())
        return keep(fmt::format("input '{}' is not a tensor", v));
    if (dtype_attribute_ops().count(n.op_type)) return keep("its output type is set by an attribute");
    const SlotRow* row = find_row(n.op_type, opset);
    if (!row) return keep(fmt::format("ONNX has no float16/bfloat16 form of {} at opset {}", n.op_type, opset));
    for (const std::string& v : n.outputs)
      if (auto it = unsafe_.find(v); it != unsafe_.end()) return keep("writes " + it->second);
    for (const std::string& v : n.inputs)
      if (auto it = unsafe_.find(v); it != unsafe_.end()) {
        if (it->second.find("rounds to 0") != std::string::npos)
          for (const std::string& o : n.outputs) carries_tiny_[o] = it->second;
        return keep("reads " + it->second);
      }
    for (const std::string& v : n.inputs)
      if (auto it = carries_tiny_.find(v); it != carries_tiny_.end())
        return keep(fmt::format("reads '{}', which can carry a value that rounds to 0 ({})", v, it->second));
    if (!calibrated && target_ == DType::Float16 && range_risky_ops().count(n.op_type))
      return keep("its result may leave the float16 range (no calibration data to check it)");

    int64_t bf16_since = bfloat16_since(n.op_type);
    bool bf16_22 = bf16_since > 0 && opset >= bf16_since;
    // Slots per type group: a group seen in one input only (Shape's input, Resize's roi) takes any type it admits.
    std::map<int, int> group_slots;
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (char c = slot_code(row->inputs, i); is_group(c)) ++group_slots[group_id(c)];
    for (size_t i = 0; i < n.outputs.size(); ++i)
      if (char c = slot_code(row->outputs, i); is_group(c)) group_slots[group_id(c)] += 2;
    p.touches_float = writes;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!is_f32(n.inputs[i])) continue;
      char c = slot_code(row->inputs, i);
      if (c == 0 || c == '.') return keep(fmt::format("input {} holds float32 where the ONNX schema has no float", i));
      if (!is_group(c)) {
        p.inputs[i] = Want::Float32;
        p.touches_float = true;
        continue;
      }
      bool admits = group_admits(c, target_, bf16_22);
      if (group_slots[group_id(c)] == 1) {
        p.inputs[i] = Want::Any;
        p.any_admits_target[i] = admits;
      } else {
        p.inputs[i] = admits ? Want::Target : Want::Float32;
        p.touches_float = true;
      }
    }
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (!is_f32(n.outputs[i])) continue;
      char c = slot_code(row->outputs, i);
      if (n.op_type == "Cast") c = 'A';  // Cast's output type is its `to`, which the conversion sets
      if (c == 0 || c == '.') return keep(fmt::format("output {} holds float32 where the ONNX schema has no float", i));
      p.outputs_target[i] = is_group(c) && group_admits(c, target_, bf16_22);
    }
    p.convert = std::find(p.outputs_target.begin(), p.outputs_target.end(), true) != p.outputs_target.end() ||
                std::find(p.inputs.begin(), p.inputs.end(), Want::Target) != p.inputs.end();
    if (!p.convert && p.touches_float)
      return keep(fmt::format("ONNX has no {} form of {} at opset {}", dtype_name(target_), n.op_type, opset));
    return p;
  }

  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int k = 1; names_.count(name); ++k) name = base + "_" + std::to_string(k);
    names_.insert(name);
    return name;
  }

  Node make_cast(const std::string& in, const std::string& out, DType to) {
    Node c;
    c.op_type = "Cast";
    c.name = fresh(out + "_cast");
    c.inputs = {in};
    c.outputs = {out};
    c.attributes.push_back(Attribute::of_int("to", static_cast<int64_t>(to)));
    ++report_.casts_added;
    return c;
  }

  void rewrite() {
    for (const ValueInfo& v : g_.inputs) names_.insert(v.name);
    for (const auto& [name, t] : g_.initializers) names_.insert(name);
    for (const Node& n : g_.nodes) {
      names_.insert(n.name);
      for (const std::string& o : n.outputs) names_.insert(o);
    }
    // Storage type of every non-constant float32 value after the conversion.
    std::unordered_map<std::string, DType> storage;
    for (const ValueInfo& v : g_.inputs)
      if (is_f32(v.name) && !is_initializer(v.name)) storage[v.name] = opt_.keep_io_types ? DType::Float32 : target_;
    // A target-type value that must keep its float32 name (graph output, read by a subgraph) is written under a new
    // name and cast back.
    std::unordered_map<std::string, std::string> renamed;
    std::vector<Node> tail;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      Node& n = g_.nodes[i];
      for (size_t k = 0; k < n.outputs.size(); ++k) {
        const std::string& o = n.outputs[k];
        if (!is_f32(o)) continue;
        DType t = plans_[i].outputs_target[k] ? target_ : DType::Float32;
        storage[o] = t;
        if (t != DType::Float32 && must_stay_f32_named_.count(o)) {
          std::string lp = fresh(o + "_" + type_tag(target_));
          renamed[o] = lp;
          tail.push_back(make_cast(lp, o, DType::Float32));
        }
      }
    }
    std::map<std::pair<std::string, DType>, std::string> casts;  // (value, type) -> the cast's output
    std::map<std::string, std::string> converted_inits;         // float32 initializer -> its target-type copy
    std::vector<Node> nodes;
    nodes.reserve(g_.nodes.size() * 2);
    auto read_as = [&](const std::string& v, DType want) -> std::string {
      if (is_initializer(v)) {
        if (want == DType::Float32) return v;
        auto it = converted_inits.find(v);
        if (it != converted_inits.end()) return it->second;
        std::string name = fresh(v + "_" + type_tag(target_));
        g_.initializers[name] = convert_tensor(g_.initializers.at(v), target_);
        ++report_.converted_initializers;
        return converted_inits[v] = name;
      }
      std::string src = renamed.count(v) ? renamed.at(v) : v;
      auto st = storage.find(v);
      DType have = st == storage.end() ? DType::Float32 : st->second;
      if (have == want) return src;
      auto key = std::make_pair(v, want);
      auto it = casts.find(key);
      if (it != casts.end()) return it->second;
      std::string out = fresh(v + "_" + (want == DType::Float32 ? std::string("fp32") : type_tag(target_)));
      nodes.push_back(make_cast(src, out, want));
      return casts[key] = out;
    };
    TypeLookup type_of = [&](const std::string& v) -> const TypeInfo* {
      auto it = types_.types.find(v);
      return it == types_.types.end() ? nullptr : &it->second;
    };
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      Node n = std::move(g_.nodes[i]);
      const NodePlan& p = plans_[i];
      if (p.touches_float) {
        ++report_.float_nodes;
        int64_t flops = node_cost(n, type_of).flops;
        report_.flops += flops;
        if (p.convert) {
          ++report_.converted_nodes;
          report_.low_precision_flops += flops;
          report_.converted.push_back(node_label(n, i));
        } else {
          report_.kept.push_back({node_label(n, i), n.op_type, p.reason});
        }
      }
      for (size_t k = 0; k < n.inputs.size(); ++k) {
        const std::string& v = n.inputs[k];
        switch (p.inputs[k]) {
          case Want::None: break;
          case Want::Target: n.inputs[k] = read_as(v, target_); break;
          case Want::Float32: n.inputs[k] = read_as(v, DType::Float32); break;
          case Want::Any: {
            auto st = storage.find(v);
            bool lp = st != storage.end() && st->second != DType::Float32;
            n.inputs[k] = read_as(v, lp && p.any_admits_target[k] ? target_ : DType::Float32);
            break;
          }
        }
      }
      for (std::string& o : n.outputs)
        if (renamed.count(o)) o = renamed.at(o);
      if (p.convert) retype_attributes(n);
      nodes.push_back(std::move(n));
    }
    for (Node& c : tail) nodes.push_back(std::move(c));
    // Graph outputs that are target-type values keep their type when keep_io_types is off.
    if (!opt_.keep_io_types) {
      for (ValueInfo& v : g_.inputs)
        if (storage.count(v.name) && storage[v.name] != DType::Float32) v.type.elem = target_;
      for (ValueInfo& v : g_.outputs)
        if (storage.count(v.name) && storage[v.name] != DType::Float32) v.type.elem = target_;
    }
    g_.nodes = std::move(nodes);
    for (ValueInfo& v : g_.value_info)
      if (auto it = storage.find(v.name); it != storage.end() && !renamed.count(v.name) && v.type.is_tensor())
        v.type.elem = it->second;
    // Initializers every reader now takes in the target type go (a graph output or overridable one stays).
    remove_unused_initializers(g_);
  }

  // Attributes that carry the output's type: Cast's `to`, Constant's and ConstantOfShape's `value`.
  void retype_attributes(Node& n) {
    if (n.op_type == "Cast") {
      for (Attribute& a : n.attributes)
        if (a.name == "to" && a.i == static_cast<int64_t>(DType::Float32)) a.i = static_cast<int64_t>(target_);
    } else if (n.op_type == "Constant" || n.op_type == "ConstantOfShape") {
      bool found = false;
      for (Attribute& a : n.attributes)
        if (a.name == "value" && a.type == Attribute::Type::Tensor && a.t.dtype() == DType::Float32) {
          a.t = convert_tensor(a.t, target_);
          found = true;
        }
      if (!found && n.op_type == "ConstantOfShape") {  // the default value is a float32 zero
        Tensor zero(target_, {1});
        n.attributes.push_back(Attribute::of_tensor("value", zero));
      }
      if (n.op_type == "Constant" && (n.has_attr("value_float") || n.has_attr("value_floats"))) {
        std::vector<float> v = n.has_attr("value_float") ? std::vector<float>{n.attr_float("value_float", 0)}
                                                         : n.attr_floats("value_floats");
        Tensor t(DType::Float32, n.has_attr("value_float") ? Shape{} : Shape{static_cast<int64_t>(v.size())});
        std::copy(v.begin(), v.end(), t.data<float>());
        std::erase_if(n.attributes, [](const Attribute& a) { return a.name == "value_float" || a.name == "value_floats"; });
        n.attributes.push_back(Attribute::of_tensor("value", convert_tensor(t, target_)));
      }
    }
  }

  Model& m_;
  Graph& g_;
  const FloatConvertOptions& opt_;
  FloatConvertReport& report_;
  DType target_;
  double limit_;
  GraphTypes types_;
  std::unordered_map<std::string, ObservedRange> ranges_;
  std::unordered_map<std::string, std::string> unsafe_;  // value -> why
  // Values of float32 nodes that read a constant the type rounds to 0: they can pass it on (max(x, 1e-10)), so
  // their readers stay float32 too.
  std::unordered_map<std::string, std::string> carries_tiny_;
  std::unordered_set<std::string> overridable_, must_stay_f32_named_, names_;
  std::vector<NodePlan> plans_;
};

int64_t initializer_bytes(const Graph& g) {
  int64_t b = 0;
  for (const auto& [name, t] : g.initializers) b += static_cast<int64_t>(t.nbytes());
  return b;
}

// Whether a node would gain a bfloat16 form by raising the opset to 22.
bool needs_opset_22(const Model& m) {
  for (const Node& n : m.graph.nodes)
    if ((n.domain.empty() || n.domain == "ai.onnx") && bfloat16_since(n.op_type) > 0) return true;
  return false;
}

}  // namespace

double float_type_max(DType t) {
  if (t == DType::Float16) return 65504.0;
  if (t == DType::BFloat16) return static_cast<double>(bfloat16_bits_to_float(0x7f7f));
  fail("float_type_max: {} is not float16 or bfloat16", dtype_name(t));
}

FloatConvertReport convert_float_by_range(Model& m, const FloatConvertOptions& options,
                                          const data::Dataset* calibration) {
  if (options.target != DType::Float16 && options.target != DType::BFloat16)
    fail("float conversion targets float16 or bfloat16, not {}", dtype_name(options.target));
  if (!(options.range_fraction > 0 && options.range_fraction <= 1))
    fail("the safe range fraction must be in (0, 1], not {}", options.range_fraction);
  FloatConvertReport report;
  report.target = options.target;
  Model out = m;
  report.opset_before = report.opset_after = out.opset("");
  report.initializer_bytes_before = initializer_bytes(out.graph);
  if (options.target == DType::BFloat16 && report.opset_before < kBfloat16ConvOpset && needs_opset_22(out)) {
    if (!options.raise_opset) {
      report.opset_note = fmt::format("opset {} kept (raising it was not asked for): Conv, pools and most activations "
                                      "have no bfloat16 form before opset 22",
                                      report.opset_before);
    } else {
      try {
        OpsetUpgrade up = upgrade_opset_to_22(out);
        report.opset_after = up.to;
        report.opset_rewrites = up.rewritten;
      } catch (const Error& e) {
        report.opset_note = fmt::format("opset {} kept: {}", report.opset_before, e.what());
      }
    }
  }
  Converter(out, options, report).run(calibration);
  if (report.converted_nodes == 0)
    fail("nothing to convert to {}: no node can compute in it ({} float nodes, all kept float32{})",
         dtype_name(options.target), report.float_nodes,
         report.kept.empty() ? std::string() : ", e.g. " + report.kept.front().node + ": " + report.kept.front().reason);
  verify_graph(out.graph);
  report.initializer_bytes_after = initializer_bytes(out.graph);
  if (!report.ranges_checked && options.target == DType::Float16)
    report.warnings.push_back(
        "activation ranges were not checked (no calibration data): float16 holds values up to 65504 only, and a "
        "value past it becomes inf (then NaN) at run time. Give --calibration DATA (a few representative inputs) so "
        "that float32 is kept where the values leave float16's range, or convert to bf16 (float32's range)");
  m = std::move(out);
  return report;
}

}  // namespace hone
