#include "runtime/plan.h"

#include <algorithm>
#include <map>

namespace hone {

std::vector<int64_t> pack_lifetimes(const std::vector<Lifetime>& items, int64_t alignment, int64_t* peak) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Largest first, then earliest: the usual greedy-by-size heuristic.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return items[a].bytes > items[b].bytes; });
  std::vector<int64_t> offset(items.size(), -1);
  std::vector<size_t> placed;
  int64_t top = 0;
  for (size_t i : order) {
    const Lifetime& it = items[i];
    int64_t size = (it.bytes + alignment - 1) / alignment * alignment;
    // Occupied intervals among placed items whose lifetimes overlap this one.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t j : placed) {
      const Lifetime& o = items[j];
      if (o.last < it.first || it.last < o.first) continue;
      busy.emplace_back(offset[j], offset[j] + (o.bytes + alignment - 1) / alignment * alignment);
    }
    std::sort(busy.begin(), busy.end());
    // Best fit: the smallest gap that holds it; else the end.
    int64_t best = -1, best_gap = INT64_MAX, cursor = 0;
    for (const auto& [b, e] : busy) {
      if (b > cursor && b - cursor >= size && b - cursor < best_gap) {
        best = cursor;
        best_gap = b - cursor;
      }
      cursor = std::max(cursor, e);
    }
    if (best < 0) best = cursor;
    offset[i] = best;
    top = std::max(top, best + size);
    placed.push_back(i);
  }
  *peak = top;
  return offset;
}

