#include "data/dataset.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "data/npy.h"
#include "data/npz.h"

namespace hone::data {
namespace {

namespace fs = std::filesystem;

enum class FileKind { Npy, Npz, Idx };

// What a file holds, from its first bytes: names lie, contents do not.
FileKind sniff(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("{}: no such file or folder", path);
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("{}: cannot open: {}", path, std::strerror(errno));
  unsigned char b[6] = {};
  f.read(reinterpret_cast<char*>(b), sizeof(b));
  const auto got = static_cast<size_t>(f.gcount());
  if (got >= 6 && std::memcmp(b, "\x93NUMPY", 6) == 0) return FileKind::Npy;
  if (got >= 4 && b[0] == 'P' && b[1] == 'K' && (b[2] == 3 || b[2] == 5)) return FileKind::Npz;
  if (got >= 2 && b[0] == 0x1f && b[1] == 0x8b) return FileKind::Idx;  // gzip: IDX as (Fashion-)MNIST ships it
  if (got >= 4 && b[0] == 0 && b[1] == 0) return FileKind::Idx;
  if (got == 0) fail("{}: empty file", path);
  if ((got >= 4 && std::memcmp(b, "\x89PNG", 4) == 0) || (got >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF))
    fail("{}: a single image; a data set of images is a folder of them (give the folder)", path);
  fail("{}: not a .npy, .npz or IDX file (it starts with bytes {:02x} {:02x})", path, b[0], got > 1 ? b[1] : 0);
}

// "file.npz:NAME" -> {"file.npz", "NAME"} when "file.npz" is a file and the whole is not.
std::pair<std::string, std::string> split_member(const std::string& spec) {
  std::error_code ec;
  size_t colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0 || fs::exists(spec, ec)) return {spec, ""};
  std::string file = spec.substr(0, colon);
  if (!fs::is_regular_file(file, ec)) return {spec, ""};
  return {file, spec.substr(colon + 1)};
}

// The array at `spec` (any of the three formats) and the name errors should use for it.
std::pair<Tensor, std::string> read_array(const std::string& spec) {
  auto [path, member] = split_member(spec);
  FileKind kind = sniff(path);
  if (!member.empty() && kind != FileKind::Npz)
    fail("{}: ':{}' names an array of an .npz archive, but {} is not one", spec, member, path);
  if (kind == FileKind::Npy) return {read_npy_file(path), path};
  if (kind == FileKind::Idx) return {read_idx_file(path), path};
  auto arrays = read_npz_file(path);
  if (arrays.empty()) fail("{}: the .npz archive holds no arrays", path);
  if (member.empty()) return {std::move(arrays[0].second), fmt::format("{}:{}", path, arrays[0].first)};
  std::string names;
  for (auto& [name, t] : arrays) {
    if (name == member) return {std::move(t), spec};
    names += (names.empty() ? "" : ", ") + name;
  }
  fail("{}: the archive has no array '{}' (it holds: {})", path, member, names);
}

// "batchx1x28x28", as shape_str writes concrete shapes.
std::string dims_str(const SymShape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? "x" : "") + (s[i].known() ? std::to_string(s[i].value) : s[i].symbol.empty() ? "?" : s[i].symbol);
  return out;
}

// "float32" rather than ONNX's "float".
std::string type_label(DType t) {
  return t == DType::Float32 ? "float32" : t == DType::Float64 ? "float64" : std::string(dtype_name(t));
}

bool numeric(DType t) { return is_float(t) || is_integer(t) || t == DType::Bool; }

// Converts `n` values of type T, one sample after another, to float32: y = x * a[c] + b[c] for channel c of each
// value, with a = scale / stddev and b = -mean / stddev (in double).
struct ChannelMap {
  int64_t channels = 1, inner = 1;  // value i of a sample is in channel (i / inner) % channels
  std::vector<double> a, b;
  bool identity = true;
};

