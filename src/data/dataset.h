// Data sets for evaluation and calibration: samples read from .npy / .npz arrays, IDX files or a folder of images,
// preprocessed into float32, and cut into batches that fit a model's input. The first axis of an array indexes
// samples; an image folder is one sample per file.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace hone::data {

enum class Layout { NCHW, NHWC };
enum class ColorOrder { RGB, BGR, Gray };

// Preprocessing, in this order: (images) decode, color conversion, resize, center crop; then every value
// x -> (x * scale - mean[c]) / stddev[c]; then (images) the layout.
struct DataOptions {
  // Images only. {S}: the shorter side becomes S, the aspect ratio kept; {H, W}: exactly H x W. Bilinear with
  // half-pixel centers and no antialiasing (as OpenCV's INTER_LINEAR): shrinking by more than 2x aliases.
  std::vector<int64_t> resize;
  // Images only: a center crop of {H, W} ({S}: S x S) after resizing.
  std::vector<int64_t> crop;
  // Multiplier for the stored values. Default: 1/255 for uint8 sources (images included), 1 for other integers;
  // float data is passed through unchanged unless scale, mean or stddev is given.
  std::optional<double> scale;
  // Per channel (one value: every channel), applied after the scale. Empty: mean 0, stddev 1.
  std::vector<double> mean, stddev;
  // Images: the layout of the samples produced, CHW or HWC. Arrays are never transposed; the layout says where
  // their channel axis is for mean/stddev: a sample's first axis (NCHW) or its last (NHWC). Samples of rank < 3
  // have one channel.
  Layout layout = Layout::NCHW;
  // Images only: channel order; Gray is one channel (ITU-R 601-2 luma, as PIL's convert("L")). Default RGB.
  std::optional<ColorOrder> color;
  int64_t limit = 0;   // the first N samples only; 0: all
  int64_t batch = 32;  // batch size for a model input whose batch dimension is symbolic (see InputBatcher)
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  // Samples (after `limit`).
  virtual int64_t size() const = 0;
  // Samples before `limit`: what a labels file must match.
  virtual int64_t full_size() const { return size(); }
  // One sample's shape after preprocessing (float32).
  virtual const Shape& sample_shape() const = 0;
  // Samples [first, first + count) as float32 [count, sample...]. Throws naming the source on a bad range or a
  // sample that cannot be read.
  virtual Tensor batch(int64_t first, int64_t count) const = 0;
  // Class labels known from the data itself (an image folder with one subfolder per class), else null.
  virtual const std::vector<int64_t>* labels() const { return nullptr; }
  // "images.npy: 1000 samples of uint8 [28x28]": for what commands print.
  virtual std::string describe() const = 0;
};

// Opens `path`: a .npy file, a .npz archive ("file.npz" for its first array, "file.npz:NAME" for array NAME), an IDX
// file (plain or gzip; recognized by content, whatever the name) or a folder of PNG/JPEG images. Errors name the
// file and what is wrong with it.
std::unique_ptr<Dataset> open_dataset(const std::string& path, const DataOptions& options);

// Class labels: a .npy (or "file.npz:NAME") of integers or an IDX file of uint8, one label per sample (shape [N] or
// [N, 1]); negative labels are refused.
std::vector<int64_t> read_labels(const std::string& path);

// Batches of a data set fitted to a model input. The input's first dimension is the batch: a fixed one is used as
// it is (a short last batch is padded with zero samples; count() says how many are real), a symbolic one becomes
// `batch` (the last batch is simply shorter). The sample shape must equal the input's other dims, or have the same
// element count when those are all fixed (then reshaped, e.g. IDX 28x28 -> 1x28x28); otherwise the constructor
// throws naming the input and both shapes. Batches take the input's element type: float32, or another numeric
// type the values convert to exactly (integer inputs need integer values in range).
class InputBatcher {
 public:
  InputBatcher(const Dataset& data, const ValueInfo& input, int64_t batch);
  int64_t batches() const;
  Tensor batch(int64_t i) const;  // [batch_size(), sample dims...]; a short last batch only with a symbolic batch dim
  int64_t first_sample(int64_t i) const;
  int64_t count(int64_t i) const;  // real samples in batch i
  int64_t batch_size() const { return batch_size_; }
  bool fixed_batch() const { return fixed_batch_; }
  const Shape& sample_shape() const { return sample_shape_; }  // as fed to the input

 private:
  const Dataset& data_;
  std::string input_name_;
  DType dtype_ = DType::Float32;
  Shape sample_shape_;
  int64_t batch_size_ = 1;
  bool fixed_batch_ = false;
};

}  // namespace hone::data
