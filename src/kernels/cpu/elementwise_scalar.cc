// The scalar tier: the generic element-wise microkernels over a "vector" of one float, for CPUs without AVX2 and as
// the tier every machine can test.
#include <bit>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/elementwise_microkernels.h"

namespace hone::cpu {
namespace scalar {
namespace {

#include "kernels/cpu/vec_scalar.inc"
#include "kernels/cpu/vec_math.inc"
constexpr const char* kIsaName = "scalar";
#include "kernels/cpu/elementwise_microkernels.inc"

}  // namespace
}  // namespace scalar

const ElementwiseMicrokernels& elementwise_scalar() { return scalar::kTable; }

const ElementwiseMicrokernels& elementwise_for(Isa isa) {
  return pick_tier(isa, elementwise_scalar(), elementwise_avx2(), elementwise_avx512());
}

}  // namespace hone::cpu
