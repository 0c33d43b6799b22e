// AVX-512 VNNI depthwise 8-bit convolution microkernels (q8_dwconv_microkernels.h).
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/q8_dwconv_microkernels.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma")

namespace hone::cpu {

void q8_dw_pack_avx512(const DwPackArgs& a) {
  // Four taps' 16 bytes sit in the four 128-bit lanes; vpermd gathers each lane's dword L of every tap into lane L
  // (tap-major), vpshufb turns that 4x4 byte block channel-major.
  const __m512i lanes = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512i bytes = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  const __m512i flip = _mm512_set1_epi8(a.flip ? static_cast<char>(0x80) : 0);
  const __m512i zero = _mm512_set1_epi8(static_cast<char>(a.zero));
  const int64_t d = a.dilation;
  // Entries whose four columns all fall inside the row: [lo, hi).
  const int64_t lo = a.row ? std::min(a.pad_l, a.quads) : a.quads;
  const int64_t hi = a.row ? std::max(lo, std::min(a.quads, a.w + a.pad_l - 3 * d)) : a.quads;
  {
    const int64_t b = a.block, left = a.c - b * kDwLanes;
    const __mmask16 m = left >= kDwLanes ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
    uint8_t* out = a.out;
    auto tap = [&](int64_t q, int j) -> __m128i {
      int64_t col = q - a.pad_l + j * d;
      if (!a.row || col < 0 || col >= a.w) return _mm512_castsi512_si128(_mm512_xor_si512(zero, flip));
      return _mm_maskz_loadu_epi8(m, a.row + col * a.c + b * kDwLanes);
    };
    auto store = [&](int64_t q, __m512i v) {
      v = _mm512_xor_si512(v, flip);
      _mm512_store_si512(out + q * 64, _mm512_shuffle_epi8(_mm512_permutexvar_epi32(lanes, v), bytes));
    };
    auto edge = [&](int64_t q) {
      __m512i v = _mm512_castsi128_si512(tap(q, 0));
      v = _mm512_inserti32x4(v, tap(q, 1), 1);
      v = _mm512_inserti32x4(v, tap(q, 2), 2);
      v = _mm512_inserti32x4(v, tap(q, 3), 3);
      store(q, v);
    };
    for (int64_t q = 0; q < lo; ++q) edge(q);
    const uint8_t* src = a.row ? a.row + (lo - a.pad_l) * a.c + b * kDwLanes : nullptr;
    const int64_t step = d * a.c;
    for (int64_t q = lo; q < hi; ++q, src += a.c) {
      __m512i v = _mm512_castsi128_si512(_mm_maskz_loadu_epi8(m, src));
      v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(m, src + step), 1);
      v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(m, src + 2 * step), 2);
      v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(m, src + 3 * step), 3);
      store(q, v);
    }
    for (int64_t q = hi; q < a.quads; ++q) edge(q);
  }
}

