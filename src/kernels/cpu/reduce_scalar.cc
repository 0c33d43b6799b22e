// The scalar tier of the reduction, softmax and layer-norm microkernels, and the choice of tier.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/reduce_microkernels.h"

namespace hone::cpu {
namespace scalar {
namespace {

#include "kernels/cpu/vec_scalar.inc"
#include "kernels/cpu/vec_math.inc"
constexpr const char* kIsaName = "scalar";
#include "kernels/cpu/reduce_microkernels.inc"

}  // namespace
}  // namespace scalar

const ReduceMicrokernels& reduce_scalar() { return scalar::kReduceTable; }

const ReduceMicrokernels& reduce_for(Isa isa) {
  return pick_tier(isa, reduce_scalar(), reduce_avx2(), reduce_avx512());
}

}  // namespace hone::cpu
