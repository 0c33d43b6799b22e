// Element-wise arithmetic with a constant right after a layer with constant weights, folded into those weights:
//   - Conv / ConvTranspose then Mul / Div / Add / Sub by a scalar or a per-output-channel constant (one that varies
//     along axis 1 only and leaves the shape as it is): y * c, y / c, y + c, y - c and c - y are per-channel affine
//     maps s * y + t, folded into W (scaled by s) and the bias (s * b + t);
//   - Gemm with constant B (C absent or constant) likewise, per output column (c of shape [N], [1, N] or a scalar);
//     an added constant may also vary per row ([M, N], [M, 1]): it joins C;
//   - MatMul with a constant 2-D B: Mul / Div by a per-column constant scales B's columns;
//   - and before a Conv: a Mul / Div by a per-input-channel constant whose only reader is the Conv's input scales
//     each input channel's weights (zero padding stays zero). `hone quantize --equalize` leaves such a Mul before a
//     depthwise convolution that the accuracy search then keeps float.
// Exact cases only: c / y is not affine, division by a constant holding a zero is left alone, and so is a constant
// that is not finite.
#include <unordered_map>

#include "passes/pass_manager.h"
#include "passes/weight_folding.h"

namespace hone {

using namespace folding;  // NOLINT: the weight-folding helpers are this file's vocabulary
namespace {

struct Arith {
  std::string op;  // Mul, Div, Add, Sub
  bool y_first = true;

  // y -> s * y + t for a constant value v: false when not affine or not safe.
  bool affine(double v, double* s, double* t) const {
    *s = 1;
    *t = 0;
    if (op == "Mul") {
      *s = v;
    } else if (op == "Div") {
      if (!y_first || v == 0) return false;
      *s = 1 / v;
    } else if (op == "Add") {
      *t = v;
    } else if (y_first) {  // y - c
      *t = -v;
    } else {  // c - y
      *s = -1;
      *t = v;
    }
    return true;
  }
  bool scales_only() const { return op == "Mul" || (op == "Div" && y_first); }
};

class ScaleFolder {
 public:
  ScaleFolder(Graph& g, PassContext& ctx) : g_(g), ctx_(ctx), uses_(g), dead_(g.nodes.size(), false) {}

  int run() {
    if (ctx_.opset("") < 7) return 0;  // before opset 7 the binary ops broadcast by attributes
    int folded = 0;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (!n.domain.empty() || n.inputs.size() != 2 || n.outputs.size() != 1) continue;
      if (n.op_type != "Mul" && n.op_type != "Div" && n.op_type != "Add" && n.op_type != "Sub") continue;
      for (int first = 1; first >= 0; --first) {
        if (try_fold(i, first == 1) || try_fold_into_reader(i, first == 1)) {
          ++folded;
          break;
        }
      }
    }
    erase_nodes(g_, dead_);
    return folded;
  }

 private:
  int producer(const std::string& v) const {
    auto it = moved_.find(v);
    return it != moved_.end() ? it->second : uses_.producer(v);
  }

  bool try_fold(size_t ni, bool y_first) {
    const Node& n = g_.nodes[ni];
    const std::string& y = n.inputs[y_first ? 0 : 1];
    const std::string& cname = n.inputs[y_first ? 1 : 0];
    const Tensor* c = ctx_.constant(cname);
    int pi = producer(y);
    if (!c || y == cname || pi < 0 || dead_[static_cast<size_t>(pi)] || uses_.sole_consumer(y) != static_cast<int>(ni))
      return false;
    Node& p = g_.nodes[static_cast<size_t>(pi)];
    if (!p.domain.empty() || p.outputs.size() != 1 || p.outputs[0] != y) return false;
    Arith op{n.op_type, y_first};
    bool done = false;
    if (p.op_type == "Conv" || p.op_type == "ConvTranspose") {
      done = fold_conv(p, y, *c, op);
    } else if (p.op_type == "Gemm") {
      done = fold_gemm(p, y, *c, op);
    } else if (p.op_type == "MatMul") {
      done = fold_matmul(p, y, *c, op);
    }
    if (!done) return false;
    p.outputs[0] = n.outputs[0];
    moved_[n.outputs[0]] = pi;
    dead_[ni] = true;
    return true;
  }

