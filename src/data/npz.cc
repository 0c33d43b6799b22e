#include "data/npz.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "data/npy.h"

namespace hone {
namespace {

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

std::vector<uint8_t> inflate_raw(const uint8_t* src, size_t size, size_t out_size, const std::string& what) {
  std::vector<uint8_t> out(out_size);
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("{}: cannot start inflating", what);
  z.next_in = const_cast<Bytef*>(src);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out_size);
  int rc = inflate(&z, Z_FINISH);
  size_t produced = out_size - z.avail_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != out_size)
    fail("{}: damaged deflate data (inflated {} of {} bytes)", what, produced, out_size);
  return out;
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> read_npz_bytes(const void* data, size_t size, const std::string& label) {
  const auto* p = static_cast<const uint8_t*>(data);
  // The end-of-central-directory record: 22 bytes plus a comment of up to 65535, at the end.
  if (size < 22) fail("{}: not an .npz (zip) file ({} bytes)", label, size);
  size_t eocd = size - 22;
  for (;;) {
    if (le32(p + eocd) == 0x06054b50) break;
    if (eocd == 0 || size - eocd > 22 + 65535) fail("{}: not an .npz (zip) file (no end-of-directory record)", label);
    --eocd;
  }
  const uint16_t entries = le16(p + eocd + 10);
  const uint32_t dir_size = le32(p + eocd + 12), dir_offset = le32(p + eocd + 16);
  if (dir_offset == 0xffffffffu || entries == 0xffff) fail("{}: zip64 archives are not supported", label);
  if (static_cast<uint64_t>(dir_offset) + dir_size > eocd) fail("{}: the zip directory points outside the file", label);
  std::vector<std::pair<std::string, Tensor>> out;
  size_t at = dir_offset;
  for (uint16_t e = 0; e < entries; ++e) {
    if (at + 46 > eocd || le32(p + at) != 0x02014b50) fail("{}: damaged zip directory (entry {})", label, e);
    const uint16_t flags = le16(p + at + 8), method = le16(p + at + 10);
    const uint32_t crc = le32(p + at + 16), csize = le32(p + at + 20), usize = le32(p + at + 24);
    const uint16_t name_len = le16(p + at + 28), extra_len = le16(p + at + 30), comment_len = le16(p + at + 32);
    const uint32_t local = le32(p + at + 42);
    if (at + 46 + name_len > eocd) fail("{}: damaged zip directory (entry {})", label, e);
    std::string name(reinterpret_cast<const char*>(p + at + 46), name_len);
    at += 46 + size_t{name_len} + extra_len + comment_len;
    std::string what = label + ": member '" + name + "'";
    if (flags & 1) fail("{} is encrypted", what);
    if (csize == 0xffffffffu || usize == 0xffffffffu || local == 0xffffffffu) fail("{}: zip64 is not supported", what);
    if (static_cast<uint64_t>(local) + 30 > dir_offset || le32(p + local) != 0x04034b50)
      fail("{}: its local header is missing or outside the file", what);
    const size_t start = local + 30 + size_t{le16(p + local + 26)} + le16(p + local + 28);
    if (static_cast<uint64_t>(start) + csize > dir_offset) fail("{}: its data runs past the end of the file", what);
    std::vector<uint8_t> bytes;
    if (method == 0) {
      if (csize != usize) fail("{}: stored sizes disagree ({} and {})", what, csize, usize);
      bytes.assign(p + start, p + start + csize);
    } else if (method == 8) {
      bytes = inflate_raw(p + start, csize, usize, what);
    } else {
      fail("{}: compression method {} is not supported (stored or deflate only)", what, method);
    }
    if (crc32(0L, bytes.data(), static_cast<uInt>(bytes.size())) != crc) fail("{}: CRC mismatch (damaged data)", what);
    std::string key = name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0 ? name.substr(0, name.size() - 4) : name;
    out.emplace_back(key, read_npy_bytes(bytes.data(), bytes.size(), what));
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> read_npz_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open: {}", path, std::strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return read_npz_bytes(bytes.data(), bytes.size(), path);
}

}  // namespace hone
