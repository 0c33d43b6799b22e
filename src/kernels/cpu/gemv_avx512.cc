// The AVX-512 tier of the GEMV microkernel: panels of 32 columns (two 16-float registers).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/gemv_microkernels.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (their _mm512_undefined_* placeholders).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")

namespace hone::cpu {
namespace avx512 {
namespace {

struct V {
  using R = __m512;
  static constexpr int W = 16;
  static constexpr int kVectors = 2;
  static constexpr int kAccumulators = 16;  // 16 of the 32 registers
  // Through asm too, so that GCC keeps the loaded weights in a register for all rows instead of reloading them
  // for every asm FMA below.
  static R load(const float* p) {
    R r;
    __asm__("vmovaps %[p], %[r]" : [r] "=v"(r) : [p] "m"(*reinterpret_cast<const R*>(p)));
    return r;
  }
  static R loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, R v) { _mm512_storeu_ps(p, v); }
  static R zero() { return _mm512_setzero_ps(); }
  // acc + broadcast(*x) * b as one FMA with an embedded broadcast of its memory operand, as oneDNN's brgemm does:
  // GCC would otherwise broadcast x into a register once for the panel's two FMAs, an extra instruction per row
  // and k that costs 15-20% when the weights are in L2 and 3 rows keep the FMA units busy.
  static R fma_x(const float* x, R b, R acc) {
    __asm__("vfmadd231ps %[x]%{1to16%}, %[b], %[acc]" : [acc] "+v"(acc) : [b] "v"(b), [x] "m"(*x));
    return acc;
  }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
};

constexpr const char* kIsaName = "avx512";
#include "kernels/cpu/gemv_microkernels.inc"

}  // namespace
}  // namespace avx512

const GemvMicrokernel& gemv_avx512() { return avx512::kMicrokernel; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
