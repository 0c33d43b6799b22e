#include "data/image_folder.h"

#include <fcntl.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>

// jpeglib.h needs <cstdio> first.
#include <jpeglib.h>
#include <jerror.h>

#include "core/error.h"

namespace hone::data {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxImagePixels = int64_t{1} << 28;   // 16384 x 16384
constexpr int64_t kMaxImageFileBytes = int64_t{1} << 28;  // 256 MiB

void check_size(int64_t width, int64_t height, const std::string& label) {
  if (width <= 0 || height <= 0) fail("{}: image of {}x{} pixels has no pixels", label, width, height);
  if (width > kMaxImageSide || height > kMaxImageSide || width * height > kMaxImagePixels)
    fail("{}: image of {}x{} pixels is too large (at most {} a side and {} pixels); refusing to decode it", label,
         width, height, kMaxImageSide, kMaxImagePixels);
}

// ---- PNG (libpng). Its errors longjmp back to the setjmp of the function that called into it; those functions
// keep no C++ objects of their own, so nothing is skipped, and the message is thrown from the caller.

struct PngState {
  const uint8_t* data = nullptr;
  size_t size = 0, pos = 0;
  char message[256] = {};
};

void png_on_error(png_structp png, png_const_charp msg) {
  auto* s = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof(s->message), "%s", msg);
  png_longjmp(png, 1);
}
void png_on_warning(png_structp, png_const_charp) {}  // ancillary problems (bad CRC of a text chunk, ...) are benign

void png_read_bytes(png_structp png, png_bytep out, size_t n) {
  auto* s = static_cast<PngState*>(png_get_io_ptr(png));
  if (n > s->size - s->pos) png_error(png, "unexpected end of file (truncated)");
  std::memcpy(out, s->data + s->pos, n);
  s->pos += n;
}

struct PngInfo {
  png_uint_32 width = 0, height = 0;
  int channels = 0;  // after the transformations: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  size_t rowbytes = 0;
};

// The header, then the transformations to 8-bit gray / gray+alpha / RGB / RGBA. False (message set) on error.
bool png_start(png_structp png, png_infop info, PngInfo* out, bool header_only) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  int bit_depth = 0, color_type = 0;
  png_get_IHDR(png, info, &out->width, &out->height, &bit_depth, &color_type, nullptr, nullptr, nullptr);
  if (header_only) return true;
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (bit_depth == 16) png_set_strip_16(png);  // the high byte, as PIL reads 16-bit RGB
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out->channels = png_get_channels(png, info);
  out->rowbytes = png_get_rowbytes(png, info);
  return true;
}

bool png_finish(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, nullptr);
  return true;
}

Image decode_png(const uint8_t* data, size_t size, const std::string& label, bool header_only) {
  PngState state{.data = data, .size = size};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_on_error, png_on_warning);
  if (!png) fail("{}: cannot start the PNG decoder", label);
  png_infop info = png_create_info_struct(png);
  struct Cleanup {
    png_structp* png;
    png_infop* info;
    ~Cleanup() { png_destroy_read_struct(png, info, nullptr); }
  } cleanup{&png, &info};
  if (!info) fail("{}: cannot start the PNG decoder", label);
  png_set_read_fn(png, &state, png_read_bytes);

  PngInfo pi;
  if (!png_start(png, info, &pi, header_only)) fail("{}: bad PNG: {}", label, state.message);
  check_size(pi.width, pi.height, label);
  Image img{.height = pi.height, .width = pi.width, .channels = 0, .pixels = {}};
  if (header_only) return img;
  if (pi.channels < 1 || pi.channels > 4 || pi.rowbytes != static_cast<size_t>(pi.width) * pi.channels)
    fail("{}: unsupported PNG layout ({} channels, {} bytes a row)", label, pi.channels, pi.rowbytes);
  std::vector<uint8_t> raw(pi.rowbytes * pi.height);
  std::vector<png_bytep> rows(pi.height);
  for (size_t y = 0; y < pi.height; ++y) rows[y] = raw.data() + y * pi.rowbytes;
  if (!png_finish(png, rows.data())) fail("{}: bad PNG: {}", label, state.message);

  // Alpha is dropped, not composited: what PIL's convert("RGB") / convert("L") do.
  const int64_t n = img.height * img.width;
  const int in = pi.channels, keep = in >= 3 ? 3 : 1;
  img.channels = keep;
  if (in == keep) {
    img.pixels = std::move(raw);
    return img;
  }
  img.pixels.resize(static_cast<size_t>(n * keep));
  for (int64_t p = 0; p < n; ++p)
    for (int c = 0; c < keep; ++c) img.pixels[static_cast<size_t>(p * keep + c)] = raw[static_cast<size_t>(p * in + c)];
  return img;
}

