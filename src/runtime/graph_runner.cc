#include "runtime/graph_runner.h"

#include <chrono>
#include <cstdlib>

namespace hone {

// A plan with everything its runs reuse, so that a run with the same input shapes allocates nothing itself: the
// arena, a value per slot (arena slots hold a view of their memory for good), each step's input pointers, and a
// scratch for outputs.
struct GraphRunner::Cached {
  std::unique_ptr<Plan> plan;
  std::unique_ptr<char, void (*)(void*)> arena{nullptr, std::free};
  std::vector<std::pair<DType, Shape>> input_shapes;  // of the inputs it was planned for (kind None: Undefined)
  bool fast_lookup = true;  // false when an input is a sequence: then only the signature identifies the plan
  std::vector<Value> slots;
  std::vector<std::vector<const Value*>> step_inputs;
  std::vector<Value> outs;
  std::vector<Value> output_views;  // per graph output: a view of the caller's tensor when run_into binds one
  std::vector<std::optional<Shape>> output_shapes;  // per graph output: its planned concrete shape
  bool ready = false;
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

namespace {
// Whether `inputs` have the types and shapes a plan was made for, compared without allocating.
bool same_shapes(const std::vector<std::pair<DType, Shape>>& planned, const std::vector<Value>& inputs) {
  if (planned.size() != inputs.size()) return false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = inputs[i];
    if (!v.is_tensor()) {
      if (planned[i].first != DType::Undefined || !v.is_none()) return false;
      continue;
    }
    if (planned[i].first != v.tensor.dtype() || planned[i].second != v.tensor.shape()) return false;
  }
  return true;
}
}  // namespace

GraphRunner::Cached& GraphRunner::cached_for(const std::vector<Value>& inputs) {
  // The common case, a run with the same shapes as the last one, is decided without building the signature.
  if (last_ && last_->fast_lookup && same_shapes(last_->input_shapes, inputs)) return *last_;
  std::string key = signature(inputs);
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    last_ = it->second.get();
    return *last_;
  }
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
  for (const Value& v : inputs) {
    if (v.is_tensor()) c->input_shapes.emplace_back(v.tensor.dtype(), v.tensor.shape());
    else if (v.is_none()) c->input_shapes.emplace_back(DType::Undefined, Shape{});
    else c->fast_lookup = false;  // sequences: always looked up by signature
  }
  // Loop bodies whose shapes change every iteration would grow the cache without bound.
  if (cache_.size() >= 32) {
    cache_.clear();
    last_ = nullptr;
  }
  auto& slot = cache_[key];
  slot = std::move(c);
  last_ = slot.get();
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
  std::vector<Value> results;
  run_into(inputs, results);
  return results;
}

void GraphRunner::run_into(const std::vector<Value>& inputs, std::vector<Value>& results) {
  size_t expected = graph_.inputs.size() + outer_names_.size();
  if (inputs.size() < expected) fail("graph '{}' needs {} inputs, given {}", graph_.name, expected, inputs.size());
  execute(cached_for(inputs), inputs, results);
}

void GraphRunner::prepare(Cached& c) {
  const Plan& plan = *c.plan;
  c.slots.assign(plan.slot_names.size(), Value{});
  for (size_t s = 0; s < c.slots.size(); ++s) {
    if (!plan.constants[s].is_none()) {
      c.slots[s] = plan.constants[s];
    } else if (plan.arena_offset[s] >= 0) {
      const TypeInfo& t = plan.slot_types[s];
      c.slots[s] = Value::of(Tensor::borrow(t.elem, *to_concrete(*t.shape), c.arena.get() + plan.arena_offset[s]));
    }
  }
  size_t max_outs = 0;
  c.step_inputs.resize(plan.steps.size());
  for (size_t k = 0; k < plan.steps.size(); ++k) {
    const PlanStep& st = plan.steps[k];
    c.step_inputs[k].assign(st.inputs.size(), nullptr);
    for (size_t i = 0; i < st.inputs.size(); ++i)
      if (st.inputs[i] >= 0) c.step_inputs[k][i] = &c.slots[static_cast<size_t>(st.inputs[i])];
    max_outs = std::max(max_outs, st.outputs.size());
  }
  c.outs.assign(max_outs, Value{});
  c.output_views.assign(plan.output_slots.size(), Value{});
  c.output_shapes.clear();
  for (int s : plan.output_slots) {
    const TypeInfo& t = plan.slot_types[static_cast<size_t>(s)];
    c.output_shapes.push_back(t.is_tensor() && t.shape && t.elem != DType::String ? to_concrete(*t.shape) : std::nullopt);
  }
  c.ready = true;
}

