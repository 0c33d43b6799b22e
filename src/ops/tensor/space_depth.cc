// DepthToSpace (DCR / CRD) and SpaceToDepth: move blocksize x blocksize pixel blocks between channels and space.
#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

int64_t blocksize_of(const Node& n) {
  int64_t b = n.require_int("blocksize");
  if (b < 1 || b > 4096) fail("{}: blocksize {} is out of range [1, 4096]", n.label(), b);
  return b;
}

bool crd_mode(const OpContext& ctx) {
  std::string m = ctx.opset() >= 11 ? ctx.node().attr_string("mode", "DCR") : "DCR";
  if (m != "DCR" && m != "CRD") fail("{}: unknown mode '{}'", ctx.node().label(), m);
  return m == "CRD";
}

void depth_to_space(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& n = ctx.node();
  int64_t b = blocksize_of(n);
  if (x.rank() != 4) fail("{}: input must be 4-D (NCHW)", n.label());
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  if (C % (b * b) != 0) fail("{}: channels {} are not divisible by blocksize^2 = {}", n.label(), C, b * b);
  int64_t oc = C / (b * b);
  bool crd = crd_mode(ctx);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), {N, oc, H * b, W * b});
  int64_t i = 0;
  for (int64_t nn = 0; nn < N; ++nn)
    for (int64_t c = 0; c < oc; ++c)
      for (int64_t h = 0; h < H * b; ++h)
        for (int64_t w = 0; w < W * b; ++w) {
          int64_t bh = h % b, bw = w % b;
          int64_t ic = crd ? (c * b + bh) * b + bw : (bh * b + bw) * oc + c;
          copy_elements(x, ((nn * C + ic) * H + h / b) * W + w / b, y, i++, 1);
        }
}

void infer_depth_to_space(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  int64_t b = blocksize_of(ctx.node());
  if (!s || s->size() != 4) {
    ctx.set_output_tensor(0, ctx.input_dtype(0), SymShape(4));
    return;
  }
  auto mul = [](const Dim& d, int64_t f) { return d.known() ? Dim(d.value * f) : Dim(); };
  const Dim& c = (*s)[1];
  ctx.set_output_tensor(0, ctx.input_dtype(0),
                        SymShape{(*s)[0], c.known() ? Dim(c.value / (b * b)) : Dim(), mul((*s)[2], b), mul((*s)[3], b)});
}

void space_to_depth(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& n = ctx.node();
  int64_t b = blocksize_of(n);
  if (x.rank() != 4) fail("{}: input must be 4-D (NCHW)", n.label());
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  if (H % b || W % b) fail("{}: spatial dims {}x{} are not divisible by blocksize {}", n.label(), H, W, b);
  int64_t oh = H / b, ow = W / b;
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), {N, C * b * b, oh, ow});
  int64_t i = 0;
  for (int64_t nn = 0; nn < N; ++nn)
    for (int64_t oc = 0; oc < C * b * b; ++oc)
      for (int64_t h = 0; h < oh; ++h)
        for (int64_t w = 0; w < ow; ++w) {
          int64_t blk = oc / C, c = oc % C, bh = blk / b, bw = blk % b;
          copy_elements(x, ((nn * C + c) * H + h * b + bh) * W + w * b + bw, y, i++, 1);
        }
}

void infer_space_to_depth(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  int64_t b = blocksize_of(ctx.node());
  if (!s || s->size() != 4) {
    ctx.set_output_tensor(0, ctx.input_dtype(0), SymShape(4));
    return;
  }
  auto div = [b](const Dim& d) { return d.known() ? Dim(d.value / b) : Dim(); };
  const Dim& c = (*s)[1];
  ctx.set_output_tensor(0, ctx.input_dtype(0),
                        SymShape{(*s)[0], c.known() ? Dim(c.value * b * b) : Dim(), div((*s)[2]), div((*s)[3])});
}

}  // namespace

HONE_REGISTER_OP({.name = "DepthToSpace", .since = 1, .infer = infer_depth_to_space, .compute = depth_to_space});
HONE_REGISTER_OP({.name = "SpaceToDepth", .since = 1, .infer = infer_space_to_depth, .compute = space_to_depth});

}  // namespace hone
