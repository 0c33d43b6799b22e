#include "bench/cost_model.h"

#include <algorithm>
#include <map>
#include <string_view>

namespace hone {

std::optional<int64_t> tensor_bytes(const TypeInfo& t) {
  if (!t.is_tensor() || !t.shape || t.elem == DType::Undefined || t.elem == DType::String) return std::nullopt;
  std::optional<Shape> s = to_concrete(*t.shape);
  if (!s) return std::nullopt;
  int64_t n = 1;
  for (int64_t d : *s) n *= d;
  return n * static_cast<int64_t>(dtype_size(t.elem));
}

namespace {

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

int64_t prod(const std::vector<int64_t>& v, size_t from = 0) {
  int64_t n = 1;
  for (size_t i = from; i < v.size(); ++i) n *= v[i];
  return n;
}

// FLOPs per element for ops whose work scales with their output (elementwise) or their input (reductions).
struct PerElement {
  std::string_view op;
  int flops;
};
constexpr PerElement kElementwise[] = {
    {"Add", 1}, {"Sub", 1}, {"Mul", 1}, {"Div", 1}, {"Pow", 1}, {"Mod", 1}, {"Neg", 1}, {"Abs", 1}, {"Sign", 1},
    {"Reciprocal", 1}, {"Sqrt", 1}, {"Exp", 1}, {"Log", 1}, {"Erf", 1}, {"Sin", 1}, {"Cos", 1}, {"Tan", 1},
    {"Floor", 1}, {"Ceil", 1}, {"Round", 1}, {"Relu", 1}, {"LeakyRelu", 1}, {"PRelu", 1}, {"Elu", 1}, {"Selu", 1},
    {"Celu", 1}, {"Sigmoid", 1}, {"HardSigmoid", 1}, {"HardSwish", 1}, {"Tanh", 1}, {"Softplus", 1}, {"Softsign", 1},
    {"Gelu", 1}, {"FastGelu", 1}, {"BiasGelu", 1}, {"Mish", 1}, {"Swish", 1}, {"ThresholdedRelu", 1}, {"Shrink", 1},
    {"Clip", 1}, {"Max", 1}, {"Min", 1}, {"Sum", 1}, {"Mean", 1}, {"Where", 1}, {"Equal", 1}, {"Less", 1},
    {"LessOrEqual", 1}, {"Greater", 1}, {"GreaterOrEqual", 1}, {"And", 1}, {"Or", 1}, {"Xor", 1}, {"Not", 1},
    {"IsNaN", 1}, {"IsInf", 1}, {"BitShift", 1}, {"BitwiseAnd", 1}, {"BitwiseOr", 1}, {"BitwiseXor", 1},
    {"BitwiseNot", 1}, {"QuantizeLinear", 2}, {"DequantizeLinear", 2}, {"DynamicQuantizeLinear", 3},
    // normalizations: statistics, normalize, scale and shift
    {"BatchNormalization", 2}, {"InstanceNormalization", 5}, {"LayerNormalization", 5}, {"GroupNormalization", 5},
    {"RMSNormalization", 4}, {"SimplifiedLayerNormalization", 4}, {"SkipLayerNormalization", 6},
    {"SkipSimplifiedLayerNormalization", 5}, {"LpNormalization", 3}, {"MeanVarianceNormalization", 5},
    // softmax: max, exp and sum, divide
    {"Softmax", 3}, {"LogSoftmax", 3}, {"Hardmax", 1},
};
constexpr std::string_view kReductions[] = {
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool",
    "CumSum", "TopK",
};
constexpr std::string_view kWindowPools[] = {"MaxPool", "AveragePool", "LpPool"};

template <typename List>
bool in(const List& list, std::string_view op) {
  return std::find(std::begin(list), std::end(list), op) != std::end(list);
}

class Costing {
 public:
  Costing(const Node& n, const TypeLookup& type_of) : n_(n), type_of_(type_of) {}

  std::optional<Shape> in_shape(size_t i) const { return i < n_.inputs.size() ? shape(n_.inputs[i]) : std::nullopt; }
  std::optional<Shape> out_shape(size_t i) const {
    return i < n_.outputs.size() ? shape(n_.outputs[i]) : std::nullopt;
  }
  bool has_input(size_t i) const { return n_.has_input(i); }

