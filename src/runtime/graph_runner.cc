#include "runtime/graph_runner.h"

#include <chrono>
#include <cstdlib>

namespace hone {

struct GraphRunner::Cached {
  std::unique_ptr<Plan> plan;
  std::unique_ptr<char, void (*)(void*)> arena{nullptr, std::free};
};

TypeInfo type_of_value(const Value& v) {
  if (v.is_tensor()) return TypeInfo::tensor(v.tensor.dtype(), to_sym_shape(v.tensor.shape()));
  if (v.is_sequence()) {
    TypeInfo t;
    t.kind = TypeInfo::Kind::Sequence;
    t.inner = std::make_shared<TypeInfo>(TypeInfo::tensor(v.sequence_elem));
    return t;
  }
  TypeInfo t;
  t.kind = TypeInfo::Kind::Optional;
  return t;
}

GraphRunner::GraphRunner(const Graph& g, std::function<int64_t(const std::string&)> opset, PlanOptions opt,
                         std::vector<std::string> outer_names)
    : graph_(g), opset_(std::move(opset)), opt_(opt), outer_names_(std::move(outer_names)) {}

GraphRunner::~GraphRunner() = default;

namespace {

std::string signature(const std::vector<Value>& inputs) {
  std::string key;
  for (const Value& v : inputs) {
    if (v.is_tensor()) key += std::to_string(static_cast<int>(v.tensor.dtype())) + ":" + shape_str(v.tensor.shape());
    else if (v.is_sequence()) key += "seq" + std::to_string(static_cast<int>(v.sequence_elem));
    else key += "none";
    key += ";";
  }
  return key;
}

}  // namespace

const Plan& GraphRunner::plan_for(const std::vector<Value>& inputs) { return *cached_for(inputs).plan; }

GraphRunner::Cached& GraphRunner::cached_for(const std::vector<Value>& inputs) {
  std::string key = signature(inputs);
  auto it = cache_.find(key);
  if (it != cache_.end()) return *it->second;
  size_t n_formal = inputs.size() - outer_names_.size();
  std::unordered_map<std::string, TypeInfo> types;
  size_t k = 0;
  for (const ValueInfo& v : graph_.inputs)
    if (k < n_formal) types[v.name] = type_of_value(inputs[k++]);
  for (const std::string& n : graph_.overridable_initializers)
    if (k < n_formal) types[n] = type_of_value(inputs[k++]);
  GraphTypes outer;
  for (size_t i = 0; i < outer_names_.size(); ++i) outer.types[outer_names_[i]] = type_of_value(inputs[n_formal + i]);
  auto c = std::make_unique<Cached>();
  c->plan = make_plan(graph_, opset_, types, outer_names_, &outer, opt_);
  if (c->plan->arena_bytes > 0) {
    void* p = std::aligned_alloc(64, static_cast<size_t>((c->plan->arena_bytes + 63) / 64 * 64));
    if (!p) fail("out of memory: cannot allocate a {} byte arena", c->plan->arena_bytes);
    c->arena.reset(static_cast<char*>(p));
  }
  // Loop bodies whose shapes change every iteration would grow the cache without bound.
  if (cache_.size() >= 32) cache_.clear();
  auto& slot = cache_[key];
  slot = std::move(c);
  return *slot;
}

void GraphRunner::reset_profile() {
  for (auto& [key, c] : cache_)
    for (const PlanStep& st : c->plan->steps) st.profile_ns = st.profile_calls = 0;
}

GraphRunner& GraphRunner::subgraph_runner(const Graph& body) {
  auto it = subgraph_runners_.find(&body);
  if (it != subgraph_runners_.end()) return *it->second;
  auto r = std::make_unique<GraphRunner>(body, opset_, opt_, outer_scope_names(body));
  auto& ref = *r;
  subgraph_runners_[&body] = std::move(r);
  return ref;
}

// Runs the subgraphs of one step, resolving outer-scope names among the step's enclosing values.
class StepSubgraphRunner final : public SubgraphRunner {
 public:
  StepSubgraphRunner(GraphRunner& owner, const Plan& plan, std::vector<Value>& slots)
      : owner_(owner), plan_(plan), slots_(slots) {}
  std::vector<Value> run(const Graph& body, const std::vector<Value>& inputs) override {
    GraphRunner& r = owner_.subgraph_runner(body);
    std::vector<Value> all = inputs;
    if (all.size() > body.inputs.size()) fail("subgraph '{}' takes {} inputs, given {}", body.name, body.inputs.size(), all.size());
    while (all.size() < body.inputs.size()) all.emplace_back();  // omitted optional inputs
    for (const std::string& name : r.outer_names()) {
      auto it = plan_.slot_of.find(name);
      if (it == plan_.slot_of.end()) fail("subgraph '{}' reads '{}', which is not visible from its node", body.name, name);
      const Value& v = slots_[static_cast<size_t>(it->second)];
      all.push_back(v);
    }
    return r.run(all);
  }