// ---- JPEG (libjpeg-turbo), with the same setjmp discipline.

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_on_error(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegError*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

// Warnings that mean the data is damaged are errors: a truncated or corrupt file would otherwise decode into gray
// or smeared pixels without a word.
void jpeg_on_message(j_common_ptr c, int level) {
  if (level >= 0) return;
  switch (c->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL: jpeg_on_error(c); return;
    default: return;
  }
}

struct JpegDecoder {
  jpeg_decompress_struct c{};
  JpegError err{};
  bool created = false;
  ~JpegDecoder() {
    if (created) jpeg_destroy_decompress(&c);
  }
};

bool jpeg_start(JpegDecoder* d, const uint8_t* data, size_t size) {
  d->c.err = jpeg_std_error(&d->err.mgr);
  d->err.mgr.error_exit = jpeg_on_error;
  d->err.mgr.emit_message = jpeg_on_message;
  if (setjmp(d->err.jump)) return false;
  jpeg_create_decompress(&d->c);
  d->created = true;
  jpeg_mem_src(&d->c, data, static_cast<unsigned long>(size));
  jpeg_read_header(&d->c, TRUE);
  return true;
}

bool jpeg_finish(JpegDecoder* d, uint8_t* out, size_t row_bytes) {
  if (setjmp(d->err.jump)) return false;
  jpeg_start_decompress(&d->c);
  while (d->c.output_scanline < d->c.output_height) {
    JSAMPROW row = out + static_cast<size_t>(d->c.output_scanline) * row_bytes;
    jpeg_read_scanlines(&d->c, &row, 1);
  }
  jpeg_finish_decompress(&d->c);
  return true;
}

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& label, bool header_only) {
  auto d = std::make_unique<JpegDecoder>();
  if (!jpeg_start(d.get(), data, size)) fail("{}: bad JPEG: {}", label, d->err.message);
  const int64_t w = d->c.image_width, h = d->c.image_height;
  check_size(w, h, label);
  Image img{.height = h, .width = w, .channels = 0, .pixels = {}};
  if (header_only) return img;
  switch (d->c.jpeg_color_space) {
    case JCS_GRAYSCALE: d->c.out_color_space = JCS_GRAYSCALE; img.channels = 1; break;
    case JCS_YCbCr:
    case JCS_RGB: d->c.out_color_space = JCS_RGB; img.channels = 3; break;
    case JCS_CMYK:
    case JCS_YCCK: fail("{}: CMYK JPEG images are not supported (convert it to RGB first)", label);
    default: fail("{}: JPEG color space {} is not supported", label, static_cast<int>(d->c.jpeg_color_space));
  }
  img.pixels.resize(static_cast<size_t>(h * w * img.channels));
  if (!jpeg_finish(d.get(), img.pixels.data(), static_cast<size_t>(w * img.channels)))
    fail("{}: bad JPEG: {}", label, d->err.message);
  return img;
}

Image decode(const void* data, size_t size, const std::string& label, bool header_only) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (size >= 8 && png_sig_cmp(p, 0, 8) == 0) return decode_png(p, size, label, header_only);
  if (size >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return decode_jpeg(p, size, label, header_only);
  if (size == 0) fail("{}: empty file", label);
  fail("{}: neither a PNG nor a JPEG image", label);
}

// ---- The folder.

