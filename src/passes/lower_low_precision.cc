#include "passes/lower_low_precision.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "ops/hone/low_precision.h"
#include "passes/weight_folding.h"

namespace hone {
namespace {

bool is_low(DType t) { return t == DType::Float16 || t == DType::BFloat16; }
bool onnx_op(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

DType low_type(const PassContext& ctx, const std::string& v) {
  const TypeInfo* t = v.empty() ? nullptr : ctx.type(v);
  return t && t->is_tensor() && is_low(t->elem) ? t->elem : DType::Undefined;
}

Tensor widen(const Tensor& t) {
  Tensor out(DType::Float32, t.shape());
  float* q = out.data<float>();
  if (t.dtype() == DType::Float16)
    for (int64_t i = 0; i < t.numel(); ++i) q[i] = t.data<Float16>()[i];
  else
    for (int64_t i = 0; i < t.numel(); ++i) q[i] = t.data<BFloat16>()[i];
  return out;
}

// Ops whose result holds only values of their inputs (moved, picked or repeated), or a constant of the model's
// type: rounding it to the type changes nothing.
bool keeps_values(const Node& n) {
  static const std::set<std::string> ops = {
      "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity", "Concat", "Split", "Slice", "Gather",
      "GatherElements", "GatherND", "Expand", "Tile", "Pad", "DepthToSpace", "SpaceToDepth", "MaxPool",
      "GlobalMaxPool", "ReduceMax", "ReduceMin", "Max", "Min", "Relu", "Neg", "Abs", "Where",
      "ReverseSequence", "Compress", "ScatterElements", "ScatterND", "TopK"};
  if (!onnx_op(n)) return false;
  if (n.op_type == "Dropout") return !n.has_input(2);  // inference: the identity (training mode scales)
  if (n.op_type == "Resize" || n.op_type == "Upsample") return n.attr_string("mode", "nearest") == "nearest";
  return ops.count(n.op_type) > 0;
}

// Whether fuse_conv folds `n`, reading the chain's current value `cur`, into the Conv before it: activations,
// BatchNormalization (fold_batchnorm), Mul / Div / Add / Sub by a constant, and one Add of another value (the
// residual).
bool fuses_into_conv(const Node& n, const std::string& cur, const PassContext& ctx, bool* residual_taken) {
  static const std::set<std::string> activations = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid",
                                                    "HardSwish", "BatchNormalization"};
  if (!onnx_op(n) || n.outputs.empty()) return false;
  if (activations.count(n.op_type)) return n.inputs.at(0) == cur;
  bool binary = n.op_type == "Mul" || n.op_type == "Div" || n.op_type == "Add" || n.op_type == "Sub";
  if (!binary || n.inputs.size() != 2) return false;
  const std::string& other = n.inputs[0] == cur ? n.inputs[1] : n.inputs[0];
  if (other == cur) return false;
  if (ctx.constant(other)) return n.op_type != "Div" || n.inputs[0] == cur;
  if (n.op_type != "Add" || *residual_taken) return false;
  *residual_taken = true;
  return true;
}

// Values left unrounded because a fused kernel computes their whole chain: the outputs of a Conv and of the fusable
// ops after it (each the sole reader of the previous value), up to the chain's last; the output of a MatMul of a
// rank-2 input and constant weights read only by an Add (one Gemm).
std::unordered_set<std::string> fused_intermediates(const Graph& g, const PassContext& ctx) {
  GraphUses uses(g);
  std::unordered_set<std::string> out;
  for (const Node& n : g.nodes) {
    if (!onnx_op(n) || n.outputs.empty()) continue;
    if (n.op_type == "Conv") {
      std::string cur = n.outputs[0];
      bool residual_taken = false;
      for (;;) {
        if (uses.is_graph_output(cur)) break;
        DecomposedHardSwish hardswish;
        if (match_decomposed_hardswish(g, uses, ctx, cur, nullptr, &hardswish)) {
          out.insert(hardswish.inner.begin(), hardswish.inner.end());
          cur = hardswish.out;
          continue;
        }
        int c = uses.sole_consumer(cur);
        if (c < 0 || !fuses_into_conv(g.nodes[static_cast<size_t>(c)], cur, ctx, &residual_taken)) break;
        out.insert(cur);
        cur = g.nodes[static_cast<size_t>(c)].outputs[0];
      }
    } else if (n.op_type == "MatMul" && n.inputs.size() == 2 && ctx.constant(n.inputs[1])) {
      // matmul_add_to_gemm's case: a rank-2 A times a constant B, plus a bias.
      const TypeInfo* a = ctx.type(n.inputs[0]);
      if (!a || !a->is_tensor() || !a->shape || a->shape->size() != 2) continue;
      const std::string& y = n.outputs[0];
      int c = uses.sole_consumer(y);
      if (c >= 0 && !uses.is_graph_output(y) && onnx_op(g.nodes[static_cast<size_t>(c)]) &&
          g.nodes[static_cast<size_t>(c)].op_type == "Add")
        out.insert(y);
    }
  }
  return out;
}

// Why the graph cannot be lowered, or "".
std::string lowering_obstacle(const Graph& g, const PassContext& ctx) {
  std::function<std::string(const Graph&)> inner_low = [&](const Graph& sg) -> std::string {
    for (const auto& [name, t] : sg.initializers)
      if (is_low(t.dtype())) return fmt::format("its initializer '{}' is {}", name, dtype_name(t.dtype()));
    for (const auto* list : {&sg.inputs, &sg.outputs, &sg.value_info})
      for (const ValueInfo& v : *list)
        if (v.type.is_tensor() && is_low(v.type.elem))
          return fmt::format("its value '{}' is {}", v.name, dtype_name(v.type.elem));
    for (const Node& n : sg.nodes) {
      if (n.op_type == "Cast" && is_low(static_cast<DType>(n.attr_int("to", 0))))
        return fmt::format("{} casts to {}", n.label(), dtype_name(static_cast<DType>(n.attr_int("to", 0))));
      for (const Attribute& a : n.attributes) {
        if (a.t.defined() && is_low(a.t.dtype())) return fmt::format("{} has a {} attribute", n.label(), dtype_name(a.t.dtype()));
        if (a.g) {
          std::string w = inner_low(*a.g);
          if (!w.empty()) return w;
        }
        for (const auto& s : a.graphs) {
          std::string w = inner_low(*s);
          if (!w.empty()) return w;
        }
      }
    }
    return "";
  };
  for (const Node& n : g.nodes) {
    for (const Attribute& a : n.attributes) {
      std::vector<const Graph*> subs;
      if (a.g) subs.push_back(a.g.get());
      for (const auto& s : a.graphs) subs.push_back(s.get());
      if (!subs.empty())
        for (const auto* names : {&n.inputs, &n.outputs})
          for (const std::string& v : *names)
            if (low_type(ctx, v) != DType::Undefined)
              return fmt::format("{}, which has a body, reads or writes the {} value '{}'", n.label(),
                                 dtype_name(low_type(ctx, v)), v);
      for (const Graph* s : subs) {
        for (const std::string& name : outer_scope_names(*s))
          if (low_type(ctx, name) != DType::Undefined)
            return fmt::format("the body of {} reads the {} value '{}'", n.label(), dtype_name(low_type(ctx, name)), name);
        std::string w = inner_low(*s);
        if (!w.empty()) return fmt::format("in the body of {}, {}", n.label(), w);
      }
      if ((a.name == "dtype" || a.name == "to") && a.type == Attribute::Type::Int && is_low(static_cast<DType>(a.i)) &&
          !(onnx_op(n) && n.op_type == "Cast"))
        return fmt::format("the output type of {} is set to {} by an attribute", n.label(), dtype_name(static_cast<DType>(a.i)));
      if (a.type == Attribute::Type::Tensor && is_low(a.t.dtype()) &&
          !(onnx_op(n) && (n.op_type == "Constant" || n.op_type == "ConstantOfShape")))
        return fmt::format("{} has a {} attribute '{}'", n.label(), dtype_name(a.t.dtype()), a.name);
    }
    for (const std::string& o : n.outputs) {
      const TypeInfo* t = o.empty() ? nullptr : ctx.type(o);
      if (t && !t->is_tensor() && t->inner && t->inner->is_tensor() && is_low(t->inner->elem))
        return fmt::format("{} makes a sequence or optional of {}", n.label(), dtype_name(t->inner->elem));
    }
  }
  for (const ValueInfo& v : g.outputs)
    if (is_low(v.type.elem) && g.initializers.count(v.name))
      return fmt::format("the graph output '{}' is an initializer", v.name);
  return "";
}

class Lowering {
 public:
  Lowering(Graph& g, PassContext& ctx) : g_(g), ctx_(ctx) {
    for (const ValueInfo& v : g.inputs) names_.insert(v.name);
    for (const auto& [name, t] : g.initializers) names_.insert(name);
    for (const Node& n : g.nodes) {
      names_.insert(n.name);
      for (const std::string& o : n.outputs) names_.insert(o);
    }
  }

