// The AVX2+FMA tier: the generic element-wise microkernels over 8-float vectors, compiled for that target only.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/elementwise_microkernels.h"

// Lambdas here get no AVX function-pointer thunks in practice; GCC warns about them all the same.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC push_options
#pragma GCC target("avx2,fma")
// C++ mode contracts a * b + c into an FMA by default; the exact kernels must round as the reference does.
#pragma GCC optimize("fp-contract=off")

namespace hone::cpu {
namespace avx2 {
namespace {

#include "kernels/cpu/vec_avx2.inc"
#include "kernels/cpu/vec_math.inc"
constexpr const char* kIsaName = "avx2";
#include "kernels/cpu/elementwise_microkernels.inc"

}  // namespace
}  // namespace avx2

const ElementwiseMicrokernels& elementwise_avx2() { return avx2::kTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
