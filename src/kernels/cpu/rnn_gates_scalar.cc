// The scalar tier of the recurrent gate microkernels, and the choice of tier.
#include <bit>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/rnn_gate_microkernels.h"

namespace hone::cpu {
namespace scalar {
namespace {

#include "kernels/cpu/vec_scalar.inc"
#include "kernels/cpu/vec_math.inc"
constexpr const char* kIsaName = "scalar";
#include "kernels/cpu/rnn_gate_microkernels.inc"

}  // namespace
}  // namespace scalar

const RnnGateMicrokernels& rnn_gates_scalar() { return scalar::kRnnGateTable; }

const RnnGateMicrokernels& rnn_gates_for(Isa isa) {
  return pick_tier(isa, rnn_gates_scalar(), rnn_gates_avx2(), rnn_gates_avx512());
}

}  // namespace hone::cpu
