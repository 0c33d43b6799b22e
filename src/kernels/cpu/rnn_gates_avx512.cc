// The AVX-512 tier (f, bw, vl, dq) of the recurrent gate microkernels (16-float vectors), compiled for that target
// only.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/cpu/rnn_gate_microkernels.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (their _mm512_undefined_* placeholders).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"  // lambdas taking vector arguments
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#pragma GCC optimize("fp-contract=off")  // every tier rounds as written

namespace hone::cpu {
namespace avx512 {
namespace {

#include "kernels/cpu/vec_avx512.inc"
#include "kernels/cpu/vec_math.inc"
constexpr const char* kIsaName = "avx512";
#include "kernels/cpu/rnn_gate_microkernels.inc"

}  // namespace
}  // namespace avx512

const RnnGateMicrokernels& rnn_gates_avx512() { return avx512::kRnnGateTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
