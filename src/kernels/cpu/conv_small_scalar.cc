// The scalar tier of the small-channel direct convolution (conv_small_microkernels.inc).
#include <utility>

#include "kernels/cpu/conv_small_microkernels.h"

namespace hone::cpu {
namespace scalar {
#define CONV_SMALL_NAME conv_small_body
#include "kernels/cpu/conv_small_microkernels.inc"
#undef CONV_SMALL_NAME
}  // namespace scalar

void conv_small_scalar(const ConvSmallArgs& a) { scalar::conv_small_body(a); }

}  // namespace hone::cpu
