// The avx512 tier of the patch ConvTranspose's product (deconv_patch_microkernels.inc).
#include "kernels/cpu/deconv_patch_microkernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")

namespace hone::cpu {
namespace avx512 {
#define DECONV_PATCH_NAME deconv_patch_body
#include "kernels/cpu/deconv_patch_microkernels.inc"
#undef DECONV_PATCH_NAME
}  // namespace avx512

void deconv_patch_avx512(const DeconvPatchArgs& a) { avx512::deconv_patch_body(a); }

}  // namespace hone::cpu

#pragma GCC pop_options
