// im2col / col2im over 1-3 spatial dims, with every geometry padded to 3-D (leading dims of size 1), so one loop
// nest serves Conv1d/2d/3d; the innermost loop runs contiguously along the last output dim.
#pragma once
#include <cstdint>
#include <vector>

namespace hone::nn {

struct Geom3 {
  int64_t in[3] = {1, 1, 1};    // image dims (Conv input, ConvTranspose output)
  int64_t out[3] = {1, 1, 1};   // window positions (Conv output, ConvTranspose input)
  int64_t k[3] = {1, 1, 1};
  int64_t s[3] = {1, 1, 1};
  int64_t d[3] = {1, 1, 1};
  int64_t pad[3] = {0, 0, 0};   // begin pads
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t k_size() const { return k[0] * k[1] * k[2]; }
  // No im2col needed: 1x1 kernel, unit stride, no padding (the column matrix is the image itself).
  bool is_pointwise() const;
};

// Builds a Geom3 from spatial vectors of length nd (1..3); pads holds begins then ends (ends are implied by out).
Geom3 make_geom3(const std::vector<int64_t>& in, const std::vector<int64_t>& out, const std::vector<int64_t>& kernel,
                 const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                 const std::vector<int64_t>& pads);

// col[(c * K + kpos) * out_size + opos] = image[c, opos * s + kpos * d - pad] (0 outside the image).
template <typename T>
void im2col(const T* image, int64_t channels, const Geom3& g, T* col);

// image[c, opos * s + kpos * d - pad] += col[(c * K + kpos) * out_size + opos] for positions inside the image.
template <typename T>
void col2im_add(const T* col, int64_t channels, const Geom3& g, T* image);

}  // namespace hone::nn
