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
  switch (isa) {
    case Isa::Scalar: return reduce_scalar();
    case Isa::Avx2: return reduce_avx2();
    case Isa::Avx512:
    case Isa::Avx512Vnni: return reduce_avx512();
  }
  return reduce_scalar();
}

}  // namespace hone::cpu
