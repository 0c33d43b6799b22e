// The gate math of one (direction, batch entry) row of an LSTM or GRU time step, fused: each vector of hidden units
// goes from pre-activations to the new state in registers. One table per ISA tier (scalar, AVX2+FMA, AVX-512), all
// compiled from rnn_gate_microkernels.inc over the tier's `struct V`, with the shared sigmoid/tanh approximations of
// vec_math.inc. The matmuls that produce the pre-activations, threading and sequence lengths live in rnn_kernels.cc.
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace hone::cpu {

// ONNX LSTM, gates in ONNX order i, o, f, c:
//   i = s(x_i + r_i + P_i . C), f = s(x_f + r_f + P_f . C) (1 - i with input_forget), c = t(x_c + r_c),
//   C' = f . C + i . c, o = s(x_o + r_o + P_o . C'), H' = o . t(C')
// with every gate's input clipped to [-clip, clip] (pass clip = inf for none).
struct LstmRow {
  const float* x;     // [4H] input projection with both biases
  const float* rec;   // [4H] H_{t-1} R^T
  const float* peep;  // [3H] (i, o, f), or null
  float* c;           // [H] C_{t-1} in, C_t out
  float* h;           // [H] H_t out
  int64_t hidden;
  float clip;
  bool input_forget;
};

// ONNX GRU, gates z, r, h. With linear_before_reset (gru_linear):
//   z = s(x_z + r_z), r = s(x_r + r_r), h = t(x_h + r . (r_h + Rb_h)), H' = (1 - z) . h + z . H
// Without it the step needs (r . H) Rh^T in between: gru_update_reset writes z over rec[0, H) and r . H to `rh`;
// gru_hidden then reads z from rec and the product's result from `rec_h`: h = t(x_h + rec_h).
struct GruRow {
  const float* x;      // [3H] input projection (x_h holds Rb_h too unless linear_before_reset)
  float* rec;          // [3H] or, without linear_before_reset, [2H]: z and r pre-activations (z overwritten)
  const float* rec_h;  // gru_hidden: [H] (r . H) Rh^T
  const float* rbh;    // gru_linear: [H] Rb_h
  float* rh;           // gru_update_reset: [H] r . H out
  float* h;            // [H] H_{t-1} in, H_t out (gru_linear, gru_hidden)
  int64_t hidden;
  float clip;
};

using LstmRowFn = void (*)(const LstmRow&);
using GruRowFn = void (*)(const GruRow&);

struct RnnGateMicrokernels {
  const char* isa;  // "scalar", "avx2", "avx512": the suffix of kernel names
  LstmRowFn lstm;
  GruRowFn gru_linear;
  GruRowFn gru_update_reset;
  GruRowFn gru_hidden;
};

const RnnGateMicrokernels& rnn_gates_scalar();
const RnnGateMicrokernels& rnn_gates_avx2();
const RnnGateMicrokernels& rnn_gates_avx512();
// The table for a tier (tiers above avx512 use the avx512 one).
const RnnGateMicrokernels& rnn_gates_for(Isa isa);

}  // namespace hone::cpu
