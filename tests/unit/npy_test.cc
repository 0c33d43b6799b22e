#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/npy.h"

namespace hone {
namespace {

// A .npy file with the given version and header text (padded as numpy pads it) followed by `data`.
std::string npy_with_header(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  size_t preamble = major == 1 ? 10 : 12;
  while ((preamble + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  size_t n = header.size();
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(std::data(v)), v.size() * sizeof(float));
}

std::string error_of(const std::string& bytes, const std::string& label = "x.npy") {
  try {
    read_npy_bytes(bytes.data(), bytes.size(), label);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Npy, ReadsVersion1And2AndPythonSpellings) {
  for (int major : {1, 2, 3}) {
    std::string b = npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                    floats({1, 2, 3, 4, 5, 6}), major);
    Tensor t = read_npy_bytes(b.data(), b.size(), "t");
    ASSERT_EQ(t.dtype(), DType::Float32);
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    EXPECT_EQ(t.data<float>()[5], 6.0f);
  }
  // Double quotes, Python 2 longs, no trailing comma, keys in another order, 1-D tuple.
  std::string b = npy_with_header("{\"shape\": (3L,), \"fortran_order\": False, \"descr\": \"<i8\"}",
                                  std::string(24, '\0'));
  Tensor t = read_npy_bytes(b.data(), b.size(), "t");
  EXPECT_EQ(t.dtype(), DType::Int64);
  EXPECT_EQ(t.shape(), (Shape{3}));
  // A Fortran-ordered array of rank 1 is the same bytes.
  b = npy_with_header("{'descr': '|u1', 'fortran_order': True, 'shape': (2,), }", "ab");
  EXPECT_EQ(read_npy_bytes(b.data(), b.size(), "t").data<uint8_t>()[1], 'b');
}

TEST(Npy, RoundTripsEveryType) {
  for (DType dt : {DType::Float16, DType::Float32, DType::Float64, DType::Int8, DType::Int16, DType::Int32,
                   DType::Int64, DType::UInt8, DType::UInt16, DType::UInt32, DType::UInt64, DType::Bool}) {
    for (const Shape& shape : {Shape{}, Shape{5}, Shape{2, 3, 4}, Shape{0, 3}}) {
      Tensor t(dt, shape);
      for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, dt == DType::Bool ? static_cast<double>(i % 2) : i % 7);
      std::string b = npy_bytes(t);
      EXPECT_EQ(b.size() % 64, t.nbytes() % 64) << "data starts 64-byte aligned";
      Tensor r = read_npy_bytes(b.data(), b.size(), "rt");
      ASSERT_EQ(r.dtype(), dt) << dtype_name(dt);
      ASSERT_EQ(r.shape(), shape);
      for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(r.get_double(i), t.get_double(i)) << dtype_name(dt);
    }
  }
}

TEST(Npy, WritesNumpysHeaderText) {
  Tensor t(DType::Float32, {2, 3});
  std::string b = npy_bytes(t);
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_NE(b.find("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), std::string::npos);
  EXPECT_NE(npy_bytes(Tensor(DType::Bool, {4})).find("'descr': '|b1'"), std::string::npos);
  EXPECT_NE(npy_bytes(Tensor(DType::Int64, {4})).find("'shape': (4,)"), std::string::npos);
  EXPECT_NE(npy_bytes(Tensor(DType::Int64, {})).find("'shape': ()"), std::string::npos);
  EXPECT_THROW(npy_bytes(Tensor(DType::BFloat16, {1})), Error);
  EXPECT_THROW(npy_bytes(Tensor(DType::String, {1})), Error);
}

TEST(Npy, RejectsMalformedFilesNamingThem) {
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string two = floats({1, 2});
  struct Case {
    std::string bytes, expect;
  };
  std::string good = npy_with_header(ok_dict, two);
  std::vector<Case> cases = {
      {"", "empty"},
      {"hello world, not numpy", "not a .npy file"},
      {std::string("\x93NUMPY\x04\x00", 8) + "xx", "version 4.0"},
      {good.substr(0, 9), "truncated .npy header"},
      {good.substr(0, 40), "truncated .npy header"},
      {good.substr(0, good.size() - 3), "truncated .npy data"},
      {good + "extra", "5 extra"},
      {npy_with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", two), "Fortran-ordered"},
      {npy_with_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", two), "big-endian"},
      {npy_with_header("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0')),
       "unsupported .npy dtype '<c8'"},
      {npy_with_header("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", std::string(12, '\0')),
       "unsupported .npy dtype"},
      {npy_with_header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", two), "structured"},
      {npy_with_header("{'descr': '<f4', 'shape': (2,), }", two), "missing key 'fortran_order'"},
      {npy_with_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", two),
       "duplicate key 'descr'"},
      {npy_with_header("{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", two), "malformed .npy header"},
      {npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", two), "non-negative"},
      {npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", two), "malformed"},
      {npy_with_header("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", two), "True or False"},
      {npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", two), "unexpected key"},
      {npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } trailing", two), "after"},
      {npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999, 99999999, 99999), }", two),
       "more than"},
      {npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", two),
       "too large"},
  };
  for (const Case& c : cases) {
    std::string msg = error_of(c.bytes, "data/bad.npy");
    EXPECT_NE(msg.find("data/bad.npy"), std::string::npos) << "expected the file named in: " << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "expected '" << c.expect << "' in: " << msg;
  }
}

TEST(Npy, FilesRefuseOverwriteAndReplaceSymlinksRatherThanFollow) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("hone-npy-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  Tensor a(DType::Int32, {3});
  a.data<int32_t>()[2] = 42;
  std::string p = (dir / "a.npy").string();
  write_npy_file(a, p);
  EXPECT_EQ(read_npy_file(p).data<int32_t>()[2], 42);
  try {
    write_npy_file(a, p);
    ADD_FAILURE() << "overwrote";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  // --force semantics: a symlink at the destination is replaced, its target left alone.
  { std::ofstream(dir / "victim") << "keep me"; }
  fs::create_symlink(dir / "victim", dir / "link.npy");
  write_npy_file(a, (dir / "link.npy").string(), /*overwrite=*/true);
  EXPECT_FALSE(fs::is_symlink(dir / "link.npy"));
  std::ifstream v(dir / "victim");
  std::string content((std::istreambuf_iterator<char>(v)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "keep me");
  EXPECT_THROW(write_npy_file(a, (dir / "victim").string()), Error);  // exists, no overwrite
  // Missing, empty and directory files name the path.
  for (const std::string& bad : {(dir / "missing.npy").string(), dir.string()}) {
    try {
      read_npy_file(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  { std::ofstream(dir / "empty.npy"); }
  try {
    read_npy_file((dir / "empty.npy").string());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("empty.npy: the file is empty"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hone
