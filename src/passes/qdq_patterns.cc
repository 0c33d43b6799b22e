#include "passes/qdq_patterns.h"

#include <cmath>
#include <limits>

#include "ops/op_helpers.h"

namespace hone::qdq {

bool is_8bit(DType t) { return t == DType::UInt8 || t == DType::Int8; }

void QdqPatterns::refresh() {
  uses_ = std::make_unique<GraphUses>(g_);
  dead_.assign(g_.nodes.size(), false);
}

const Tensor* QdqPatterns::scalar_f32(const std::string& name) const {
  const Tensor* t = name.empty() ? nullptr : ctx_.constant(name);
  return t && t->dtype() == DType::Float32 && t->numel() == 1 && t->rank() <= 1 ? t : nullptr;
}

// The per-tensor scale and zero point of a QuantizeLinear / DequantizeLinear, and the quantized type.
std::optional<std::pair<QuantParams, DType>> QdqPatterns::per_tensor(const Node& n, DType data_type) const {
  if (n.inputs.size() < 2 || n.attr_int("block_size", 0) != 0 || n.attr_int("precision", 0) != 0) return std::nullopt;
  const Tensor* s = scalar_f32(n.inputs[1]);
  if (!s || !(s->data<float>()[0] > 0.f) || !std::isfinite(s->data<float>()[0])) return std::nullopt;
  QuantParams p{s->data<float>()[0], 0};
  DType t = data_type == DType::Undefined ? DType::UInt8 : data_type;
  if (n.has_input(2)) {
    const Tensor* z = ctx_.constant(n.inputs[2]);
    if (!z || z->numel() != 1 || z->rank() > 1 || !is_8bit(z->dtype())) return std::nullopt;
    t = z->dtype();
    p.zero_point = static_cast<int32_t>(z->get_int(0));
  }
  if (!is_8bit(t) || (data_type != DType::Undefined && data_type != t)) return std::nullopt;
  int64_t out_code = n.attr_int("output_dtype", 0);
  if (n.op_type == "QuantizeLinear" && out_code != 0 && out_code != static_cast<int64_t>(t)) return std::nullopt;
  if (n.op_type == "DequantizeLinear" && out_code != 0 && out_code != static_cast<int64_t>(DType::Float32))
    return std::nullopt;
  return std::make_pair(p, t);
}


// `v` = DequantizeLinear(q, scalar scale, scalar zero point) of a computed (not constant) 8-bit tensor q.
std::optional<QAct> QdqPatterns::dq_activation(const std::string& v) const {
  const Node* d = producer(v);
  if (!is_op(d, "DequantizeLinear") || d->inputs.empty() || d->outputs.size() != 1) return std::nullopt;
  const TypeInfo* xt = ctx_.type(d->inputs[0]);
  const TypeInfo* vt = ctx_.type(v);
  if (!xt || !xt->is_tensor() || !is_8bit(xt->elem) || ctx_.constant(d->inputs[0]) || !vt ||
      vt->elem != DType::Float32)
    return std::nullopt;
  auto pt = per_tensor(*d, xt->elem);
  if (!pt) return std::nullopt;
  return QAct{d->inputs[0], pt->first, pt->second};
}

// The one reader of float value `v` is a per-tensor QuantizeLinear.
std::optional<QOut> QdqPatterns::quantize_consumer(const std::string& v) const {
  int ci = sole_consumer(v);
  const Node* q = live(ci);
  if (!is_op(q, "QuantizeLinear") || q->inputs[0] != v || q->outputs.size() != 1) return std::nullopt;
  const TypeInfo* vt = ctx_.type(v);
  if (!vt || vt->elem != DType::Float32) return std::nullopt;
  auto pt = per_tensor(*q, DType::Undefined);
  if (!pt) return std::nullopt;
  return QOut{q->outputs[0], pt->first, pt->second, static_cast<size_t>(ci)};
}

// Q -> DQ with the same parameters and nothing else reading the quantized tensor: the DQ node's index.
std::optional<size_t> QdqPatterns::requantized_hop(const QOut& q) const {
  int di = sole_consumer(q.y);
  const Node* d = live(di);
  if (!is_op(d, "DequantizeLinear") || d->inputs[0] != q.y || d->outputs.size() != 1) return std::nullopt;
  auto pt = per_tensor(*d, q.type);
  if (!pt || pt->first.scale != q.p.scale || pt->first.zero_point != q.p.zero_point) return std::nullopt;
  return static_cast<size_t>(di);
}

// x * Clip(x + 3, 0, 6) / 6 (or * (1/6)) with x = `cur` (how PaddleOCR's exporter writes HardSwish).
bool QdqPatterns::decomposed_hardswish(const std::string& cur, Activation* act) const {
  DecomposedHardSwish m;
  if (!match_decomposed_hardswish(g_, *uses_, ctx_, cur, &dead_, &m)) return false;
  act->op = "HardSwish";
  act->params.clear();
  act->nodes = std::move(m.nodes);
  act->out = std::move(m.out);
  return true;
}

// x * Sigmoid(x) or x * Sigmoid(beta * x) with x = `cur` (Swish / SiLU as exporters write it).
bool QdqPatterns::decomposed_swish(const std::string& cur, Activation* act) const {
  const std::vector<int>& cs = uses_->consumers(cur);
  if (cs.size() != 2 || uses_->uses(cur) != 2 || uses_->is_graph_output(cur)) return false;
  for (size_t order = 0; order < 2; ++order) {
    int fi = cs[order], mi = cs[1 - order];
    const Node* first = live(fi);
    const Node* mul = live(mi);
    if (!first || !is_op(mul, "Mul") || mul->inputs.size() != 2 || first->outputs.size() != 1) continue;
    std::vector<size_t> nodes;
    float beta = 1.f;
    const Node* sig = first;
    int si = fi;
    if (is_op(first, "Mul") && first->inputs.size() == 2) {  // beta * x first
      const Tensor* k = scalar_f32(first->inputs[0] == cur ? first->inputs[1] : first->inputs[0]);
      if (!k) continue;
      beta = k->data<float>()[0];
      nodes.push_back(static_cast<size_t>(fi));
      si = sole_consumer(first->outputs[0]);
      sig = live(si);
    }
    if (!is_op(sig, "Sigmoid") || sig->outputs.size() != 1 || sole_consumer(sig->outputs[0]) != mi) continue;
    const std::string& s = sig->outputs[0];
    if (!((mul->inputs[0] == cur && mul->inputs[1] == s) || (mul->inputs[1] == cur && mul->inputs[0] == s))) continue;
    nodes.push_back(static_cast<size_t>(si));
    nodes.push_back(static_cast<size_t>(mi));
    act->op = "Swish";
    act->params = {beta};
    act->nodes = nodes;
    act->out = mul->outputs[0];
    return true;
  }
  return false;
}

// One activation node as a post-op (the vocabulary of hone.FusedConv).
bool QdqPatterns::single_activation(const Node& n, Activation* act) const {
  const std::string& op = n.op_type;
  act->op = op;
  act->params.clear();
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSwish") {
  } else if (op == "LeakyRelu") {
    act->params = {n.attr_float("alpha", 0.01f)};
  } else if (op == "HardSigmoid") {
    act->params = {n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)};
  } else if (op == "Clip") {
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (ctx_.opset("") < 11) {
      lo = n.attr_float("min", lo);
      hi = n.attr_float("max", hi);
    } else {
      for (size_t i = 1; i < 3 && i < n.inputs.size(); ++i) {
        if (n.inputs[i].empty()) continue;
        const Tensor* t = scalar_f32(n.inputs[i]);
        if (!t) return false;
        (i == 1 ? lo : hi) = t->data<float>()[0];
      }
    }
    act->params = {lo, hi};
  } else {
    return false;
  }
  return true;
}