template <typename T>
void convert(const T* src, int64_t n, const ChannelMap& m, float* dst) {
  if (m.channels == 1) {
    const double a = m.a[0], b = m.b[0];
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(static_cast<double>(src[i]) * a + b);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const auto c = static_cast<size_t>((i / m.inner) % m.channels);
    dst[i] = static_cast<float>(static_cast<double>(src[i]) * m.a[c] + m.b[c]);
  }
}

void convert_any(const Tensor& src, int64_t offset, int64_t n, const ChannelMap& m, float* dst) {
  switch (src.dtype()) {
    case DType::Float32:
      if (m.identity) {
        std::memcpy(dst, src.data<float>() + offset, static_cast<size_t>(n) * sizeof(float));
        return;
      }
      return convert(src.data<float>() + offset, n, m, dst);
    case DType::Float64: return convert(src.data<double>() + offset, n, m, dst);
    case DType::UInt8: return convert(src.data<uint8_t>() + offset, n, m, dst);
    case DType::Int8: return convert(src.data<int8_t>() + offset, n, m, dst);
    case DType::UInt16: return convert(src.data<uint16_t>() + offset, n, m, dst);
    case DType::Int16: return convert(src.data<int16_t>() + offset, n, m, dst);
    case DType::Int32: return convert(src.data<int32_t>() + offset, n, m, dst);
    case DType::Int64: return convert(src.data<int64_t>() + offset, n, m, dst);
    default: {
      // Rarer types (float16, bfloat16, bool, unsigned 32/64): the generic accessor.
      std::vector<double> tmp(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) tmp[static_cast<size_t>(i)] = src.get_double(offset + i);
      convert(tmp.data(), n, m, dst);
    }
  }
}

class ArrayDataset : public Dataset {
 public:
  ArrayDataset(Tensor array, std::string label, const DataOptions& o) : array_(std::move(array)), label_(std::move(label)) {
    if (!o.resize.empty() || !o.crop.empty() || o.color)
      fail("{}: resize, crop and color apply to image folders; this is an array of {} [{}]", label_,
           type_label(array_.dtype()), shape_str(array_.shape()));
    if (!numeric(array_.dtype()))
      fail("{}: holds {} values; a data set needs numbers", label_, type_label(array_.dtype()));
    if (array_.rank() == 0) fail("{}: holds a scalar; the first axis of a data set indexes its samples", label_);
    if (o.limit < 0) fail("limit must be positive, got {}", o.limit);
    sample_.assign(array_.shape().begin() + 1, array_.shape().end());
    sample_numel_ = shape_numel(sample_);
    full_ = array_.shape()[0];
    size_ = o.limit > 0 ? std::min(o.limit, full_) : full_;

    const bool floating = is_float(array_.dtype());
    double scale = o.scale ? *o.scale : array_.dtype() == DType::UInt8 ? 1.0 / 255 : 1.0;
    if (!std::isfinite(scale)) fail("scale must be a finite number, got {}", scale);
    map_.identity = floating && !o.scale && o.mean.empty() && o.stddev.empty();
    scale_ = scale;
    mean_std_ = !o.mean.empty() || !o.stddev.empty();
    size_t channels = std::max(o.mean.size(), o.stddev.size());
    if (!o.mean.empty() && !o.stddev.empty() && o.mean.size() != o.stddev.size() && o.mean.size() != 1 &&
        o.stddev.size() != 1)
      fail("mean has {} values and std {}; give one value or one per channel for each", o.mean.size(),
           o.stddev.size());
    if (channels > 1) {
      // The channel axis: first or last of a sample of rank >= 3; smaller samples have one channel.
      if (sample_.size() < 3)
        fail("{}: {} mean/std values given, but samples of shape [{}] have one channel", label_, channels,
             shape_str(sample_));
      const size_t axis = o.layout == Layout::NCHW ? 0 : sample_.size() - 1;
      if (sample_[axis] != static_cast<int64_t>(channels))
        fail("{}: {} mean/std values given, but samples of shape [{}] have {} channels ({} layout)", label_,
             channels, shape_str(sample_), sample_[axis], o.layout == Layout::NCHW ? "nchw" : "nhwc");
      map_.channels = static_cast<int64_t>(channels);
      for (size_t k = axis + 1; k < sample_.size(); ++k) map_.inner *= sample_[k];
    }
    for (size_t c = 0; c < static_cast<size_t>(map_.channels); ++c) {
      double mean = o.mean.empty() ? 0 : o.mean[o.mean.size() == 1 ? 0 : c];
      double sd = o.stddev.empty() ? 1 : o.stddev[o.stddev.size() == 1 ? 0 : c];
      if (!(sd > 0) || !std::isfinite(sd) || !std::isfinite(mean))
        fail("std must be positive and mean finite; got mean {} and std {}", mean, sd);
      map_.a.push_back(scale / sd);
      map_.b.push_back(-mean / sd);
    }
  }

