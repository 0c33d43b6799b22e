#include "passes/weight_folding.h"

#include <algorithm>
#include <cmath>

namespace hone::folding {
namespace {

bool finite_f32(const Tensor& t) {
  for (float v : t.span<const float>())
    if (!std::isfinite(v)) return false;
  return true;
}

bool taken(const Graph& g, const PassContext& ctx, const std::string& name) {
  if (g.initializers.count(name) || ctx.types.types.count(name)) return true;
  for (const ValueInfo& v : g.inputs)
    if (v.name == name) return true;
  for (const ValueInfo& v : g.outputs)
    if (v.name == name) return true;
  return false;
}

std::string unused_name(const Graph& g, const PassContext& ctx, const std::string& base) {
  std::string name = base;
  for (int i = 1; taken(g, ctx, name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

void set_float_attr(Node& n, const std::string& name, float v) {
  for (Attribute& a : n.attributes)
    if (a.name == name) {
      a = Attribute::of_float(name, v);
      return;
    }
  n.attributes.push_back(Attribute::of_float(name, v));
}

std::string folded_base(const std::string& name) {
  const std::string suffix = "_folded";
  bool has = name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  return has ? name : name + suffix;
}

// A constant of rank <= 2 read as rows x cols (a vector is one row, a scalar one element).
Addend2D grid_of(const Tensor& c) {
  Addend2D a;
  a.rows = c.rank() == 2 ? c.dim(0) : 1;
  a.cols = c.rank() >= 1 ? c.dim(c.rank() - 1) : 1;
  a.v.resize(static_cast<size_t>(c.numel()));
  for (int64_t k = 0; k < c.numel(); ++k) a.v[static_cast<size_t>(k)] = c.data<float>()[k];
  return a;
}

}  // namespace

bool batchnorm_affine(const Node& bn, int64_t opset, const PassContext& ctx, ChannelAffine* a) {
  if (!bn.domain.empty() || bn.op_type != "BatchNormalization" || bn.inputs.size() < 5 || bn.outputs.empty())
    return false;
  for (size_t i = 0; i < 5; ++i)
    if (bn.inputs[i].empty()) return false;
  for (size_t i = 1; i < bn.outputs.size(); ++i)
    if (!bn.outputs[i].empty()) return false;  // statistics requested: training form
  if (opset >= 14 && bn.attr_int("training_mode", 0) != 0) return false;
  if (opset < 7 && bn.attr_int("is_test", 0) == 0) return false;  // is_test defaults to training there
  if (opset < 9 && bn.attr_int("spatial", 1) != 1) return false;  // per-element parameters
  DType xt = DType::Undefined;
  if (known_rank(ctx, bn.inputs[0], &xt) < 2 || xt != DType::Float32) return false;
  const Tensor* p[4];
  for (size_t i = 0; i < 4; ++i) {
    p[i] = ctx.constant(bn.inputs[i + 1]);
    if (!p[i] || p[i]->dtype() != DType::Float32 || p[i]->rank() != 1 || p[i]->numel() != p[0]->numel()) return false;
  }
  double eps = bn.attr_float("epsilon", 1e-5f);
  size_t c = static_cast<size_t>(p[0]->numel());
  a->scale.resize(c);
  a->shift.resize(c);
  for (size_t k = 0; k < c; ++k) {
    double s = p[0]->data<float>()[k] / std::sqrt(static_cast<double>(p[3]->data<float>()[k]) + eps);
    a->scale[k] = s;
    a->shift[k] = p[1]->data<float>()[k] - s * p[2]->data<float>()[k];
    if (!std::isfinite(a->scale[k]) || !std::isfinite(a->shift[k])) return false;
  }
  return true;
}

bool axis_constant(const Tensor* c, int rank, int axis, int64_t n, std::vector<double>* values) {
  if (!c || c->dtype() != DType::Float32 || c->rank() > rank || axis < 0 || axis >= rank || !finite_f32(*c))
    return false;
  bool varies = false;
  for (int i = 0; i < c->rank(); ++i) {
    int at = rank - c->rank() + i;
    int64_t d = c->dim(i);
    if (at == axis && d == n)
      varies = true;
    else if (d != 1)
      return false;
  }
  values->resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) (*values)[static_cast<size_t>(k)] = c->data<float>()[varies ? k : 0];
  return true;
}

int known_rank(const PassContext& ctx, const std::string& name, DType* elem) {
  const TypeInfo* t = ctx.type(name);
  if (!t || !t->is_tensor() || !t->shape) return -1;
  if (elem) *elem = t->elem;
  return static_cast<int>(t->shape->size());
}

std::string add_initializer(Graph& g, PassContext& ctx, const std::string& base, const Tensor& value) {
  std::string name = unused_name(g, ctx, base);
  g.initializers[name] = value;
  ctx.types.constants[name] = value;
  ctx.types.types[name] = TypeInfo::tensor(value.dtype(), to_sym_shape(value.shape()));
  return name;
}

std::string add_value_name(const Graph& g, PassContext& ctx, const std::string& base, const TypeInfo& type) {
  std::string name = unused_name(g, ctx, base);
  ctx.types.types[name] = type;
  return name;
}

bool ConvWindow::unpadded() const {
  for (int64_t p : pads)
    if (p != 0) return false;
  return true;
}

bool ConvWindow::unit_strides() const {
  for (int64_t s : strides)
    if (s != 1) return false;
  return true;
}

bool ConvWindow::unit_dilations() const {
  for (int64_t d : dilations)
    if (d != 1) return false;
  return true;
}

bool conv_window(const Node& conv, const Tensor& w, ConvWindow* geo) {
  if (w.rank() < 3) return false;
  size_t nd = static_cast<size_t>(w.rank() - 2);
  geo->kernel.assign(w.shape().begin() + 2, w.shape().end());
  if (conv.has_attr("kernel_shape") && conv.attr_ints("kernel_shape") != geo->kernel) return false;
  geo->group = conv.attr_int("group", 1);
  geo->strides = conv.attr_ints("strides", std::vector<int64_t>(nd, 1));
  geo->dilations = conv.attr_ints("dilations", std::vector<int64_t>(nd, 1));
  geo->pads = conv.attr_ints("pads", std::vector<int64_t>(2 * nd, 0));
  std::string auto_pad = conv.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "VALID")
    geo->pads.assign(2 * nd, 0);
  else if (!auto_pad.empty() && auto_pad != "NOTSET")
    return false;
  if (geo->group < 1 || geo->strides.size() != nd || geo->dilations.size() != nd || geo->pads.size() != 2 * nd)
    return false;
  for (size_t i = 0; i < nd; ++i)
    if (geo->strides[i] < 1 || geo->dilations[i] < 1 || geo->pads[i] < 0 || geo->pads[nd + i] < 0) return false;
  return true;
}

bool conv_weights(const Node& conv, const PassContext& ctx, ConvWeights* cw) {
  bool transpose = conv.op_type == "ConvTranspose";
  if (!conv.domain.empty() || (conv.op_type != "Conv" && !transpose) || conv.inputs.size() < 2 ||
      conv.outputs.size() != 1)
    return false;
  cw->w = ctx.constant(conv.inputs[1]);
  if (!cw->w || cw->w->dtype() != DType::Float32 || cw->w->rank() < 3 || !finite_f32(*cw->w)) return false;
  int64_t group = conv.attr_int("group", 1);
  if (group < 1) return false;
  cw->out_channels = transpose ? cw->w->dim(1) * group : cw->w->dim(0);
  if (transpose ? cw->w->dim(0) % group != 0 : cw->out_channels % group != 0) return false;
  cw->b = nullptr;
  if (conv.has_input(2)) {
    cw->b = ctx.constant(conv.inputs[2]);
    if (!cw->b || cw->b->dtype() != DType::Float32 || cw->b->rank() != 1 || cw->b->numel() != cw->out_channels)
      return false;
  }
  return true;
}

void fold_affine_into_conv(Graph& g, PassContext& ctx, Node& conv, const ConvWeights& cw, const ChannelAffine& a) {
  const Tensor& w = *cw.w;
  Tensor nw(DType::Float32, w.shape());
  const float* wd = w.data<float>();
  float* nd = nw.data<float>();
  if (conv.op_type == "Conv") {  // [M, C/g, k...]: output channel is axis 0
    int64_t per = w.numel() / w.dim(0);
    for (int64_t m = 0; m < w.dim(0); ++m)
      for (int64_t j = 0; j < per; ++j)
        nd[m * per + j] = static_cast<float>(wd[m * per + j] * a.scale[static_cast<size_t>(m)]);
  } else {  // [C, M/g, k...]: output channel g * (M/g) + axis-1 index, with g = input channel / (C/g)
    int64_t group = conv.attr_int("group", 1);
    int64_t c_in = w.dim(0), m_per = w.dim(1), kk = w.numel() / (c_in * m_per);
    for (int64_t c = 0; c < c_in; ++c) {
      int64_t gi = c / (c_in / group);
      for (int64_t m = 0; m < m_per; ++m)
        for (int64_t j = 0; j < kk; ++j) {
          int64_t at = (c * m_per + m) * kk + j;
          nd[at] = static_cast<float>(wd[at] * a.scale[static_cast<size_t>(gi * m_per + m)]);
        }
    }
  }
  Tensor nb(DType::Float32, {cw.out_channels});
  for (int64_t m = 0; m < cw.out_channels; ++m) {
    double b = cw.b ? cw.b->data<float>()[m] : 0.0;
    nb.data<float>()[m] = static_cast<float>(a.scale[static_cast<size_t>(m)] * b + a.shift[static_cast<size_t>(m)]);
  }
  std::string wn = add_initializer(g, ctx, folded_base(conv.inputs[1]), nw);
  std::string bn =
      add_initializer(g, ctx, folded_base(conv.has_input(2) ? conv.inputs[2] : conv.inputs[1] + "_bias"), nb);
  conv.inputs.resize(3);
  conv.inputs[1] = wn;
  conv.inputs[2] = bn;
}

void scale_conv_inputs(Graph& g, PassContext& ctx, Node& conv, const ConvWeights& cw, const std::vector<double>& s) {
  const Tensor& w = *cw.w;  // [M, C/g, k...]
  Tensor nw(DType::Float32, w.shape());
  const int64_t m_all = w.dim(0), cg = w.dim(1), kk = w.numel() / (m_all * cg);
  const int64_t m_per = m_all / conv.attr_int("group", 1);
  for (int64_t m = 0; m < m_all; ++m)
    for (int64_t c = 0; c < cg; ++c) {
      const double f = s[static_cast<size_t>(m / m_per * cg + c)];
      for (int64_t j = 0; j < kk; ++j) {
        const int64_t at = (m * cg + c) * kk + j;
        nw.data<float>()[at] = static_cast<float>(w.data<float>()[at] * f);
      }
    }
  conv.inputs[1] = add_initializer(g, ctx, folded_base(conv.inputs[1]), nw);
}

bool gemm_weights(const Node& gemm, int64_t opset, const PassContext& ctx, GemmWeights* gw) {
  if (!gemm.domain.empty() || gemm.op_type != "Gemm" || opset < 7 || gemm.inputs.size() < 2 || gemm.outputs.size() != 1)
    return false;
  gw->b = ctx.constant(gemm.inputs[1]);
  if (!gw->b || gw->b->dtype() != DType::Float32 || gw->b->rank() != 2 || !finite_f32(*gw->b)) return false;
  gw->trans_b = gemm.attr_int("transB", 0) != 0;
  gw->alpha = gemm.attr_float("alpha", 1.f);
  gw->beta = gemm.attr_float("beta", 1.f);
  gw->n = gw->trans_b ? gw->b->dim(0) : gw->b->dim(1);
  gw->c = nullptr;
  if (gemm.has_input(2)) {
    gw->c = ctx.constant(gemm.inputs[2]);
    if (!gw->c || gw->c->dtype() != DType::Float32 || gw->c->rank() > 2 || !finite_f32(*gw->c)) return false;
    if (gw->c->rank() >= 1 && gw->c->dim(gw->c->rank() - 1) != 1 && gw->c->dim(gw->c->rank() - 1) != gw->n)
      return false;
  }
  return true;
}

bool addend_2d(const Tensor* c, int64_t m, int64_t n, Addend2D* a) {
  if (!c || c->dtype() != DType::Float32 || c->rank() > 2 || !finite_f32(*c)) return false;
  *a = grid_of(*c);
  if (a->cols != 1 && a->cols != n) return false;
  if (a->rows != 1 && (m < 0 || a->rows != m)) return false;
  return true;
}

bool fold_affine_into_gemm(Graph& g, PassContext& ctx, Node& gemm, const GemmWeights& gw,
                           const std::vector<double>& scale, const Addend2D& add) {
  Addend2D old;
  if (gw.c) old = grid_of(*gw.c);
  if (gw.c && old.rows > 1 && add.rows > 1 && old.rows != add.rows) return false;
  const Tensor& b = *gw.b;
  Tensor nb(DType::Float32, b.shape());
  int64_t r = b.dim(0), c = b.dim(1);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) {
      double s = scale[static_cast<size_t>(gw.trans_b ? i : j)];
      nb.data<float>()[i * c + j] = static_cast<float>(b.data<float>()[i * c + j] * s);
    }
  gemm.inputs[1] = add_initializer(g, ctx, folded_base(gemm.inputs[1]), nb);
  if (!gw.c && all_equal(add.v, 0.0)) return true;  // nothing to add: C stays absent