  int run() {
    std::unordered_set<std::string> unrounded = fused_intermediates(g_, ctx_);
    std::unordered_set<std::string> low_outputs;
    for (const ValueInfo& v : g_.outputs)
      if (low_type(ctx_, v.name) != DType::Undefined) low_outputs.insert(v.name);
    for (auto& [name, t] : g_.initializers)
      if (is_low(t.dtype()) && !overridable(name)) {
        t = widen(t);
        ++rewrites_;
      }
    std::vector<Node> nodes;
    // Low-precision graph inputs (and overridable initializers, which a feed may replace): widened by a Cast.
    for (const ValueInfo& v : g_.inputs)
      if (DType t = low_type(ctx_, v.name); t != DType::Undefined) nodes.push_back(cast(v.name, rename(v.name), DType::Float32));
    for (const std::string& name : g_.overridable_initializers)
      if (g_.initializers.count(name) && is_low(g_.initializers.at(name).dtype()))
        nodes.push_back(cast(name, rename(name), DType::Float32));
    std::vector<Node> tail;
    for (Node& original : g_.nodes) {
      Node n = std::move(original);
      std::vector<DType> out_low;
      for (const std::string& o : n.outputs) out_low.push_back(low_type(ctx_, o));
      const std::vector<std::string> model_inputs = n.inputs;  // for their types (renamed ones have none)
      for (std::string& i : n.inputs)
        if (auto it = renamed_.find(i); it != renamed_.end()) i = it->second;
      bool rounds = true;
      if (onnx_op(n) && (n.op_type == "Constant" || n.op_type == "ConstantOfShape")) {
        for (Attribute& a : n.attributes)
          if (a.type == Attribute::Type::Tensor && is_low(a.t.dtype())) a.t = widen(a.t);
        rounds = false;  // widened exactly
      } else if (onnx_op(n) && (n.op_type == "Cast" || n.op_type == "CastLike")) {
        if (n.op_type == "CastLike") {  // the type `like` has, spelled out: Cast's cases below cover it
          const TypeInfo* like = model_inputs.size() > 1 ? ctx_.type(model_inputs[1]) : nullptr;
          if (!like || !like->is_tensor()) fail("{}: the type of input 'target_type' is unknown", n.label());
          n.op_type = "Cast";
          n.inputs.resize(1);
          n.attributes.push_back(Attribute::of_int("to", static_cast<int64_t>(like->elem)));  // and its saturate
        }
        DType to = static_cast<DType>(n.attr_int("to", 0));
        const TypeInfo* in = ctx_.type(model_inputs.at(0));
        DType from = in && in->is_tensor() ? in->elem : DType::Undefined;
        if (is_low(to)) {
          ++rewrites_;
          std::string out = output_name(n, 0, low_outputs, tail);
          if (from == DType::Float32 || is_low(from)) {
            nodes.push_back(round(n.inputs[0], out, to, n.name));
          } else {  // double, integers, bool: the Cast itself rounds once, then widens exactly
            std::string mid = fresh(n.outputs[0] + "@" + std::string(dtype_name(to)));
            n.outputs[0] = mid;
            nodes.push_back(std::move(n));
            nodes.push_back(cast(mid, out, DType::Float32));
          }
          continue;
        }
        if (is_low(from) && to == DType::Float32) {
          ++rewrites_;
          n.op_type = "Identity";
          n.attributes.clear();
        } else if (is_low(from) && to == DType::String) {
          // Strings print the shortest digits of the low-precision value: cast back to it first (exact).
          std::string mid = fresh(n.inputs[0] + "@" + std::string(dtype_name(from)));
          nodes.push_back(cast(n.inputs[0], mid, from));
          n.inputs[0] = mid;
        }
        rounds = false;
      } else if (keeps_values(n)) {
        // Only values of its inputs: exact when they are (not when one ends a fused chain, still unrounded).
        rounds = std::any_of(n.inputs.begin(), n.inputs.end(), [&](const std::string& i) { return unrounded.count(i) > 0; });
      }
      std::vector<Node> after;
      for (size_t k = 0; k < n.outputs.size(); ++k) {
        if (out_low[k] == DType::Undefined) continue;
        ++rewrites_;
        std::string final_name = output_name(n, k, low_outputs, tail);
        if (!rounds || unrounded.count(n.outputs[k])) {
          n.outputs[k] = final_name;
          continue;
        }
        std::string raw = fresh(n.outputs[k] + "@unrounded");
        after.push_back(round(raw, final_name, out_low[k], fresh((n.name.empty() ? n.outputs[k] : n.name) + "@round")));
        n.outputs[k] = raw;
      }
      nodes.push_back(std::move(n));
      for (Node& a : after) nodes.push_back(std::move(a));
    }
    for (Node& t : tail) nodes.push_back(std::move(t));
    g_.nodes = std::move(nodes);
    for (ValueInfo& v : g_.value_info)
      if (v.type.is_tensor() && is_low(v.type.elem)) v.type.elem = DType::Float32;
    return rewrites_;
  }