 private:
  GraphRunner& owner_;
  const Plan& plan_;
  std::vector<Value>& slots_;
};

std::vector<Value> GraphRunner::run(const std::vector<Value>& inputs) {
  size_t expected = graph_.inputs.size() + outer_names_.size();
  if (inputs.size() < expected) fail("graph '{}' needs {} inputs, given {}", graph_.name, expected, inputs.size());
  return execute(cached_for(inputs), inputs);
}

std::vector<Value> GraphRunner::execute(Cached& c, const std::vector<Value>& inputs) {
  const Plan& plan = *c.plan;
  std::vector<Value> slots(plan.slot_names.size());
  for (size_t s = 0; s < slots.size(); ++s)
    if (!plan.constants[s].is_none()) slots[s] = plan.constants[s];
  for (size_t i = 0; i < plan.input_slots.size() && i < inputs.size(); ++i)
    slots[static_cast<size_t>(plan.input_slots[i])] = inputs[i];
  StepSubgraphRunner sub(*this, plan, slots);
  std::vector<const Value*> in_ptrs;
  for (const PlanStep& st : plan.steps) {
    in_ptrs.assign(st.inputs.size(), nullptr);
    for (size_t i = 0; i < st.inputs.size(); ++i)
      if (st.inputs[i] >= 0) in_ptrs[i] = &slots[static_cast<size_t>(st.inputs[i])];
    // Outputs start bound to their arena memory when planned.
    std::vector<Value> outs(st.outputs.size());
    for (size_t i = 0; i < st.outputs.size(); ++i) {
      int s = st.outputs[i];
      if (s < 0) continue;
      int64_t off = plan.arena_offset[static_cast<size_t>(s)];
      if (off >= 0) {
        const TypeInfo& t = plan.slot_types[static_cast<size_t>(s)];
        outs[i] = Value::of(Tensor::borrow(t.elem, *to_concrete(*t.shape), c.arena.get() + off));
      }
    }
    OpContext ctx(*st.node, st.opset, in_ptrs.data(), in_ptrs.size(), outs.data(), outs.size(), opt_.threads, &sub);
    try {
      if (profiling_) {
        auto t0 = std::chrono::steady_clock::now();
        st.kernel->run(ctx);
        st.profile_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
        ++st.profile_calls;
      } else {
        st.kernel->run(ctx);
      }
    } catch (const Error& e) {
      std::string msg = e.what();
      if (msg.find(st.node->op_type) == std::string::npos) msg = st.node->label() + ": " + msg;
      throw Error(msg);
    }
    for (size_t i = 0; i < st.outputs.size(); ++i) {
      int s = st.outputs[i];
      if (s < 0) continue;
      int64_t off = plan.arena_offset[static_cast<size_t>(s)];
      if (off >= 0 && !(outs[i].is_tensor() && outs[i].tensor.raw() == c.arena.get() + off) && outs[i].is_tensor() &&
          outs[i].tensor.numel() > 0)
        fail("{}: output {} was not written to its planned memory", st.node->label(), i);
      slots[static_cast<size_t>(s)] = std::move(outs[i]);
    }
    for (int s : st.release) slots[static_cast<size_t>(s)] = Value{};
  }
  std::vector<Value> result;
  result.reserve(plan.output_slots.size());
  for (int s : plan.output_slots) {
    Value v = slots[static_cast<size_t>(s)];
    // Graph outputs that are graph inputs or constants must not alias the caller's data or the plan's constants.
    if (v.is_tensor() && (!v.tensor.owns_data() || !plan.constants[static_cast<size_t>(s)].is_none())) v.tensor = v.tensor.clone();
    result.push_back(std::move(v));
  }
  return result;
}

}  // namespace hone