// Mul / Div / Add / Sub of `cur` and a float32 scalar constant: a Linear post-op {alpha, beta}.
bool QdqPatterns::scalar_affine(const Node& n, const std::string& cur, Activation* act) const {
  const std::string& op = n.op_type;
  if ((op != "Mul" && op != "Div" && op != "Add" && op != "Sub") || n.inputs.size() != 2) return false;
  bool cur_first = n.inputs[0] == cur;
  const Tensor* c = scalar_f32(cur_first ? n.inputs[1] : n.inputs[0]);
  if (!c || (!cur_first && n.inputs[1] != cur)) return false;
  float k = c->data<float>()[0];
  if (!std::isfinite(k)) return false;
  if (op == "Mul") act->params = {k, 0.f};
  else if (op == "Div" && cur_first && k != 0.f) act->params = {1.f / k, 0.f};
  else if (op == "Add") act->params = {1.f, k};
  else if (op == "Sub") act->params = cur_first ? std::vector<float>{1.f, -k} : std::vector<float>{-1.f, k};
  else return false;
  act->op = "Linear";
  return true;
}

// The activation reading float value `cur` (alone), if it fuses: an activation op, the decomposed HardSwish, or a
// scalar affine step.
std::optional<Activation> QdqPatterns::match_activation(const std::string& cur, TailOps allowed) const {
  Activation a;
  if (allowed == TailOps::All && (decomposed_hardswish(cur, &a) || decomposed_swish(cur, &a))) return a;
  int ni = sole_consumer(cur);
  const Node* n = live(ni);
  if (!n || !n->domain.empty() || n->inputs.empty() || n->outputs.size() != 1 || n->outputs[0].empty())
    return std::nullopt;
  const TypeInfo* ot = ctx_.type(n->outputs[0]);
  if (!ot || ot->elem != DType::Float32 || !same_shape(cur, n->outputs[0])) return std::nullopt;
  if (allowed == TailOps::All && scalar_affine(*n, cur, &a)) {
    a.nodes = {static_cast<size_t>(ni)};
    a.out = n->outputs[0];
    return a;
  }
  if (n->inputs[0] != cur || !single_activation(*n, &a)) return std::nullopt;
  if (allowed == TailOps::ClampsOnly && a.op != "Relu" && a.op != "Clip") return std::nullopt;
  a.nodes = {static_cast<size_t>(ni)};
  a.out = n->outputs[0];
  return a;
}