 private:
  bool overridable(const std::string& name) const {
    for (const std::string& o : g_.overridable_initializers)
      if (o == name) return true;
    return false;
  }
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int k = 1; names_.count(name); ++k) name = base + "_" + std::to_string(k);
    names_.insert(name);
    return name;
  }
  // Readers of `v` read a new float32 name from now on.
  std::string rename(const std::string& v) { return renamed_[v] = fresh(v + "@f32"); }

  // The name output k is written under: a low-precision graph output is written under a new float32 name that later
  // readers read, and cast back to its type at the end.
  std::string output_name(const Node& n, size_t k, const std::unordered_set<std::string>& low_outputs,
                          std::vector<Node>& tail) {
    const std::string& o = n.outputs[k];
    if (!low_outputs.count(o)) return o;
    std::string inner = rename(o);
    tail.push_back(cast(inner, o, low_type(ctx_, o)));
    return inner;
  }

  Node cast(const std::string& in, const std::string& out, DType to) {
    Node c;
    c.op_type = "Cast";
    c.name = fresh(out + "@cast");
    c.inputs = {in};
    c.outputs = {out};
    c.attributes.push_back(Attribute::of_int("to", static_cast<int64_t>(to)));
    return c;
  }

  Node round(const std::string& in, const std::string& out, DType to, const std::string& name) {
    Node r;
    r.domain = "hone";
    r.op_type = "Round";
    r.name = name;
    r.inputs = {in};
    r.outputs = {out};
    r.attributes.push_back(Attribute::of_string("to", rounding_type_name(to)));
    return r;
  }

