#include "ops/infer_graph.h"

namespace hone {

std::string unsupported_message(const Node& n, int64_t opset) {
  std::string op = n.domain.empty() ? n.op_type : n.domain + ":" + n.op_type;
  return fmt::format("unsupported operator {} (opset {})", op, opset);
}

const OpSchema& schema_for(const Node& n, int64_t opset) {
  const OpSchema* s = OpRegistry::instance().find(n.domain, n.op_type, opset);
  if (!s) {
    std::string where = n.name.empty() ? "" : fmt::format(" in node '{}'", n.name);
    fail("{}{}", unsupported_message(n, opset), where);
  }
  return *s;
}

namespace {

bool has_subgraph(const Node& n) {
  for (const Attribute& a : n.attributes)
    if (a.g || !a.graphs.empty()) return true;
  return false;
}

}  // namespace

GraphTypes infer_graph(const Graph& g, const InferOptions& opt, const std::unordered_map<std::string, TypeInfo>& inputs,
                       const GraphTypes* outer) {
  GraphTypes out;
  auto type_of = [&](const std::string& name) -> const TypeInfo* {
    auto it = out.types.find(name);
    if (it != out.types.end()) return &it->second;
    if (outer) {
      auto jt = outer->types.find(name);
      if (jt != outer->types.end()) return &jt->second;
    }
    return nullptr;
  };
  auto value_of = [&](const std::string& name) -> const Tensor* {
    auto it = out.constants.find(name);
    if (it != out.constants.end()) return &it->second;
    if (outer && !out.types.count(name)) {
      auto jt = outer->constants.find(name);
      if (jt != outer->constants.end()) return &jt->second;
    }
    return nullptr;
  };

  for (const auto& [name, t] : g.initializers) {
    out.types[name] = TypeInfo::tensor(t.dtype(), to_sym_shape(t.shape()));
    out.constants[name] = t;
  }
  for (const ValueInfo& v : g.inputs) {
    auto it = inputs.find(v.name);
    out.types[v.name] = it != inputs.end() ? it->second : v.type;
  }
  for (const std::string& name : g.overridable_initializers) {
    auto it = inputs.find(name);
    if (it != inputs.end()) {  // fed at run time: no longer a constant
      out.types[name] = it->second;
      out.constants.erase(name);
    }
  }

  std::vector<std::string> scope;
  if (outer)
    for (const auto& [name, t] : outer->types) scope.push_back(name);
  for (size_t idx : topological_order(g, scope)) {
    const Node& n = g.nodes[idx];
    int64_t opset = opt.opset ? opt.opset(n.domain) : 0;
    const OpSchema* schema = OpRegistry::instance().find(n.domain, n.op_type, opset);
    if (!schema) {
      if (opt.throw_on_unsupported) schema_for(n, opset);
      out.unsupported.push_back(unsupported_message(n, opset));
      for (const std::string& o : n.outputs)
        if (!o.empty()) out.types[o] = TypeInfo{};
      continue;
    }
    std::vector<const TypeInfo*> in_types;
    std::vector<const Tensor*> in_values;
    bool all_constant = true;
    for (const std::string& i : n.inputs) {
      if (i.empty()) {
        in_types.push_back(nullptr);
        in_values.push_back(nullptr);
        continue;
      }
      const TypeInfo* t = type_of(i);
      static const TypeInfo unknown;
      in_types.push_back(t ? t : &unknown);
      const Tensor* v = value_of(i);
      in_values.push_back(v);
      if (!v) all_constant = false;
    }
    InferenceContext ctx(n, opset, in_types, in_values, n.outputs.size());
    if (schema->infer) {
      try {
        schema->infer(ctx);
      } catch (const Error& e) {
        std::string msg = e.what();
        if (msg.find(n.op_type) == std::string::npos) msg = n.label() + ": " + msg;
        throw Error(msg);
      }
    }
    // Constant folding with the reference kernel.
    bool folded = false;
    if (opt.fold_constants && all_constant && schema->deterministic && schema->compute && !has_subgraph(n)) {
      int64_t in_bytes = 0;
      for (const Tensor* v : in_values)
        if (v) in_bytes += static_cast<int64_t>(v->nbytes());
      if (in_bytes <= opt.max_folded_bytes) {
        std::vector<Value> in_vals(n.inputs.size()), out_vals(n.outputs.size());
        std::vector<const Value*> in_ptrs(n.inputs.size(), nullptr);
        for (size_t i = 0; i < n.inputs.size(); ++i)
          if (in_values[i]) {
            in_vals[i] = Value::of(*in_values[i]);
            in_ptrs[i] = &in_vals[i];
          }
        OpContext rc(n, opset, in_ptrs.data(), in_ptrs.size(), out_vals.data(), out_vals.size(), 1, nullptr);
        schema->compute(rc);
        folded = true;
        for (size_t i = 0; i < n.outputs.size(); ++i) {
          if (n.outputs[i].empty()) continue;
          if (!out_vals[i].is_tensor()) {
            folded = false;
            break;
          }
          if (static_cast<int64_t>(out_vals[i].tensor.nbytes()) > opt.max_folded_bytes) folded = false;
        }
        if (folded)
          for (size_t i = 0; i < n.outputs.size(); ++i) {
            if (n.outputs[i].empty()) continue;
            const Tensor& t = out_vals[i].tensor;
            out.types[n.outputs[i]] = TypeInfo::tensor(t.dtype(), to_sym_shape(t.shape()));
            out.constants[n.outputs[i]] = t;
          }
      }
    }
    if (folded) continue;
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i].empty()) continue;
      out.types[n.outputs[i]] = ctx.output_types()[i];
      if (ctx.output_values()[i].defined()) out.constants[n.outputs[i]] = ctx.output_values()[i];
    }
  }
  return out;
}

}  // namespace hone
