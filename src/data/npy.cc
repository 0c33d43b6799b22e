#include "data/npy.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

namespace hone {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

struct NpyType {
  char kind;  // 'f', 'i', 'u', 'b'
  int size;
  DType dtype;
};
constexpr NpyType kTypes[] = {
    {'f', 2, DType::Float16}, {'f', 4, DType::Float32}, {'f', 8, DType::Float64}, {'i', 1, DType::Int8},
    {'i', 2, DType::Int16},   {'i', 4, DType::Int32},   {'i', 8, DType::Int64},   {'u', 1, DType::UInt8},
    {'u', 2, DType::UInt16},  {'u', 4, DType::UInt32},  {'u', 8, DType::UInt64},  {'b', 1, DType::Bool},
};

const NpyType* type_of_dtype(DType t) {
  for (const NpyType& n : kTypes)
    if (n.dtype == t) return &n;
  return nullptr;
}

// The header is a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& label) : s_(text), label_(label) {}

  void parse(std::string* descr, bool* fortran, Shape* shape) {
    bool has_descr = false, has_fortran = false, has_shape = false;
    ws();
    expect('{');
    for (;;) {
      ws();
      if (peek() == '}') {
        ++p_;
        break;
      }
      std::string key = string_literal();
      ws();
      expect(':');
      ws();
      if (key == "descr") {
        if (has_descr) bad("duplicate key 'descr'");
        if (peek() != '\'' && peek() != '"') bad("'descr' must be a simple type string (structured dtypes are not supported)");
        *descr = string_literal();
        has_descr = true;
      } else if (key == "fortran_order") {
        if (has_fortran) bad("duplicate key 'fortran_order'");
        *fortran = boolean();
        has_fortran = true;
      } else if (key == "shape") {
        if (has_shape) bad("duplicate key 'shape'");
        *shape = tuple();
        has_shape = true;
      } else {
        bad(fmt::format("unexpected key '{}'", key));
      }
      ws();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      ws();
      if (peek() != '}') bad("expected ',' or '}'");
    }
    ws();
    if (p_ != s_.size()) bad("unexpected text after the dictionary");
    if (!has_descr) bad("missing key 'descr'");
    if (!has_fortran) bad("missing key 'fortran_order'");
    if (!has_shape) bad("missing key 'shape'");
  }

 private:
  [[noreturn]] void bad(const std::string& why) const {
    fail("{}: malformed .npy header: {} (at offset {} of header \"{}\")", label_, why, p_, printable());
  }
  std::string printable() const {
    std::string out;
    for (char c : s_.substr(0, 120)) out += (c >= 32 && c < 127) ? c : '?';
    if (s_.size() > 120) out += "...";
    return out;
  }
  char peek() const { return p_ < s_.size() ? s_[p_] : '\0'; }
  void ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) ++p_;
  }
  void expect(char c) {
    if (peek() != c) bad(fmt::format("expected '{}'", c));
    ++p_;
  }
  std::string string_literal() {
    char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string");
    ++p_;
    std::string out;
    while (p_ < s_.size() && s_[p_] != q) out += s_[p_++];
    if (p_ >= s_.size()) bad("unterminated string");
    ++p_;
    return out;
  }
  bool boolean() {
    if (s_.substr(p_, 4) == "True") {
      p_ += 4;
      return true;
    }
    if (s_.substr(p_, 5) == "False") {
      p_ += 5;
      return false;
    }
    bad("expected True or False");
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    for (;;) {
      ws();
      if (peek() == ')') {
        ++p_;
        break;
      }
      if (peek() < '0' || peek() > '9') bad("expected a non-negative integer dimension");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (kMaxTensorElements / 10)) bad("dimension too large");
        v = v * 10 + (s_[p_++] - '0');
      }
      if (peek() == 'L') ++p_;  // Python 2 long literals
      shape.push_back(v);
      ws();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() != ')') bad("expected ',' or ')' in shape");
    }
    return shape;
  }

  std::string_view s_;
  const std::string& label_;
  size_t p_ = 0;
};

uint32_t read_le(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string supported_list() { return "f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1"; }

const NpyType& parse_descr(const std::string& descr, const std::string& label) {
  if (descr.size() < 3) fail("{}: unsupported .npy dtype '{}' (supported: {})", label, descr, supported_list());
  char order = descr[0];
  char kind = descr[1];
  int size = 0;
  for (size_t i = 2; i < descr.size(); ++i) {
    if (descr[i] < '0' || descr[i] > '9' || size > 1000)
      fail("{}: unsupported .npy dtype '{}' (supported: {})", label, descr, supported_list());
    size = size * 10 + (descr[i] - '0');
  }
  if (order != '<' && order != '>' && order != '|' && order != '=')
    fail("{}: malformed .npy dtype '{}': the byte order must be one of < > | =", label, descr);
  const NpyType* found = nullptr;
  for (const NpyType& t : kTypes)
    if (t.kind == kind && t.size == size) found = &t;
  if (!found) fail("{}: unsupported .npy dtype '{}' (supported: {})", label, descr, supported_list());
  if (order == '>' && size > 1)
    fail("{}: big-endian .npy data ('{}') is not supported; convert it with arr.astype('<{}{}')", label, descr, kind,
         size);
  return *found;
}

}  // namespace

