// Scan: runs `body` once per position along the scan axis of its scan inputs, threading N state values through
// and stacking K per-iteration scan outputs.
//   opset 8:  inputs (sequence_lens?, states..., scan inputs...); every input has a leading batch axis and scan
//             inputs scan along axis 1; `directions` reverses inputs; positions past a batch entry's sequence
//             length leave zeros in the scan outputs.
//   opset 9+: inputs (states..., scan inputs...) without a batch axis; scan_input_axes/directions choose where and
//             which way each input is read, scan_output_axes/directions where and in which order outputs stack.
#include "ops/control/value_types.h"

namespace hone {
namespace {

const Graph& scan_body(const Node& node) {
  const Graph* g = node.attr_graph("body");
  if (!g) fail("{}: attribute 'body' (a graph) is missing", node.label());
  return *g;
}

std::vector<int64_t> per_item_attr(const Node& node, const char* name, size_t count) {
  std::vector<int64_t> v = node.attr_ints(name);
  if (v.empty()) return std::vector<int64_t>(count, 0);
  if (v.size() != count) fail("{}: '{}' has {} entries, expected {}", node.label(), name, v.size(), count);
  return v;
}

void check_direction(const Node& node, int64_t d) {
  if (d != 0 && d != 1) fail("{}: a scan direction must be 0 (forward) or 1 (reverse), got {}", node.label(), d);
}

struct ScanResult {
  std::vector<Value> states;
  std::vector<std::vector<Tensor>> outputs;  // [k][iteration]
};

// Runs the body over `length` positions of `inputs` (already without batch axis). `axes`/`directions` per input.
ScanResult run_scan(OpContext& ctx, const Graph& body, std::vector<Value> states, const std::vector<Tensor>& inputs,
                    const std::vector<int64_t>& axes, const std::vector<int64_t>& directions, int64_t length,
                    size_t num_outputs) {
  const Node& node = ctx.node();
  ScanResult r;
  r.outputs.resize(num_outputs);
  size_t n = states.size();
  std::vector<Value> in(n + inputs.size());
  for (int64_t t = 0; t < length; ++t) {
    for (size_t i = 0; i < n; ++i) in[i] = std::move(states[i]);
    for (size_t j = 0; j < inputs.size(); ++j) {
      int64_t pos = directions[j] ? length - 1 - t : t;
      in[n + j] = Value::of(slice_along(inputs[j], axes[j], pos));
    }
    std::vector<Value> out = ctx.subgraphs().run(body, in);
    if (out.size() != n + num_outputs)
      fail("{}: body returned {} values, expected {}", node.label(), out.size(), n + num_outputs);
    for (size_t i = 0; i < n; ++i) states[i] = std::move(out[i]);
    for (size_t k = 0; k < num_outputs; ++k) {
      if (!out[n + k].is_tensor()) fail("{}: scan output {} must be a tensor", node.label(), k);
      const std::vector<Tensor>& prev = r.outputs[k];
      const Tensor& cur = out[n + k].tensor;
      if (!prev.empty() && (prev[0].shape() != cur.shape() || prev[0].dtype() != cur.dtype()))
        fail("{}: scan output {} is {}[{}] in iteration 0 but {}[{}] in iteration {}", node.label(), k,
             dtype_name(prev[0].dtype()), shape_str(prev[0].shape()), dtype_name(cur.dtype()), shape_str(cur.shape()), t);
      r.outputs[k].push_back(cur);
    }
  }
  r.states = std::move(states);
  return r;
}

// Element type and shape of one iteration's scan output k; from the declaration when nothing ran.
std::pair<DType, Shape> scan_item_type(const std::vector<Tensor>& parts, const ValueInfo& decl) {
  if (!parts.empty()) return {parts[0].dtype(), parts[0].shape()};
  Shape s;
  if (decl.type.shape)
    for (const Dim& d : *decl.type.shape) s.push_back(d.known() ? d.value : 0);
  return {decl.type.elem == DType::Undefined ? DType::Float32 : decl.type.elem, s};
}

void scan9(OpContext& ctx) {
  const Node& node = ctx.node();
  const Graph& body = scan_body(node);
  int64_t m_attr = node.require_int("num_scan_inputs");
  size_t total = ctx.num_inputs();
  if (m_attr < 1 || static_cast<size_t>(m_attr) > total)
    fail("{}: num_scan_inputs {} is not in [1, {}]", node.label(), m_attr, total);
  size_t m = static_cast<size_t>(m_attr), n = total - m;
  if (body.inputs.size() != n + m)
    fail("{}: body takes {} inputs, expected {} (states) + {} (scan inputs)", node.label(), body.inputs.size(), n, m);
  if (body.outputs.size() < n) fail("{}: body has {} outputs, fewer than its {} states", node.label(), body.outputs.size(), n);
  size_t k = body.outputs.size() - n;
  if (ctx.num_outputs() > n + k) fail("{}: node has {} outputs, the body yields {}", node.label(), ctx.num_outputs(), n + k);

  std::vector<int64_t> in_axes = per_item_attr(node, "scan_input_axes", m);
  std::vector<int64_t> in_dirs = per_item_attr(node, "scan_input_directions", m);
  std::vector<int64_t> out_axes = per_item_attr(node, "scan_output_axes", k);
  std::vector<int64_t> out_dirs = per_item_attr(node, "scan_output_directions", k);
  std::vector<Tensor> inputs;
  int64_t length = -1;
  for (size_t j = 0; j < m; ++j) {
    const Tensor& x = ctx.input(n + j);
    check_direction(node, in_dirs[j]);
    if (x.rank() < 1) fail("{}: scan input {} must have rank >= 1", node.label(), j);
    in_axes[j] = normalize_axis(in_axes[j], x.rank(), node);
    int64_t len = x.dim(static_cast<int>(in_axes[j]));
    if (length >= 0 && len != length)
      fail("{}: scan inputs have different lengths along their scan axes ({} and {})", node.label(), length, len);
    length = len;
    inputs.push_back(x);
  }
  std::vector<Value> states(n);
  for (size_t i = 0; i < n; ++i) states[i] = ctx.input_value(i);
  ScanResult r = run_scan(ctx, body, std::move(states), inputs, in_axes, in_dirs, length, k);

  for (size_t i = 0; i < n; ++i)
    if (ctx.wants_output(i)) ctx.set_output(i, std::move(r.states[i]));
  for (size_t o = 0; o < k; ++o) {
    if (!ctx.wants_output(n + o)) continue;
    check_direction(node, out_dirs[o]);
    auto [dtype, item] = scan_item_type(r.outputs[o], body.outputs[n + o]);
    int64_t axis = normalize_axis(out_axes[o], static_cast<int64_t>(item.size()) + 1, node);
    Tensor& y = ctx.output_uninitialized(n + o, dtype, insert_dim(item, axis, length));
    for (int64_t t = 0; t < length; ++t)
      place_along(y, axis, out_dirs[o] ? length - 1 - t : t, r.outputs[o][static_cast<size_t>(t)]);
  }
}

void scan8(OpContext& ctx) {
  const Node& node = ctx.node();
  const Graph& body = scan_body(node);
  int64_t m_attr = node.require_int("num_scan_inputs");
  size_t total = ctx.num_inputs();
  if (total < 1 || m_attr < 1 || static_cast<size_t>(m_attr) > total - 1)
    fail("{}: num_scan_inputs {} is not in [1, {}]", node.label(), m_attr, total > 0 ? total - 1 : 0);
  size_t m = static_cast<size_t>(m_attr), n = total - 1 - m;
  if (body.inputs.size() != n + m)
    fail("{}: body takes {} inputs, expected {} (states) + {} (scan inputs)", node.label(), body.inputs.size(), n, m);
  if (body.outputs.size() < n) fail("{}: body has {} outputs, fewer than its {} states", node.label(), body.outputs.size(), n);
  size_t k = body.outputs.size() - n;
  if (ctx.num_outputs() > n + k) fail("{}: node has {} outputs, the body yields {}", node.label(), ctx.num_outputs(), n + k);
  std::vector<int64_t> dirs = per_item_attr(node, "directions", m);
  for (int64_t d : dirs) check_direction(node, d);

  int64_t batch = -1, max_len = -1;
  auto check_batch = [&](const Tensor& x, const char* what, size_t j, int min_rank) {
    if (x.rank() < min_rank) fail("{}: {} {} must have rank >= {}", node.label(), what, j, min_rank);
    if (batch >= 0 && x.dim(0) != batch)
      fail("{}: {} {} has batch size {}, expected {}", node.label(), what, j, x.dim(0), batch);
    batch = x.dim(0);
  };
  for (size_t i = 0; i < n; ++i) check_batch(ctx.input(1 + i), "initial state", i, 1);
  for (size_t j = 0; j < m; ++j) {
    const Tensor& x = ctx.input(1 + n + j);
    check_batch(x, "scan input", j, 2);
    if (max_len >= 0 && x.dim(1) != max_len)
      fail("{}: scan inputs have different sequence lengths ({} and {})", node.label(), max_len, x.dim(1));
    max_len = x.dim(1);
  }
  std::vector<int64_t> lens(static_cast<size_t>(batch), max_len);
  if (ctx.has_input(0)) {
    lens = ctx.input(0).to_int64_vector();
    if (static_cast<int64_t>(lens.size()) != batch)
      fail("{}: sequence_lens has {} entries, batch size is {}", node.label(), lens.size(), batch);
    for (int64_t l : lens)
      if (l < 0 || l > max_len) fail("{}: sequence length {} is not in [0, {}]", node.label(), l, max_len);
  }

  std::vector<ScanResult> per_batch;
  std::vector<int64_t> axes(m, 0);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<Value> states(n);
    for (size_t i = 0; i < n; ++i) states[i] = Value::of(slice_along(ctx.input(1 + i), 0, b));
    std::vector<Tensor> inputs;
    for (size_t j = 0; j < m; ++j) {
      Tensor x = slice_along(ctx.input(1 + n + j), 0, b);
      // Only the first lens[b] positions take part; reversal is within them.
      if (lens[static_cast<size_t>(b)] < max_len) {
        Shape s = x.shape();
        s[0] = lens[static_cast<size_t>(b)];
        Tensor head(x.dtype(), s);
        copy_elements(x, 0, head, 0, head.numel());
        x = head;
      }
      inputs.push_back(std::move(x));
    }
    per_batch.push_back(run_scan(ctx, body, std::move(states), inputs, axes, dirs, lens[static_cast<size_t>(b)], k));
  }