 private:
  std::optional<Shape> shape(const std::string& name) const {
    if (name.empty()) return std::nullopt;
    const TypeInfo* t = type_of_(name);
    if (!t || !t->is_tensor() || !t->shape) return std::nullopt;
    return to_concrete(*t->shape);
  }
  const Node& n_;
  const TypeLookup& type_of_;
};

// Output shape of a Conv from its input and weight shapes and attributes (used when inference could not give it).
std::optional<Shape> conv_output_shape(const Node& n, const Shape& x, const Shape& w) {
  if (x.size() < 3 || w.size() != x.size()) return std::nullopt;
  size_t sp = x.size() - 2;
  auto strides = n.attr_ints("strides", std::vector<int64_t>(sp, 1));
  auto dil = n.attr_ints("dilations", std::vector<int64_t>(sp, 1));
  auto pads = n.attr_ints("pads", std::vector<int64_t>(2 * sp, 0));
  auto kernel = n.attr_ints("kernel_shape", std::vector<int64_t>(w.begin() + 2, w.end()));
  std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  if (strides.size() != sp || dil.size() != sp || pads.size() != 2 * sp || kernel.size() != sp) return std::nullopt;
  Shape out{x[0], w[0]};
  for (size_t i = 0; i < sp; ++i) {
    int64_t s = std::max<int64_t>(strides[i], 1);
    int64_t eff = dil[i] * (kernel[i] - 1) + 1;
    int64_t o;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") o = (x[2 + i] + s - 1) / s;
    else if (auto_pad == "VALID") o = (x[2 + i] - eff) / s + 1;
    else o = (x[2 + i] + pads[i] + pads[sp + i] - eff) / s + 1;
    if (o < 0) return std::nullopt;
    out.push_back(o);
  }
  return out;
}

// Broadcast of two batch-dimension lists (right aligned).
Shape broadcast(const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()), 1);
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    out[i] = std::max(da, db);
  }
  return out;
}

void matmul_cost(const Costing& c, size_t ia, size_t ib, NodeCost* cost) {
  auto a = c.in_shape(ia), b = c.in_shape(ib);
  if (!a || !b || a->empty() || b->empty()) {
    cost->known = false;
    return;
  }
  int64_t k = a->back();
  int64_t m = a->size() >= 2 ? (*a)[a->size() - 2] : 1;
  int64_t n = b->size() >= 2 ? b->back() : 1;
  Shape batch = broadcast(Shape(a->begin(), a->end() - std::min<size_t>(a->size(), 2)),
                          Shape(b->begin(), b->end() - std::min<size_t>(b->size(), 2)));
  cost->macs = numel(batch) * m * n * k;
  cost->flops = 2 * cost->macs;
}

void gemm_cost(const Node& node, const Costing& c, NodeCost* cost) {
  auto a = c.in_shape(0), b = c.in_shape(1);
  if (!a || !b || a->size() != 2 || b->size() != 2) {
    cost->known = false;
    return;
  }
  bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  int64_t m = ta ? (*a)[1] : (*a)[0], k = ta ? (*a)[0] : (*a)[1], n = tb ? (*b)[0] : (*b)[1];
  cost->macs = m * n * k;
  cost->flops = 2 * cost->macs + (c.has_input(2) ? m * n : 0);
}

void conv_cost(const Node& node, const Costing& c, size_t ix, size_t iw, size_t ibias, NodeCost* cost) {
  auto x = c.in_shape(ix), w = c.in_shape(iw);
  if (!x || !w || w->size() < 2 || (*w)[0] == 0) {
    cost->known = false;
    return;
  }
  auto y = c.out_shape(0);
  if (!y) y = conv_output_shape(node, *x, *w);
  if (!y) {
    cost->known = false;
    return;
  }
  // Each output element is a dot product over one group's input channels and the kernel window.
  cost->macs = numel(*y) * (numel(*w) / (*w)[0]);
  cost->flops = 2 * cost->macs + (c.has_input(ibias) ? numel(*y) : 0);
}