std::unique_ptr<Plan> make_plan(const Graph& g, const std::function<int64_t(const std::string&)>& opset,
                                const std::unordered_map<std::string, TypeInfo>& input_types,
                                const std::vector<std::string>& outer_names, const GraphTypes* outer_types,
                                const PlanOptions& opt) {
  auto plan = std::make_unique<Plan>();
  InferOptions io;
  io.opset = opset;
  // A value computable from constants would otherwise be recomputed on every run, and a kernel reading it could not
  // pre-pack it (exporters build whole weight tensors with ConstantOfShape or Expand); holding it costs the same memory
  // the run would need, so the plan folds far larger values than inspection does.
  io.max_folded_bytes = opt.max_folded_bytes;
  plan->types = infer_graph(g, io, input_types, outer_types);
  const GraphTypes& types = plan->types;

  auto slot = [&](const std::string& name) -> int {
    auto it = plan->slot_of.find(name);
    if (it != plan->slot_of.end()) return it->second;
    int s = static_cast<int>(plan->slot_names.size());
    plan->slot_of.emplace(name, s);
    plan->slot_names.push_back(name);
    auto t = types.types.find(name);
    if (t != types.types.end()) plan->slot_types.push_back(t->second);
    else if (outer_types && outer_types->types.count(name)) plan->slot_types.push_back(outer_types->types.at(name));
    else plan->slot_types.push_back(TypeInfo{});
    plan->constants.emplace_back();
    auto c = types.constants.find(name);
    if (c != types.constants.end()) plan->constants.back() = Value::of(c->second);
    return s;
  };

  for (const ValueInfo& v : g.inputs) plan->input_slots.push_back(slot(v.name));
  for (const std::string& n : g.overridable_initializers)
    if (input_types.count(n)) plan->input_slots.push_back(slot(n));
  for (const std::string& n : outer_names) {
    int s = slot(n);
    plan->input_slots.push_back(s);
    plan->constants[static_cast<size_t>(s)] = Value{};  // fed on every run
  }
  // Inputs and outer-scope values are fed, never constants (an outer constant may still have been folded into
  // our own values above, which is fine).
  for (int s : plan->input_slots) plan->constants[static_cast<size_t>(s)] = Value{};

  std::vector<std::string> scope(outer_names.begin(), outer_names.end());
  std::vector<size_t> order = topological_order(g, scope);

  // Values that must stay plain whatever their producer prefers: graph outputs and values that subgraphs read by
  // name.
  std::vector<bool> must_be_plain;
  auto mark_plain = [&](int s) {
    if (static_cast<size_t>(s) >= must_be_plain.size()) must_be_plain.resize(static_cast<size_t>(s) + 1, false);
    must_be_plain[static_cast<size_t>(s)] = true;
  };
  for (const ValueInfo& v : g.outputs) mark_plain(slot(v.name));

  // Pass 1: one step per node that is not folded, with its slots and the factory of its best fast kernel.
  std::vector<const KernelFactory*> factories;
  for (size_t idx : order) {
    const Node& n = g.nodes[idx];
    bool all_const = true;
    for (const std::string& o : n.outputs)
      if (!o.empty() && !types.constants.count(o)) all_const = false;
    if (all_const && !n.outputs.empty()) {
      for (const std::string& o : n.outputs)
        if (!o.empty()) slot(o);
      continue;  // folded at plan time
    }
    PlanStep st;
    st.node = &n;
    st.opset = opset(n.domain);
    for (const std::string& i : n.inputs) st.inputs.push_back(i.empty() ? -1 : slot(i));
    for (const Attribute& a : n.attributes) {
      std::vector<const Graph*> subs;
      if (a.g) subs.push_back(a.g.get());
      for (const auto& sg : a.graphs) subs.push_back(sg.get());
      for (const Graph* sg : subs)
        for (const std::string& name : outer_scope_names(*sg)) {
          int s = slot(name);
          st.implicit.push_back(s);
          mark_plain(s);
        }
    }
    for (const std::string& o : n.outputs) st.outputs.push_back(o.empty() ? -1 : slot(o));
    plan->steps.push_back(std::move(st));
  }
  must_be_plain.resize(plan->slot_names.size(), false);

  auto query_for = [&](const PlanStep& st) {
    KernelQuery q{*st.node, st.opset, {}, {}, {}, opt.threads};
    for (int s : st.inputs) {
      q.input_types.push_back(s < 0 ? nullptr : &plan->slot_types[static_cast<size_t>(s)]);
      q.input_constants.push_back(s < 0 || !plan->constants[static_cast<size_t>(s)].is_tensor()
                                      ? nullptr
                                      : &plan->constants[static_cast<size_t>(s)].tensor);
    }
    for (int s : st.outputs) q.output_types.push_back(s < 0 ? TypeInfo{} : plan->slot_types[static_cast<size_t>(s)]);
    return q;
  };
  // A slot that takes part in layout planning: a float32 rank-4 activation (not a constant).
  auto layout_slot = [&](int s) {
    return s >= 0 && plan->constants[static_cast<size_t>(s)].is_none() &&
           is_layout_tensor(&plan->slot_types[static_cast<size_t>(s)]);
  };
  auto neutral = [&](int s) { return is_layout_neutral(*to_concrete(*plan->slot_types[static_cast<size_t>(s)].shape)); };

  // Pass 2: layouts. In order, each step runs channels-last when its kernel prefers it or when an activation input
  // already is channels-last, provided the kernel accepts it and none of its outputs must stay plain. A value read
  // in the other layout gets one hone.LayoutTransform step (shared by all its readers).
  std::vector<Layout> layout(plan->slot_names.size(), Layout::Plain);
  std::map<std::pair<int, Layout>, int> converted;
  std::vector<PlanStep> steps = std::move(plan->steps);
  plan->steps.clear();
  for (PlanStep& st : steps) {
    KernelQuery q = query_for(st);
    const KernelFactory* f = opt.reference_kernels ? nullptr : KernelRegistry::instance().best(q);
    Layout mode = Layout::Plain;
    bool has_layout_value = false, reads_cl = false, writes_plain_only = false;
    for (int s : st.inputs)
      if (layout_slot(s)) {
        has_layout_value = true;
        if (layout[static_cast<size_t>(s)] == Layout::ChannelsLast && !neutral(s)) reads_cl = true;
      }
    for (int s : st.outputs)
      if (layout_slot(s)) {
        has_layout_value = true;
        if (must_be_plain[static_cast<size_t>(s)] && !neutral(s)) writes_plain_only = true;
      }
    if (f && f->channels_last && has_layout_value && !writes_plain_only && (f->prefers_channels_last || reads_cl)) {
      q.layout = Layout::ChannelsLast;
      if (f->channels_last(q)) mode = Layout::ChannelsLast;
      q.layout = Layout::Plain;
    }
    for (int& s : st.inputs) {
      if (!layout_slot(s) || layout[static_cast<size_t>(s)] == mode || neutral(s)) continue;
      auto key = std::make_pair(s, mode);
      auto it = converted.find(key);
      if (it == converted.end()) {
        auto node = std::make_unique<Node>();
        node->domain = "hone";
        node->op_type = "LayoutTransform";
        node->name = plan->slot_names[static_cast<size_t>(s)] + (mode == Layout::ChannelsLast ? "@nhwc" : "@nchw");
        node->inputs = {plan->slot_names[static_cast<size_t>(s)]};
        node->outputs = {node->name};
        node->attributes.push_back(Attribute::of_string("to", layout_name(mode)));
        int out = slot(node->name);
        plan->slot_types[static_cast<size_t>(out)] = plan->slot_types[static_cast<size_t>(s)];
        layout.resize(plan->slot_names.size(), Layout::Plain);
        layout[static_cast<size_t>(out)] = mode;
        PlanStep conv;
        conv.node = node.get();
        conv.opset = 1;
        conv.inputs = {s};
        conv.outputs = {out};
        KernelQuery cq = query_for(conv);
        conv.kernel = KernelRegistry::instance().choose(cq, schema_for(*node, 1));
        plan->owned_nodes.push_back(std::move(node));
        plan->steps.push_back(std::move(conv));
        ++plan->layout_transforms;
        it = converted.emplace(key, out).first;
      }
      s = it->second;
    }
    KernelQuery fq = query_for(st);  // slot types may have moved while adding transforms
    fq.layout = mode;
    for (int s : st.outputs)
      if (layout_slot(s)) layout[static_cast<size_t>(s)] = mode;
    const OpSchema& schema = schema_for(*st.node, st.opset);
    if (opt.reference_kernels) {
      if (!schema.compute) fail("{}: operator has no kernel", st.node->label());
      st.kernel = std::make_unique<ReferenceKernel>(schema);
    } else if (mode == Layout::ChannelsLast) {
      st.kernel = f->create(fq);  // the factory that accepted channels-last, never a fallback on N,H,W,C data
    } else {
      st.kernel = KernelRegistry::instance().choose(fq, schema);
    }
    plan->steps.push_back(std::move(st));
  }
  // Graph outputs and subgraph reads are plain by construction; check rather than trust.
  for (size_t s = 0; s < must_be_plain.size(); ++s)
    if (must_be_plain[s] && layout[s] == Layout::ChannelsLast && !neutral(static_cast<int>(s)))
      fail("internal error: '{}' must be plain but was planned channels-last", plan->slot_names[s]);

  // Lifetimes over the final step list.
  std::vector<int> last_use, def_step;
  auto use = [&](int s, int step) {
    if (static_cast<size_t>(s) >= last_use.size()) last_use.resize(static_cast<size_t>(s) + 1, -1);
    last_use[static_cast<size_t>(s)] = std::max(last_use[static_cast<size_t>(s)], step);
  };
  for (size_t i = 0; i < plan->steps.size(); ++i) {
    const PlanStep& st = plan->steps[i];
    int step_index = static_cast<int>(i);
    for (int s : st.inputs)
      if (s >= 0) use(s, step_index);
    for (int s : st.implicit) use(s, step_index);
    for (int s : st.outputs)
      if (s >= 0) {
        if (static_cast<size_t>(s) >= def_step.size()) def_step.resize(static_cast<size_t>(s) + 1, -1);
        def_step[static_cast<size_t>(s)] = step_index;
        use(s, step_index);
      }
  }
  for (const ValueInfo& v : g.outputs) {
    int s = slot(v.name);
    plan->output_slots.push_back(s);
    use(s, static_cast<int>(plan->steps.size()));  // outputs live to the end
  }
  last_use.resize(plan->slot_names.size(), -1);
  def_step.resize(plan->slot_names.size(), -1);

  // Release points: a dynamic (not arena) value is dropped after its last use.
  std::vector<bool> is_output(plan->slot_names.size(), false);
  for (int s : plan->output_slots) is_output[static_cast<size_t>(s)] = true;
  for (size_t s = 0; s < plan->slot_names.size(); ++s) {
    int lu = last_use[s];
    if (def_step[s] >= 0 && !is_output[s] && lu >= 0 && lu < static_cast<int>(plan->steps.size()))
      plan->steps[static_cast<size_t>(lu)].release.push_back(static_cast<int>(s));
  }

  // Memory plan: intermediates with concrete sizes share one arena.
  plan->arena_offset.assign(plan->slot_names.size(), -1);
  std::vector<Lifetime> items;
  std::vector<int> item_slot;
  for (size_t s = 0; s < plan->slot_names.size(); ++s) {
    if (def_step[s] < 0 || is_output[s]) continue;
    const TypeInfo& t = plan->slot_types[s];
    std::optional<Shape> shape = t.is_tensor() && t.shape ? to_concrete(*t.shape) : std::nullopt;
    if (!shape || t.elem == DType::String || t.elem == DType::Undefined) {
      ++plan->dynamic_values;
      continue;
    }
    int64_t bytes = shape_numel(*shape) * static_cast<int64_t>(dtype_size(t.elem));
    items.push_back({bytes, def_step[s], std::max(last_use[s], def_step[s])});
    item_slot.push_back(static_cast<int>(s));
    plan->intermediate_bytes += bytes;
  }
  std::vector<int64_t> offs = pack_lifetimes(items, opt.arena_alignment, &plan->arena_bytes);
  for (size_t i = 0; i < items.size(); ++i) plan->arena_offset[static_cast<size_t>(item_slot[i])] = offs[i];
  return plan;
}

}  // namespace hone