bool inside(const fs::path& root, const fs::path& p) {
  fs::path rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

bool image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

bool hidden(const fs::path& p) { return p.filename().string().starts_with("."); }

// A link that leads out of the folder is refused; one that stays inside is fine.
fs::path resolve_inside(const fs::path& root, const fs::path& p) {
  std::error_code ec;
  fs::path real = fs::canonical(p, ec);
  if (ec) fail("{}: cannot resolve: {}", p.string(), ec.message());
  if (!inside(root, real))
    fail("{}: leads outside the folder {} (to {}); refusing to read it", p.string(), root.string(), real.string());
  return real;
}

std::vector<uint8_t> read_inside(const fs::path& root, const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path.string(), std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // What was opened, not what the name says now: a link swapped in after the folder was listed is still caught.
  std::error_code ec;
  fs::path real = fs::read_symlink(fs::path("/proc/self/fd") / std::to_string(fd), ec);
  if (ec) real = fs::canonical(path, ec);
  if (ec || !inside(root, real))
    fail("{}: leads outside the folder {}; refusing to read it", path.string(), root.string());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) fail("{}: not a regular file", path.string());
  if (st.st_size > kMaxImageFileBytes)
    fail("{}: {} bytes is too large for an image file (at most {})", path.string(), st.st_size, kMaxImageFileBytes);
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("{}: cannot read: {}", path.string(), std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

class ImageFolderDataset : public Dataset {
 public:
  ImageFolderDataset(const std::string& path, const DataOptions& o) : label_(path), o_(o) {
    std::error_code ec;
    root_ = fs::canonical(path, ec);
    if (ec) fail("{}: cannot open the folder: {}", path, ec.message());
    list_files();
    check_options();
    full_ = static_cast<int64_t>(files_.size());
    if (o_.limit < 0) fail("limit must be positive, got {}", o_.limit);
    size_ = o_.limit > 0 ? std::min(o_.limit, full_) : full_;
    if (has_labels_) labels_.resize(static_cast<size_t>(size_));

    channels_ = o_.color == ColorOrder::Gray ? 1 : 3;
    if (!o_.crop.empty()) {
      out_h_ = o_.crop[0], out_w_ = o_.crop.size() == 2 ? o_.crop[1] : o_.crop[0];
    } else if (o_.resize.size() == 2) {
      out_h_ = o_.resize[0], out_w_ = o_.resize[1];
    } else {  // every image must come out as large as the first
      std::vector<uint8_t> bytes = read_inside(root_, files_[0]);
      auto [h, w] = image_size(bytes.data(), bytes.size(), files_[0].string());
      std::tie(out_h_, out_w_) = o_.resize.empty() ? std::pair(h, w) : resized_size(h, w, o_.resize);
    }
    sample_ = o_.layout == Layout::NCHW ? Shape{channels_, out_h_, out_w_} : Shape{out_h_, out_w_, channels_};
  }

  int64_t size() const override { return size_; }
  int64_t full_size() const override { return full_; }
  const Shape& sample_shape() const override { return sample_; }
  const std::vector<int64_t>* labels() const override { return has_labels_ ? &labels_ : nullptr; }

  Tensor batch(int64_t first, int64_t count) const override {
    if (first < 0 || count < 0 || first > size_ || count > size_ - first)
      fail("{}: samples {} to {} asked for, the folder has {} images", label_, first, first + count - 1, size_);
    Shape shape = {count};
    shape.insert(shape.end(), sample_.begin(), sample_.end());
    Tensor out(DType::Float32, shape);
    const int64_t per_sample = shape_numel(sample_);
    for (int64_t i = 0; i < count; ++i) preprocess(first + i, out.data<float>() + i * per_sample);
    return out;
  }

  std::string describe() const override {
    std::string s = fmt::format("{}: {} images", label_, full_);
    if (has_labels_) s += fmt::format(" in {} classes", classes_.size());
    if (size_ < full_) s += fmt::format(", the first {} used", size_);
    s += fmt::format(", as float32 [{}], values x * {}{}", shape_str(sample_),
                     a_scale_ == 1.0 / 255 ? "1/255" : fmt::format("{:g}", a_scale_),
                     o_.mean.empty() && o_.stddev.empty() ? "" : " then (x - mean) / std");
    if (skipped_) s += fmt::format(" ({} other file{} skipped)", skipped_, skipped_ == 1 ? "" : "s");
    return s;
  }

 private:
  void list_files() {
    std::vector<fs::path> entries;
    std::error_code ec;
    for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec))
      if (!hidden(it->path())) entries.push_back(it->path());
    if (ec) fail("{}: cannot list the folder: {}", label_, ec.message());
    std::sort(entries.begin(), entries.end());
    std::vector<fs::path> dirs, images;
    for (const fs::path& e : entries) {
      fs::path real = resolve_inside(root_, e);
      if (fs::is_directory(real)) dirs.push_back(e);
      else if (fs::is_regular_file(real) && image_name(e)) images.push_back(e);
      else ++skipped_;
    }
    if (!dirs.empty() && !images.empty())
      fail("{}: holds both images ({}) and subfolders ({}); a data folder is either flat (one image per file, no "
           "labels) or one subfolder per class",
           label_, images[0].filename().string(), dirs[0].filename().string());
    if (dirs.empty()) {
      files_ = std::move(images);
    } else {
      has_labels_ = true;
      for (size_t k = 0; k < dirs.size(); ++k) {
        classes_.push_back(dirs[k].filename().string());
        std::vector<fs::path> found;
        fs::path dir = resolve_inside(root_, dirs[k]);
        for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
          if (hidden(it->path())) {
            if (it->is_directory()) it.disable_recursion_pending();
            continue;
          }
          fs::path real = resolve_inside(root_, it->path());
          if (fs::is_regular_file(real) && image_name(it->path())) found.push_back(it->path());
          else if (!fs::is_directory(it->symlink_status())) ++skipped_;  // linked folders are not entered
        }
        if (ec) fail("{}: cannot list the folder: {}", dirs[k].string(), ec.message());
        std::sort(found.begin(), found.end());
        for (fs::path& f : found) {
          files_.push_back(std::move(f));
          labels_.push_back(static_cast<int64_t>(k));
        }
      }
    }
    if (files_.empty()) fail("{}: no .png, .jpg or .jpeg images in the folder", label_);
  }

  void check_options() {
    auto positive = [](const std::vector<int64_t>& v) {
      return std::all_of(v.begin(), v.end(), [](int64_t x) { return x > 0 && x <= kMaxImageSide; });
    };
    if (o_.resize.size() > 2 || !positive(o_.resize))
      fail("resize takes S (the shorter side) or H W, each 1 to {}; got {} values", kMaxImageSide, o_.resize.size());
    if (o_.crop.size() > 2 || !positive(o_.crop))
      fail("crop takes S (a square) or H W, each 1 to {}; got {} values", kMaxImageSide, o_.crop.size());
    const size_t channels = o_.color == ColorOrder::Gray ? 1 : 3;
    for (const auto* v : {&o_.mean, &o_.stddev})
      if (v->size() > 1 && v->size() != channels)
        fail("{} mean/std values given for {}-channel images ({}); give 1 or {}", v->size(), channels,
             o_.color == ColorOrder::Gray ? "gray" : "color", channels);
    const double scale = o_.scale ? *o_.scale : 1.0 / 255;
    a_scale_ = scale;
    if (!std::isfinite(scale)) fail("scale must be a finite number, got {}", scale);
    for (size_t c = 0; c < channels; ++c) {
      double mean = o_.mean.empty() ? 0 : o_.mean[o_.mean.size() == 1 ? 0 : c];
      double sd = o_.stddev.empty() ? 1 : o_.stddev[o_.stddev.size() == 1 ? 0 : c];
      if (!(sd > 0) || !std::isfinite(sd) || !std::isfinite(mean))
        fail("std must be positive and mean finite; got mean {} and std {}", mean, sd);
      a_.push_back(scale / sd);
      b_.push_back(-mean / sd);
    }
  }

  // Sample `k` into `out` (sample_shape_ floats).
  void preprocess(int64_t k, float* out) const {
    const fs::path& file = files_[static_cast<size_t>(k)];
    const std::string name = file.string();
    std::vector<uint8_t> bytes = read_inside(root_, file);
    Image img = to_channels(decode_image(bytes.data(), bytes.size(), name), channels_);
    auto [rh, rw] = o_.resize.empty() ? std::pair(img.height, img.width) : resized_size(img.height, img.width, o_.resize);
    if (!o_.crop.empty() && (rh < out_h_ || rw < out_w_))
      fail("{}: {}x{} pixels{} is smaller than the {}x{} crop", name, img.height, img.width,
           o_.resize.empty() ? "" : fmt::format(" (resized to {}x{})", rh, rw), out_h_, out_w_);
    if (o_.crop.empty() && (rh != out_h_ || rw != out_w_))
      fail("{}: comes out as {}x{} pixels but the first image ({}) as {}x{}; samples must share one size: give "
           "--resize H W or --crop",
           name, rh, rw, files_[0].string(), out_h_, out_w_);
    const int64_t top = crop_offset(rh, out_h_), left = crop_offset(rw, out_w_);
    FloatImage f;
    if (rh == img.height && rw == img.width) {
      f = {img.height, img.width, img.channels, std::vector<float>(img.pixels.begin(), img.pixels.end())};
    } else {
      f = resize_bilinear(img, rh, rw);
    }
    const int64_t C = channels_, H = out_h_, W = out_w_;
    const bool bgr = o_.color == ColorOrder::BGR;
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)
        for (int64_t c = 0; c < C; ++c) {
          const int64_t src_c = bgr ? C - 1 - c : c;
          const double v = f.pixels[static_cast<size_t>(((top + y) * f.width + left + x) * C + src_c)];
          const auto cc = static_cast<size_t>(c);
          const float value = static_cast<float>(v * a_[cc] + b_[cc]);
          if (o_.layout == Layout::NCHW) out[(c * H + y) * W + x] = value;
          else out[(y * W + x) * C + c] = value;
        }
  }

  std::string label_;
  DataOptions o_;
  fs::path root_;
  std::vector<fs::path> files_;
  std::vector<int64_t> labels_;
  std::vector<std::string> classes_;
  bool has_labels_ = false;
  int64_t skipped_ = 0, full_ = 0, size_ = 0;
  int64_t channels_ = 3, out_h_ = 0, out_w_ = 0;
  std::vector<double> a_, b_;
  double a_scale_ = 1;
  Shape sample_;
};

}  // namespace