// Whether two values may have one shape, as far as inference knows shapes before the inputs' are known (the
// runtime lowers a model once, for any input shapes, and a convolution of a symbolic size has unknown dims): equal
// ranks, and known dims equal. Where that guesses wrong (an Add that broadcasts dims unknown here), the int8 ops'
// reference kernels broadcast as Add does; only their fast kernels, planned for concrete shapes, decline.
bool QdqPatterns::same_shape(const std::string& a, const std::string& b) const {
  const TypeInfo* ta = ctx_.type(a);
  const TypeInfo* tb = ctx_.type(b);
  if (!ta || !tb || !ta->shape || !tb->shape || ta->shape->size() != tb->shape->size()) return false;
  for (size_t d = 0; d < ta->shape->size(); ++d) {
    const Dim &x = (*ta->shape)[d], &y = (*tb->shape)[d];
    if (x.known() && y.known() && x.value != y.value) return false;
    if (x.known() != y.known() && (x.value == 1 || y.value == 1)) return false;  // looks like a broadcast
  }
  return true;
}

// An Add (or two-input Sum) of `cur` and another tensor of its shape: quantized (read through its DQ) or float.
std::optional<Residual> QdqPatterns::match_residual(const std::string& cur) const {
  int ni = sole_consumer(cur);
  const Node* n = live(ni);
  if (!n || !n->domain.empty() || (n->op_type != "Add" && n->op_type != "Sum") || n->inputs.size() != 2 ||
      n->outputs.size() != 1)
    return std::nullopt;
  const std::string& other = n->inputs[0] == cur ? n->inputs[1] : n->inputs[0];
  if (other == cur || !same_shape(cur, other) || !same_shape(cur, n->outputs[0]))
    return std::nullopt;
  Residual r;
  r.node = static_cast<size_t>(ni);
  r.out = n->outputs[0];
  if (std::optional<QAct> a = dq_activation(other)) {
    r.z = a->q;
    r.type = a->type;
    r.p = a->p;
  } else {
    const TypeInfo* t = ctx_.type(other);
    if (!t || t->elem != DType::Float32 || ctx_.constant(other)) return std::nullopt;
    r.z = other;
  }
  return r;
}