  for (size_t i = 0; i < n; ++i) {
    if (!ctx.wants_output(i)) continue;
    std::vector<Tensor> parts;
    for (ScanResult& r : per_batch) {
      if (!r.states[i].is_tensor()) fail("{}: state {} must be a tensor", node.label(), i);
      parts.push_back(r.states[i].tensor);
    }
    const Tensor& init = ctx.input(1 + i);
    Shape item(init.shape().begin() + 1, init.shape().end());
    Tensor& y = ctx.output_uninitialized(i, init.dtype(), init.shape());
    for (int64_t b = 0; b < batch; ++b) {
      const Tensor& p = parts[static_cast<size_t>(b)];
      if (p.shape() != item || p.dtype() != init.dtype())
        fail("{}: state {} changed from {}[{}] to {}[{}]", node.label(), i, dtype_name(init.dtype()), shape_str(item),
             dtype_name(p.dtype()), shape_str(p.shape()));
      place_along(y, 0, b, p);
    }
  }
  for (size_t o = 0; o < k; ++o) {
    if (!ctx.wants_output(n + o)) continue;
    std::vector<Tensor> all;
    for (const ScanResult& r : per_batch) all.insert(all.end(), r.outputs[o].begin(), r.outputs[o].end());
    for (const Tensor& t : all)
      if (t.shape() != all[0].shape() || t.dtype() != all[0].dtype())
        fail("{}: scan output {} changes shape between batch entries", node.label(), o);
    auto [dtype, item] = scan_item_type(all, body.outputs[n + o]);
    Shape s = insert_dim(insert_dim(item, 0, max_len), 0, batch);
    Tensor& y = ctx.output(n + o, dtype, s);  // zero-filled: positions past a sequence length stay 0
    int64_t per = shape_numel(item);
    for (int64_t b = 0; b < batch; ++b) {
      const auto& parts = per_batch[static_cast<size_t>(b)].outputs[o];
      for (size_t t = 0; t < parts.size(); ++t)
        copy_elements(parts[t], 0, y, (b * max_len + static_cast<int64_t>(t)) * per, per);
    }
  }
}

// States keep their type and shape (the body must return them unchanged in shape); scan outputs take their
// element type from the body's declaration.
void infer_scan(InferenceContext& ctx, size_t first_state) {
  const Node& node = ctx.node();
  const Graph& body = scan_body(node);
  int64_t m = node.attr_int("num_scan_inputs", -1);
  if (m < 0 || static_cast<size_t>(m) + first_state > ctx.num_inputs()) return;
  size_t n = ctx.num_inputs() - first_state - static_cast<size_t>(m);
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    if (i < n) {
      if (ctx.has_input(first_state + i)) ctx.set_output(i, ctx.input_type(first_state + i));
    } else if (i < body.outputs.size()) {
      const TypeInfo& d = body.outputs[i].type;
      if (d.is_tensor() && d.elem != DType::Undefined) ctx.set_output_tensor(i, d.elem, std::nullopt);
    }
  }
}
void infer_scan8(InferenceContext& ctx) { infer_scan(ctx, 1); }
void infer_scan9(InferenceContext& ctx) { infer_scan(ctx, 0); }

}  // namespace

HONE_REGISTER_OP({.name = "Scan", .since = 8, .until = 8, .infer = infer_scan8, .compute = scan8});
HONE_REGISTER_OP({.name = "Scan", .since = 9, .infer = infer_scan9, .compute = scan9});

}  // namespace hone
