// .npz reading (data/npz.h) on archives numpy wrote (tests/fixtures/npz_stored.npz from numpy.savez,
// npz_deflated.npz from numpy.savez_compressed: images = arange(12) float32 [3, 4], labels = [1, -2, 3] int64), and
// clear errors for damaged archives.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "data/npz.h"
#include "test_paths.h"

namespace hone {
namespace {

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string error_of(const std::string& bytes) {
  try {
    read_npz_bytes(bytes.data(), bytes.size(), "x.npz");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Npz, ReadsStoredAndDeflatedArchivesFromNumpy) {
  for (const char* name : {"npz_stored.npz", "npz_deflated.npz"}) {
    SCOPED_TRACE(name);
    auto arrays = read_npz_file(test::fixture(name));
    ASSERT_EQ(arrays.size(), 2u);
    EXPECT_EQ(arrays[0].first, "images");
    EXPECT_EQ(arrays[1].first, "labels");
    const Tensor& images = arrays[0].second;
    ASSERT_EQ(images.dtype(), DType::Float32);
    ASSERT_EQ(images.shape(), (Shape{3, 4}));
    for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(images.data<float>()[i], static_cast<float>(i));
    const Tensor& labels = arrays[1].second;
    ASSERT_EQ(labels.dtype(), DType::Int64);
    EXPECT_EQ(labels.data<int64_t>()[1], -2);
  }
}

TEST(Npz, DamagedArchivesGetAClearError) {
  EXPECT_NE(error_of("PK").find("not an .npz"), std::string::npos);
  EXPECT_NE(error_of(std::string(100, 'x')).find("no end-of-directory record"), std::string::npos);
  for (const char* name : {"npz_stored.npz", "npz_deflated.npz"}) {
    SCOPED_TRACE(name);
    std::string good = bytes_of(test::fixture(name));
    // A flipped byte inside the first member's data: the CRC (or the inflater) catches it, naming the member.
    std::string bad = good;
    bad[60] = static_cast<char>(bad[60] ^ 0x40);
    std::string e = error_of(bad);
    EXPECT_NE(e.find("member 'images.npy'"), std::string::npos) << e;
    // Cut short: the directory is gone.
    EXPECT_NE(error_of(good.substr(0, good.size() / 2)).find("x.npz"), std::string::npos);
  }
}

}  // namespace
}  // namespace hone