void GraphRunner::execute(Cached& c, const std::vector<Value>& inputs, std::vector<Value>& results) {
  const Plan& plan = *c.plan;
  if (!c.ready) prepare(c);
  std::vector<Value>& slots = c.slots;
  for (size_t i = 0; i < plan.input_slots.size() && i < inputs.size(); ++i)
    slots[static_cast<size_t>(plan.input_slots[i])] = inputs[i];  // reuses the slot's shape storage
  // Graph outputs go straight into the caller's tensors when they already have the planned type and shape.
  bool bind_outputs = results.size() == plan.output_slots.size();
  StepSubgraphRunner sub(*this, plan, slots);
  for (size_t k = 0; k < plan.steps.size(); ++k) {
    const PlanStep& st = plan.steps[k];
    for (size_t i = 0; i < st.outputs.size(); ++i) {
      int s = st.outputs[i];
      if (s < 0) continue;
      Value& o = c.outs[i];
      if (plan.arena_offset[static_cast<size_t>(s)] >= 0) {
        o = std::move(slots[static_cast<size_t>(s)]);  // the slot's permanent view of its arena memory
      } else {
        o = Value{};
        if (bind_outputs)
          for (size_t r = 0; r < plan.output_slots.size(); ++r)
            if (plan.output_slots[r] == s && bindable(results[r], plan.slot_types[static_cast<size_t>(s)].elem,
                                                      c.output_shapes[r])) {
              Value& view = c.output_views[r];
              if (!view.is_tensor() || view.tensor.raw() != results[r].tensor.raw())
                view = Value::of(Tensor::borrow(results[r].tensor.dtype(), results[r].tensor.shape(), results[r].tensor.raw()));
              o = std::move(view);  // comes back to output_views after the run
              break;
            }
      }
    }
    OpContext ctx(*st.node, st.opset, c.step_inputs[k].data(), st.inputs.size(), c.outs.data(), st.outputs.size(),
                  opt_.threads, &sub);
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
      // Arena views handed to the step go back to their slots before the error leaves.
      for (size_t i = 0; i < st.outputs.size(); ++i)
        if (st.outputs[i] >= 0 && plan.arena_offset[static_cast<size_t>(st.outputs[i])] >= 0) {
          const TypeInfo& t = plan.slot_types[static_cast<size_t>(st.outputs[i])];
          slots[static_cast<size_t>(st.outputs[i])] = Value::of(
              Tensor::borrow(t.elem, *to_concrete(*t.shape), c.arena.get() + plan.arena_offset[static_cast<size_t>(st.outputs[i])]));
        }
      std::string msg = e.what();
      if (msg.find(st.node->op_type) == std::string::npos) msg = st.node->label() + ": " + msg;
      throw Error(msg);
    }
    for (size_t i = 0; i < st.outputs.size(); ++i) {
      int s = st.outputs[i];
      if (s < 0) continue;
      int64_t off = plan.arena_offset[static_cast<size_t>(s)];
      Value& o = c.outs[i];
      if (off >= 0 && !(o.is_tensor() && o.tensor.raw() == c.arena.get() + off) && o.is_tensor() && o.tensor.numel() > 0)
        fail("{}: output {} was not written to its planned memory", st.node->label(), i);
      slots[static_cast<size_t>(s)] = std::move(o);
    }
    for (int s : st.release)
      if (plan.arena_offset[static_cast<size_t>(s)] < 0) slots[static_cast<size_t>(s)] = Value{};
  }
  if (!bind_outputs) results.assign(plan.output_slots.size(), Value{});
  for (size_t r = 0; r < plan.output_slots.size(); ++r) {
    int s = plan.output_slots[r];
    Value& v = slots[static_cast<size_t>(s)];
    if (bind_outputs && v.is_tensor() && !v.tensor.owns_data() && results[r].is_tensor() &&
        v.tensor.raw() == results[r].tensor.raw()) {
      c.output_views[r] = std::move(v);  // written in place; the view is kept for the next run
      v = Value{};
      continue;
    }
    // Graph outputs that are graph inputs or constants must not alias the caller's data or the plan's constants.
    if (v.is_tensor() && (!v.tensor.owns_data() || !plan.constants[static_cast<size_t>(s)].is_none())) results[r] = Value::of(v.tensor.clone());
    else results[r] = v;
    if (plan.constants[static_cast<size_t>(s)].is_none()) v = Value{};
  }
}

bool GraphRunner::bindable(const Value& user, DType planned, const std::optional<Shape>& shape) {
  return user.is_tensor() && user.tensor.owns_data() && shape && user.tensor.dtype() == planned &&
         user.tensor.shape() == *shape;
}

}  // namespace hone
