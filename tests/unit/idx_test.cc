// IDX reading (data/idx.h): every type code, big-endian values, gzip or plain files, and clear errors for damaged
// input; and Debian's Fashion-MNIST test set when it is installed (scripts/install_deps.sh installs it).
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "data/idx.h"
#include "data/npy.h"
#include "test_paths.h"

namespace hone {
namespace {

namespace fs = std::filesystem;

std::string idx_header(uint8_t type, std::vector<uint32_t> dims) {
  std::string s = {'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int b = 3; b >= 0; --b) s += static_cast<char>((d >> (8 * b)) & 0xff);
  return s;
}

std::string error_of(const std::string& bytes) {
  try {
    read_idx_bytes(bytes.data(), bytes.size(), "x.idx");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Idx, ReadsEveryTypeBigEndian) {
  std::string u8 = idx_header(0x08, {2, 3}) + std::string("\x01\x02\x03\xfe\xff\x00", 6);
  Tensor t = read_idx_bytes(u8.data(), u8.size(), "u8");
  EXPECT_EQ(t.dtype(), DType::UInt8);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.data<uint8_t>()[3], 254);
  std::string i16 = idx_header(0x0B, {2}) + std::string("\x01\x02\xff\xfe", 4);
  t = read_idx_bytes(i16.data(), i16.size(), "i16");
  EXPECT_EQ(t.data<int16_t>()[0], 0x0102);
  EXPECT_EQ(t.data<int16_t>()[1], -2);
  std::string i32 = idx_header(0x0C, {1}) + std::string("\xff\xff\xff\xfd", 4);
  t = read_idx_bytes(i32.data(), i32.size(), "i32");
  EXPECT_EQ(t.data<int32_t>()[0], -3);
  std::string f32 = idx_header(0x0D, {1, 1, 1}) + std::string("\x3f\xc0\x00\x00", 4);  // 1.5f
  t = read_idx_bytes(f32.data(), f32.size(), "f32");
  EXPECT_EQ(t.shape(), (Shape{1, 1, 1}));
  EXPECT_EQ(t.data<float>()[0], 1.5f);
  std::string f64 = idx_header(0x0E, {1}) + std::string("\xc0\x04\x00\x00\x00\x00\x00\x00", 8);  // -2.5
  t = read_idx_bytes(f64.data(), f64.size(), "f64");
  EXPECT_EQ(t.data<double>()[0], -2.5);
  std::string i8 = idx_header(0x09, {0, 5});  // empty
  t = read_idx_bytes(i8.data(), i8.size(), "i8");
  EXPECT_EQ(t.numel(), 0);
}

TEST(Idx, DamagedInputGetsAClearError) {
  EXPECT_NE(error_of("\x00\x00").find("shorter than the 4-byte magic"), std::string::npos);
  EXPECT_NE(error_of(std::string("\x93NUMPY\x01\x00", 8)).find("not an IDX file"), std::string::npos);
  EXPECT_NE(error_of(idx_header(0x0A, {1}) + "x").find("unknown IDX type code 0x0a"), std::string::npos);
  EXPECT_NE(error_of(idx_header(0x08, {})).find("no dimensions"), std::string::npos);
  EXPECT_NE(error_of(idx_header(0x08, {2, 3}).substr(0, 9)).find("truncated IDX header"), std::string::npos);
  EXPECT_NE(error_of(idx_header(0x08, {2, 3}) + "abcde").find("needs 6 data bytes, the file has 5"), std::string::npos);
  EXPECT_NE(error_of(idx_header(0x0C, {2}) + "abcdefghi").find("needs 8 data bytes, the file has 9"), std::string::npos);
  // Absurd dimensions fail on the size check, without allocating.
  EXPECT_NE(error_of(idx_header(0x0D, {0xffffffffu, 0xffffffffu, 0xffffffffu}) + "abcd").find("x.idx"),
            std::string::npos);
}

class IdxFiles : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("hone-idx-test-" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::string& bytes, bool gzip) {
    std::string path = (dir / name).string();
    if (gzip) {
      gzFile f = gzopen(path.c_str(), "wb");
      gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
      gzclose(f);
    } else {
      std::ofstream(path, std::ios::binary) << bytes;
    }
    return path;
  }
};

TEST_F(IdxFiles, PlainAndGzipFilesReadTheSame) {
  std::string bytes = idx_header(0x08, {3, 2, 2}) + std::string("abcdefghijkl");
  Tensor a = read_idx_file(write("a.idx", bytes, false)), b = read_idx_file(write("b.idx.gz", bytes, true));
  EXPECT_EQ(a.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(b.shape(), a.shape());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
  EXPECT_EQ(b.data<uint8_t>()[11], 'l');
}

TEST_F(IdxFiles, MissingAndTruncatedFilesNameThePath) {
  std::string missing = (dir / "none.idx").string();
  try {
    read_idx_file(missing);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  // A gzip file cut short: its data ends early, which the size check or zlib reports, naming the file.
  std::string full = write("full.gz", idx_header(0x08, {1000}) + std::string(1000, 'x'), true);
  std::ifstream in(full, std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string cut = write("cut.gz", gz.substr(0, gz.size() / 2), false);
  try {
    read_idx_file(cut);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(cut), std::string::npos) << e.what();
  }
}

TEST(Idx, FashionMnistTestSetMatchesTheFixtures) {
  const std::string root = "/usr/share/datasets/fashion-mnist/";
  if (!fs::exists(root + "t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Tensor images = read_idx_file(root + "t10k-images-idx3-ubyte.gz");
  Tensor labels = read_idx_file(root + "t10k-labels-idx1-ubyte.gz");
  ASSERT_EQ(images.shape(), (Shape{10000, 28, 28}));
  ASSERT_EQ(labels.shape(), (Shape{10000}));
  for (int64_t i = 0; i < labels.numel(); ++i) ASSERT_LT(labels.data<uint8_t>()[i], 10);
  // The committed fixtures are the first 1,000 test images, normalized (pixel / 255 - 0.286) / 0.353 as
  // tests/fixtures/fashion_mnist.json says, and their labels.
  Tensor fx = read_npy_file(test::fixture("fashion_mnist_test_1000_labels.npy"));
  ASSERT_EQ(fx.numel(), 1000);
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(static_cast<int64_t>(fx.get_double(i)), labels.data<uint8_t>()[i]) << i;
  Tensor fi = read_npy_file(test::fixture("fashion_mnist_test_1000_images.npy"));
  ASSERT_EQ(fi.numel(), 1000 * 28 * 28);
  for (int64_t i = 0; i < 28 * 28 * 3; ++i)
    ASSERT_NEAR(fi.get_double(i), (images.data<uint8_t>()[i] / 255.0 - 0.286) / 0.353, 1e-5) << i;
}

}  // namespace
}  // namespace hone
