#include "passes/fuse_qdq.h"

#include <cmath>
#include <limits>
#include <optional>

#include "ops/hone/quantized.h"
#include "ops/op_helpers.h"
#include "passes/weight_folding.h"

namespace hone {
namespace {

bool is_8bit(DType t) { return t == DType::UInt8 || t == DType::Int8; }

// A quantized activation: the float value DequantizeLinear(q, scale, zero point) reads from.
struct QAct {
  std::string q;
  QuantParams p;
  DType type = DType::UInt8;
};

// A QuantizeLinear that is the one reader of a float value.
struct QOut {
  std::string y;
  QuantParams p;
  DType type = DType::UInt8;
  size_t node = 0;
};

// A constant int8 weight behind a DequantizeLinear: its initializer and scale (scalar or one per channel).
struct QWeight {
  std::string q_name, scale_name;
  const Tensor* q = nullptr;
  const Tensor* scale = nullptr;
};

struct Activation {
  std::string op;
  std::vector<float> params;
  std::vector<size_t> nodes;
  std::string out;
};

struct Residual {
  std::string z;
  DType type = DType::Float32;
  QuantParams p;
  size_t node = 0;
  std::string out;
};

// What follows an int8 op's float result and fuses into it: post-ops, a residual, a final QuantizeLinear.
struct Tail {
  std::vector<std::string> ops;
  std::vector<float> params;
  std::optional<Residual> residual;
  std::vector<size_t> absorbed;
  std::string out;
  std::optional<QOut> q;
};

enum class TailOps { All, ClampsOnly };

class QdqFuser {
 public:
  QdqFuser(Graph& g, PassContext& ctx) : g_(g), ctx_(ctx) { refresh(); }

  QdqFusionStats run() {
    // Convolutions and matrix products first, so that they claim the residual Adds they feed; then what is left.
    for_each_anchor([&](size_t i) {
      const Node& n = g_.nodes[i];
      if (n.op_type == "Conv") return count(fuse_conv(i), stats_.qconv);
      if (n.op_type == "MatMul" || n.op_type == "Gemm") return count(fuse_matmul(i), stats_.qmatmul);
      if (n.op_type == "MatMulInteger") return count(fuse_dynamic(i), stats_.dynamic_qmatmul);
      return false;
    });
    for_each_anchor([&](size_t i) {
      const Node& n = g_.nodes[i];
      if (n.op_type == "Add" || n.op_type == "Sum") return count(fuse_add(i), stats_.qadd);
      if (n.op_type == "Mul") return count(fuse_mul(i), stats_.qmul);
      if (n.op_type == "GlobalAveragePool") return count(fuse_global_average_pool(i), stats_.qpool);
      if (n.op_type == "Reshape" || n.op_type == "Flatten" || n.op_type == "Squeeze" || n.op_type == "Unsqueeze" ||
          n.op_type == "Transpose" || n.op_type == "MaxPool" || n.op_type == "Concat" ||
          (n.op_type == "Resize" && n.attr_string("mode", "nearest") == "nearest"))
        return count(fuse_data_movement(i), stats_.int8_data_movement);
      return false;
    });
    if (stats_.total() > 0) eliminate_dead(g_, ctx_);  // DequantizeLinear nodes nothing reads any more
    return stats_;
  }

 private:
  static bool count(bool fused, int& counter) {
    counter += fused ? 1 : 0;
    return fused;
  }

  // Calls f(i) for each ai.onnx node in order; after a fusion (f returns true) the graph is compacted and the scan
  // goes on from the same index.
  template <typename F>
  void for_each_anchor(F f) {
    for (size_t i = 0; i < g_.nodes.size();) {
      if (!g_.nodes[i].domain.empty() || !f(i)) {
        ++i;
        continue;
      }
      erase_nodes(g_, dead_);
      refresh();
    }
  }

  void refresh() {
    uses_ = std::make_unique<GraphUses>(g_);
    dead_.assign(g_.nodes.size(), false);
  }

