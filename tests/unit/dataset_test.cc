// Data sets (data/dataset.h): arrays from .npy / .npz / IDX preprocessed against a plain formula, labels, batches
// fitted to model inputs (fixed and symbolic batch dims, reshaping, padding, integer inputs) and the errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "data/dataset.h"
#include "data/npy.h"
#include "test_paths.h"

namespace hone::data {
namespace {

namespace fs = std::filesystem;

const char* const kFashionImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char* const kFashionLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

fs::path temp_dir() {
  static fs::path dir = [] {
    fs::path p = fs::temp_directory_path() / ("hone-dataset-test-" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
  }();
  return dir;
}

std::string write_array(const std::string& name, const Tensor& t) {
  std::string path = (temp_dir() / name).string();
  write_npy_file(t, path, true);
  return path;
}

std::string write_bytes(const std::string& name, const std::string& bytes) {
  std::string path = (temp_dir() / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

Tensor counting(DType dtype, Shape shape) {
  Tensor t(dtype, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, static_cast<double>(i % 251));
  return t;
}

ValueInfo input(const std::string& name, DType dtype, std::optional<SymShape> shape) {
  return {name, TypeInfo::tensor(dtype, std::move(shape)), ""};
}

TEST(Dataset, FloatNpyPassesThroughUnchanged) {
  auto d = open_dataset(test::fixture("fashion_mnist_test_1000_images.npy"), {});
  Tensor all = read_npy_file(test::fixture("fashion_mnist_test_1000_images.npy"));
  EXPECT_EQ(d->size(), 1000);
  EXPECT_EQ(d->sample_shape(), (Shape{1, 28, 28}));
  EXPECT_EQ(d->labels(), nullptr);
  Tensor b = d->batch(998, 2);
  ASSERT_EQ(b.shape(), (Shape{2, 1, 28, 28}));
  EXPECT_EQ(std::memcmp(b.raw(), all.data<float>() + 998 * 784, 2 * 784 * sizeof(float)), 0);
  EXPECT_EQ(d->batch(1000, 0).numel(), 0);
  EXPECT_NE(error_of([&] { d->batch(999, 2); }).find("999 to 1000"), std::string::npos);
}

TEST(Dataset, IntegerDataIsScaledAndNormalizedPerChannel) {
  // uint8 defaults to 1/255; other integers to 1. Three channels first (nchw) or last (nhwc).
  for (DType dtype : {DType::UInt8, DType::Int16, DType::Float64}) {
    for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
      SCOPED_TRACE(std::string(dtype_name(dtype)) + (layout == Layout::NCHW ? " nchw" : " nhwc"));
      Shape shape = layout == Layout::NCHW ? Shape{4, 3, 2, 5} : Shape{4, 2, 5, 3};
      Tensor src = counting(dtype, shape);
      std::string path = write_array("ints.npy", src);
      DataOptions o{.mean = {0.5, 0.25, -1}, .stddev = {2, 0.5, 4}, .layout = layout};
      if (dtype == DType::Float64) o.scale = 0.125;
      auto d = open_dataset(path, o);
      Tensor b = d->batch(1, 3);
      ASSERT_EQ(b.shape()[0], 3);
      const double scale = dtype == DType::UInt8 ? 1.0 / 255 : dtype == DType::Int16 ? 1.0 : 0.125;
      for (int64_t i = 0; i < b.numel(); ++i) {
        int64_t k = 30 + i;  // element of the source
        int64_t c = layout == Layout::NCHW ? (k / 10) % 3 : k % 3;
        double want = (src.get_double(k) * scale - o.mean[static_cast<size_t>(c)]) / o.stddev[static_cast<size_t>(c)];
        ASSERT_FLOAT_EQ(b.data<float>()[i], static_cast<float>(want)) << "element " << i;
      }
    }
  }
}

TEST(Dataset, NpzFirstArrayOrNamedMemberAndLimit) {
  auto d = open_dataset(test::fixture("npz_deflated.npz"), {});  // images = arange(12) [3, 4], labels
  EXPECT_EQ(d->sample_shape(), (Shape{4}));
  EXPECT_EQ(d->batch(2, 1).data<float>()[3], 11.0f);
  EXPECT_NE(d->describe().find("npz_deflated.npz:images"), std::string::npos) << d->describe();
  auto l = open_dataset(test::fixture("npz_stored.npz") + ":labels", {.limit = 2});
  EXPECT_EQ(l->size(), 2);
  EXPECT_EQ(l->full_size(), 3);
  EXPECT_EQ(l->sample_shape(), Shape{});
  EXPECT_EQ(l->batch(0, 2).data<float>()[1], -2.0f);
  std::string e = error_of([] { open_dataset(test::fixture("npz_stored.npz") + ":nope", {}); });
  EXPECT_NE(e.find("no array 'nope'"), std::string::npos) << e;
  EXPECT_NE(e.find("images, labels"), std::string::npos) << e;
  EXPECT_NE(error_of([] { read_labels(test::fixture("npz_stored.npz") + ":labels"); }).find("label -2 (sample 1)"),
            std::string::npos);
}

TEST(Dataset, FashionMnistIdxMatchesTheNormalizedFixture) {
  if (!fs::exists(kFashionImages)) GTEST_SKIP() << kFashionImages << " is not installed (dataset-fashion-mnist)";
  auto d = open_dataset(kFashionImages, {.mean = {0.286}, .stddev = {0.353}});
  EXPECT_EQ(d->size(), 10000);
  EXPECT_EQ(d->sample_shape(), (Shape{28, 28}));
  Tensor ours = d->batch(0, 1000);
  Tensor fixture = read_npy_file(test::fixture("fashion_mnist_test_1000_images.npy"));
  ASSERT_EQ(ours.numel(), fixture.numel());
  double worst = 0;
  for (int64_t i = 0; i < ours.numel(); ++i)
    worst = std::max(worst, std::fabs(double{ours.data<float>()[i]} - fixture.data<float>()[i]));
  EXPECT_LT(worst, 1e-6);
  std::vector<int64_t> labels = read_labels(kFashionLabels);
  std::vector<int64_t> first = read_npy_file(test::fixture("fashion_mnist_test_1000_labels.npy")).to_int64_vector();
  ASSERT_EQ(labels.size(), 10000u);
  EXPECT_TRUE(std::equal(first.begin(), first.end(), labels.begin()));
}

TEST(Dataset, LabelsFromNpyAndTheirErrors) {
  Tensor col(DType::Int32, {3, 1});
  col.data<int32_t>()[2] = 7;
  EXPECT_EQ(read_labels(write_array("col.npy", col)), (std::vector<int64_t>{0, 0, 7}));
  std::string e = error_of([] { read_labels(write_array("f.npy", Tensor(DType::Float32, {3}))); });
  EXPECT_NE(e.find("f.npy: labels must be integers"), std::string::npos) << e;
  e = error_of([] { read_labels(write_array("m.npy", Tensor(DType::Int64, {2, 2}))); });
  EXPECT_NE(e.find("[2x2]"), std::string::npos) << e;
}

TEST(Dataset, BadFilesAndOptionsGetClearErrors) {
  std::string e = error_of([] { open_dataset("/nonexistent/x.npy", {}); });
  EXPECT_NE(e.find("/nonexistent/x.npy: no such file"), std::string::npos) << e;
  e = error_of([] { open_dataset(write_bytes("junk.bin", "hello world"), {}); });
  EXPECT_NE(e.find("junk.bin: not a .npy, .npz or IDX file"), std::string::npos) << e;
  e = error_of([] { open_dataset(write_bytes("empty.npy", ""), {}); });
  EXPECT_NE(e.find("empty.npy: empty file"), std::string::npos) << e;
  e = error_of([] { open_dataset(write_bytes("short.npy", "\x93NUMPY\x01"), {}); });
  EXPECT_NE(e.find("short.npy"), std::string::npos) << e;
  std::string ints = write_array("a.npy", counting(DType::UInt8, {2, 3, 4, 4}));
  e = error_of([&] { open_dataset(ints, {.resize = {8}}); });
  EXPECT_NE(e.find("apply to image folders"), std::string::npos) << e;
  e = error_of([&] { open_dataset(ints, {.mean = {1, 2}}); });
  EXPECT_NE(e.find("2 mean/std values given"), std::string::npos) << e;
  e = error_of([&] { open_dataset(ints, {.stddev = {0}}); });
  EXPECT_NE(e.find("std must be positive"), std::string::npos) << e;
  e = error_of([] { open_dataset(write_array("s.npy", Tensor(DType::Float32, {})), {}); });
  EXPECT_NE(e.find("scalar"), std::string::npos) << e;
  e = error_of([&] { open_dataset(ints + ":x", {}); });
  EXPECT_NE(e.find("not one"), std::string::npos) << e;
}

TEST(InputBatcher, SymbolicBatchReshapesSamplesAndShortensTheLastBatch) {
  auto d = open_dataset(write_array("flat.npy", counting(DType::Float32, {10, 784})), {});
  InputBatcher b(*d, input("x", DType::Float32, SymShape{Dim::named("N"), 1, 28, 28}), 4);
  EXPECT_FALSE(b.fixed_batch());
  EXPECT_EQ(b.batches(), 3);
  EXPECT_EQ(b.count(2), 2);
  EXPECT_EQ(b.first_sample(2), 8);
  Tensor last = b.batch(2);
  EXPECT_EQ(last.shape(), (Shape{2, 1, 28, 28}));
  EXPECT_EQ(last.data<float>()[1], static_cast<float>((8 * 784 + 1) % 251));
  // Symbolic inner dims keep the sample's shape when the known ones agree.
  InputBatcher sym(*d, input("x", DType::Float32, SymShape{Dim::named("N"), Dim::named("F")}), 10);
  EXPECT_EQ(sym.batch(0).shape(), (Shape{10, 784}));
  // Unknown rank: samples as they are.
  InputBatcher any(*d, input("x", DType::Float32, std::nullopt), 3);
  EXPECT_EQ(any.batch(3).shape(), (Shape{1, 784}));
}

TEST(InputBatcher, FixedBatchPadsTheLastBatchWithZeros) {
  auto d = open_dataset(write_array("five.npy", counting(DType::Float32, {5, 2})), {});
  InputBatcher b(*d, input("x", DType::Float32, SymShape{3, 2}), 100);
  EXPECT_TRUE(b.fixed_batch());
  EXPECT_EQ(b.batches(), 2);
  EXPECT_EQ(b.count(1), 2);
  Tensor last = b.batch(1);
  ASSERT_EQ(last.shape(), (Shape{3, 2}));
  EXPECT_EQ(last.data<float>()[0], 6.0f);
  EXPECT_EQ(last.data<float>()[3], 9.0f);
  EXPECT_EQ(last.data<float>()[4], 0.0f);
  EXPECT_EQ(last.data<float>()[5], 0.0f);
  EXPECT_NE(error_of([&] { b.batch(2); }).find("batch 2"), std::string::npos);
}

TEST(InputBatcher, IntegerInputsTakeExactValuesOnly) {
  auto raw = open_dataset(write_array("u8.npy", counting(DType::UInt8, {2, 3})), {.scale = 1.0});
  InputBatcher b(*raw, input("img", DType::UInt8, SymShape{Dim::named("N"), 3}), 2);
  Tensor t = b.batch(0);
  ASSERT_EQ(t.dtype(), DType::UInt8);
  EXPECT_EQ(t.data<uint8_t>()[5], 5);
  auto scaled = open_dataset(write_array("u8.npy", counting(DType::UInt8, {2, 3})), {});  // 1/255: not integers
  InputBatcher bad(*scaled, input("img", DType::UInt8, SymShape{Dim::named("N"), 3}), 2);
  std::string e = error_of([&] { bad.batch(0); });
  EXPECT_NE(e.find("input 'img' takes uint8 values, but sample 0 holds"), std::string::npos) << e;
  auto big = open_dataset(write_array("i16.npy", counting(DType::Int16, {2, 200})), {});
  InputBatcher wrap(*big, input("img", DType::Int8, SymShape{2, 200}), 2);
  EXPECT_NE(error_of([&] { wrap.batch(0); }).find("holds 128"), std::string::npos);
  InputBatcher half(*big, input("h", DType::Float16, SymShape{2, 200}), 2);
  EXPECT_EQ(half.batch(0).get_double(199), 199.0);
}

TEST(InputBatcher, ShapeMismatchNamesTheInputAndBothShapes) {
  auto d = open_dataset(write_array("rgb.npy", counting(DType::UInt8, {2, 3, 32, 32})), {});
  std::string e = error_of([&] { InputBatcher(*d, input("input", DType::Float32, SymShape{Dim::named("batch"), 1, 28, 28}), 8); });
  EXPECT_NE(e.find("input 'input' takes [batchx1x28x28]"), std::string::npos) << e;
  EXPECT_NE(e.find("(784 values a sample)"), std::string::npos) << e;
  EXPECT_NE(e.find("samples of [3x32x32] (3072 values) do not fit (" + temp_dir().string() + "/rgb.npy"),
            std::string::npos)
      << e;
  e = error_of([&] { InputBatcher(*d, input("x", DType::Float32, SymShape{Dim::named("N"), 3, Dim::named("H"), 31}), 8); });
  EXPECT_NE(e.find("input 'x' takes [Nx3xHx31]"), std::string::npos) << e;
  e = error_of([&] { InputBatcher(*d, input("s", DType::Float32, SymShape{}), 8); });
  EXPECT_NE(e.find("input 's' is a scalar"), std::string::npos) << e;
  e = error_of([&] { InputBatcher(*d, input("b", DType::Bool, SymShape{Dim::named("N"), 3, 32, 32}), 8); });
  EXPECT_NE(e.find("input 'b' takes bool"), std::string::npos) << e;
  e = error_of([&] { InputBatcher(*d, input("x", DType::Float32, SymShape{Dim::named("N"), 3, 32, 32}), 0); });
  EXPECT_NE(e.find("batch size must be positive"), std::string::npos) << e;
}

}  // namespace
}  // namespace hone::data
