// Runtime fusion: a Conv and the chain of element-wise work exporters put after it become one hone.FusedConv,
// which oneDNN runs as a single primitive with post-ops (applied while the output is still in registers):
//   - Mul / Div / Add / Sub by a constant scalar or per-output-channel tensor directly after the conv are folded
//     into its weights and bias (BatchNormalization-like affine layers, MobileOne / RepVGG scale parameters);
//   - later scalar affine steps become a Linear post-op (consecutive ones merged);
//   - activations (Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish, and HardSwish written out as
//     x * Clip(x + 3, 0, 6) / 6) become eltwise post-ops;
//   - one Add of a same-shape tensor (the residual) becomes a binary post-op.
// Every intermediate value it absorbs must have no other reader and not be a graph output. A ConvTranspose whose
// kernel equals its stride (no padding) and the Relu or Clip after it become one hone.FusedConvTranspose.
#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "ops/hone/fused_conv.h"
#include "ops/nn/spatial.h"
#include "passes/pass.h"
#include "passes/weight_folding.h"

namespace hone {
namespace {

bool is_f32_scalar(const Tensor* t) { return t && t->dtype() == DType::Float32 && t->numel() == 1; }

// A constant that broadcasts over [N, C, H, W] along C only: [C,1,1], [1,C,1,1] (or a scalar). Returns its per-channel
// values (size c), or false.
bool per_channel(const Tensor* t, int64_t c, std::vector<float>* v) {
  if (!t || t->dtype() != DType::Float32) return false;
  if (t->numel() == 1) {
    v->assign(static_cast<size_t>(c), t->data<float>()[0]);
    return true;
  }
  const Shape& s = t->shape();
  bool ok = (s.size() == 3 && s[0] == c && s[1] == 1 && s[2] == 1) ||
            (s.size() == 4 && s[0] == 1 && s[1] == c && s[2] == 1 && s[3] == 1);
  if (!ok) return false;
  v->assign(t->data<float>(), t->data<float>() + c);
  return true;
}

bool same_known_shape(const TypeInfo* a, const TypeInfo* b) {
  if (!a || !b || !a->is_tensor() || !b->is_tensor() || !a->shape || !b->shape || a->elem != b->elem) return false;
  auto ca = to_concrete(*a->shape), cb = to_concrete(*b->shape);
  if (ca && cb) return *ca == *cb;
  return *a->shape == *b->shape;
}

float const_scalar(const PassContext& ctx, const std::string& name, float fallback_nan = std::nanf("")) {
  const Tensor* t = name.empty() ? nullptr : ctx.constant(name);
  return is_f32_scalar(t) ? t->data<float>()[0] : fallback_nan;
}

struct Chain {
  std::vector<std::string> ops;
  std::vector<float> params;
  void push(const std::string& op, std::vector<float> p = {}) {
    if (op == "Linear" && !ops.empty() && ops.back() == "Linear") {  // a2 * (a1 x + b1) + b2
      float& a1 = params[params.size() - 2];
      float& b1 = params[params.size() - 1];
      b1 = p[0] * b1 + p[1];
      a1 = p[0] * a1;
      return;
    }
    ops.push_back(op);
    params.insert(params.end(), p.begin(), p.end());
  }
  // oneDNN 2.6's jit convolutions compute wrong results when one eltwise algorithm appears twice among the post-ops
  // with different parameters (two linears, two clips; e.g. HardSigmoid then a scalar Mul): whether the chain avoids
  // that (kernels/cpu/dnnl_common.cc maps HardSigmoid to linear + clip).
  bool one_setting_per_algorithm() const {
    std::vector<std::tuple<std::string, float, float>> seen;
    auto use = [&](const char* alg, float a, float b) {
      for (const auto& [s, x, y] : seen)
        if (s == alg && (x != a || y != b)) return false;
      seen.emplace_back(alg, a, b);
      return true;
    };
    size_t k = 0;
    for (const std::string& op : ops) {
      const float* p = params.data() + k;
      k += static_cast<size_t>(std::max(post_op_param_count(op), 0));
      bool ok = true;
      if (op == "Linear") ok = use("linear", p[0], p[1]);
      else if (op == "HardSigmoid") ok = use("linear", p[0], p[1]) && use("clip", 0.f, 1.f);
      else if (op == "Clip") ok = use("clip", p[0], p[1]);
      else if (op == "Relu") ok = use("relu", 0.f, 0.f);
      else if (op == "LeakyRelu") ok = use("relu", p[0], 0.f);
      if (!ok) return false;
    }
    return true;
  }
};

// The activation node `n` reading the current value, as a post-op; false when not fusable.
bool activation_post_op(const Node& n, int64_t opset, const PassContext& ctx, Chain* chain) {
  const std::string& op = n.op_type;
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSwish") {
    chain->push(op);
  } else if (op == "LeakyRelu") {
    chain->push(op, {n.attr_float("alpha", 0.01f)});
  } else if (op == "HardSigmoid") {
    chain->push(op, {n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)});
  } else if (op == "Clip") {
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (opset < 11) {
      lo = n.attr_float("min", lo);
      hi = n.attr_float("max", hi);
    } else {
      for (size_t i = 1; i < 3 && i < n.inputs.size(); ++i) {
        if (n.inputs[i].empty()) continue;
        float v = const_scalar(ctx, n.inputs[i]);
        if (std::isnan(v)) return false;
        (i == 1 ? lo : hi) = v;
      }
    }
    chain->push(op, {lo, hi});
  } else {
    return false;
  }
  return true;
}