  const Node* live(int i) const {
    return i >= 0 && !dead_[static_cast<size_t>(i)] ? &g_.nodes[static_cast<size_t>(i)] : nullptr;
  }
  const Node* producer(const std::string& v) const { return live(uses_->producer(v)); }
  int sole_consumer(const std::string& v) const { return uses_->sole_consumer(v); }

  const Tensor* scalar_f32(const std::string& name) const {
    const Tensor* t = name.empty() ? nullptr : ctx_.constant(name);
    return t && t->dtype() == DType::Float32 && t->numel() == 1 && t->rank() <= 1 ? t : nullptr;
  }

  // The per-tensor scale and zero point of a QuantizeLinear / DequantizeLinear, and the quantized type.
  std::optional<std::pair<QuantParams, DType>> per_tensor(const Node& n, DType data_type) const {
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

  static bool is_op(const Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }

  // `v` = DequantizeLinear(q, scalar scale, scalar zero point) of a computed (not constant) 8-bit tensor q.
  std::optional<QAct> dq_activation(const std::string& v) const {
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
  std::optional<QOut> quantize_consumer(const std::string& v) const {
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
  std::optional<size_t> requantized_hop(const QOut& q) const {
    int di = sole_consumer(q.y);
    const Node* d = live(di);
    if (!is_op(d, "DequantizeLinear") || d->inputs[0] != q.y || d->outputs.size() != 1) return std::nullopt;
    auto pt = per_tensor(*d, q.type);
    if (!pt || pt->first.scale != q.p.scale || pt->first.zero_point != q.p.zero_point) return std::nullopt;
    return static_cast<size_t>(di);
  }

  // An initializer holding `t` (the value's own name when it is one).
  std::string initializer_for(const std::string& name, const Tensor& t) {
    if (g_.initializers.count(name)) return name;
    return folding::add_initializer(g_, ctx_, name, t);
  }

  // `v` = DequantizeLinear(W_q, scale, 0) of a constant int8 tensor, per tensor or per `axis` (of W_q's rank).
  std::optional<QWeight> dq_weight(const std::string& v, int64_t axis) {
    const Node* d = producer(v);
    if (!is_op(d, "DequantizeLinear") || d->inputs.size() < 2 || d->outputs.size() != 1) return std::nullopt;
    if (d->attr_int("block_size", 0) != 0) return std::nullopt;
    const Tensor* q = ctx_.constant(d->inputs[0]);
    const Tensor* s = ctx_.constant(d->inputs[1]);
    if (!q || q->dtype() != DType::Int8 || q->rank() < 1 || !s || s->dtype() != DType::Float32) return std::nullopt;
    int64_t a = d->attr_int("axis", 1);
    if (a < 0) a += q->rank();
    bool per_channel = !(s->numel() == 1 && s->rank() <= 1);
    if (per_channel && (s->rank() != 1 || a != axis || s->dim(0) != q->dim(static_cast<size_t>(axis))))
      return std::nullopt;
    for (int64_t i = 0; i < s->numel(); ++i)
      if (!(s->data<float>()[i] > 0.f) || !std::isfinite(s->data<float>()[i])) return std::nullopt;
    if (d->has_input(2)) {
      const Tensor* z = ctx_.constant(d->inputs[2]);
      if (!z || z->dtype() != DType::Int8 || z->numel() != s->numel()) return std::nullopt;
      for (int64_t i = 0; i < z->numel(); ++i)
        if (z->data<int8_t>()[i] != 0) return std::nullopt;  // int8 kernels take symmetric weights only
    }
    std::string qn = d->inputs[0], sn = d->inputs[1];  // copies: adding initializers may move the node list
    QWeight w;
    w.q_name = initializer_for(qn, *q);
    w.scale_name = initializer_for(sn, *s);
    w.q = &g_.initializers.at(w.q_name);
    w.scale = &g_.initializers.at(w.scale_name);
    return w;
  }

  // x * Clip(x + 3, 0, 6) / 6 (or * (1/6)) with x = `cur` (how PaddleOCR's exporter writes HardSwish).
  bool decomposed_hardswish(const std::string& cur, Activation* act) const {
    const std::vector<int>& cs = uses_->consumers(cur);
    if (cs.size() != 2 || uses_->uses(cur) != 2 || uses_->is_graph_output(cur)) return false;
    const Node *add = nullptr, *mul = nullptr;
    int ai = -1, mi = -1;
    for (int c : cs) {
      const Node* n = live(c);
      if (!n || !n->domain.empty()) return false;
      if (n->op_type == "Add") add = n, ai = c;
      else if (n->op_type == "Mul") mul = n, mi = c;
    }
    if (!add || !mul || add->inputs.size() != 2 || mul->inputs.size() != 2) return false;
    const std::string& three = add->inputs[0] == cur ? add->inputs[1] : add->inputs[0];
    const Tensor* t3 = scalar_f32(three);
    if (!t3 || t3->data<float>()[0] != 3.f) return false;
    int clip_i = sole_consumer(add->outputs[0]);
    const Node* clip = live(clip_i);
    Activation c;
    if (!is_op(clip, "Clip") || !single_activation(*clip, &c) || c.params[0] != 0.f || c.params[1] != 6.f) return false;
    if (sole_consumer(clip->outputs[0]) != mi || (mul->inputs[0] != cur && mul->inputs[1] != cur)) return false;
    int di = sole_consumer(mul->outputs[0]);
    const Node* div = live(di);
    if (!div || !div->domain.empty() || div->inputs.size() != 2 || div->inputs[0] != mul->outputs[0]) return false;
    const Tensor* k = scalar_f32(div->inputs[1]);
    if (!k) return false;
    float kv = k->data<float>()[0];
    if (!((div->op_type == "Div" && kv == 6.f) || (div->op_type == "Mul" && std::fabs(kv - 1.f / 6.f) < 1e-7f)))
      return false;
    act->op = "HardSwish";
    act->params.clear();
    act->nodes = {static_cast<size_t>(ai), static_cast<size_t>(clip_i), static_cast<size_t>(mi),
                  static_cast<size_t>(di)};
    act->out = div->outputs[0];
    return true;
  }

  // x * Sigmoid(x) or x * Sigmoid(beta * x) with x = `cur` (Swish / SiLU as exporters write it).
  bool decomposed_swish(const std::string& cur, Activation* act) const {
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
  bool single_activation(const Node& n, Activation* act) const {
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
  bool scalar_affine(const Node& n, const std::string& cur, Activation* act) const {
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
  std::optional<Activation> match_activation(const std::string& cur, TailOps allowed) const {
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
  bool same_shape(const std::string& a, const std::string& b) const {
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
  std::optional<Residual> match_residual(const std::string& cur) const {
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

  Tail parse_tail(std::string cur, bool allow_residual, TailOps allowed) const {
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
                      (allow_residual && !t.residual && match_residual(f).has_value());
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
      break;
    }
    t.out = cur;
    return t;
  }

  // The fused node's output parameters and post-ops, from the tail.
  static void add_tail_attributes(const Tail& t, Node* f) {
    DType y = t.q ? t.q->type : DType::Float32;
    f->attributes.push_back(Attribute::of_int("y_type", static_cast<int64_t>(y)));
    if (t.q) {
      f->attributes.push_back(Attribute::of_float("y_scale", t.q->p.scale));
      f->attributes.push_back(Attribute::of_int("y_zero_point", t.q->p.zero_point));
    }
    if (!t.ops.empty()) {
      f->attributes.push_back(Attribute::of_strings("post_ops", t.ops));
      f->attributes.push_back(Attribute::of_floats("post_op_params", t.params));
    }
    if (t.residual && t.residual->type != DType::Float32) {
      f->attributes.push_back(Attribute::of_float("z_scale", t.residual->p.scale));
      f->attributes.push_back(Attribute::of_int("z_zero_point", t.residual->p.zero_point));
    }
  }

  static void add_input_attributes(const std::string& prefix, const QAct& a, Node* f) {
    f->attributes.push_back(Attribute::of_float(prefix + "_scale", a.p.scale));
    f->attributes.push_back(Attribute::of_int(prefix + "_zero_point", a.p.zero_point));
  }

  // The fused node replaces the anchor and everything the tail absorbed, at the place of the last of them (in graph
  // order): every input is available there.
  void commit(size_t anchor, const std::vector<size_t>& absorbed, Node f) {
    size_t last = anchor;
    for (size_t a : absorbed) last = std::max(last, a);
    dead_[anchor] = true;
    for (size_t a : absorbed) dead_[a] = true;
    dead_[last] = false;
    while (f.inputs.size() > 1 && f.inputs.back().empty()) f.inputs.pop_back();
    g_.nodes[last] = std::move(f);
  }

  bool fuse_conv(size_t ci) {
    const Node& conv = g_.nodes[ci];
    if (conv.inputs.size() < 2 || conv.outputs.size() != 1) return false;
    std::optional<QAct> x = dq_activation(conv.inputs[0]);
    if (!x) return false;
    const TypeInfo* xt = ctx_.type(conv.inputs[0]);
    if (!xt->shape || xt->shape->size() < 3) return false;
    std::string conv_x = conv.inputs[0], conv_w = conv.inputs[1], conv_y = conv.outputs[0];
    std::string conv_b = conv.inputs.size() > 2 ? conv.inputs[2] : "";
    std::optional<QWeight> w = dq_weight(conv_w, 0);
    if (!w || static_cast<size_t>(w->q->rank()) != xt->shape->size()) return false;
    int64_t m = w->q->dim(0);
    std::string bias;
    if (!conv_b.empty()) {
      const Tensor* b = ctx_.constant(conv_b);
      if (!b || b->dtype() != DType::Float32 || b->numel() != m) return false;
      bias = initializer_for(conv_b, *b);
    }
    Tail t = parse_tail(conv_y, true, TailOps::All);
    const Node& c = g_.nodes[ci];  // (initializers may have been added: the node list itself is unchanged)
    Node f;
    f.domain = "hone";
    f.op_type = "QConv";
    f.name = c.name;
    f.attributes = c.attributes;
    add_input_attributes("x", *x, &f);
    add_tail_attributes(t, &f);
    f.inputs = {x->q, w->q_name, w->scale_name, bias, t.residual ? t.residual->z : ""};
    f.outputs = {t.out};
    commit(ci, t.absorbed, std::move(f));
    return true;
  }

  // A constant float32 bias of n values along the last axis: [n], [1, n], [1, 1, n] ... (or a scalar).
  std::optional<Tensor> last_axis_bias(const std::string& name, int64_t n) const {
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

  bool fuse_matmul(size_t i) {
    const Node& n = g_.nodes[i];
    bool gemm = n.op_type == "Gemm";
    if (n.inputs.size() < 2 || n.outputs.size() != 1 || (!gemm && n.inputs.size() != 2)) return false;
    std::optional<QAct> x = dq_activation(n.inputs[0]);
    if (!x) return false;
    const TypeInfo* xt = ctx_.type(n.inputs[0]);
    if (!xt->shape || xt->shape->size() < 2 || (gemm && xt->shape->size() != 2)) return false;
    bool trans_b = gemm && n.attr_int("transB", 0) != 0;
    if (gemm && n.attr_int("transA", 0) != 0) return false;
    float alpha = gemm ? n.attr_float("alpha", 1.f) : 1.f, beta = gemm ? n.attr_float("beta", 1.f) : 1.f;
    if (!(alpha > 0.f)) return false;
    std::string in_w = n.inputs[1], in_c = gemm && n.inputs.size() > 2 ? n.inputs[2] : "", out = n.outputs[0];
    std::string name = n.name;
    std::optional<QWeight> w = dq_weight(in_w, trans_b ? 0 : 1);
    if (!w || w->q->rank() != 2) return false;
    int64_t cols = trans_b ? w->q->dim(0) : w->q->dim(1);
    std::optional<Tensor> bias;
    std::vector<size_t> absorbed;
    if (!in_c.empty()) {
      bias = last_axis_bias(in_c, cols);
      if (!bias) return false;
      for (float& v : bias->span<float>()) v *= beta;
    }
    std::string cur = out;
    if (!gemm) {  // MatMul + Add(constant bias along the last axis), directly or through Q -> DQ
      std::string f = cur;
      std::vector<size_t> hop;
      if (std::optional<QOut> q = quantize_consumer(cur))
        if (std::optional<size_t> dq = requantized_hop(*q)) {
          f = g_.nodes[*dq].outputs[0];
          hop = {q->node, *dq};
        }
      int ai = sole_consumer(f);
      const Node* add = live(ai);
      if (is_op(add, "Add") && add->inputs.size() == 2 && add->outputs.size() == 1 && same_shape(f, add->outputs[0])) {
        const std::string& other = add->inputs[0] == f ? add->inputs[1] : add->inputs[0];
        if (std::optional<Tensor> b = last_axis_bias(other, cols)) {
          bias = std::move(b);
          absorbed.insert(absorbed.end(), hop.begin(), hop.end());
          absorbed.push_back(static_cast<size_t>(ai));
          cur = add->outputs[0];
        }
      }
    }
    Tail t = parse_tail(cur, false, TailOps::All);
    absorbed.insert(absorbed.end(), t.absorbed.begin(), t.absorbed.end());
    // The kernel takes W as [K, N] with one scale per column: transposed for Gemm's transB, alpha in the scale.
    std::string wq = w->q_name, ws = w->scale_name;
    if (trans_b) {
      Tensor tw(DType::Int8, {w->q->dim(1), w->q->dim(0)});
      for (int64_t r = 0; r < w->q->dim(0); ++r)
        for (int64_t c = 0; c < w->q->dim(1); ++c)
          tw.data<int8_t>()[c * w->q->dim(0) + r] = w->q->data<int8_t>()[r * w->q->dim(1) + c];
      wq = folding::add_initializer(g_, ctx_, wq + "_kn", tw);
    }
    if (alpha != 1.f) {
      Tensor s = g_.initializers.at(ws).clone();
      for (float& v : s.span<float>()) v *= alpha;
      ws = folding::add_initializer(g_, ctx_, ws + "_alpha", s);
    }
    std::string b_name = bias ? folding::add_initializer(g_, ctx_, name + "_bias", *bias) : "";
    Node f;
    f.domain = "hone";
    f.op_type = "QMatMul";
    f.name = name;
    add_input_attributes("x", *x, &f);
    add_tail_attributes(t, &f);
    f.inputs = {x->q, wq, ws, b_name};
    f.outputs = {t.out};
    commit(i, absorbed, std::move(f));
    return true;
  }

  bool fuse_add(size_t i) {
    const Node& n = g_.nodes[i];
    if (n.inputs.size() != 2 || n.outputs.size() != 1) return false;
    std::optional<QAct> a = dq_activation(n.inputs[0]), b = dq_activation(n.inputs[1]);
    if (!a || !b || !same_shape(n.inputs[0], n.inputs[1]) || !same_shape(n.inputs[0], n.outputs[0]))
      return false;
    Tail t = parse_tail(n.outputs[0], false, TailOps::ClampsOnly);
    Node f;
    f.domain = "hone";
    f.op_type = "QAdd";
    f.name = n.name;
    add_input_attributes("a", *a, &f);
    add_input_attributes("b", *b, &f);
    add_tail_attributes(t, &f);
    f.inputs = {a->q, b->q};
    f.outputs = {t.out};
    commit(i, t.absorbed, std::move(f));
    return true;
  }

  // A computed float32 value that is no constant (a squeeze-excitation gate an int8 conv left in float).
  bool float_activation(const std::string& v) const {
    const TypeInfo* t = ctx_.type(v);
    return t && t->elem == DType::Float32 && !ctx_.constant(v);
  }

  // Mul(DQ(a), DQ(b) or a float value) [-> Q]: a squeeze-excitation gate times its feature map.
  bool fuse_mul(size_t i) {
    const Node& n = g_.nodes[i];
    if (n.inputs.size() != 2 || n.outputs.size() != 1) return false;
    std::optional<QAct> a = dq_activation(n.inputs[0]), b = dq_activation(n.inputs[1]);
    if (!(a && (b || float_activation(n.inputs[1]))) && !(b && float_activation(n.inputs[0]))) return false;
    // One side a gate [N, C, 1, 1] (what the fast kernel takes; other products stay float).
    auto gate = [&](const std::string& v) {
      const TypeInfo* t = ctx_.type(v);
      return t && t->shape && t->shape->size() == 4 && (*t->shape)[2].value == 1 && (*t->shape)[3].value == 1;
    };
    if (!gate(n.inputs[0]) && !gate(n.inputs[1])) return false;
    std::optional<QOut> q = quantize_consumer(n.outputs[0]);
    Node f;
    f.domain = "hone";
    f.op_type = "QMul";
    f.name = n.name;
    if (a) add_input_attributes("a", *a, &f);
    if (b) add_input_attributes("b", *b, &f);
    Tail t;
    t.q = q;
    add_tail_attributes(t, &f);
    f.inputs = {a ? a->q : n.inputs[0], b ? b->q : n.inputs[1]};
    f.outputs = {q ? q->y : n.outputs[0]};
    commit(i, q ? std::vector<size_t>{q->node} : std::vector<size_t>{}, std::move(f));
    return true;
  }

  // GlobalAveragePool(DQ(x)) [-> Q]: the mean from integer sums.
  bool fuse_global_average_pool(size_t i) {
    const Node& n = g_.nodes[i];
    if (n.inputs.size() != 1 || n.outputs.size() != 1) return false;
    std::optional<QAct> x = dq_activation(n.inputs[0]);
    if (!x) return false;
    std::optional<QOut> q = quantize_consumer(n.outputs[0]);
    Node f;
    f.domain = "hone";
    f.op_type = "QGlobalAveragePool";
    f.name = n.name;
    add_input_attributes("x", *x, &f);
    Tail t;
    t.q = q;
    add_tail_attributes(t, &f);
    f.inputs = {x->q};
    f.outputs = {q ? q->y : n.outputs[0]};
    commit(i, q ? std::vector<size_t>{q->node} : std::vector<size_t>{}, std::move(f));
    return true;
  }

  // DQ -> (op that only moves or compares elements) -> Q with the same parameters: the op runs on the 8-bit tensor.
  // Concat: every input through such a DQ.
  bool fuse_data_movement(size_t i) {
    const Node& n = g_.nodes[i];
    if (n.inputs.empty() || n.outputs.empty() || n.outputs[0].empty()) return false;
    for (size_t k = 1; k < n.outputs.size(); ++k)
      if (!n.outputs[k].empty()) return false;
    size_t data_inputs = n.op_type == "Concat" ? n.inputs.size() : 1;
    std::vector<QAct> x;
    for (size_t k = 0; k < data_inputs; ++k) {
      std::optional<QAct> a = dq_activation(n.inputs[k]);
      if (!a) return false;
      if (!x.empty() && (a->type != x[0].type || a->p.scale != x[0].p.scale || a->p.zero_point != x[0].p.zero_point))
        return false;
      x.push_back(*a);
    }
    std::optional<QOut> q = quantize_consumer(n.outputs[0]);
    if (!q || q->type != x[0].type || q->p.scale != x[0].p.scale || q->p.zero_point != x[0].p.zero_point) return false;
    Node f = n;
    for (size_t k = 0; k < data_inputs; ++k) f.inputs[k] = x[k].q;
    f.outputs[0] = q->y;
    commit(i, {q->node}, std::move(f));
    return true;
  }

  // DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(., x_scale * W_scale) [-> Add(bias)].
  bool fuse_dynamic(size_t i) {
    const Node& mm = g_.nodes[i];
    if (mm.inputs.size() < 3 || mm.outputs.size() != 1) return false;
    const Node* dql = producer(mm.inputs[0]);
    if (!is_op(dql, "DynamicQuantizeLinear") || dql->outputs.size() < 3 || dql->outputs[0] != mm.inputs[0] ||
        dql->outputs[2] != mm.inputs[2] || dql->outputs[1].empty())
      return false;
    const TypeInfo* xt = ctx_.type(dql->inputs[0]);
    if (!xt || xt->elem != DType::Float32 || !xt->shape || xt->shape->size() < 2) return false;
    const Tensor* w = ctx_.constant(mm.inputs[1]);
    if (!w || w->dtype() != DType::Int8 || w->rank() != 2) return false;
    int64_t cols = w->dim(1);
    if (mm.has_input(3)) {
      const Tensor* z = ctx_.constant(mm.inputs[3]);
      if (!z || z->dtype() != DType::Int8) return false;
      for (int64_t k = 0; k < z->numel(); ++k)
        if (z->data<int8_t>()[k] != 0) return false;
    }
    int ci = sole_consumer(mm.outputs[0]);
    const Node* cast = live(ci);
    if (!is_op(cast, "Cast") || cast->attr_int("to", 0) != static_cast<int64_t>(DType::Float32)) return false;
    int mi = sole_consumer(cast->outputs[0]);
    const Node* mul = live(mi);
    if (!is_op(mul, "Mul") || mul->inputs.size() != 2) return false;
    const std::string& m_name = mul->inputs[0] == cast->outputs[0] ? mul->inputs[1] : mul->inputs[0];
    const Node* scale_mul = producer(m_name);
    if (!is_op(scale_mul, "Mul") || scale_mul->inputs.size() != 2) return false;
    const std::string& x_scale = dql->outputs[1];
    if (scale_mul->inputs[0] != x_scale && scale_mul->inputs[1] != x_scale) return false;
    const std::string& ws_name = scale_mul->inputs[0] == x_scale ? scale_mul->inputs[1] : scale_mul->inputs[0];
    const Tensor* ws = ctx_.constant(ws_name);
    if (!ws || ws->dtype() != DType::Float32 || (ws->numel() != 1 && ws->numel() != cols) ||
        (ws->numel() != 1 && ws->shape().back() != cols))
      return false;
    std::vector<size_t> absorbed = {static_cast<size_t>(ci), static_cast<size_t>(mi)};
    std::string cur = mul->outputs[0];
    std::optional<Tensor> bias;
    int ai = sole_consumer(cur);
    const Node* add = live(ai);
    if (is_op(add, "Add") && add->inputs.size() == 2 && same_shape(cur, add->outputs[0])) {
      const std::string& other = add->inputs[0] == cur ? add->inputs[1] : add->inputs[0];
      if ((bias = last_axis_bias(other, cols))) {
        absorbed.push_back(static_cast<size_t>(ai));
        cur = add->outputs[0];
      }
    }
    std::string x = dql->inputs[0], wq = mm.inputs[1], name = mm.name;
    Tensor scale(DType::Float32, {ws->numel()});
    std::copy(ws->data<float>(), ws->data<float>() + ws->numel(), scale.data<float>());
    Tensor wcopy = *w;
    std::string w_init = initializer_for(wq, wcopy);
    std::string s_init = folding::add_initializer(g_, ctx_, name + "_w_scale", scale);
    std::string b_init = bias ? folding::add_initializer(g_, ctx_, name + "_bias", *bias) : "";
    Node f;
    f.domain = "hone";
    f.op_type = "DynamicQMatMul";
    f.name = name;
    f.inputs = {x, w_init, s_init, b_init};
    f.outputs = {cur};
    commit(i, absorbed, std::move(f));
    return true;
  }

  Graph& g_;
  PassContext& ctx_;
  std::unique_ptr<GraphUses> uses_;
  std::vector<bool> dead_;
  QdqFusionStats stats_;
};

}  // namespace

QdqFusionStats fuse_qdq(Graph& g, PassContext& ctx) { return QdqFuser(g, ctx).run(); }

}  // namespace hone
