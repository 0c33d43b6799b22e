// Direct discrete Fourier transform of one strided complex sequence, shared by DFT and STFT.
#pragma once
#include <cmath>
#include <complex>
#include <cstdint>
#include <numbers>
#include <vector>

namespace hone {

// Twiddle factors e^{sign * 2 pi i k / n} for k in [0, n): index them with (j * k) % n so that every angle is
// reduced exactly before the trigonometry.
inline std::vector<std::complex<double>> dft_twiddles(int64_t n, bool inverse) {
  std::vector<std::complex<double>> w(static_cast<size_t>(n));
  double sign = inverse ? 1.0 : -1.0;
  for (int64_t k = 0; k < n; ++k) {
    double a = 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
    w[static_cast<size_t>(k)] = {std::cos(a), sign * std::sin(a)};
  }
  return w;
}

// out[k] = sum_{j < in.size()} in[j] * w[(j * k) % n] for k in [0, out_count); `in` is already zero-padded or
// truncated to at most n entries.
inline void direct_dft(const std::vector<std::complex<double>>& in, const std::vector<std::complex<double>>& w,
                       int64_t n, int64_t out_count, std::vector<std::complex<double>>& out) {
  out.assign(static_cast<size_t>(out_count), {0.0, 0.0});
  for (int64_t k = 0; k < out_count; ++k) {
    std::complex<double> acc = 0;
    for (size_t j = 0; j < in.size(); ++j)
      acc += in[j] * w[static_cast<size_t>((static_cast<int64_t>(j) * k) % n)];
    out[static_cast<size_t>(k)] = acc;
  }
}

}  // namespace hone
