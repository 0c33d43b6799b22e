#include "ops/nn/im2col.h"

#include <algorithm>

namespace hone::nn {

bool Geom3::is_pointwise() const {
  for (int i = 0; i < 3; ++i)
    if (k[i] != 1 || s[i] != 1 || pad[i] != 0 || in[i] != out[i]) return false;
  return true;
}

Geom3 make_geom3(const std::vector<int64_t>& in, const std::vector<int64_t>& out, const std::vector<int64_t>& kernel,
                 const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                 const std::vector<int64_t>& pads) {
  Geom3 g;
  size_t nd = in.size();
  size_t off = 3 - nd;
  for (size_t i = 0; i < nd; ++i) {
    g.in[off + i] = in[i];
    g.out[off + i] = out[i];
    g.k[off + i] = kernel[i];
    g.s[off + i] = strides[i];
    g.d[off + i] = dilations[i];
    g.pad[off + i] = pads[i];
  }
  return g;
}

namespace {

// Range of output positions o in [0, n_out) for which o * s + koff lies in [0, n_in): [lo, hi).
inline void valid_range(int64_t koff, int64_t s, int64_t n_in, int64_t n_out, int64_t& lo, int64_t& hi) {
  lo = koff >= 0 ? 0 : (-koff + s - 1) / s;
  hi = n_in - koff <= 0 ? 0 : (n_in - koff + s - 1) / s;
  lo = std::min(lo, n_out);
  hi = std::clamp(hi, lo, n_out);
}

}  // namespace

template <typename T>
void im2col(const T* image, int64_t channels, const Geom3& g, T* col) {
  const int64_t osz = g.out_size();
  for (int64_t c = 0; c < channels; ++c) {
    const T* img = image + c * g.in_size();
    for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
      for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
        for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
          T* dst = col + (((c * g.k[0] + k0) * g.k[1] + k1) * g.k[2] + k2) * osz;
          int64_t off2 = k2 * g.d[2] - g.pad[2];
          int64_t lo, hi;
          valid_range(off2, g.s[2], g.in[2], g.out[2], lo, hi);
          for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
            int64_t i0 = o0 * g.s[0] + k0 * g.d[0] - g.pad[0];
            for (int64_t o1 = 0; o1 < g.out[1]; ++o1, dst += g.out[2]) {
              int64_t i1 = o1 * g.s[1] + k1 * g.d[1] - g.pad[1];
              if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1]) {
                std::fill(dst, dst + g.out[2], T(0));
                continue;
              }
              const T* row = img + (i0 * g.in[1] + i1) * g.in[2];
              std::fill(dst, dst + lo, T(0));
              if (g.s[2] == 1) {
                for (int64_t o2 = lo; o2 < hi; ++o2) dst[o2] = row[o2 + off2];
              } else {
                for (int64_t o2 = lo; o2 < hi; ++o2) dst[o2] = row[o2 * g.s[2] + off2];
              }
              std::fill(dst + hi, dst + g.out[2], T(0));
            }
          }
        }
  }
}

template <typename T>
void col2im_add(const T* col, int64_t channels, const Geom3& g, T* image) {
  const int64_t osz = g.out_size();
  for (int64_t c = 0; c < channels; ++c) {
    T* img = image + c * g.in_size();
    for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
      for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
        for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
          const T* src = col + (((c * g.k[0] + k0) * g.k[1] + k1) * g.k[2] + k2) * osz;
          int64_t off2 = k2 * g.d[2] - g.pad[2];
          int64_t lo, hi;
          valid_range(off2, g.s[2], g.in[2], g.out[2], lo, hi);
          for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
            int64_t i0 = o0 * g.s[0] + k0 * g.d[0] - g.pad[0];
            for (int64_t o1 = 0; o1 < g.out[1]; ++o1, src += g.out[2]) {
              int64_t i1 = o1 * g.s[1] + k1 * g.d[1] - g.pad[1];
              if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1]) continue;
              T* row = img + (i0 * g.in[1] + i1) * g.in[2];
              for (int64_t o2 = lo; o2 < hi; ++o2) row[o2 * g.s[2] + off2] += src[o2];
            }
          }
        }
  }
}

template void im2col<float>(const float*, int64_t, const Geom3&, float*);
template void im2col<double>(const double*, int64_t, const Geom3&, double*);
template void col2im_add<float>(const float*, int64_t, const Geom3&, float*);
template void col2im_add<double>(const double*, int64_t, const Geom3&, double*);

}  // namespace hone::nn
