// hone.LayoutTransform's fast kernels (kernels/cpu/layout_kernels.cc) against the reference: oneDNN's reorder for
// every type and direction, and the 8-bit three-channel interleave (a quantized model's input going channels-last)
// on widths around its 16-pixel steps, batch 2, 1 and 2 threads. A layout change moves bytes: results must be exact.
#include "int8_test_util.h"

namespace hone::test {
namespace {

TEST(KernelsLayout, TransformsMatchReferenceExactly) {
  struct Case {
    Shape shape;
    DType type;
    std::string to;
    std::string kernel;
  };
  std::vector<Case> cases = {
      {{1, 3, 5, 37}, DType::UInt8, "channels-last", "interleave3-avx2"},  // two steps of 16 and a tail of 5
      {{2, 3, 16, 16}, DType::Int8, "channels-last", "interleave3-avx2"},
      {{1, 3, 2, 7}, DType::UInt8, "channels-last", "interleave3-avx2"},   // tail only
      {{1, 3, 480, 640}, DType::UInt8, "channels-last", "interleave3-avx2"},  // over 512 KiB: both threads
      {{1, 3, 9, 9}, DType::UInt8, "plain", "dnnl-reorder"},
      {{1, 4, 9, 9}, DType::UInt8, "channels-last", "dnnl-reorder"},
      {{1, 3, 9, 9}, DType::Float32, "channels-last", "dnnl-reorder"},
      {{2, 24, 5, 6}, DType::Float32, "plain", "dnnl-reorder"}};
  for (const Case& c : cases)
    for (int threads : {1, 2}) {
      std::string what = fmt::format("{}[{}] to {}, {} threads", dtype_name(c.type), shape_str(c.shape), c.to, threads);
      Int8Case ic{.op = "LayoutTransform",
                  .inputs = {c.type == DType::Float32 ? random_floats(c.shape, 3, -2.f, 2.f) : random_q8(c.type, c.shape, 3)},
                  .constant = {false},
                  .attrs = {Attribute::of_string("to", c.to)},
                  .threads = threads};
      Int8Outcome o = run_int8_case(ic, best_isa());
      std::string want = c.kernel == "interleave3-avx2" && static_cast<int>(best_isa()) < static_cast<int>(Isa::Avx2)
                             ? "dnnl-reorder"
                             : c.kernel;
      EXPECT_EQ(o.kernel, want) << what;
      ASSERT_EQ(o.fast.nbytes(), o.reference.nbytes()) << what;
      EXPECT_EQ(std::memcmp(o.fast.raw(), o.reference.raw(), o.fast.nbytes()), 0) << what;
    }
}

}  // namespace
}  // namespace hone::test