namespace {

inline __m512 load_any(const void* p, DwType t, __mmask16 m) {
  if (t == DwType::F32) return _mm512_maskz_loadu_ps(m, p);
  __m128i b = _mm_maskz_loadu_epi8(m, p);
  return _mm512_cvtepi32_ps(t == DwType::U8 ? _mm512_cvtepu8_epi32(b) : _mm512_cvtepi8_epi32(b));
}

// The chain on P pixels' v (16 channels from c0 each), step by step over all P, then Y = v * out_mul + out_add
// (rounded to even, saturated). Unlike the reference (apply_post_ops, quantize_value), which rounds each product and
// divides by 6 and by y_scale, this fuses multiply-adds and multiplies by reciprocals and by folded factors: a result
// may differ from the reference's in the last bits, and a quantized one then by a step where that crosses a half.
template <int P>
__attribute__((always_inline)) inline void finish(const DwRowArgs& a, __m512 (&v)[P], int64_t o0, int64_t c0,
                                                  __mmask16 m) {
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.f);
  for (int64_t s = 0; s < a.nsteps; ++s) {
    const DwStep& st = a.steps[s];
    const __m512 pa = _mm512_set1_ps(st.a), pb = _mm512_set1_ps(st.b);
    switch (st.kind) {
      case DwStepKind::Relu:
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) v[p] = _mm512_max_ps(v[p], zero);
        break;
      case DwStepKind::LeakyRelu:
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p)
          v[p] = _mm512_mask_mul_ps(v[p], _mm512_cmp_ps_mask(v[p], zero, _CMP_LT_OQ), v[p], pa);
        break;
      case DwStepKind::Clip:
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) v[p] = _mm512_min_ps(_mm512_max_ps(v[p], pa), pb);
        break;
      case DwStepKind::HardSigmoid:
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) v[p] = _mm512_max_ps(zero, _mm512_min_ps(one, _mm512_fmadd_ps(pa, v[p], pb)));
        break;
      case DwStepKind::HardSwish: {
        const __m512 sixth = _mm512_set1_ps(1.f / 6.f), half = _mm512_set1_ps(0.5f);
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p)
          v[p] = _mm512_mul_ps(v[p], _mm512_max_ps(zero, _mm512_min_ps(one, _mm512_fmadd_ps(v[p], sixth, half))));
        break;
      }
      case DwStepKind::Linear:
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) v[p] = _mm512_fmadd_ps(pa, v[p], pb);
        break;
      case DwStepKind::ChannelMul: {
        const __m512 f = _mm512_loadu_ps(a.channel + c0);
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) v[p] = _mm512_mul_ps(v[p], f);
        break;
      }
      case DwStepKind::Add: {
        const __m512 zs = _mm512_set1_ps(a.z_scale), zz = _mm512_set1_ps(a.z_zero);
        const int64_t e = a.z_type == DwType::F32 ? 4 : 1;
        for (int p = 0; p < P; ++p) {
          __m512 z = load_any(static_cast<const uint8_t*>(a.z) + ((o0 + p) * a.c + c0) * e, a.z_type, m);
          if (a.z_type != DwType::F32) z = _mm512_mul_ps(_mm512_sub_ps(z, zz), zs);
          v[p] = _mm512_add_ps(v[p], z);
        }
        break;
      }
    }
  }
  const __m512 om = _mm512_loadu_ps(a.out_mul + c0), oa = _mm512_loadu_ps(a.out_add + c0);
  if (a.y_type == DwType::F32) {
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p)
      _mm512_mask_storeu_ps(static_cast<float*>(a.y) + (o0 + p) * a.c + c0, m, _mm512_fmadd_ps(v[p], om, oa));
    return;
  }
  // vcvtps2dq rounds to nearest even (the default MXCSR mode, as nearbyint); the narrowing saturates (int8), or does
  // once negatives are 0 (uint8). Narrowed into a register, then stored: the memory form is slower on Zen 4.
  const bool u8 = a.y_type == DwType::U8;
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) {
    __m512i q = _mm512_cvtps_epi32(_mm512_fmadd_ps(v[p], om, oa));
    __m128i b = u8 ? _mm512_cvtusepi32_epi8(_mm512_max_epi32(q, _mm512_setzero_si512())) : _mm512_cvtsepi32_epi8(q);
    asm("" : "+x"(b));
    _mm_mask_storeu_epi8(static_cast<uint8_t*>(a.y) + (o0 + p) * a.c + c0, m, b);
  }
}

// P output columns of one 16-channel block: P independent accumulators hide vpdpbusd's latency.
template <int P>
inline void dw_columns(const DwRowArgs& a, int64_t block, int64_t o0) {
  const int64_t c0 = block * kDwLanes, left = a.c - c0;
  const __m512i comp = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(a.comp + c0));
  __m512i acc[P];  // from -comp: the sum is then acc - comp
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) acc[p] = comp;
  for (int64_t i = 0; i < a.kh; ++i) {
    const uint8_t* r = a.rows[i] + o0 * a.stride * 64;
    for (int64_t g = 0; g < a.groups; ++g) {
      __m512i w = _mm512_loadu_si512(a.weights + ((i * a.groups + g) * a.cp + block * kDwLanes) * 4);
      const uint8_t* base = r + 4 * g * a.dilation * 64;
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p)
        acc[p] = _mm512_dpbusd_epi32(acc[p], _mm512_loadu_si512(base + p * a.stride * 64), w);
    }
  }
  const __mmask16 m = left >= kDwLanes ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
  const __m512 scale = _mm512_loadu_ps(a.scale + c0), bias = _mm512_loadu_ps(a.bias + c0);
  __m512 v[P];
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p)
    v[p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[p]), scale, bias);
  if (a.y) {
    finish<P>(a, v, o0, c0, m);
    return;
  }
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) _mm512_mask_storeu_ps(a.v + (o0 + p) * a.c + c0, m, v[p]);
}

}  // namespace

void q8_dw_row_avx512_vnni(const DwRowArgs& a) {
  constexpr int kP = 8;
  const int64_t b = a.block;
  int64_t o = 0;
  for (; o + kP <= a.ow; o += kP) dw_columns<kP>(a, b, o);
  for (; o + 4 <= a.ow; o += 4) dw_columns<4>(a, b, o);
  for (; o < a.ow; ++o) dw_columns<1>(a, b, o);
}

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
