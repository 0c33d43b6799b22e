// The AVX-512 tier (f, bw, vl, dq): the generic element-wise microkernels over 16-float vectors, compiled for that
// target only.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/elementwise_microkernels.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (their _mm512_undefined_* placeholders).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"  // lambdas' unused function-pointer thunks
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
// C++ mode contracts a * b + c into an FMA by default; the exact kernels must round as the reference does.
#pragma GCC optimize("fp-contract=off")

namespace hone::cpu {
namespace avx512 {
namespace {

#include "kernels/cpu/vec_avx512.inc"
#include "kernels/cpu/vec_math.inc"
constexpr const char* kIsaName = "avx512";
#include "kernels/cpu/elementwise_microkernels.inc"

}  // namespace
}  // namespace avx512

const ElementwiseMicrokernels& elementwise_avx512() { return avx512::kTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
