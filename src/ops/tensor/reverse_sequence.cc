// ReverseSequence: reverse the first seq_len[b] steps of each batch entry along the time axis.
#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

void reverse_sequence(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& n = ctx.node();
  std::vector<int64_t> lens = input_ints(ctx, 1, "sequence_lens");
  int64_t batch_axis = n.attr_int("batch_axis", 1), time_axis = n.attr_int("time_axis", 0);
  if (x.rank() < 2) fail("{}: input must have rank >= 2", n.label());
  if (!((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0)))
    fail("{}: batch_axis and time_axis must be 0 and 1 in some order", n.label());
  int64_t B = x.dim(static_cast<int>(batch_axis)), Tm = x.dim(static_cast<int>(time_axis));
  if (static_cast<int64_t>(lens.size()) != B) fail("{}: sequence_lens has {} entries for batch {}", n.label(), lens.size(), B);
  for (int64_t l : lens)
    if (l < 0 || l > Tm) fail("{}: sequence length {} is out of range [0, {}]", n.label(), l, Tm);
  int64_t inner = 1;
  for (int d = 2; d < x.rank(); ++d) inner *= x.dim(d);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  if (inner == 0) return;
  // Offset of (batch b, time t) in the leading two dims.
  auto at = [&](int64_t b, int64_t t) { return (time_axis == 0 ? t * B + b : b * Tm + t) * inner; };
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Tm; ++t) {
      int64_t l = lens[static_cast<size_t>(b)];
      int64_t src = t < l ? l - 1 - t : t;
      copy_elements(x, at(b, src), y, at(b, t), inner);
    }
}

}  // namespace

HONE_REGISTER_OP({.name = "ReverseSequence", .since = 10, .infer = infer_same_as_input, .compute = reverse_sequence});

}  // namespace hone