Image decode_image(const void* data, size_t size, const std::string& label) { return decode(data, size, label, false); }

Image decode_image_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("{}: no such file", path);
  fs::path real = fs::canonical(path, ec);
  if (ec) fail("{}: cannot resolve: {}", path, ec.message());
  std::vector<uint8_t> bytes = read_inside(real.parent_path(), real);
  return decode_image(bytes.data(), bytes.size(), path);
}

std::pair<int64_t, int64_t> image_size(const void* data, size_t size, const std::string& label) {
  Image img = decode(data, size, label, true);
  return {img.height, img.width};
}

Image to_channels(const Image& img, int64_t channels) {
  if (img.channels == channels) return img;
  Image out{.height = img.height, .width = img.width, .channels = channels, .pixels = {}};
  const int64_t n = img.height * img.width;
  out.pixels.resize(static_cast<size_t>(n * channels));
  if (img.channels == 1 && channels == 3) {
    for (int64_t p = 0; p < n; ++p)
      for (int c = 0; c < 3; ++c) out.pixels[static_cast<size_t>(p * 3 + c)] = img.pixels[static_cast<size_t>(p)];
  } else if (img.channels == 3 && channels == 1) {
    for (int64_t p = 0; p < n; ++p) {
      const uint8_t* rgb = &img.pixels[static_cast<size_t>(p * 3)];
      out.pixels[static_cast<size_t>(p)] = static_cast<uint8_t>((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16);
    }
  } else {
    fail("cannot convert an image of {} channels to {}", img.channels, channels);
  }
  return out;
}

std::pair<int64_t, int64_t> resized_size(int64_t height, int64_t width, const std::vector<int64_t>& resize) {
  if (resize.size() == 2) return {resize[0], resize[1]};
  if (resize.size() != 1) fail("resize takes S or H W, got {} values", resize.size());
  const int64_t s = resize[0];
  if (height <= width) return {s, std::max<int64_t>(1, s * width / height)};
  return {std::max<int64_t>(1, s * height / width), s};
}

int64_t crop_offset(int64_t size, int64_t crop) {
  return static_cast<int64_t>(std::nearbyint(static_cast<double>(size - crop) / 2.0));
}

FloatImage resize_bilinear(const Image& img, int64_t height, int64_t width) {
  FloatImage out{height, width, img.channels, {}};
  out.pixels.resize(static_cast<size_t>(height * width * img.channels));
  // Source coordinate, lower neighbour and weight of each output column and row.
  struct Tap {
    int64_t lo, hi;
    float w;
  };
  auto taps = [](int64_t in, int64_t n) {
    std::vector<Tap> t(static_cast<size_t>(n));
    const double ratio = static_cast<double>(in) / static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      double src = std::clamp((static_cast<double>(i) + 0.5) * ratio - 0.5, 0.0, static_cast<double>(in - 1));
      int64_t lo = static_cast<int64_t>(src);
      t[static_cast<size_t>(i)] = {lo, std::min(lo + 1, in - 1), static_cast<float>(src - static_cast<double>(lo))};
    }
    return t;
  };
  const std::vector<Tap> ys = taps(img.height, height), xs = taps(img.width, width);
  const int64_t C = img.channels;
  const uint8_t* p = img.pixels.data();
  for (int64_t y = 0; y < height; ++y) {
    const Tap& ty = ys[static_cast<size_t>(y)];
    for (int64_t x = 0; x < width; ++x) {
      const Tap& tx = xs[static_cast<size_t>(x)];
      for (int64_t c = 0; c < C; ++c) {
        auto at = [&](int64_t yy, int64_t xx) { return static_cast<float>(p[(yy * img.width + xx) * C + c]); };
        float top = at(ty.lo, tx.lo) + (at(ty.lo, tx.hi) - at(ty.lo, tx.lo)) * tx.w;
        float bottom = at(ty.hi, tx.lo) + (at(ty.hi, tx.hi) - at(ty.hi, tx.lo)) * tx.w;
        out.pixels[static_cast<size_t>((y * width + x) * C + c)] = top + (bottom - top) * ty.w;
      }
    }
  }
  return out;
}

std::unique_ptr<Dataset> open_image_folder(const std::string& path, const DataOptions& options) {
  return std::make_unique<ImageFolderDataset>(path, options);
}

}  // namespace hone::data
