// The avx2 tier of the small-channel direct convolution (conv_small_microkernels.inc).
#include <utility>

#include "kernels/cpu/conv_small_microkernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace hone::cpu {
namespace avx2 {
#define CONV_SMALL_NAME conv_small_body
#include "kernels/cpu/conv_small_microkernels.inc"
#undef CONV_SMALL_NAME
}  // namespace avx2

void conv_small_avx2(const ConvSmallArgs& a) { avx2::conv_small_body(a); }

}  // namespace hone::cpu

#pragma GCC pop_options
