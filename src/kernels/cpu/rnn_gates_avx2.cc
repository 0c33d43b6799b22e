// The AVX2+FMA tier of the recurrent gate microkernels (8-float vectors), compiled for that target only.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/cpu/rnn_gate_microkernels.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"  // lambdas taking vector arguments
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#pragma GCC optimize("fp-contract=off")  // every tier rounds as written

namespace hone::cpu {
namespace avx2 {
namespace {

#include "kernels/cpu/vec_avx2.inc"
#include "kernels/cpu/vec_math.inc"
constexpr const char* kIsaName = "avx2";
#include "kernels/cpu/rnn_gate_microkernels.inc"

}  // namespace
}  // namespace avx2

const RnnGateMicrokernels& rnn_gates_avx2() { return avx2::kRnnGateTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
