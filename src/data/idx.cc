#include "data/idx.h"

#include <zlib.h>

#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"

namespace hone {
namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Copies `n` big-endian values of `width` bytes into `dst` in host (little-endian) order.
void copy_big_endian(const uint8_t* src, int64_t n, size_t width, uint8_t* dst) {
  for (int64_t i = 0; i < n; ++i)
    for (size_t b = 0; b < width; ++b) dst[static_cast<size_t>(i) * width + b] = src[static_cast<size_t>(i) * width + width - 1 - b];
}

}  // namespace

Tensor read_idx_bytes(const void* data, size_t size, const std::string& label) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (size < 4) fail("{}: not an IDX file ({} bytes, shorter than the 4-byte magic)", label, size);
  if (p[0] != 0 || p[1] != 0) fail("{}: not an IDX file (magic bytes {:02x} {:02x}, expected 00 00)", label, p[0], p[1]);
  DType dtype;
  switch (p[2]) {
    case 0x08: dtype = DType::UInt8; break;
    case 0x09: dtype = DType::Int8; break;
    case 0x0B: dtype = DType::Int16; break;
    case 0x0C: dtype = DType::Int32; break;
    case 0x0D: dtype = DType::Float32; break;
    case 0x0E: dtype = DType::Float64; break;
    default: fail("{}: unknown IDX type code 0x{:02x} (expected 08, 09, 0B, 0C, 0D or 0E)", label, p[2]);
  }
  const int rank = p[3];
  if (rank == 0) fail("{}: an IDX file with no dimensions", label);
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (size < header) fail("{}: truncated IDX header ({} dimensions need {} bytes, the file has {})", label, rank, header, size);
  Shape shape;
  int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    int64_t dim = be32(p + 4 + 4 * static_cast<size_t>(d));
    shape.push_back(dim);
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim)
      fail("{}: IDX dimensions {} overflow", label, shape_str(shape));
    count *= dim;
  }
  const size_t width = dtype_size(dtype);
  const size_t want = static_cast<size_t>(count) * width;
  if (static_cast<uint64_t>(count) > (size - header) / width || size - header != want)
    fail("{}: IDX shape {} of {} needs {} data bytes, the file has {}", label, shape_str(shape), dtype_name(dtype),
         want, size - header);
  Tensor t(dtype, shape);
  if (width == 1) std::memcpy(t.raw(), p + header, want);
  else copy_big_endian(p + header, count, width, static_cast<uint8_t*>(t.raw()));
  return t;
}

Tensor read_idx_file(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files too
  if (!f) fail("{}: cannot open: {}", path, std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  for (;;) {
    int n = gzread(f, buf, sizeof(buf));
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      fail("{}: cannot read: {}", path, msg);
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
  }
  // A truncated gzip stream reads as a short file (gzread stops at the damage): report it as such.
  int err = 0;
  const char* msg = gzerror(f, &err);
  std::string problem = err != Z_OK && err != Z_STREAM_END ? msg : "";
  gzclose(f);
  if (!problem.empty()) fail("{}: damaged gzip data: {}", path, problem);
  return read_idx_bytes(bytes.data(), bytes.size(), path);
}

}  // namespace hone
