#include "ops/nn/gemm_loop.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

namespace hone::nn {
namespace {

// Register tile: MR rows of A times NV 16-byte vectors of B (8 floats or 4 doubles) per step of p. 6 x 2 vectors
// keeps 12 accumulators in the 16 SSE registers every x86-64 has.
constexpr int kMR = 6;
constexpr int kNV = 2;
constexpr int64_t kKC = 256;   // depth of a packed block (a B panel of kKC x NR stays in L1)
constexpr int64_t kMC = 96;    // rows of A per packed block (multiple of kMR)
constexpr int64_t kNC = 2048;  // columns of B per packed block

template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(16)));
  static constexpr int kLanes = 16 / sizeof(T);
};

// acc(MR x NR) = sum over kc steps of a_panel[p] (MR values) outer b_panel[p] (NR values); written to `tile`.
template <typename T>
void micro_tile(int64_t kc, const T* __restrict ap, const T* __restrict bp, T* __restrict tile) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::kLanes;
  V acc[kMR][kNV];
#pragma GCC unroll 8
  for (int i = 0; i < kMR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < kNV; ++j) acc[i][j] = V{};
  for (int64_t p = 0; p < kc; ++p) {
    V bv[kNV];
#pragma GCC unroll 4
    for (int j = 0; j < kNV; ++j) std::memcpy(&bv[j], bp + (p * kNV + j) * L, sizeof(V));
#pragma GCC unroll 8
    for (int i = 0; i < kMR; ++i) {
      T av = ap[p * kMR + i];
#pragma GCC unroll 4
      for (int j = 0; j < kNV; ++j) acc[i][j] += av * bv[j];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < kMR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < kNV; ++j) std::memcpy(tile + (i * kNV + j) * L, &acc[i][j], sizeof(V));
}

template <typename T>
void gemm_blocked(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs,
                  int64_t b_cs, T* c, int64_t ldc, bool accumulate) {
  constexpr int64_t NR = kNV * Vec<T>::kLanes;
  if (k == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
    return;
  }
  std::vector<T> bpack(static_cast<size_t>(kKC * ((std::min(n, kNC) + NR - 1) / NR * NR)));
  std::vector<T> apack(static_cast<size_t>(kKC * ((std::min(m, kMC) + kMR - 1) / kMR * kMR)));
  alignas(16) T tile[kMR * NR];
  for (int64_t jc = 0; jc < n; jc += kNC) {
    int64_t nc = std::min(kNC, n - jc);
    for (int64_t pc = 0; pc < k; pc += kKC) {
      int64_t kc = std::min(kKC, k - pc);
      bool overwrite = pc == 0 && !accumulate;
      // Pack B(pc.., jc..) into column panels of NR: panel q holds rows p = 0..kc-1, NR values each, zero past n.
      for (int64_t jr = 0; jr < nc; jr += NR) {
        T* dst = bpack.data() + jr * kc;
        int64_t cols = std::min(NR, nc - jr);
        for (int64_t p = 0; p < kc; ++p) {
          const T* src = b + (pc + p) * b_rs + (jc + jr) * b_cs;
          T* d = dst + p * NR;
          if (b_cs == 1) {
            for (int64_t j = 0; j < cols; ++j) d[j] = src[j];
          } else {
            for (int64_t j = 0; j < cols; ++j) d[j] = src[j * b_cs];
          }
          for (int64_t j = cols; j < NR; ++j) d[j] = T(0);
        }
      }
      for (int64_t ic = 0; ic < m; ic += kMC) {
        int64_t mc = std::min(kMC, m - ic);
        // Pack A(ic.., pc..) into row panels of kMR: panel holds p = 0..kc-1, kMR values each, zero past m.
        for (int64_t ir = 0; ir < mc; ir += kMR) {
          T* dst = apack.data() + ir * kc;
          int64_t rows = std::min<int64_t>(kMR, mc - ir);
          for (int64_t i = 0; i < kMR; ++i) {
            if (i < rows) {
              const T* src = a + (ic + ir + i) * a_rs + pc * a_cs;
              for (int64_t p = 0; p < kc; ++p) dst[p * kMR + i] = src[p * a_cs];
            } else {
              for (int64_t p = 0; p < kc; ++p) dst[p * kMR + i] = T(0);
            }
          }
        }
        for (int64_t jr = 0; jr < nc; jr += NR) {
          int64_t cols = std::min(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            int64_t rows = std::min<int64_t>(kMR, mc - ir);
            micro_tile<T>(kc, apack.data() + ir * kc, bpack.data() + jr * kc, tile);
            for (int64_t i = 0; i < rows; ++i) {
              T* crow = c + (ic + ir + i) * ldc + jc + jr;
              const T* trow = tile + i * NR;
              if (overwrite) {
                for (int64_t j = 0; j < cols; ++j) crow[j] = trow[j];
              } else {
                for (int64_t j = 0; j < cols; ++j) crow[j] += trow[j];
              }
            }
          }
        }
      }
    }
  }
}

// Integers: products and sums wrap modulo 2^bits like numpy's integer matmul (computed in uint64, then truncated).
template <typename T>
void gemm_plain(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs,
                int64_t b_cs, T* c, int64_t ldc, bool accumulate) {
  using W = uint64_t;
  std::vector<W> row(static_cast<size_t>(n));
  for (int64_t i = 0; i < m; ++i) {
    T* crow = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) row[j] = accumulate ? static_cast<W>(crow[j]) : 0;
    for (int64_t p = 0; p < k; ++p) {
      W av = static_cast<W>(a[i * a_rs + p * a_cs]);
      const T* brow = b + p * b_rs;
      for (int64_t j = 0; j < n; ++j) row[j] += av * static_cast<W>(brow[j * b_cs]);
    }
    for (int64_t j = 0; j < n; ++j) crow[j] = static_cast<T>(row[j]);
  }
}

}  // namespace

template <typename T>
void gemm_loop(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs,
               int64_t b_cs, T* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if constexpr (std::is_floating_point_v<T>)
    gemm_blocked(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, accumulate);
  else
    gemm_plain(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, accumulate);
}

#define HONE_GEMM_INSTANTIATE(T)                                                                                    \
  template void gemm_loop<T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t, const T*, int64_t, int64_t, T*, \
                             int64_t, bool);
HONE_GEMM_INSTANTIATE(float)
HONE_GEMM_INSTANTIATE(double)
HONE_GEMM_INSTANTIATE(int8_t)
HONE_GEMM_INSTANTIATE(int16_t)
HONE_GEMM_INSTANTIATE(int32_t)
HONE_GEMM_INSTANTIATE(int64_t)
HONE_GEMM_INSTANTIATE(uint8_t)
HONE_GEMM_INSTANTIATE(uint16_t)
HONE_GEMM_INSTANTIATE(uint32_t)
HONE_GEMM_INSTANTIATE(uint64_t)
#undef HONE_GEMM_INSTANTIATE

}  // namespace hone::nn
