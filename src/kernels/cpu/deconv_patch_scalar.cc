// The scalar tier of the patch ConvTranspose's product (deconv_patch_microkernels.inc).
#include "kernels/cpu/deconv_patch_microkernels.h"

namespace hone::cpu {
namespace scalar {
#define DECONV_PATCH_NAME deconv_patch_body
#include "kernels/cpu/deconv_patch_microkernels.inc"
#undef DECONV_PATCH_NAME
}  // namespace scalar

void deconv_patch_scalar(const DeconvPatchArgs& a) { scalar::deconv_patch_body(a); }

}  // namespace hone::cpu