void conv_transpose_cost(const Costing& c, NodeCost* cost) {
  auto x = c.in_shape(0), w = c.in_shape(1);
  if (!x || !w || w->size() < 2 || (*w)[0] == 0) {
    cost->known = false;
    return;
  }
  // Every input element scatters into (M / group) x kernel outputs.
  cost->macs = numel(*x) * (numel(*w) / (*w)[0]);
  cost->flops = 2 * cost->macs;
  if (auto y = c.out_shape(0); y && c.has_input(2)) cost->flops += numel(*y);
}

void einsum_cost(const Node& node, const Costing& c, NodeCost* cost) {
  std::string eq;
  for (char ch : node.attr_string("equation", "")) if (ch != ' ') eq += ch;
  std::string lhs = eq.substr(0, eq.find("->"));
  std::vector<std::string> terms;
  size_t start = 0;
  for (;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::map<char, int64_t> size_of;
  Shape ellipsis;
  int64_t in_elems = 0;
  for (size_t t = 0; t < terms.size(); ++t) {
    auto s = c.in_shape(t);
    if (!s) {
      cost->known = false;
      return;
    }
    in_elems += numel(*s);
    const std::string& term = terms[t];
    size_t dots = term.find("...");
    std::string letters = term;
    if (dots != std::string::npos) letters.erase(dots, 3);
    if (letters.size() > s->size()) {
      cost->known = false;
      return;
    }
    size_t ell_rank = s->size() - letters.size();
    size_t d = 0;
    for (size_t i = 0; i < term.size();) {
      if (term.compare(i, 3, "...") == 0) {
        ellipsis = broadcast(ellipsis, Shape(s->begin() + static_cast<int64_t>(d),
                                             s->begin() + static_cast<int64_t>(d + ell_rank)));
        d += ell_rank;
        i += 3;
        continue;
      }
      int64_t& v = size_of[term[i]];
      v = std::max(v, (*s)[d]);
      ++d;
      ++i;
    }
  }
  if (terms.size() < 2) {  // one operand: a transpose, trace or reduction
    cost->flops = in_elems;
    return;
  }
  int64_t total = numel(ellipsis);
  for (const auto& [ch, v] : size_of) total *= v;
  cost->macs = total * static_cast<int64_t>(terms.size() - 1);
  cost->flops = 2 * cost->macs;
}

void rnn_cost(const Node& node, const Costing& c, NodeCost* cost) {
  auto x = c.in_shape(0), w = c.in_shape(1), r = c.in_shape(2);
  if (!x || !w || !r || x->size() != 3 || w->size() != 3 || r->size() != 3) {
    cost->known = false;
    return;
  }
  bool batch_first = node.attr_int("layout", 0) != 0;
  int64_t seq = batch_first ? (*x)[1] : (*x)[0], batch = batch_first ? (*x)[0] : (*x)[1];
  int64_t dirs = (*w)[0], gates_h = (*w)[1], input = (*w)[2], hidden = (*r)[2];
  int64_t steps = dirs * seq * batch;
  cost->macs = steps * gates_h * (input + hidden);
  cost->flops = 2 * cost->macs + steps * gates_h * 3;  // biases, gate activations, state update
}

void attention_cost(const Node& node, const Costing& c, NodeCost* cost) {
  auto q = c.in_shape(0), k = c.in_shape(1), v = c.in_shape(2);
  int64_t b = 0, heads = 0, sq = 0, skv = 0, qk_width = 0, v_width = 0;  // widths summed over heads
  if (node.domain == "com.microsoft" && node.op_type == "Attention") {
    // input [B, S, Din] projected by weights [Din, 3D] to Q, K, V; then S x S attention per head.
    auto w = c.in_shape(1);
    if (!q || !w || q->size() != 3 || w->size() != 2) {
      cost->known = false;
      return;
    }
    int64_t d = (*w)[1] / 3;
    b = (*q)[0], sq = (*q)[1], skv = sq;
    cost->macs = b * sq * (*w)[0] * (*w)[1] + 2 * b * sq * skv * d;
    cost->flops = 2 * cost->macs + 5 * b * node.attr_int("num_heads", 1) * sq * skv;
    return;
  }
  if (!q || !k || !v) {
    cost->known = false;
    return;
  }
  if (q->size() == 4 && k->size() == 4 && v->size() == 4) {
    b = (*q)[0], heads = (*q)[1], sq = (*q)[2], skv = (*k)[2];
    qk_width = heads * (*q)[3];
    v_width = heads * (*v)[3];
  } else if (q->size() == 3 && k->size() == 3 && v->size() == 3) {
    heads = node.attr_int(node.domain.empty() ? "q_num_heads" : "num_heads", 1);
    int64_t kv_heads = node.domain.empty() ? node.attr_int("kv_num_heads", heads) : heads;
    b = (*q)[0], sq = (*q)[1], skv = (*k)[1];
    qk_width = (*q)[2];
    v_width = kv_heads > 0 ? (*v)[2] / kv_heads * heads : (*v)[2];
  } else {
    cost->known = false;
    return;
  }
  // With a KV cache, the present key holds past + new positions.
  if (auto present = c.out_shape(1); present && node.domain.empty() && present->size() == 4) skv = (*present)[2];
  cost->macs = b * sq * skv * (qk_width + v_width);
  cost->flops = 2 * cost->macs + 5 * b * std::max<int64_t>(heads, 1) * sq * skv;
}

}  // namespace

