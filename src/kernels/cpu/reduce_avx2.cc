// The AVX2+FMA tier of the reduction, softmax and layer-norm microkernels, compiled for that target only.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/reduce_microkernels.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#pragma GCC optimize("fp-contract=off")  // compensated sums must round as written

namespace hone::cpu {
namespace avx2 {
namespace {

#include "kernels/cpu/vec_avx2.inc"
#include "kernels/cpu/vec_math.inc"
constexpr const char* kIsaName = "avx2";
#include "kernels/cpu/reduce_microkernels.inc"

}  // namespace
}  // namespace avx2

const ReduceMicrokernels& reduce_avx2() { return avx2::kReduceTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
