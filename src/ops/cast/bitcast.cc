// BitCast (26): the same bits read as another type of the same width; the shape is unchanged. Sub-byte types are held
// one per byte (int4/int2 sign-extended), so their bits are the low bits of each byte.
#include <cstring>

#include "ops/op_helpers.h"

namespace hone {
namespace {

DType bitcast_target(const Node& node, DType from) {
  int64_t code = node.require_int("to");
  if (!dtype_is_valid(static_cast<int32_t>(code)) || code != static_cast<int32_t>(code))
    fail("{}: 'to' = {} is not an element type", node.label(), code);
  auto to = static_cast<DType>(code);
  if (to == DType::String || from == DType::String) fail("{}: BitCast does not take strings", node.label());
  if (from != DType::Undefined && dtype_bits(from) != dtype_bits(to))
    fail("{}: cannot bitcast {} ({} bits) to {} ({} bits)", node.label(), dtype_name(from), dtype_bits(from),
         dtype_name(to), dtype_bits(to));
  return to;
}

void bitcast(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  DType to = bitcast_target(ctx.node(), x.dtype());
  Tensor& y = ctx.output_uninitialized(0, to, x.shape());
  if (!is_sub_byte(to)) {
    if (x.nbytes()) std::memcpy(y.raw(), x.raw(), x.nbytes());
    return;
  }
  int bits = dtype_bits(to);
  auto mask = static_cast<uint8_t>((1u << bits) - 1);
  bool sign = to == DType::Int4 || to == DType::Int2;
  const uint8_t* px = x.data<uint8_t>();
  uint8_t* py = y.data<uint8_t>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    int v = px[i] & mask;
    if (sign && v >= (1 << (bits - 1))) v -= 1 << bits;
    py[i] = static_cast<uint8_t>(static_cast<int8_t>(v));
  }
}

void infer_bitcast(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, bitcast_target(ctx.node(), ctx.input_dtype(0)), s ? std::optional<SymShape>(*s) : std::nullopt);
}

}  // namespace

HONE_REGISTER_OP({.name = "BitCast", .since = 26, .infer = infer_bitcast, .compute = bitcast});

}  // namespace hone