  Graph& g_;
  PassContext& ctx_;
  std::unordered_set<std::string> names_;
  std::unordered_map<std::string, std::string> renamed_;
  int rewrites_ = 0;
};

// Where a low-precision value can come from: an initializer, a graph input, a Cast / CastLike, a Constant or another
// op's typed attribute. Without any of these (every float32 model), lowering costs no type inference.
bool may_have_low_values(const Graph& g) {
  for (const auto& [name, t] : g.initializers)
    if (is_low(t.dtype())) return true;
  for (const ValueInfo& v : g.inputs)
    if (v.type.is_tensor() && is_low(v.type.elem)) return true;
  for (const Node& n : g.nodes) {
    if (n.op_type == "CastLike") return true;
    for (const Attribute& a : n.attributes)
      if ((a.type == Attribute::Type::Int && (a.name == "to" || a.name == "dtype") && is_low(static_cast<DType>(a.i))) ||
          (a.type == Attribute::Type::Tensor && is_low(a.t.dtype())))
        return true;
  }
  return false;
}

bool has_low_values(const Graph& g, const PassContext& ctx) {
  for (const auto& [name, t] : g.initializers)
    if (is_low(t.dtype())) return true;
  for (const ValueInfo& v : g.inputs)
    if (low_type(ctx, v.name) != DType::Undefined) return true;
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs)
      if (low_type(ctx, o) != DType::Undefined) return true;
  return false;
}

}  // namespace

