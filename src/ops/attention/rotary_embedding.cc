// RotaryEmbedding (opset 23): rotates the first rotary_embedding_dim features of each head by position-dependent
// angles. Input [batch, heads, seq, head] or [batch, seq, heads * head] (num_heads given); cos/sin caches are
// [max_pos, rot/2] indexed by position_ids [batch, seq], or [batch, seq, rot/2] when position_ids is absent.
// Pairs are (x[k], x[k + rot/2]) or, interleaved, (x[2k], x[2k + 1]).
#include "ops/attention/float_io.h"

namespace hone {
namespace {

void rotary_embedding(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& cos_cache = ctx.input(1);
  const Tensor& sin_cache = ctx.input(2);
  if (x.rank() != 3 && x.rank() != 4) fail("{}: input must be 3-D or 4-D, got {}", n.label(), shape_str(x.shape()));
  if (cos_cache.dtype() != x.dtype() || sin_cache.dtype() != x.dtype())
    fail("{}: cos_cache and sin_cache must have the input's element type", n.label());
  int64_t batch = x.dim(0), heads, seq, head;
  if (x.rank() == 4) {
    heads = x.dim(1);
    seq = x.dim(2);
    head = x.dim(3);
  } else {
    heads = n.attr_int("num_heads", 0);
    if (heads <= 0 || x.dim(2) % heads != 0)
      fail("{}: 3-D input needs a num_heads attribute dividing its hidden size {}", n.label(), x.dim(2));
    seq = x.dim(1);
    head = x.dim(2) / heads;
  }
  int64_t rot = n.attr_int("rotary_embedding_dim", 0);
  if (rot == 0) rot = head;
  if (rot < 0 || rot > head || rot % 2 != 0)
    fail("{}: rotary_embedding_dim {} must be even and at most the head size {}", n.label(), rot, head);
  int64_t half = rot / 2;
  bool interleaved = n.attr_int("interleaved", 0) != 0;

  // Row of the caches for (b, s).
  std::vector<int64_t> rows(static_cast<size_t>(batch * seq));
  if (ctx.has_input(3)) {
    const Tensor& pos = ctx.input(3);
    if (pos.rank() != 2 || pos.dim(0) != batch || pos.dim(1) != seq)
      fail("{}: position_ids must be [{}, {}], got {}", n.label(), batch, seq, shape_str(pos.shape()));
    if (cos_cache.rank() != 2 || sin_cache.shape() != cos_cache.shape() || cos_cache.dim(1) != half)
      fail("{}: with position_ids the caches must be [max_position, {}], got {} and {}", n.label(), half,
           shape_str(cos_cache.shape()), shape_str(sin_cache.shape()));
    std::vector<int64_t> ids = pos.to_int64_vector();
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= cos_cache.dim(0))
        fail("{}: position id {} is outside [0, {})", n.label(), ids[i], cos_cache.dim(0));
      rows[i] = ids[i];
    }
  } else {
    if (cos_cache.rank() != 3 || sin_cache.shape() != cos_cache.shape() || cos_cache.dim(0) != batch ||
        cos_cache.dim(1) != seq || cos_cache.dim(2) != half)
      fail("{}: without position_ids the caches must be [{}, {}, {}], got {} and {}", n.label(), batch, seq, half,
           shape_str(cos_cache.shape()), shape_str(sin_cache.shape()));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
  }

  std::vector<double> in = float_values(x, n), c = float_values(cos_cache, n), s = float_values(sin_cache, n);
  std::vector<double> out = in;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t t = 0; t < seq; ++t) {
        int64_t base = x.rank() == 4 ? ((b * heads + h) * seq + t) * head : ((b * seq + t) * heads + h) * head;
        const double* cr = &c[static_cast<size_t>(rows[static_cast<size_t>(b * seq + t)] * half)];
        const double* sr = &s[static_cast<size_t>(rows[static_cast<size_t>(b * seq + t)] * half)];
        for (int64_t k = 0; k < half; ++k) {
          int64_t i1 = base + (interleaved ? 2 * k : k), i2 = base + (interleaved ? 2 * k + 1 : k + half);
          double x1 = in[static_cast<size_t>(i1)], x2 = in[static_cast<size_t>(i2)];
          out[static_cast<size_t>(i1)] = cr[k] * x1 - sr[k] * x2;
          out[static_cast<size_t>(i2)] = sr[k] * x1 + cr[k] * x2;
        }
      }
  store_float_values(ctx.output_uninitialized(0, x.dtype(), x.shape()), out, n);
}

}  // namespace

HONE_REGISTER_OP({.name = "RotaryEmbedding", .since = 23, .infer = infer_same_as_input, .compute = rotary_embedding});

}  // namespace hone