bool npy_supports(DType t) { return type_of_dtype(t) != nullptr; }

Tensor read_npy_bytes(const void* data, size_t size, const std::string& label) {
  const auto* b = static_cast<const unsigned char*>(data);
  if (size == 0) fail("{}: the file is empty (expected a .npy file)", label);
  if (size < kMagicLen + 2 || std::memcmp(b, kMagic, kMagicLen) != 0)
    fail("{}: not a .npy file (missing the \\x93NUMPY magic)", label);
  int major = b[6], minor = b[7];
  size_t len_bytes = 0;
  if (major == 1) len_bytes = 2;
  else if (major == 2 || major == 3) len_bytes = 4;
  else fail("{}: unsupported .npy version {}.{} (supported: 1.0, 2.0, 3.0)", label, major, minor);
  size_t preamble = kMagicLen + 2 + len_bytes;
  if (size < preamble) fail("{}: truncated .npy header ({} bytes in the file)", label, size);
  size_t header_len = read_le(b + kMagicLen + 2, static_cast<int>(len_bytes));
  if (header_len > size - preamble)
    fail("{}: truncated .npy header: it declares {} bytes but the file has {} after the preamble", label, header_len,
         size - preamble);
  std::string_view header(reinterpret_cast<const char*>(b + preamble), header_len);
  std::string descr;
  bool fortran = false;
  Shape shape;
  HeaderParser(header, label).parse(&descr, &fortran, &shape);
  const NpyType& type = parse_descr(descr, label);
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d != 0 && numel > kMaxTensorElements / d)
      fail("{}: .npy shape ({}) has more than {} elements", label, shape_str(shape), kMaxTensorElements);
    numel *= d;
  }
  if (fortran && shape.size() > 1) {
    // A Fortran-ordered array of rank <= 1 has the same bytes as a C-ordered one.
    fail("{}: Fortran-ordered .npy arrays are not supported; save with np.ascontiguousarray(arr)", label);
  }
  size_t data_offset = preamble + header_len;
  size_t available = size - data_offset;
  size_t expected = static_cast<size_t>(numel) * static_cast<size_t>(type.size);
  if (available < expected)
    fail("{}: truncated .npy data: shape {} of '{}' needs {} bytes, the file has {}", label, shape_str(shape), descr,
         expected, available);
  if (available > expected)
    fail("{}: .npy data size does not match its header: shape {} of '{}' needs {} bytes, the file has {} ({} extra)",
         label, shape_str(shape), descr, expected, available, available - expected);
  Tensor t(type.dtype, shape);
  if (expected) std::memcpy(t.raw(), b + data_offset, expected);
  if (type.dtype == DType::Bool) {
    auto* p = static_cast<uint8_t*>(t.raw());
    for (int64_t i = 0; i < numel; ++i) p[i] = p[i] != 0;
  }
  return t;
}

Tensor read_npy_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail("{}: is a directory, not a .npy file", path);
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open '{}': {}", path, std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) fail("cannot read '{}': {}", path, std::strerror(errno));
  return read_npy_bytes(bytes.data(), bytes.size(), path);
}

std::string npy_bytes(const Tensor& t) {
  const NpyType* type = type_of_dtype(t.dtype());
  if (!type) fail(".npy cannot hold element type {} (supported: {})", dtype_name(t.dtype()), supported_list());
  std::string shape;
  for (size_t i = 0; i < t.shape().size(); ++i) shape += (i ? ", " : "") + std::to_string(t.shape()[i]);
  if (t.shape().size() == 1) shape += ",";
  std::string dict = fmt::format("{{'descr': '{}{}{}', 'fortran_order': False, 'shape': ({}), }}",
                                 type->size == 1 ? '|' : '<', type->kind, type->size, shape);
  // Pad with spaces so that the data starts on a 64-byte boundary; the header ends with '\n'.
  size_t preamble = kMagicLen + 2 + 2;
  int major = 1;
  size_t total = (preamble + dict.size() + 1 + 63) / 64 * 64;
  if (total - preamble > 65535) {
    major = 2;
    preamble = kMagicLen + 2 + 4;
    total = (preamble + dict.size() + 1 + 63) / 64 * 64;
  }
  size_t header_len = total - preamble;
  dict.append(header_len - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) out += static_cast<char>((header_len >> (8 * i)) & 0xff);
  out += dict;
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

namespace {

void write_all(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      fail("cannot write '{}': {}", path, std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) fail("cannot write '{}': {}", path, std::strerror(errno));
}

}  // namespace

void write_npy_file(const Tensor& t, const std::string& path, bool overwrite) {
  std::string bytes = npy_bytes(t);
  if (!overwrite) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) fail("'{}' already exists; refusing to overwrite it", path);
      fail("cannot create '{}': {}", path, std::strerror(errno));
    }
    try {
      write_all(fd, bytes, path);
    } catch (...) {
      ::unlink(path.c_str());
      throw;
    }
    return;
  }
  std::random_device rd;
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = fmt::format("{}.tmp-{:08x}", path, rd());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) fail("cannot create '{}': {}", tmp, std::strerror(errno));
  }
  if (fd < 0) fail("cannot create a temporary file beside '{}'", path);
  try {
    write_all(fd, bytes, tmp);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    fail("cannot replace '{}': {}", path, std::strerror(e));
  }
}

}  // namespace hone
