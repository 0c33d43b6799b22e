// The avx512 tier of the small-channel direct convolution (conv_small_microkernels.inc).
#include <utility>

#include "kernels/cpu/conv_small_microkernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")

namespace hone::cpu {
namespace avx512 {
#define CONV_SMALL_NAME conv_small_body
#include "kernels/cpu/conv_small_microkernels.inc"
#undef CONV_SMALL_NAME
}  // namespace avx512

void conv_small_avx512(const ConvSmallArgs& a) { avx512::conv_small_body(a); }

}  // namespace hone::cpu

#pragma GCC pop_options