  int64_t size() const override { return size_; }
  int64_t full_size() const override { return full_; }
  const Shape& sample_shape() const override { return sample_; }

  Tensor batch(int64_t first, int64_t count) const override {
    if (first < 0 || count < 0 || first > size_ || count > size_ - first)
      fail("{}: samples {} to {} asked for, the data set has {}", label_, first, first + count - 1, size_);
    Shape shape = {count};
    shape.insert(shape.end(), sample_.begin(), sample_.end());
    Tensor out(DType::Float32, shape);
    convert_any(array_, first * sample_numel_, count * sample_numel_, map_, out.data<float>());
    return out;
  }

  std::string describe() const override {
    std::string s = fmt::format("{}: {} samples of {} [{}]", label_, full_, type_label(array_.dtype()),
                                shape_str(sample_));
    if (size_ < full_) s += fmt::format(", the first {} used", size_);
    if (map_.identity) return s + ", values unchanged";
    return s + fmt::format(", values x * {}{}", scale_ == 1.0 / 255 ? "1/255" : fmt::format("{:g}", scale_),
                           mean_std_ ? " then (x - mean) / std" : "");
  }

 private:
  Tensor array_;
  std::string label_;
  Shape sample_;
  int64_t sample_numel_ = 0, full_ = 0, size_ = 0;
  ChannelMap map_;
  double scale_ = 1;
  bool mean_std_ = false;
};

}  // namespace

std::unique_ptr<Dataset> open_dataset(const std::string& path, const DataOptions& options) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return open_image_folder(path, options);
  auto [array, label] = read_array(path);
  return std::make_unique<ArrayDataset>(std::move(array), std::move(label), options);
}

std::vector<int64_t> read_labels(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("{}: is a folder; labels come from a .npy, .npz or IDX file", path);
  auto [t, label] = read_array(path);
  if (!is_integer(t.dtype()))
    fail("{}: labels must be integers; the file holds {} values", label, dtype_name(t.dtype()));
  if (!(t.rank() == 1 || (t.rank() == 2 && t.shape()[1] == 1)))
    fail("{}: labels must have shape [N] or [N, 1]; the file holds [{}]", label, shape_str(t.shape()));
  std::vector<int64_t> labels = t.to_int64_vector();
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0) fail("{}: label {} (sample {}) is negative", label, labels[i], i);
  if (t.dtype() == DType::UInt64)
    for (size_t i = 0; i < labels.size(); ++i)
      if (t.data<uint64_t>()[i] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail("{}: label {} (sample {}) is out of range", label, t.data<uint64_t>()[i], i);
  return labels;
}