class ConvFuser {
 public:
  ConvFuser(Graph& g, PassContext& ctx) : g_(g), ctx_(ctx), uses_(g), dead_(g.nodes.size(), false) {}

  int run() {
    int fused = 0;
    for (size_t ci = 0; ci < g_.nodes.size(); ++ci) {
      if (dead_[ci] || !g_.nodes[ci].domain.empty()) continue;
      if (g_.nodes[ci].op_type == "Conv" ? fuse(ci) : g_.nodes[ci].op_type == "ConvTranspose" && fuse_transpose(ci))
        ++fused;
    }
    erase_nodes(g_, dead_);
    return fused;
  }

 private:
  const Node* live(int i) const { return i >= 0 && !dead_[static_cast<size_t>(i)] ? &g_.nodes[static_cast<size_t>(i)] : nullptr; }

  // x * Clip(x + 3, 0, 6) / 6 (or * (1/6)) with x = `cur`: returns the nodes and the result, or false.
  bool decomposed_hardswish(const std::string& cur, std::vector<size_t>* nodes, std::string* out) {
    DecomposedHardSwish m;
    if (!match_decomposed_hardswish(g_, uses_, ctx_, cur, &dead_, &m)) return false;
    *nodes = std::move(m.nodes);
    *out = std::move(m.out);
    return true;
  }

  bool fuse(size_t ci) {
    const Node& conv = g_.nodes[ci];
    if (conv.outputs.size() != 1 || conv.inputs.size() < 2) return false;
    const TypeInfo* yt = ctx_.type(conv.outputs[0]);
    const Tensor* w = ctx_.constant(conv.inputs[1]);
    if (!yt || !yt->is_tensor() || yt->elem != DType::Float32 || !w || w->dtype() != DType::Float32 || w->rank() < 3)
      return false;
    const Tensor* b = conv.inputs.size() > 2 && !conv.inputs[2].empty() ? ctx_.constant(conv.inputs[2]) : nullptr;
    bool bias_ok = conv.inputs.size() < 3 || conv.inputs[2].empty() || (b && b->dtype() == DType::Float32 && b->numel() == w->dim(0));
    int64_t m = w->dim(0);
    // Affine folded into the weights while nothing else has been absorbed: y' = s * y + t per output channel.
    std::vector<float> s(static_cast<size_t>(m), 1.f), t(static_cast<size_t>(m), 0.f);
    bool folded = false;
    Chain chain;
    std::string cur = conv.outputs[0], z;
    std::vector<size_t> absorbed;
    for (;;) {
      const Chain before = chain;
      std::vector<size_t> hs_nodes;
      std::string hs_out;
      if (decomposed_hardswish(cur, &hs_nodes, &hs_out)) {
        chain.push("HardSwish");
        absorbed.insert(absorbed.end(), hs_nodes.begin(), hs_nodes.end());
        cur = hs_out;
        continue;
      }
      int ni = uses_.sole_consumer(cur);
      const Node* n = live(ni);
      if (!n || !n->domain.empty() || n->outputs.size() != 1 || !same_known_shape(ctx_.type(n->outputs[0]), yt)) break;
      const std::string& op = n->op_type;
      bool binary = (op == "Mul" || op == "Div" || op == "Add" || op == "Sub") && n->inputs.size() == 2;
      if (binary) {
        bool cur_first = n->inputs[0] == cur;
        const std::string& other = cur_first ? n->inputs[1] : n->inputs[0];
        if (other == cur) break;
        const Tensor* c = ctx_.constant(other);
        std::vector<float> v;
        if (c && per_channel(c, m, &v)) {
          bool scalar = c->numel() == 1;
          if (!cur_first && (op == "Div")) break;  // c / y is not affine
          if (chain.ops.empty() && bias_ok) {  // fold into W and B
            for (int64_t k = 0; k < m; ++k) {
              float& sk = s[static_cast<size_t>(k)];
              float& tk = t[static_cast<size_t>(k)];
              float vk = v[static_cast<size_t>(k)];
              if (op == "Mul") sk *= vk, tk *= vk;
              else if (op == "Div") sk /= vk, tk /= vk;
              else if (op == "Add") tk += vk;
              else if (cur_first) tk -= vk;  // y - c
              else sk = -sk, tk = vk - tk;   // c - y
            }
            folded = true;
          } else if (scalar) {
            float k = v[0];
            if (op == "Mul") chain.push("Linear", {k, 0.f});
            else if (op == "Div") chain.push("Linear", {1.f / k, 0.f});
            else if (op == "Add") chain.push("Linear", {1.f, k});
            else chain.push("Linear", cur_first ? std::vector<float>{1.f, -k} : std::vector<float>{-1.f, k});
          } else {
            break;
          }
        } else if (!c && op == "Add" && z.empty() && same_known_shape(ctx_.type(other), yt)) {
          z = other;
          chain.push("Add");
        } else {
          break;
        }
      } else if (!activation_post_op(*n, ctx_.opset(n->domain), ctx_, &chain)) {
        break;
      }
      if (!chain.one_setting_per_algorithm()) {  // the node stays: the chain ends before it
        chain = before;
        break;
      }
      absorbed.push_back(static_cast<size_t>(ni));
      cur = n->outputs[0];
    }
    if (absorbed.empty()) return false;

    Node f;
    f.domain = "hone";
    f.op_type = "FusedConv";
    f.name = conv.name;
    f.attributes = conv.attributes;
    f.inputs = {conv.inputs[0], conv.inputs[1], conv.inputs.size() > 2 ? conv.inputs[2] : ""};
    if (folded) {
      Tensor nw = w->clone();
      int64_t per = w->numel() / m;
      for (int64_t k = 0; k < m; ++k)
        for (int64_t j = 0; j < per; ++j) nw.data<float>()[k * per + j] *= s[static_cast<size_t>(k)];
      Tensor nb(DType::Float32, {m});
      for (int64_t k = 0; k < m; ++k)
        nb.data<float>()[k] = s[static_cast<size_t>(k)] * (b ? b->data<float>()[k] : 0.f) + t[static_cast<size_t>(k)];
      f.inputs[1] = fresh(conv.inputs[1] + "_fused", nw);
      f.inputs[2] = fresh(conv.inputs[1] + "_fused_bias", nb);
    }
    if (!z.empty()) f.inputs.push_back(z);
    while (f.inputs.size() > 2 && f.inputs.back().empty()) f.inputs.pop_back();
    if (!chain.ops.empty()) {
      f.attributes.push_back(Attribute::of_strings("post_ops", chain.ops));
      f.attributes.push_back(Attribute::of_floats("post_op_params", chain.params));
    }
    f.outputs = {cur};
    place(ci, absorbed, std::move(f));
    return true;
  }

