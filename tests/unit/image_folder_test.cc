// Image folders (data/image_folder.h): decoding compared with PIL's pixels (tests/fixtures/images, written by
// tests/fixtures/make_images.py), damaged files, the resize/crop arithmetic against a plain reference, a class folder
// against PyTorch's preprocessing, and the folder rules (flat or per class, links, sizes).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>

#include "data/dataset.h"
#include "data/image_folder.h"
#include "data/npz.h"
#include "test_paths.h"

namespace hone::data {
namespace {

namespace fs = std::filesystem;

std::string images(const std::string& rel) { return test::fixture("images/" + rel); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

fs::path fresh_dir(const std::string& tag) {
  static int n = 0;
  fs::path p = fs::temp_directory_path() / ("hone-images-test-" + std::to_string(::getpid()) + "-" + tag + "-" +
                                            std::to_string(n++));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::map<std::string, Tensor> npz(const std::string& path) {
  std::map<std::string, Tensor> m;
  for (auto& [name, t] : read_npz_file(path)) m[name] = t;
  return m;
}

TEST(ImageDecode, MatchesPilForEveryPngKindAndJpeg) {
  auto expected = npz(images("decode/expected.npz"));
  ASSERT_GE(expected.size(), 10u);
  for (const auto& [name, want] : expected) {
    if (name.find(' ') != std::string::npos) continue;
    SCOPED_TRACE(name);
    Image img = decode_image_file(images("decode/" + name));
    const int64_t channels = want.rank() == 3 ? want.dim(2) : 1;
    ASSERT_EQ(img.height, want.dim(0));
    ASSERT_EQ(img.width, want.dim(1));
    ASSERT_EQ(img.channels, channels);
    ASSERT_EQ(static_cast<int64_t>(img.pixels.size()), want.numel());
    // PNG is lossless: exact. JPEG: PIL decodes with the same libjpeg-turbo, so at most rounding-level differences.
    const int tolerance = name.ends_with(".jpg") ? 2 : 0;
    int worst = 0;
    for (int64_t i = 0; i < want.numel(); ++i)
      worst = std::max(worst, std::abs(int{img.pixels[static_cast<size_t>(i)]} - int{want.data<uint8_t>()[i]}));
    EXPECT_LE(worst, tolerance);
    std::ifstream f(images("decode/" + name), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_EQ(image_size(bytes.data(), bytes.size(), name), (std::pair<int64_t, int64_t>{img.height, img.width}));
  }
}

TEST(ImageDecode, GrayAndColorConvertLikePil) {
  Image rgb = decode_image_file(images("decode/rgb8.png"));
  Image gray = to_channels(rgb, 1);
  Tensor want = npz(images("decode/expected.npz"))["rgb8.png as L"];
  ASSERT_EQ(static_cast<int64_t>(gray.pixels.size()), want.numel());
  for (int64_t i = 0; i < want.numel(); ++i) EXPECT_EQ(gray.pixels[static_cast<size_t>(i)], want.data<uint8_t>()[i]);
  Image back = to_channels(gray, 3);
  ASSERT_EQ(back.channels, 3);
  for (size_t p = 0; p < gray.pixels.size(); ++p)
    for (size_t c = 0; c < 3; ++c) EXPECT_EQ(back.pixels[p * 3 + c], gray.pixels[p]);
}

TEST(ImageDecode, DamagedFilesGetAnErrorNamingTheFile) {
  struct Case {
    const char* file;
    std::vector<const char*> want;
  };
  for (const Case& c : std::vector<Case>{{"truncated.png", {"truncated.png: bad PNG", "truncated"}},
                                         {"truncated.jpg", {"truncated.jpg: bad JPEG", "Premature end"}},
                                         {"bad_crc.png", {"bad_crc.png: bad PNG", "CRC"}},
                                         {"huge.png", {"huge.png: image of 40000x40000 pixels is too large"}},
                                         {"huge.jpg", {"huge.jpg: image of 40000x40000 pixels is too large"}}}) {
    SCOPED_TRACE(c.file);
    std::string e = error_of([&] { decode_image_file(images(std::string("broken/") + c.file)); });
    for (const char* w : c.want) EXPECT_NE(e.find(w), std::string::npos) << e;
  }
  std::string junk = "GIF89a....";
  EXPECT_NE(error_of([&] { decode_image(junk.data(), junk.size(), "x.gif"); }).find("x.gif: neither a PNG nor a JPEG"),
            std::string::npos);
  EXPECT_NE(error_of([&] { decode_image(junk.data(), 0, "e.png"); }).find("e.png: empty file"), std::string::npos);
  // Every prefix of a good file fails cleanly (no crash, no garbage): the decoders' error paths.
  for (const char* good : {"decode/rgb8.png", "decode/rgb.jpg", "decode/interlaced.png"}) {
    std::ifstream f(images(good), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    for (size_t n = 0; n + 1 < bytes.size(); n += 7)
      EXPECT_NE(error_of([&] { decode_image(bytes.data(), n, "cut"); }), "<no error>") << good << " cut at " << n;
  }
}

TEST(ImagePreprocess, ResizeRulesFollowTorchvision) {
  EXPECT_EQ(resized_size(375, 500, {256}), (std::pair<int64_t, int64_t>{256, 341}));
  EXPECT_EQ(resized_size(500, 375, {256}), (std::pair<int64_t, int64_t>{341, 256}));
  EXPECT_EQ(resized_size(7, 9, {5}), (std::pair<int64_t, int64_t>{5, 6}));
  EXPECT_EQ(resized_size(7, 9, {3, 4}), (std::pair<int64_t, int64_t>{3, 4}));
  EXPECT_EQ(crop_offset(256, 224), 16);
  EXPECT_EQ(crop_offset(6, 4), 1);
  EXPECT_EQ(crop_offset(9, 4), 2);  // round(2.5) = 2: halves to even, as Python rounds
  EXPECT_EQ(crop_offset(11, 4), 4);  // round(3.5) = 4
}

// Bilinear with half-pixel centers, written out per output pixel in double.
double reference_bilinear(const Image& img, int64_t out_h, int64_t out_w, int64_t y, int64_t x, int64_t c) {
  auto coord = [](int64_t i, int64_t in, int64_t out) {
    double s = (i + 0.5) * static_cast<double>(in) / static_cast<double>(out) - 0.5;
    return std::min(std::max(s, 0.0), static_cast<double>(in - 1));
  };
  double sy = coord(y, img.height, out_h), sx = coord(x, img.width, out_w);
  int64_t y0 = static_cast<int64_t>(std::floor(sy)), x0 = static_cast<int64_t>(std::floor(sx));
  int64_t y1 = std::min(y0 + 1, img.height - 1), x1 = std::min(x0 + 1, img.width - 1);
  double fy = sy - y0, fx = sx - x0;
  auto p = [&](int64_t yy, int64_t xx) {
    return static_cast<double>(img.pixels[static_cast<size_t>((yy * img.width + xx) * img.channels + c)]);
  };
  return (1 - fy) * ((1 - fx) * p(y0, x0) + fx * p(y0, x1)) + fy * ((1 - fx) * p(y1, x0) + fx * p(y1, x1));
}

TEST(ImagePreprocess, BilinearResizeMatchesTheReference) {
  std::mt19937 rng(3);
  for (auto [h, w, oh, ow, c] : std::vector<std::array<int64_t, 5>>{
           {5, 7, 5, 7, 3}, {5, 7, 11, 13, 3}, {16, 9, 4, 3, 1}, {1, 1, 3, 2, 3}, {6, 6, 1, 1, 1}, {3, 8, 7, 2, 3}}) {
    SCOPED_TRACE(fmt::format("{}x{} -> {}x{}, {} channels", h, w, oh, ow, c));
    Image img{.height = h, .width = w, .channels = c, .pixels = {}};
    for (int64_t i = 0; i < h * w * c; ++i) img.pixels.push_back(static_cast<uint8_t>(rng() & 255));
    FloatImage r = resize_bilinear(img, oh, ow);
    ASSERT_EQ(r.height, oh);
    ASSERT_EQ(r.width, ow);
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t x = 0; x < ow; ++x)
        for (int64_t k = 0; k < c; ++k)
          ASSERT_NEAR(r.pixels[static_cast<size_t>((y * ow + x) * c + k)], reference_bilinear(img, oh, ow, y, x, k), 1e-3)
              << y << "," << x << "," << k;
  }
}

TEST(ImageFolder, ClassFolderMatchesPyTorchPreprocessing) {
  DataOptions o{.resize = {5}, .crop = {4}, .mean = {0.485, 0.456, 0.406}, .stddev = {0.229, 0.224, 0.225}};
  auto d = open_dataset(images("classes"), o);
  auto want = npz(images("classes_expected.npz"));
  EXPECT_EQ(d->size(), 3);
  EXPECT_EQ(d->sample_shape(), (Shape{3, 4, 4}));
  ASSERT_NE(d->labels(), nullptr);
  EXPECT_EQ(*d->labels(), want["labels"].to_int64_vector());
  EXPECT_NE(d->describe().find("3 images in 2 classes"), std::string::npos) << d->describe();
  EXPECT_NE(d->describe().find("1 other file skipped"), std::string::npos) << d->describe();
  Tensor got = d->batch(0, 3);
  const Tensor& ref = want["images"];
  ASSERT_EQ(got.shape(), ref.shape());
  for (int64_t i = 0; i < got.numel(); ++i) ASSERT_NEAR(got.data<float>()[i], ref.data<float>()[i], 1e-4) << i;

  // NHWC and BGR are the same values moved; gray is one channel.
  DataOptions nhwc = o;
  nhwc.layout = Layout::NHWC;
  nhwc.color = ColorOrder::BGR;
  nhwc.mean = {0.406, 0.456, 0.485};
  nhwc.stddev = {0.225, 0.224, 0.229};
  Tensor t = open_dataset(images("classes"), nhwc)->batch(0, 3);
  ASSERT_EQ(t.shape(), (Shape{3, 4, 4, 3}));
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t p = 0; p < 16; ++p)
        ASSERT_NEAR(t.data<float>()[(n * 16 + p) * 3 + (2 - c)], got.data<float>()[(n * 3 + c) * 16 + p], 1e-5);
  auto gray = open_dataset(images("classes"), {.resize = {4, 4}, .color = ColorOrder::Gray, .limit = 2});
  EXPECT_EQ(gray->sample_shape(), (Shape{1, 4, 4}));
  EXPECT_EQ(gray->size(), 2);
  EXPECT_EQ(gray->labels()->size(), 2u);
  EXPECT_EQ(gray->full_size(), 3);
}

TEST(ImageFolder, FlatFolderWithoutPreprocessingKeepsPixels) {
  fs::path dir = fresh_dir("flat");
  fs::copy_file(images("decode/rgb8.png"), dir / "b.png");
  fs::copy_file(images("decode/rgb8.png"), dir / "a.PNG");
  std::ofstream(dir / ".hidden.png") << "ignored";
  auto d = open_dataset(dir.string(), {.scale = 1.0});
  EXPECT_EQ(d->labels(), nullptr);
  EXPECT_EQ(d->size(), 2);
  EXPECT_EQ(d->sample_shape(), (Shape{3, 5, 7}));
  Tensor t = d->batch(1, 1);
  Image img = decode_image_file(images("decode/rgb8.png"));
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t p = 0; p < 35; ++p)
      ASSERT_EQ(t.data<float>()[c * 35 + p], img.pixels[static_cast<size_t>(p * 3 + c)]);

  // A third image of another size: an error naming it, with the way out.
  fs::copy_file(images("decode/rgba8.png"), dir / "c.png");
  auto mixed = open_dataset(dir.string(), {});
  std::string e = error_of([&] { mixed->batch(0, 3); });
  EXPECT_NE(e.find("c.png: comes out as 4x6 pixels but the first image"), std::string::npos) << e;
  EXPECT_NE(e.find("--resize H W or --crop"), std::string::npos) << e;
  e = error_of([&] { open_dataset(dir.string(), {.crop = {5, 6}})->batch(0, 3); });
  EXPECT_NE(e.find("c.png: 4x6 pixels is smaller than the 5x6 crop"), std::string::npos) << e;
  EXPECT_EQ(open_dataset(dir.string(), {.resize = {4, 6}})->batch(0, 3).shape(), (Shape{3, 3, 4, 6}));
}

TEST(ImageFolder, FolderRulesAndLinks) {
  fs::path dir = fresh_dir("rules");
  std::string e = error_of([&] { open_dataset(dir.string(), {}); });
  EXPECT_NE(e.find("no .png, .jpg or .jpeg images"), std::string::npos) << e;
  fs::create_directories(dir / "cls");
  fs::copy_file(images("decode/rgb8.png"), dir / "cls" / "x.png");
  fs::copy_file(images("decode/rgb8.png"), dir / "top.png");
  e = error_of([&] { open_dataset(dir.string(), {}); });
  EXPECT_NE(e.find("holds both images (top.png) and subfolders (cls)"), std::string::npos) << e;
  fs::remove(dir / "top.png");

  // A link inside the folder is read; one leading outside is refused.
  fs::create_symlink(dir / "cls" / "x.png", dir / "cls" / "y.png");
  EXPECT_EQ(open_dataset(dir.string(), {})->size(), 2);
  fs::path outside = fresh_dir("outside");
  fs::copy_file(images("decode/rgb8.png"), outside / "secret.png");
  fs::create_symlink(outside / "secret.png", dir / "cls" / "z.png");
  e = error_of([&] { open_dataset(dir.string(), {}); });
  EXPECT_NE(e.find("z.png: leads outside the folder"), std::string::npos) << e;
  fs::remove(dir / "cls" / "z.png");
  fs::create_directory_symlink(outside, dir / "other");
  e = error_of([&] { open_dataset(dir.string(), {}); });
  EXPECT_NE(e.find("other: leads outside the folder"), std::string::npos) << e;
  fs::remove(dir / "other");

  e = error_of([&] { open_dataset(dir.string(), {.mean = {1, 2}}); });
  EXPECT_NE(e.find("2 mean/std values given for 3-channel images"), std::string::npos) << e;
  e = error_of([&] { open_dataset(dir.string(), {.resize = {1, 2, 3}}); });
  EXPECT_NE(e.find("resize takes S"), std::string::npos) << e;
  e = error_of([&] { open_dataset(dir.string(), {.crop = {0}}); });
  EXPECT_NE(e.find("crop takes S"), std::string::npos) << e;
  e = error_of([&] { open_dataset(images("decode/rgb8.png"), {}); });
  EXPECT_NE(e.find("rgb8.png: a single image"), std::string::npos) << e;
  // A damaged image inside a folder: the error names it.
  fs::copy_file(images("broken/truncated.png"), dir / "cls" / "w.png");
  e = error_of([&] { open_dataset(dir.string(), {})->batch(0, 3); });
  EXPECT_NE(e.find("w.png: bad PNG"), std::string::npos) << e;
}

}  // namespace
}  // namespace hone::data
