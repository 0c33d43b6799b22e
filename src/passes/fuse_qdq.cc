#include "passes/fuse_qdq.h"

#include <cmath>
#include <limits>
#include <optional>

#include "ops/hone/quantized.h"
#include "ops/op_helpers.h"
#include "passes/qdq_patterns.h"
#include "passes/weight_folding.h"

namespace hone {
namespace {

using qdq::QAct;
using qdq::QOut;
using qdq::Tail;
using qdq::TailOps;

bool is_op(const Node* n, const char* op) { return qdq::QdqPatterns::is_op(n, op); }

// A constant int8 weight behind a DequantizeLinear: its initializer and scale (scalar or one per channel).
struct QWeight {
  std::string q_name, scale_name;
  const Tensor* q = nullptr;
  const Tensor* scale = nullptr;
};

class QdqFuser {
 public:
  QdqFuser(Graph& g, PassContext& ctx) : g_(g), ctx_(ctx), m_(g, ctx) {}

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
      erase_nodes(g_, m_.dead());
      m_.refresh();
    }
  }

  // An initializer holding `t` (the value's own name when it is one).
  std::string initializer_for(const std::string& name, const Tensor& t) {
    if (g_.initializers.count(name)) return name;
    return folding::add_initializer(g_, ctx_, name, t);
  }

  // `v` = DequantizeLinear(W_q, scale, 0) of a constant int8 tensor, per tensor or per `axis` (of W_q's rank).
  std::optional<QWeight> dq_weight(const std::string& v, int64_t axis) {
    const Node* d = m_.producer(v);
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
    m_.mark_dead(anchor);
    for (size_t a : absorbed) m_.mark_dead(a);
    m_.mark_live(last);
    while (f.inputs.size() > 1 && f.inputs.back().empty()) f.inputs.pop_back();
    g_.nodes[last] = std::move(f);
  }

  bool fuse_conv(size_t ci) {
    const Node& conv = g_.nodes[ci];
    if (conv.inputs.size() < 2 || conv.outputs.size() != 1) return false;
    std::optional<QAct> x = m_.dq_activation(conv.inputs[0]);
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
    Tail t = m_.parse_tail(conv_y, true, TailOps::All, m);
    std::string factors =
        t.channel_factors ? folding::add_initializer(g_, ctx_, conv_y + "_channel_factors", *t.channel_factors) : "";
    const Node& c = g_.nodes[ci];  // (initializers may have been added: the node list itself is unchanged)
    Node f;
    f.domain = "hone";
    f.op_type = "QConv";
    f.name = c.name;
    f.attributes = c.attributes;
    add_input_attributes("x", *x, &f);
    add_tail_attributes(t, &f);
    f.inputs = {x->q, w->q_name, w->scale_name, bias, t.residual ? t.residual->z : "", factors};
    f.outputs = {t.out};
    commit(ci, t.absorbed, std::move(f));
    return true;
  }

  bool fuse_matmul(size_t i) {
    const Node& n = g_.nodes[i];
    bool gemm = n.op_type == "Gemm";
    if (n.inputs.size() < 2 || n.outputs.size() != 1 || (!gemm && n.inputs.size() != 2)) return false;
    std::optional<QAct> x = m_.dq_activation(n.inputs[0]);
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
      bias = m_.last_axis_bias(in_c, cols);
      if (!bias) return false;
      for (float& v : bias->span<float>()) v *= beta;
    }
    std::string cur = out;
    if (!gemm) {  // MatMul + Add(constant bias along the last axis), directly or through Q -> DQ
      std::string f = cur;
      std::vector<size_t> hop;
      if (std::optional<QOut> q = m_.quantize_consumer(cur))
        if (std::optional<size_t> dq = m_.requantized_hop(*q)) {
          f = g_.nodes[*dq].outputs[0];
          hop = {q->node, *dq};
        }
      int ai = m_.sole_consumer(f);
      const Node* add = m_.live(ai);
      if (is_op(add, "Add") && add->inputs.size() == 2 && add->outputs.size() == 1 &&
          m_.same_shape(f, add->outputs[0])) {
        const std::string& other = add->inputs[0] == f ? add->inputs[1] : add->inputs[0];
        if (std::optional<Tensor> b = m_.last_axis_bias(other, cols)) {
          bias = std::move(b);
          absorbed.insert(absorbed.end(), hop.begin(), hop.end());
          absorbed.push_back(static_cast<size_t>(ai));
          cur = add->outputs[0];
        }
      }
    }
    Tail t = m_.parse_tail(cur, false, TailOps::All);
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
    std::optional<QAct> a = m_.dq_activation(n.inputs[0]), b = m_.dq_activation(n.inputs[1]);
    if (!a || !b || !m_.same_shape(n.inputs[0], n.inputs[1]) || !m_.same_shape(n.inputs[0], n.outputs[0]))
      return false;
    Tail t = m_.parse_tail(n.outputs[0], false, TailOps::ClampsOnly);
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