  // The fused node takes the place of the last node it absorbs (in graph order): every input is available there.
  void place(size_t ci, const std::vector<size_t>& absorbed, Node f) {
    size_t last = ci;
    for (size_t a : absorbed) last = std::max(last, a);
    dead_[ci] = true;
    for (size_t a : absorbed) dead_[a] = true;
    dead_[last] = false;
    g_.nodes[last] = std::move(f);
  }

  // A ConvTranspose the patch kernel runs (kernel == stride, no padding) and the Relu or Clip after it: one
  // hone.FusedConvTranspose (the activations applied while each row's results are in cache). Other transposed
  // convolutions are left alone: oneDNN 2.6 runs a deconvolution's post-ops in reference loops.
  bool fuse_transpose(size_t ci) {
    const Node& conv = g_.nodes[ci];
    if (conv.outputs.size() != 1 || conv.inputs.size() < 2) return false;
    const TypeInfo* yt = ctx_.type(conv.outputs[0]);
    const Tensor* w = ctx_.constant(conv.inputs[1]);
    if (!yt || !yt->is_tensor() || yt->elem != DType::Float32 || !w || w->dtype() != DType::Float32 ||
        !nn::is_patch_conv_transpose(conv, w->shape()))
      return false;
    Chain chain;
    std::string cur = conv.outputs[0];
    std::vector<size_t> absorbed;
    for (;;) {
      const Chain before = chain;
      int ni = uses_.sole_consumer(cur);
      const Node* n = live(ni);
      // One Relu or Clip: the kernel clamps its results in registers (other activations run faster as their own
      // vectorized kernels than in a generic loop there).
      const bool cheap = n && chain.ops.empty() && (n->op_type == "Relu" || n->op_type == "Clip");
      if (!cheap || !n->domain.empty() || n->outputs.size() != 1 || !same_known_shape(ctx_.type(n->outputs[0]), yt) ||
          !activation_post_op(*n, ctx_.opset(n->domain), ctx_, &chain)) {
        chain = before;
        break;
      }
      absorbed.push_back(static_cast<size_t>(ni));
      cur = n->outputs[0];
    }
    if (absorbed.empty()) return false;
    Node f = conv;
    f.domain = "hone";
    f.op_type = "FusedConvTranspose";
    f.attributes.push_back(Attribute::of_strings("post_ops", chain.ops));
    f.attributes.push_back(Attribute::of_floats("post_op_params", chain.params));
    f.outputs = {cur};
    place(ci, absorbed, std::move(f));
    return true;
  }

  std::string fresh(const std::string& base, const Tensor& value) { return folding::add_initializer(g_, ctx_, base, value); }

  Graph& g_;
  PassContext& ctx_;
  GraphUses uses_;
  std::vector<bool> dead_;
};

}  // namespace

int fuse_conv(Graph& g, PassContext& ctx) { return ConvFuser(g, ctx).run(); }

}  // namespace hone