InputBatcher::InputBatcher(const Dataset& data, const ValueInfo& input, int64_t batch)
    : data_(data), input_name_(input.name) {
  const TypeInfo& type = input.type;
  if (type.kind != TypeInfo::Kind::Tensor && type.kind != TypeInfo::Kind::Unknown)
    fail("input '{}' is {}, not a tensor; a data set cannot feed it", input.name, type.str());
  dtype_ = type.elem == DType::Undefined ? DType::Float32 : type.elem;
  if (!(is_float(dtype_) || is_integer(dtype_)) || dtype_size(dtype_) > 8 || is_sub_byte(dtype_) ||
      dtype_bits(dtype_) < 8)
    fail("input '{}' takes {} values; a data set feeds float or integer inputs", input.name, dtype_name(dtype_));
  const Shape& sample = data.sample_shape();
  const int64_t sample_numel = shape_numel(sample);
  if (!type.shape) {  // rank unknown: feed the samples as they are
    if (batch <= 0) fail("batch size must be positive, got {}", batch);
    batch_size_ = batch;
    sample_shape_ = sample;
    return;
  }
  const SymShape& dims = *type.shape;
  if (dims.empty())
    fail("input '{}' is a scalar; a data set feeds a batch of samples along the first dimension", input.name);
  fixed_batch_ = dims[0].known();
  if (fixed_batch_) {
    batch_size_ = dims[0].value;
    if (batch_size_ == 0) fail("input '{}' has a batch dimension of 0 ([{}])", input.name, dims_str(dims));
  } else {
    if (batch <= 0) fail("batch size must be positive, got {}", batch);
    batch_size_ = batch;
  }
  SymShape rest(dims.begin() + 1, dims.end());
  std::optional<Shape> fixed = to_concrete(rest);
  bool fits = false;
  if (fixed) {
    fits = *fixed == sample || shape_numel(*fixed) == sample_numel;
    if (fits) sample_shape_ = *fixed;
  } else if (rest.size() == sample.size()) {
    fits = true;
    for (size_t k = 0; k < rest.size(); ++k) fits = fits && (!rest[k].known() || rest[k].value == sample[k]);
    if (fits) sample_shape_ = sample;
  }
  if (!fits)
    fail("input '{}' takes [{}]{}, which samples of [{}] ({} values) do not fit ({})", input.name, dims_str(dims),
         fixed ? fmt::format(" ({} values a sample)", shape_numel(*fixed)) : std::string(), shape_str(sample),
         sample_numel, data.describe());
}

int64_t InputBatcher::batches() const { return (data_.size() + batch_size_ - 1) / batch_size_; }

int64_t InputBatcher::first_sample(int64_t i) const { return i * batch_size_; }

int64_t InputBatcher::count(int64_t i) const {
  if (i < 0 || i >= batches()) fail("batch {} asked for; there are {}", i, batches());
  return std::min(batch_size_, data_.size() - first_sample(i));
}

Tensor InputBatcher::batch(int64_t i) const {
  const int64_t n = count(i);
  Tensor samples = data_.batch(first_sample(i), n);
  const int64_t rows = fixed_batch_ ? batch_size_ : n;
  Shape shape = {rows};
  shape.insert(shape.end(), sample_shape_.begin(), sample_shape_.end());
  if (dtype_ == DType::Float32 && rows == n) return samples.reshaped(shape);
  Tensor out(dtype_, shape);  // zero-filled: the padding of a short last batch
  const float* src = samples.data<float>();
  if (dtype_ == DType::Float32) {
    std::memcpy(out.raw(), src, samples.nbytes());
    return out;
  }
  const int64_t per_sample = samples.numel() / std::max<int64_t>(n, 1);
  // Integer inputs take exactly representable values only: a silent rounding or wrap-around would be garbage.
  const int bits = dtype_bits(dtype_);
  const double lo = is_signed_integer(dtype_) ? -std::ldexp(1.0, bits - 1) : 0;
  const double hi = is_signed_integer(dtype_) ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1;
  for (int64_t k = 0; k < samples.numel(); ++k) {
    const double v = src[k];
    if (is_integer(dtype_)) {
      if (std::nearbyint(v) != v || v < lo || v > hi)
        fail("input '{}' takes {} values, but sample {} holds {}; integer inputs need integers in range (e.g. "
             "--scale 1 and no mean/std)",
             input_name_, dtype_name(dtype_), first_sample(i) + k / std::max<int64_t>(per_sample, 1), v);
    }
    out.set_double(k, v);
  }
  return out;
}

}  // namespace hone::data