  // A scaling of y whose only reader is a Conv's input: folded into that Conv's weights instead.
  bool try_fold_into_reader(size_t ni, bool y_first) {
    const Node& n = g_.nodes[ni];
    Arith op{n.op_type, y_first};
    if (!op.scales_only()) return false;
    const std::string& y = n.inputs[y_first ? 0 : 1];
    const Tensor* c = ctx_.constant(n.inputs[y_first ? 1 : 0]);
    int ci = uses_.sole_consumer(n.outputs[0]);
    if (!c || ci < 0 || dead_[static_cast<size_t>(ci)] || ctx_.constant(y)) return false;
    Node& conv = g_.nodes[static_cast<size_t>(ci)];
    ConvWeights cw;
    if (conv.op_type != "Conv" || !conv_weights(conv, ctx_, &cw) || conv.inputs[0] != n.outputs[0] ||
        conv.inputs[1] == n.outputs[0] || (conv.has_input(2) && conv.inputs[2] == n.outputs[0]))
      return false;
    const int64_t channels = cw.w->dim(1) * conv.attr_int("group", 1);
    std::vector<double> v;
    if (known_rank(ctx_, y) != cw.w->rank() || !axis_constant(c, cw.w->rank(), 1, channels, &v)) return false;
    for (double& f : v) {
      double s = 0, t = 0;
      if (!op.affine(f, &s, &t)) return false;
      f = s;
    }
    scale_conv_inputs(g_, ctx_, conv, cw, v);
    conv.inputs[0] = y;
    dead_[ni] = true;
    return true;
  }

  bool fold_conv(Node& conv, const std::string& y, const Tensor& c, const Arith& op) {
    ConvWeights cw;
    std::vector<double> v;
    if (!conv_weights(conv, ctx_, &cw) || !axis_constant(&c, known_rank(ctx_, y), 1, cw.out_channels, &v)) return false;
    ChannelAffine a;
    a.scale.resize(v.size());
    a.shift.resize(v.size());
    for (size_t k = 0; k < v.size(); ++k)
      if (!op.affine(v[k], &a.scale[k], &a.shift[k])) return false;
    fold_affine_into_conv(g_, ctx_, conv, cw, a);
    return true;
  }

  bool fold_gemm(Node& gemm, const std::string& y, const Tensor& c, const Arith& op) {
    GemmWeights gw;
    if (!gemm_weights(gemm, ctx_.opset(""), ctx_, &gw)) return false;
    std::vector<double> scale(static_cast<size_t>(gw.n), 1.0);
    Addend2D add{.rows = 1, .cols = 1, .v = {0.0}};
    if (op.scales_only() || (op.op == "Sub" && !op.y_first)) {
      std::vector<double> v;
      if (op.scales_only()) {
        if (!axis_constant(&c, 2, 1, gw.n, &v)) return false;
        double t;
        for (size_t k = 0; k < v.size(); ++k)
          if (!op.affine(v[k], &scale[k], &t)) return false;
      } else {  // c - y
        scale.assign(scale.size(), -1.0);
        if (!addend_2d(&c, rows_of(y), gw.n, &add)) return false;
      }
    } else if (op.op == "Add" || op.op == "Sub") {
      if (!addend_2d(&c, rows_of(y), gw.n, &add)) return false;
      if (op.op == "Sub")
        for (double& x : add.v) x = -x;
    } else {
      return false;
    }
    return fold_affine_into_gemm(g_, ctx_, gemm, gw, scale, add);
  }

  bool fold_matmul(Node& mm, const std::string& y, const Tensor& c, const Arith& op) {
    if (!op.scales_only() || mm.inputs.size() != 2) return false;
    const Tensor* b = ctx_.constant(mm.inputs[1]);
    int rank = known_rank(ctx_, y);
    std::vector<double> v;
    if (!b || b->dtype() != DType::Float32 || b->rank() != 2 || rank < 1 ||
        !axis_constant(&c, rank, rank - 1, b->dim(1), &v))
      return false;
    std::vector<double> scale(v.size());
    double t;
    for (size_t k = 0; k < v.size(); ++k)
      if (!op.affine(v[k], &scale[k], &t)) return false;
    mm.inputs[1] = scaled_columns(g_, ctx_, mm.inputs[1], *b, scale);
    return true;
  }

  // Rows of a Gemm output when known, else -1.
  int64_t rows_of(const std::string& y) const {
    const TypeInfo* t = ctx_.type(y);
    if (!t || !t->is_tensor() || !t->shape || t->shape->size() != 2) return -1;
    return (*t->shape)[0].known() ? (*t->shape)[0].value : -1;
  }

  Graph& g_;
  PassContext& ctx_;
  GraphUses uses_;
  std::vector<bool> dead_;
  std::unordered_map<std::string, int> moved_;  // output -> the node now producing it (after a fold)
};

}  // namespace

int fold_scale(Graph& g, PassContext& ctx) { return ScaleFolder(g, ctx).run(); }

HONE_REGISTER_PASS({.name = "fold-scale",
                    .summary = "Mul / Div / Add / Sub by a per-channel constant after a Conv, Gemm or MatMul "
                               "folded into its weights and bias; a Mul / Div before a Conv into its weights",
                    .order = 400,
                    .run = fold_scale});

}  // namespace hone
