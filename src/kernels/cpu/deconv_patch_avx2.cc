// The avx2 tier of the patch ConvTranspose's product (deconv_patch_microkernels.inc).
#include "kernels/cpu/deconv_patch_microkernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace hone::cpu {
namespace avx2 {
#define DECONV_PATCH_NAME deconv_patch_body
#include "kernels/cpu/deconv_patch_microkernels.inc"
#undef DECONV_PATCH_NAME
}  // namespace avx2

void deconv_patch_avx2(const DeconvPatchArgs& a) { avx2::deconv_patch_body(a); }

}  // namespace hone::cpu

#pragma GCC pop_options
