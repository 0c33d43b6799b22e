// Small helpers shared by Hone's own (non-oneDNN) CPU kernels: plan-time type checks, the reference kernel to fall
// back on, and splitting a range over the session's threads.
#pragma once
#include <omp.h>

#include <algorithm>
#include <optional>

#include "runtime/kernel.h"

namespace hone::cpu {

// Below this many elements per thread, waking threads costs more than it saves (~16k floats is a few microseconds).
inline constexpr int64_t kMinElementsPerThread = 16384;

inline bool is_f32_tensor(const TypeInfo* t) { return t && t->is_tensor() && t->elem == DType::Float32; }

inline std::optional<Shape> concrete_shape(const TypeInfo* t) {
  if (!t || !t->shape) return std::nullopt;
  return to_concrete(*t->shape);
}

// The schema whose compute a fast kernel falls back on (and is tested against).
inline const OpSchema& reference_schema(const KernelQuery& q) {
  const OpSchema* s = OpRegistry::instance().find(q.node.domain, q.node.op_type, q.opset);
  if (!s || !s->compute) fail("{}: no reference kernel", q.node.label());
  return *s;
}

// Input `index` as the kernel was planned for it (type and shape); throws naming the node otherwise (`what`: "input",
// "residual input").
inline const Tensor& planned_input(OpContext& ctx, size_t index, DType type, const Shape& shape,
                                   const char* what = "input") {
  const Tensor& t = ctx.input(index);
  if (t.dtype() != type || t.shape() != shape)
    fail("{}: {} is {}[{}] but the kernel was planned for {}[{}]", ctx.node().label(), what, dtype_name(t.dtype()),
         shape_str(t.shape()), dtype_name(type), shape_str(shape));
  return t;
}

// A non-constant rank-4 float activation: what channels-last stores N,H,W,C (kernel.h).
inline bool is_channels_last_input(const KernelQuery& q, size_t i) {
  return i < q.input_types.size() && !q.input_constants[i] && is_layout_tensor(q.input_types[i]);
}

// Calls f(begin, end) over [0, n) in chunks of at least `grain` items (rounded to `align`), in parallel when there
// is enough work for more than one chunk.
template <typename F>
void parallel_chunks(int64_t n, int64_t grain, int threads, F f, int64_t align = 16) {
  int64_t chunks = std::min<int64_t>(std::max(threads, 1), n / std::max<int64_t>(grain, 1));
  if (chunks <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  int64_t per = (n + chunks - 1) / chunks;
  per = (per + align - 1) / align * align;
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t b = c * per, e = std::min(n, b + per);
    if (b < e) f(b, e);
  }
}

// Calls f(o, c0, cols) for the column chunks of `outer` blocks of [n, inner] (a reduction or softmax down n rows,
// vectorized across inner): one chunk per block, or, when there are fewer blocks than threads, each block's columns
// cut into whole 64-column strips, so that one large block still uses every thread.
template <typename F>
void parallel_column_chunks(int64_t outer, int64_t n, int64_t inner, int threads, F f) {
  if (outer * n * inner < 2 * kMinElementsPerThread) threads = 1;
  int64_t chunk = inner;
  if (threads > 1 && outer < threads) chunk = std::max<int64_t>(64, (inner / threads + 63) / 64 * 64);
  int64_t per_block = (inner + chunk - 1) / chunk;
  parallel_chunks(
      outer * per_block, 1, threads,
      [&](int64_t s, int64_t e) {
        for (int64_t item = s; item < e; ++item) {
          int64_t o = item / per_block, c0 = item % per_block * chunk;
          f(o, c0, std::min(chunk, inner - c0));
        }
      },
      1);
}

}  // namespace hone::cpu
