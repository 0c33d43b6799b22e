// Folders of PNG / JPEG images as data sets, and the decoding and preprocessing behind them.
//
// Layout: either every image directly in the folder (no labels), or one subfolder per class, ImageNet-style (the
// label is the index of the subfolder in name order; images may sit deeper inside it). Files are taken in byte-wise
// name order, so the order is the same everywhere; hidden entries (".name") and files that are not .png, .jpg or
// .jpeg are skipped (describe() counts them). Links are followed only when they stay inside the folder.
//
// Decoding uses libpng and libjpeg-turbo, the maintained and fuzzed reference decoders. Pixels come out as PIL's
// Image.convert("RGB") / convert("L") give them: palettes expanded, alpha dropped (not composited), 16-bit samples
// cut to their high byte, gray replicated to RGB, RGB to gray as ITU-R 601-2 luma (L = (19595 R + 38470 G +
// 7471 B + 32768) >> 16). Damaged or truncated files, CMYK JPEGs and images wider or taller than 32768 pixels are
// refused with an error naming the file.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace hone::data {

inline constexpr int64_t kMaxImageSide = 32768;

// 8-bit pixels, row-major height x width x channels; channels 1 (gray) or 3 (RGB).
struct Image {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// PNG or JPEG, told apart by content. `label` names the source in errors. Gray stays one channel; everything else
// becomes RGB.
Image decode_image(const void* data, size_t size, const std::string& label);
Image decode_image_file(const std::string& path);
// Width and height from the header alone (no pixel data decoded).
std::pair<int64_t, int64_t> image_size(const void* data, size_t size, const std::string& label);

// One channel (gray) or three (RGB), converted as described above.
Image to_channels(const Image& img, int64_t channels);

// Float pixels, row-major height x width x channels, for the steps after decoding.
struct FloatImage {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<float> pixels;
};
// Bilinear resize with half-pixel centers (source = (dest + 0.5) * in / out - 0.5, clamped to the edges), no
// antialiasing: what OpenCV's INTER_LINEAR and PyTorch's interpolate(align_corners=False, antialias=False) compute.
FloatImage resize_bilinear(const Image& img, int64_t height, int64_t width);
// The size `resize` ({S} or {H, W}) gives an image of height x width: {S} sets the shorter side to S and the longer
// to floor(S * long / short), as torchvision's Resize(S) does.
std::pair<int64_t, int64_t> resized_size(int64_t height, int64_t width, const std::vector<int64_t>& resize);
// Top-left corner of a centered crop: round((size - crop) / 2), halves to even, as torchvision's CenterCrop.
int64_t crop_offset(int64_t size, int64_t crop);

// The folder as a data set (open_dataset calls this for folders).
std::unique_ptr<Dataset> open_image_folder(const std::string& path, const DataOptions& options);

}  // namespace hone::data