int lower_low_precision(Graph& g, PassContext& ctx, std::string* why_not) {
  if (!may_have_low_values(g)) return 0;
  ctx.refresh_types(g);
  if (!has_low_values(g, ctx)) return 0;
  std::string obstacle = lowering_obstacle(g, ctx);
  if (!obstacle.empty()) {
    if (why_not) *why_not = obstacle;
    return 0;
  }
  Graph out = g;
  int rewrites = Lowering(out, ctx).run();
  verify_graph(out);
  g = std::move(out);
  ctx.refresh_types(g);
  return rewrites;
}

int fuse_rounding(Graph& g, PassContext& ctx) {
  GraphUses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int fused = 0;
  for (size_t ri = 0; ri < g.nodes.size(); ++ri) {
    const Node& r = g.nodes[ri];
    if (r.domain != "hone" || r.op_type != "Round" || r.inputs.size() != 1) continue;
    const std::string& u = r.inputs[0];
    int pi = uses.producer(u);
    if (pi < 0 || uses.sole_consumer(u) != static_cast<int>(ri) || uses.is_graph_output(u)) continue;
    Node& p = g.nodes[static_cast<size_t>(pi)];
    std::string op;
    if (onnx_op(p) && p.op_type == "Conv") op = "RoundedConv";
    else if (p.domain == "hone" && p.op_type == "FusedConv") op = "RoundedConv";
    else if (onnx_op(p) && p.op_type == "MatMul") op = "RoundedMatMul";
    else if (onnx_op(p) && p.op_type == "Gemm" && ctx.opset("") >= 7) op = "RoundedGemm";
    else continue;
    if (p.outputs.size() != 1 || p.inputs.size() < 2) continue;
    DType to = rounding_type(r.attr_string("to", ""), r.label());
    if (g.initializers.count(p.inputs[1])) {
      const Tensor& w = g.initializers.at(p.inputs[1]);
      if (w.dtype() != DType::Float32) continue;
      // The weights as the type holds them (a folded BatchNormalization left them float32).
      Tensor rw(DType::Float32, w.shape());
      round_to_type_reference(w.data<float>(), rw.data<float>(), w.numel(), to);
      if (std::memcmp(rw.raw(), w.raw(), w.nbytes()) != 0) {
        if (uses.uses(p.inputs[1]) == 1) g.initializers[p.inputs[1]] = rw;
        else p.inputs[1] = folding::add_initializer(g, ctx, p.inputs[1] + "_" + rounding_type_name(to), rw);
      }
    } else if (op != "RoundedMatMul" || ctx.constant(p.inputs[1])) {
      continue;  // convolutions and Gemm with constant weights; MatMul of two computed (low-precision) values too
    }
    p.domain = "hone";
    p.op_type = op;
    p.outputs = {r.outputs[0]};
    p.attributes.push_back(Attribute::of_string("to", rounding_type_name(to)));
    dead[ri] = true;
    ++fused;
  }
  erase_nodes(g, dead);
  return fused;
}

}  // namespace hone