NodeCost node_cost(const Node& node, const TypeLookup& type_of) {
  NodeCost cost;
  for (const std::string& i : node.inputs) {
    if (i.empty()) continue;
    const TypeInfo* t = type_of(i);
    if (auto b = t ? tensor_bytes(*t) : std::nullopt) cost.bytes_read += *b;
  }
  for (const std::string& o : node.outputs) {
    if (o.empty()) continue;
    const TypeInfo* t = type_of(o);
    if (auto b = t ? tensor_bytes(*t) : std::nullopt) cost.bytes_written += *b;
    else cost.known = false;  // what it writes is unknown, so is its cost
  }
  Costing c(node, type_of);
  const std::string& op = node.op_type;
  // Fused ops of ONNX Runtime's contrib domain and of Hone's runtime lowering cost what their main op costs.
  bool ms = node.domain == "com.microsoft" || node.domain == "hone";
  if (!node.domain.empty() && !ms && node.domain != "ai.onnx") return cost;  // unknown domain: bytes only

  if (op == "MatMul" || op == "MatMulInteger" || (ms && op == "FusedMatMul") ||
      (node.domain == "hone" && (op == "QMatMul" || op == "DynamicQMatMul" || op == "RoundedMatMul")))
    matmul_cost(c, 0, 1, &cost);
  else if (op == "QLinearMatMul") matmul_cost(c, 0, 3, &cost);
  else if (op == "Gemm" || (node.domain == "hone" && op == "RoundedGemm")) gemm_cost(node, c, &cost);
  else if (op == "Conv" || op == "ConvInteger" || (ms && (op == "FusedConv" || op == "RoundedConv")))
    conv_cost(node, c, 0, 1, 2, &cost);
  else if (node.domain == "hone" && op == "QConv") conv_cost(node, c, 0, 1, 3, &cost);
  else if (op == "QLinearConv") conv_cost(node, c, 0, 3, 8, &cost);
  else if (op == "ConvTranspose" || (node.domain == "hone" && op == "FusedConvTranspose")) conv_transpose_cost(c, &cost);
  else if (op == "Einsum") einsum_cost(node, c, &cost);
  else if (op == "LSTM" || op == "GRU" || op == "RNN") rnn_cost(node, c, &cost);
  else if (op == "Attention" || (ms && op == "MultiHeadAttention")) attention_cost(node, c, &cost);
  else if (in(kReductions, op)) {
    auto x = c.in_shape(0);
    if (x) cost.flops = numel(*x);
    else cost.known = false;
  } else if (in(kWindowPools, op)) {
    auto y = c.out_shape(0);
    if (y) cost.flops = numel(*y) * prod(node.attr_ints("kernel_shape"));
    else cost.known = false;
  } else {
    for (const PerElement& e : kElementwise) {
      if (e.op != op) continue;
      auto y = c.out_shape(0);
      if (y) cost.flops = numel(*y) * e.flops;
      else cost.known = false;
      break;
    }
  }
  return cost;
}

}  // namespace hone