  int64_t rows = std::max(old.rows, add.rows);
  Tensor nc(DType::Float32, rows > 1 ? Shape{rows, gw.n} : Shape{gw.n});
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < gw.n; ++j) {
      double v = (gw.c ? gw.beta * old.at(i, j) * scale[static_cast<size_t>(j)] : 0.0) + add.at(i, j);
      nc.data<float>()[i * gw.n + j] = static_cast<float>(v);
    }
  std::string base = gemm.has_input(2) ? gemm.inputs[2] : gemm.inputs[1] + "_bias";
  gemm.inputs.resize(3);
  gemm.inputs[2] = add_initializer(g, ctx, folded_base(base), nc);
  set_float_attr(gemm, "beta", 1.f);
  return true;
}

std::string scaled_columns(Graph& g, PassContext& ctx, const std::string& b_name, const Tensor& b,
                           const std::vector<double>& scale) {
  Tensor nb(DType::Float32, b.shape());
  int64_t r = b.dim(0), c = b.dim(1);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j)
      nb.data<float>()[i * c + j] = static_cast<float>(b.data<float>()[i * c + j] * scale[static_cast<size_t>(j)]);
  return add_initializer(g, ctx, folded_base(b_name), nb);
}

bool all_equal(const std::vector<double>& values, double v) {
  for (double x : values)
    if (x != v) return false;
  return true;
}

}  // namespace hone::folding
