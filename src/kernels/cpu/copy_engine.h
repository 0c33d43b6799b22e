// The copy plans behind the data-movement kernels (copy_kernels.cc, concat_split_kernels.cc): element-size-agnostic
// moves of 1, 2, 4, 8 or 16-byte elements, planned once for concrete shapes and run over byte or element ranges so
// that large copies split over threads.
//   StridedCopy: a contiguous output read through a strided view of the input (Slice, Expand, Tile, a Transpose that
//                keeps its last axis), simplified so that the innermost run is as long as it can be;
//   TileTranspose: a Transpose that moves the last axis, as a blocked 2-D transpose with outer loops;
//   Slabs: contiguous slabs per outer index (Concat joins them, Split cuts them).
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "runtime/kernel.h"

namespace hone::cpu::copy {

// Below this many bytes per thread, starting threads costs more than it saves.
inline constexpr int64_t kMinBytesPerThread = 256 * 1024;

inline int copy_threads(int64_t bytes, int threads) {
  return static_cast<int>(std::clamp<int64_t>(bytes / kMinBytesPerThread, 1, std::max(threads, 1)));
}

// Calls f(begin, end) over [0, n) split into `threads` contiguous ranges (in parallel when threads > 1).
template <typename F>
void parallel_ranges(int64_t n, int threads, F f) {
  threads = static_cast<int>(std::min<int64_t>(threads, n));
  if (threads <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  int64_t per = (n + threads - 1) / threads;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; ++t) {
    int64_t b = t * per, e = std::min(n, b + per);
    if (b < e) f(b, e);
  }
}

// Element types moved as plain bytes: every one but strings (and undefined).
inline bool movable(DType t) {
  if (t == DType::String || t == DType::Undefined) return false;
  size_t s = dtype_size(t);
  return s == 1 || s == 2 || s == 4 || s == 8 || s == 16;
}

struct Elem16 {
  uint64_t lo, hi;
};

// Runs BODY with T an unsigned type as wide as one element.
#define HONE_COPY_DISPATCH(elem, ...)                                  \
  switch (elem) {                                                      \
    case 1: { using T = uint8_t; __VA_ARGS__; break; }                  \
    case 2: { using T = uint16_t; __VA_ARGS__; break; }                 \
    case 4: { using T = uint32_t; __VA_ARGS__; break; }                 \
    case 8: { using T = uint64_t; __VA_ARGS__; break; }                 \
    default: { using T = ::hone::cpu::copy::Elem16; __VA_ARGS__; break; } \
  }

inline std::optional<Shape> concrete(const TypeInfo* t) {
  if (!t || !t->is_tensor() || !t->shape) return std::nullopt;
  return to_concrete(*t->shape);
}

// The reference kernel a copy kernel falls back on.
const OpSchema& reference_of(const KernelQuery& q);

// An integer input's plan-time values: an empty vector when the input is omitted, nullopt when it is fed at run
// time or not an integer tensor.
std::optional<std::vector<int64_t>> constant_ints(const KernelQuery& q, size_t i);

// ---- strided views ----

// dst (contiguous, row-major over `dims` then `run`) = src read at base + sum(idx[d] * stride[d]) + j * run_stride.
struct StridedCopy {
  size_t elem = 1;
  std::vector<int64_t> dims, stride;  // outer dims and their source strides (elements)
  int64_t base = 0;
  int64_t run = 1, run_stride = 1;    // run_stride 1: memcpy, 0: fill with one element, else a strided read
  int64_t numel = 0;
};
inline constexpr size_t kMaxCopyDims = 16;

// Drops size-1 dims and merges neighbours that the source walks contiguously, so the last dim is the longest run.
StridedCopy plan_strided(const Shape& shape, const std::vector<int64_t>& strides, int64_t base, size_t elem);
// Whether a plan fits the copy loops (at most kMaxCopyDims outer dims).
inline bool strided_fits(const StridedCopy& c) { return c.dims.size() <= kMaxCopyDims; }
void run_strided(const StridedCopy& c, const void* src, void* dst, int threads);

// ---- Transpose ----

// The input shape and perm with size-1 axes dropped and axes that stay neighbours merged.
void simplify_transpose(const Shape& in, const std::vector<int64_t>& perm, Shape& rin, std::vector<int64_t>& rperm);

// out[.., i_b (at output position j), .., i_a] = in[.., i_a (axis a), .., i_b (last axis)], tile by tile; the other
// axes and the blocks of i_a are outer loops.
struct TileTranspose {
  size_t elem = 1;
  std::vector<int64_t> dims, src_stride, dst_stride;  // outer loops; the last is the block of i_a
  int64_t m = 1, n = 1;  // lengths of i_a and i_b
  int64_t src_a = 1;     // source stride of i_a (i_b's is 1)
  int64_t dst_b = 1;     // output stride of i_b (i_a's is 1)
  int64_t block = 16;
  int64_t items = 0;
  bool avx2 = false;  // 4-byte elements: 8x8 sub-tiles through AVX2 registers
};
// For a simplified transpose (simplify_transpose) whose last axis moves. `isa` picks the tile code (AVX2 8x8
// register transposes for 4-byte elements, else the plain loops).
TileTranspose plan_tile_transpose(const Shape& rin, const std::vector<int64_t>& rperm, size_t elem, Isa isa);
void run_tile_transpose(const TileTranspose& t, const void* src, void* dst, int threads);

// ---- slabs (Concat, Split) ----

// Per outer index, part k is `bytes[k]` contiguous bytes; all parts together are one row of `total` bytes of the
// joined side.
struct Slabs {
  int64_t outer = 1, total = 0;
  std::vector<int64_t> bytes;
};
Slabs plan_slabs(const std::vector<Shape>& parts, size_t axis, size_t elem);
// Copies bytes [begin, end) of the joined side. join: parts -> joined (Concat); else joined -> parts (Split). A null
// part pointer is an output nobody wants.
void copy_slabs(const Slabs& s, bool join, char* joined, char* const* parts, int64_t begin, int64_t end);

// ---- channels-last (rank-4 float, logical N,C,H,W stored N,H,W,C) ----

// Where a logical axis sits in the N,H,W,C storage.
inline size_t storage_axis(size_t axis) { return axis == 0 ? 0 : axis == 1 ? 3 : axis - 1; }
inline Shape storage_shape(const Shape& nchw) { return {nchw[0], nchw[2], nchw[3], nchw[1]}; }
// A plain tensor's channels-last copy (constant inputs stay plain under channels-last).
Tensor to_channels_last(const Tensor& t);

}  // namespace hone::cpu::copy