  // Mul(DQ(a), DQ(b) or a float value) [-> Q]: a squeeze-excitation gate times its feature map; or Mul(DQ(a), a
  // constant [1, C, 1, 1]) [-> Q]: a per-channel rescale (depthwise input equalization where no int8 convolution
  // produces the tensor alone).
  bool fuse_mul(size_t i) {
    const Node& n = g_.nodes[i];
    if (n.inputs.size() != 2 || n.outputs.size() != 1) return false;
    std::optional<QAct> a = m_.dq_activation(n.inputs[0]), b = m_.dq_activation(n.inputs[1]);
    // One side a gate [N, C, 1, 1] (what the fast kernel takes; other products stay float).
    auto gate = [&](const std::string& v) {
      const TypeInfo* t = ctx_.type(v);
      return t && t->shape && t->shape->size() == 4 && (*t->shape)[2].value == 1 && (*t->shape)[3].value == 1;
    };
    auto constant_gate = [&](const std::string& v) {
      const Tensor* c = ctx_.constant(v);
      return c && c->dtype() == DType::Float32 && c->rank() == 4 && c->dim(0) == 1 && gate(v);
    };
    bool constant_b = a && !b && constant_gate(n.inputs[1]), constant_a = b && !a && constant_gate(n.inputs[0]);
    if (!constant_a && !constant_b) {
      if (!(a && (b || m_.float_activation(n.inputs[1]))) && !(b && m_.float_activation(n.inputs[0]))) return false;
      if (!gate(n.inputs[0]) && !gate(n.inputs[1])) return false;
    }
    std::string gate_in = constant_a || constant_b ? n.inputs[constant_a ? 0 : 1] : "";
    if (!gate_in.empty()) gate_in = initializer_for(gate_in, *ctx_.constant(gate_in));
    const Node& mul = g_.nodes[i];  // (initializers may have been added: the node list itself is unchanged)
    std::optional<QOut> q = m_.quantize_consumer(mul.outputs[0]);
    Node f;
    f.domain = "hone";
    f.op_type = "QMul";
    f.name = mul.name;
    if (a) add_input_attributes("a", *a, &f);
    if (b) add_input_attributes("b", *b, &f);
    Tail t;
    t.q = q;
    add_tail_attributes(t, &f);
    f.inputs = {a ? a->q : constant_a ? gate_in : mul.inputs[0], b ? b->q : constant_b ? gate_in : mul.inputs[1]};
    f.outputs = {q ? q->y : mul.outputs[0]};
    commit(i, q ? std::vector<size_t>{q->node} : std::vector<size_t>{}, std::move(f));
    return true;
  }

  // GlobalAveragePool(DQ(x)) [-> Q]: the mean from integer sums.
  bool fuse_global_average_pool(size_t i) {
    const Node& n = g_.nodes[i];
    if (n.inputs.size() != 1 || n.outputs.size() != 1) return false;
    std::optional<QAct> x = m_.dq_activation(n.inputs[0]);
    if (!x) return false;
    std::optional<QOut> q = m_.quantize_consumer(n.outputs[0]);
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
      std::optional<QAct> a = m_.dq_activation(n.inputs[k]);
      if (!a) return false;
      if (!x.empty() && (a->type != x[0].type || a->p.scale != x[0].p.scale || a->p.zero_point != x[0].p.zero_point))
        return false;
      x.push_back(*a);
    }
    std::optional<QOut> q = m_.quantize_consumer(n.outputs[0]);
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
    const Node* dql = m_.producer(mm.inputs[0]);
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
    int ci = m_.sole_consumer(mm.outputs[0]);
    const Node* cast = m_.live(ci);
    if (!is_op(cast, "Cast") || cast->attr_int("to", 0) != static_cast<int64_t>(DType::Float32)) return false;
    int mi = m_.sole_consumer(cast->outputs[0]);
    const Node* mul = m_.live(mi);
    if (!is_op(mul, "Mul") || mul->inputs.size() != 2) return false;
    const std::string& m_name = mul->inputs[0] == cast->outputs[0] ? mul->inputs[1] : mul->inputs[0];
    const Node* scale_mul = m_.producer(m_name);
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
    int ai = m_.sole_consumer(cur);
    const Node* add = m_.live(ai);
    if (is_op(add, "Add") && add->inputs.size() == 2 && m_.same_shape(cur, add->outputs[0])) {
      const std::string& other = add->inputs[0] == cur ? add->inputs[1] : add->inputs[0];
      if ((bias = m_.last_axis_bias(other, cols))) {
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
  qdq::QdqPatterns m_;
  QdqFusionStats stats_;
};

}  // namespace

QdqFusionStats fuse_qdq(Graph& g, PassContext& ctx) { return QdqFuser(g, ctx).run(); }

}  // namespace hone
