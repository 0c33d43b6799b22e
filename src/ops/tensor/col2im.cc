// Col2Im (opset 18): the inverse of im2col, summing overlapping block columns back into an image.
#include <cstdlib>

#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

void col2im(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& n = ctx.node();
  std::vector<int64_t> image = input_ints(ctx, 1, "image_shape"), block = input_ints(ctx, 2, "block_shape");
  size_t nd = image.size();
  if (block.size() != nd || nd == 0) fail("{}: image_shape and block_shape must have the same non-zero length", n.label());
  if (x.rank() != 3) fail("{}: input must be 3-D [N, C*prod(block), L]", n.label());
  std::vector<int64_t> dil = n.attr_ints("dilations", std::vector<int64_t>(nd, 1));
  std::vector<int64_t> str = n.attr_ints("strides", std::vector<int64_t>(nd, 1));
  std::vector<int64_t> pads = n.attr_ints("pads", std::vector<int64_t>(2 * nd, 0));
  if (dil.size() != nd || str.size() != nd || pads.size() != 2 * nd) fail("{}: dilations, strides or pads have the wrong length", n.label());
  int64_t block_size = 1, L = 1;
  std::vector<int64_t> blocks(nd);  // sliding positions per spatial dim
  for (size_t d = 0; d < nd; ++d) {
    if (block[d] < 1 || dil[d] < 1 || str[d] < 1 || image[d] < 0 || image[d] > kMaxTensorElements ||
        block[d] > kMaxTensorElements || dil[d] > kMaxTensorElements || str[d] > kMaxTensorElements ||
        std::abs(pads[d]) > kMaxTensorElements || std::abs(pads[d + nd]) > kMaxTensorElements)
      fail("{}: invalid block, dilation, stride or image size", n.label());
    block_size *= block[d];
    if (block_size > kMaxTensorElements) fail("{}: block_shape is too large", n.label());
    int64_t span = image[d] + pads[d] + pads[d + nd] - dil[d] * (block[d] - 1) - 1;
    blocks[d] = span < 0 ? 0 : span / str[d] + 1;
    L *= blocks[d];
    if (L > kMaxTensorElements) fail("{}: too many block positions", n.label());
  }
  int64_t N = x.dim(0);
  if (x.dim(1) % block_size != 0) fail("{}: input dim 1 ({}) is not a multiple of the block size {}", n.label(), x.dim(1), block_size);
  int64_t C = x.dim(1) / block_size;
  if (x.dim(2) != L) fail("{}: input has {} blocks but the shapes give {}", n.label(), x.dim(2), L);
  Shape out{N, C};
  out.insert(out.end(), image.begin(), image.end());
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out);
  int64_t img = shape_numel(image);
  std::vector<double> acc(static_cast<size_t>(shape_numel(out)), 0.0);
  std::vector<int64_t> kidx(nd), lidx(nd);
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t k = 0; k < block_size; ++k) {
      for (size_t d = nd, r = static_cast<size_t>(k); d-- > 0;) {
        kidx[d] = static_cast<int64_t>(r) % block[d];
        r /= static_cast<size_t>(block[d]);
      }
      for (int64_t l = 0; l < L; ++l) {
        int64_t r = l, pos = 0;
        bool inside = true;
        for (size_t d = nd; d-- > 0;) {
          lidx[d] = r % blocks[d];
          r /= blocks[d];
        }
        for (size_t d = 0; d < nd && inside; ++d) {
          int64_t p = lidx[d] * str[d] - pads[d] + kidx[d] * dil[d];
          if (p < 0 || p >= image[d]) inside = false;
          pos = pos * image[d] + p;
        }
        if (inside) acc[static_cast<size_t>(nc * img + pos)] += x.get_double((nc * block_size + k) * L + l);
      }
    }
  for (size_t i = 0; i < acc.size(); ++i) y.set_double(static_cast<int64_t>(i), acc[i]);
}

void infer_col2im(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  auto image = const_ints(ctx, 1), block = const_ints(ctx, 2);
  if (!image) {
    const SymShape* is = ctx.input_shape(1);
    if (is && is->size() == 1 && (*is)[0].known()) ctx.set_output_tensor(0, dt, SymShape(static_cast<size_t>(2 + (*is)[0].value)));
    else ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  SymShape out{s && s->size() == 3 ? (*s)[0] : Dim(), Dim()};
  if (s && s->size() == 3 && (*s)[1].known() && block) {
    int64_t bs = 1;
    for (int64_t b : *block) bs *= b;
    if (bs > 0) out[1] = Dim((*s)[1].value / bs);
  }
  for (int64_t d : *image) out.push_back(Dim(d));
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "Col2Im", .since = 18, .infer = infer_col2im, .compute = col2im});

}  // namespace hone