std::optional<ChannelMul> QdqPatterns::match_channel_mul(const std::string& cur, int64_t channels) const {
  if (channels < 2) return std::nullopt;
  int ni = sole_consumer(cur);
  const Node* n = live(ni);
  if (!is_op(n, "Mul") || n->inputs.size() != 2 || n->outputs.size() != 1 || n->outputs[0].empty()) return std::nullopt;
  bool cur_first = n->inputs[0] == cur;
  if (!cur_first && n->inputs[1] != cur) return std::nullopt;
  const Tensor* c = ctx_.constant(cur_first ? n->inputs[1] : n->inputs[0]);
  const TypeInfo* xt = ctx_.type(cur);
  const TypeInfo* ot = ctx_.type(n->outputs[0]);
  if (!c || c->dtype() != DType::Float32 || c->numel() != channels || !xt || !xt->shape || !ot ||
      ot->elem != DType::Float32 || !same_shape(cur, n->outputs[0]))
    return std::nullopt;
  size_t rank = xt->shape->size();
  if (rank < 2 || static_cast<size_t>(c->rank()) > rank) return std::nullopt;
  for (size_t d = 0; d < rank; ++d) {  // right-aligned: channels on axis 1, 1 everywhere else
    size_t from_end = rank - 1 - d;
    int64_t dim = from_end < static_cast<size_t>(c->rank()) ? c->dim(static_cast<size_t>(c->rank()) - 1 - from_end) : 1;
    if (dim != (d == 1 ? channels : 1)) return std::nullopt;
  }
  ChannelMul m{Tensor(DType::Float32, {channels}), static_cast<size_t>(ni), n->outputs[0]};
  for (int64_t k = 0; k < channels; ++k) {
    float f = c->data<float>()[k];
    if (!std::isfinite(f)) return std::nullopt;
    m.factors.data<float>()[k] = f;
  }
  return m;
}

Tail QdqPatterns::parse_tail(std::string cur, bool allow_residual, TailOps allowed, int64_t channels) const {
  Tail t;
  for (;;) {
    // hone.QAdd's kernel clamps once: nothing more after that.
    bool more = !(allowed == TailOps::ClampsOnly && !t.ops.empty());
    if (std::optional<QOut> q = quantize_consumer(cur)) {
      // Through Q -> DQ when an op that fuses follows (its input's rounding to q is skipped).
      std::optional<size_t> dq = more ? requantized_hop(*q) : std::nullopt;
      if (dq) {
        const std::string& f = g_.nodes[*dq].outputs[0];
        bool next = match_activation(f, allowed).has_value() ||
                    (allow_residual && !t.residual && match_residual(f).has_value()) ||
                    (!t.channel_factors && match_channel_mul(f, channels).has_value());
        if (next) {
          t.absorbed.push_back(q->node);
          t.absorbed.push_back(*dq);
          cur = f;
          continue;
        }
      }
      t.absorbed.push_back(q->node);
      t.out = q->y;
      t.q = q;
      return t;
    }
    if (!more) break;
    if (std::optional<Activation> a = match_activation(cur, allowed)) {
      if (a->op == "Linear" && !t.ops.empty() && t.ops.back() == "Linear") {  // p2 (p1 v + q1) + q2
        float& p1 = t.params[t.params.size() - 2];
        float& q1 = t.params[t.params.size() - 1];
        q1 = a->params[0] * q1 + a->params[1];
        p1 = a->params[0] * p1;
      } else {
        t.ops.push_back(a->op);
        t.params.insert(t.params.end(), a->params.begin(), a->params.end());
      }
      t.absorbed.insert(t.absorbed.end(), a->nodes.begin(), a->nodes.end());
      cur = a->out;
      continue;
    }
    if (allow_residual && !t.residual) {
      if (std::optional<Residual> r = match_residual(cur)) {
        t.ops.push_back("Add");
        t.absorbed.push_back(r->node);
        cur = r->out;
        t.residual = std::move(r);
        continue;
      }
    }
    if (!t.channel_factors) {
      if (std::optional<ChannelMul> m = match_channel_mul(cur, channels)) {
        t.ops.push_back("ChannelMul");
        t.absorbed.push_back(m->node);
        cur = m->out;
        t.channel_factors = std::move(m->factors);
        continue;
      }
    }
    break;
  }
  t.out = cur;
  return t;
}

// A constant float32 bias of n values along the last axis: [n], [1, n], [1, 1, n] ... (or a scalar).
std::optional<Tensor> QdqPatterns::last_axis_bias(const std::string& name, int64_t n) const {
  const Tensor* b = ctx_.constant(name);
  if (!b || b->dtype() != DType::Float32) return std::nullopt;
  Tensor out(DType::Float32, {n});
  if (b->numel() == 1) {
    for (int64_t j = 0; j < n; ++j) out.data<float>()[j] = b->data<float>()[0];
    return out;
  }
  if (b->rank() < 1 || b->shape().back() != n || b->numel() != n) return std::nullopt;
  std::copy(b->data<float>(), b->data<float>() + n, out.data<float>());
  return out;
}

// A computed float32 value that is no constant (a squeeze-excitation gate an int8 conv left in float).
bool QdqPatterns::float_activation(const std::string& v) const {
  const TypeInfo* t = ctx_.type(v);
  return t && t->elem == DType::Float32 && !ctx_.constant(v);
}

}  // namespace hone::qdq
