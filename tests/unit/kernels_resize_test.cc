// The fast Resize / Upsample kernel against the reference kernel: every mode, nearest_mode and coordinate
// transformation it claims, up- and downsampling by integer and fractional factors and by sizes, spatial sizes around
// the vector widths (1, 7, 15, 16, 17, 31, 33, 64+), both layouts, every ISA tier, one and two threads. Nearest must
// match bit for bit; linear and cubic sum in float where the reference sums in double.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>

#include "kernel_run_util.h"
#include "ir/onnx/onnx_io.h"
#include "runtime/plan.h"
#include "test_paths.h"

namespace hone {
namespace {

using test::Arg;
using test::attr_floats;
using test::attr_int;
using test::attr_ints;
using test::attr_string;
using test::attr_float;

Tensor floats(std::vector<float> v) {
  Tensor t(DType::Float32, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
  return t;
}
Tensor int64s(std::vector<int64_t> v) {
  Tensor t(DType::Int64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}

// Resize-11+ inputs: x, roi (omitted), scales or sizes as constants.
std::vector<Arg> resize_args(const Tensor& x, const std::vector<float>& scales, const std::vector<int64_t>& sizes = {}) {
  std::vector<Arg> a = {Arg(x), Arg::omitted()};
  if (!sizes.empty()) {
    a.push_back(Arg::omitted());
    a.push_back(Arg::constant(int64s(sizes)));
  } else {
    a.push_back(Arg::constant(floats(scales)));
  }
  return a;
}

void expect_close(const Tensor& fast, const Tensor& ref, bool exact, const std::string& what) {
  ASSERT_EQ(fast.shape(), ref.shape()) << what;
  if (exact) return test::expect_identical(fast, ref, what);
  int bad = 0;
  for (int64_t i = 0; i < fast.numel() && bad < 3; ++i) {
    float f = fast.data<float>()[i], r = ref.data<float>()[i];
    if (!(std::abs(f - r) <= 2e-6f * (1 + std::abs(r)))) {
      ++bad;
      ADD_FAILURE() << what << " [" << i << "]: fast " << f << " reference " << r;
    }
  }
}

struct Case {
  std::string mode;
  std::string coord;    // "" for Resize-10 / Upsample
  std::string nearest;  // nearest_mode ("" for the default)
};

std::string describe(const Case& c, const Shape& s, const std::string& how, test::RunOptions o) {
  return c.mode + "/" + c.coord + "/" + c.nearest + " " + shape_str(s) + " " + how + " " + isa_name(o.isa) +
         (o.channels_last ? " nhwc" : " nchw") + " threads=" + std::to_string(o.threads);
}

// Runs the case and checks it chose the fast kernel of the tier and matches the reference.
void check(const Case& c, int64_t opset, const std::vector<Arg>& args, std::vector<Attribute> attrs,
           const test::RunOptions& o, const std::string& what) {
  test::KernelRun r = test::run_kernel_and_reference("Resize", opset, args, std::move(attrs), o);
  ASSERT_EQ(r.fast.size(), 1u) << what;
  std::string suffix = std::string(o.channels_last ? "_nhwc_" : "_") + isa_name(o.isa);
  EXPECT_TRUE(r.kernel.starts_with("f32_resize_" + c.mode) && r.kernel.ends_with(suffix)) << what << ": " << r.kernel;
  expect_close(r.fast[0], r.reference[0], c.mode == "nearest", what);
}

std::vector<Attribute> case_attrs(const Case& c) {
  std::vector<Attribute> a = {attr_string("mode", c.mode)};
  if (!c.coord.empty()) a.push_back(attr_string("coordinate_transformation_mode", c.coord));
  if (!c.nearest.empty()) a.push_back(attr_string("nearest_mode", c.nearest));
  return a;
}

const std::vector<std::string> kCoords = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                          "half_pixel_symmetric"};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const std::string& ct : kCoords) {
    for (const char* nm : {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}) cases.push_back({"nearest", ct, nm});
    cases.push_back({"linear", ct, ""});
    cases.push_back({"cubic", ct, ""});
  }
  return cases;
}

// Scale pairs (H, W) and output sizes that exercise integer, fractional, identity and down-scaling.
const std::vector<std::pair<float, float>> kScales = {{2, 2}, {3, 3}, {1, 2}, {2, 1}, {0.5f, 0.5f},
                                                      {1.5f, 2.5f}, {0.6f, 1.7f}, {4, 1.25f}, {4, 4}, {8, 8}};

TEST(KernelsResize, EveryModeAndCoordinateMatchesReference) {
  const std::vector<Shape> shapes = {{1, 1, 1, 1}, {1, 3, 5, 7}, {2, 2, 4, 16}, {1, 2, 17, 15}, {1, 1, 3, 33}};
  for (const Case& c : all_cases())
    for (const Shape& s : shapes)
      for (const auto& [sh, sw] : kScales) {
        Tensor x = test::random_tensor(DType::Float32, s, static_cast<uint32_t>(s[2] * 31 + s[3]));
        for (bool cl : {false, true}) {
          test::RunOptions o{.isa = test::isa_tiers().back(), .threads = 1, .channels_last = cl};
          std::string how = "scales " + std::to_string(sh) + "x" + std::to_string(sw);
          check(c, 19, resize_args(x, {1, 1, sh, sw}), case_attrs(c), o, describe(c, s, how, o));
        }
      }
}

TEST(KernelsResize, SizesAxesAndAspectPolicies) {
  Tensor x = test::random_tensor(DType::Float32, {2, 3, 9, 13}, 7);
  const std::vector<std::vector<int64_t>> sizes = {{2, 3, 18, 26}, {2, 3, 5, 31}, {2, 3, 1, 1}, {2, 3, 9, 64},
                                                   {2, 3, 17, 7}};
  for (const Case& c : {Case{"nearest", "half_pixel", ""}, Case{"linear", "align_corners", ""},
                        Case{"linear", "half_pixel", ""}, Case{"cubic", "asymmetric", ""}})
    for (const auto& z : sizes)
      for (bool cl : {false, true}) {
        test::RunOptions o{.isa = test::isa_tiers().back(), .channels_last = cl};
        check(c, 13, resize_args(x, {}, z), case_attrs(c), o, describe(c, x.shape(), "sizes", o));
      }
  // Opset 18: `axes` names the spatial axes only; keep_aspect_ratio_policy picks one scale for both.
  for (const char* policy : {"stretch", "not_larger", "not_smaller"})
    for (bool cl : {false, true}) {
      Case c{"linear", "half_pixel", ""};
      std::vector<Attribute> attrs = case_attrs(c);
      attrs.push_back(attr_ints("axes", {2, 3}));
      attrs.push_back(attr_string("keep_aspect_ratio_policy", policy));
      test::RunOptions o{.isa = test::isa_tiers().back(), .channels_last = cl};
      check(c, 18, resize_args(x, {}, {20, 30}), attrs, o, describe(c, x.shape(), policy, o));
      attrs = case_attrs(c);
      attrs.push_back(attr_ints("axes", {-1, -2}));
      check(c, 18, resize_args(x, {2.5f, 0.5f}), attrs, o, describe(c, x.shape(), "axes -1 -2", o));
    }
}

TEST(KernelsResize, CubicOptionsAndExcludeOutside) {
  Tensor x = test::random_tensor(DType::Float32, {1, 2, 6, 11}, 9);
  for (const std::string& ct : {std::string("half_pixel"), std::string("align_corners"), std::string("asymmetric")})
    for (float a : {-0.5f, -0.75f})
      for (int64_t exclude : {0, 1})
        for (const auto& [sh, sw] : kScales) {
          Case c{"cubic", ct, ""};
          std::vector<Attribute> attrs = case_attrs(c);
          attrs.push_back(attr_float("cubic_coeff_a", a));
          attrs.push_back(attr_int("exclude_outside", exclude));
          test::RunOptions o{.isa = test::isa_tiers().back()};
          check(c, 13, resize_args(x, {1, 1, sh, sw}), attrs, o, describe(c, x.shape(), "exclude", o));
        }
  for (int64_t exclude : {1}) {
    Case c{"linear", "half_pixel", ""};
    std::vector<Attribute> attrs = case_attrs(c);
    attrs.push_back(attr_int("exclude_outside", exclude));
    test::RunOptions o{.isa = test::isa_tiers().back(), .channels_last = true};
    check(c, 13, resize_args(x, {1, 1, 0.7f, 2.3f}), attrs, o, describe(c, x.shape(), "exclude", o));
  }
}

// Channel and width counts around the vector widths, on every tier, both layouts, one and two threads (large
// enough to split).
TEST(KernelsResize, VectorWidthsTiersAndThreads) {
  const std::vector<int64_t> widths = {1, 7, 15, 16, 17, 31, 33, 64, 65};
  for (Isa isa : test::isa_tiers())
    for (int64_t n : widths)
      for (const Case& c : {Case{"nearest", "asymmetric", "floor"}, Case{"nearest", "half_pixel", ""},
                            Case{"linear", "half_pixel", ""}, Case{"linear", "align_corners", ""},
                            Case{"cubic", "half_pixel", ""}})
        for (bool cl : {false, true})
          for (const auto& [sh, sw] : {std::pair<float, float>{2, 2}, {0.5f, 1.5f}, {3, 3}, {4, 4}, {8, 8}}) {
            Shape s = {1, n, 5, n};
            Tensor x = test::random_tensor(DType::Float32, s, static_cast<uint32_t>(n));
            test::RunOptions o{.isa = isa, .threads = 1, .channels_last = cl};
            check(c, 13, resize_args(x, {1, 1, sh, sw}), case_attrs(c), o, describe(c, s, "widths", o));
          }
  for (Isa isa : test::isa_tiers())
    for (const Case& c : {Case{"nearest", "asymmetric", "floor"}, Case{"linear", "pytorch_half_pixel", ""},
                          Case{"cubic", "half_pixel", ""}})
      for (bool cl : {false, true}) {
        Shape s = {2, 17, 33, 47};
        Tensor x = test::random_tensor(DType::Float32, s, 3);
        test::RunOptions o{.isa = isa, .threads = 2, .channels_last = cl};
        check(c, 13, resize_args(x, {1, 1, 2, 2}), case_attrs(c), o, describe(c, s, "threads", o));
        check(c, 13, resize_args(x, {1, 1, 1.3f, 0.7f}), case_attrs(c), o, describe(c, s, "threads", o));
      }
}

TEST(KernelsResize, LegacyResize10AndUpsample) {
  Tensor x = test::random_tensor(DType::Float32, {1, 3, 7, 10}, 11);
  for (const char* mode : {"nearest", "linear"})
    for (const auto& [sh, sw] : kScales)
      for (bool cl : {false, true}) {
        Case c{mode, "", ""};
        test::RunOptions o{.isa = test::isa_tiers().back(), .channels_last = cl};
        std::vector<float> sc = {1, 1, sh, sw};
        check(c, 10, {Arg(x), Arg::constant(floats(sc))}, {attr_string("mode", mode)}, o,
              describe(c, x.shape(), "Resize-10", o));
        test::KernelRun r = test::run_kernel_and_reference("Upsample", 9, {Arg(x), Arg::constant(floats(sc))},
                                                           {attr_string("mode", mode)}, o);
        EXPECT_TRUE(r.kernel.starts_with("f32_resize_")) << r.kernel;
        expect_close(r.fast[0], r.reference[0], std::string(mode) == "nearest", describe(c, x.shape(), "Upsample-9", o));
        r = test::run_kernel_and_reference("Upsample", 7, {Arg(x)}, {attr_string("mode", mode), attr_floats("scales", sc)},
                                           o);
        EXPECT_TRUE(r.kernel.starts_with("f32_resize_")) << r.kernel;
        expect_close(r.fast[0], r.reference[0], std::string(mode) == "nearest", describe(c, x.shape(), "Upsample-7", o));
      }
}

TEST(KernelsResize, UnsupportedCasesStayOnReference) {
  Tensor x = test::random_tensor(DType::Float32, {1, 2, 4, 4}, 1);
  test::RunOptions o{.isa = test::isa_tiers().back()};
  auto kernel = [&](const std::vector<Arg>& args, std::vector<Attribute> attrs, int64_t opset = 13) {
    return test::run_kernel_and_reference("Resize", opset, args, std::move(attrs), o).kernel;
  };
  // Scales fed at run time.
  EXPECT_EQ(kernel({Arg(x), Arg::omitted(), Arg(floats({1, 1, 2, 2}))}, {}), "reference");
  // N or C scaled.
  EXPECT_EQ(kernel(resize_args(x, {1, 2, 2, 2}), {}), "reference");
  EXPECT_EQ(kernel(resize_args(x, {2, 1, 1, 1}), {}), "reference");
  // tf_crop_and_resize, antialias.
  EXPECT_EQ(kernel({Arg(x), Arg::constant(floats({0, 0, 0.1f, 0.2f, 1, 1, 0.9f, 0.8f})), Arg::constant(floats({1, 1, 2, 2}))},
                   {attr_string("coordinate_transformation_mode", "tf_crop_and_resize"), attr_string("mode", "linear")}),
            "reference");
  EXPECT_EQ(kernel(resize_args(x, {1, 1, 0.5f, 0.5f}), {attr_string("mode", "linear"), attr_int("antialias", 1)}, 18),
            "reference");
  // Other ranks and types.
  Tensor x3 = test::random_tensor(DType::Float32, {2, 4, 4}, 2);
  EXPECT_EQ(kernel(resize_args(x3, {1, 2, 2}), {}), "reference");
  Tensor xd(DType::Float64, {1, 1, 2, 2});
  EXPECT_EQ(kernel(resize_args(xd, {1, 1, 2, 2}), {}), "reference");
}

// PaddleOCR det's upsampling: nearest x2 in FPN (1x96x80x80 is one of its sizes), and a linear x2 on a bigger map.
// Checks the result, then prints the fastest of several runs of the fast kernel (every tier, both layouts, one and
// two threads) next to the reference kernel's.
TEST(KernelsResize, BenchmarkShapesMatchAndAreTimed) {
  struct Bench {
    Case c;
    Shape shape;
  };
  for (const Bench& b : {Bench{{"nearest", "asymmetric", "floor"}, {1, 96, 80, 80}},
                         Bench{{"linear", "half_pixel", ""}, {1, 64, 160, 160}}}) {
    Tensor x = test::random_tensor(DType::Float32, b.shape, 5);
    std::vector<Arg> args = resize_args(x, {1, 1, 2, 2});
    Node n;
    n.op_type = "Resize";
    n.name = "n";
    n.attributes = case_attrs(b.c);
    n.inputs = {"x", "", "scales"};
    n.outputs = {"y"};
    TypeInfo tx = TypeInfo::tensor(DType::Float32, to_sym_shape(x.shape()));
    TypeInfo ts = TypeInfo::tensor(DType::Float32, SymShape{Dim(4)});
    Value vs = Value::of(args[2].tensor), vx = Value::of(x), vx_nhwc = Value::of(test::nchw_to_nhwc(x));
    const OpSchema* schema = OpRegistry::instance().find("", "Resize", 13);
    ReferenceKernel reference(*schema);
    double ref = test::time_kernel_ms(reference, n, 13, {&vx, nullptr, &vs}, 1, 1, 2);
    double bytes = static_cast<double>(shape_numel(b.shape)) * 4 * 5;  // read once, write 4x
    for (Isa isa : test::isa_tiers())
      for (bool cl : {false, true})
        for (int threads : {1, 2}) {
          test::RunOptions o{.isa = isa, .threads = threads, .channels_last = cl};
          check(b.c, 13, args, case_attrs(b.c), o, describe(b.c, b.shape, "bench", o));
          ScopedIsaOverride force(isa);
          KernelQuery q{n, 13, {&tx, nullptr, &ts}, {nullptr, nullptr, &args[2].tensor}, {TypeInfo{}}, threads};
          if (cl) q.layout = Layout::ChannelsLast;
          std::unique_ptr<Kernel> k = KernelRegistry::instance().best(q)->create(q);
          double fast = test::time_kernel_ms(*k, n, 13, {cl ? &vx_nhwc : &vx, nullptr, &vs}, 1, threads, 30);
          std::cout << "[ timing   ] Resize " << b.c.mode << " x2 " << shape_str(b.shape) << " " << k->name()
                    << " threads=" << threads << ": " << fast << " ms (" << bytes / fast / 1e6
                    << " GB/s), reference " << ref << " ms (plain, 1 thread): " << ref / fast << "x\n";
        }
  }
}

}  // namespace
}  // namespace hone

namespace hone {
namespace {

// PaddleOCR det upsamples its FPN maps with Resize nodes whose scales are Constant nodes: every one gets the fast
// kernel when the model is planned.
TEST(KernelsResize, ChosenOnPaddleOcrDet) {
  std::string path = test::npm_model(test::kPaddleDet);
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run scripts/install_deps.sh";
  Session s = Session::load(path, {.threads = 1});
  const Plan& plan = s.plan_for({Value::of(Tensor(DType::Float32, {1, 3, 640, 640}))});
  int fast = 0;
  for (const PlanStep& st : plan.steps) {
    if (st.node->op_type != "Resize") continue;
    EXPECT_TRUE(st.kernel->name().starts_with("f32_resize_nearest")) << st.node->label() << ": " << st.kernel->name();
    ++fast;
  }
  EXPECT_GT(fast, 0);
}

}  // namespace
}  // namespace hone

namespace hone {
namespace {

// ONNX's own Resize / Upsample backend tests feed scales and sizes as graph inputs, so the conformance run keeps them
// on the reference kernel. Here the same models get those inputs as initializers (what exported models have): the
// fast kernel must then produce ONNX's expected outputs (ONNX's tolerance: rtol 1e-3, atol 1e-7), in both layouts.
TEST(KernelsResize, OnnxBackendTestsWithConstantScales) {
  std::filesystem::path root = test::conformance_dir() + "/onnx-node";
  ASSERT_TRUE(std::filesystem::exists(root)) << root;
  int fast = 0, total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("test_resize_") && !name.starts_with("test_upsample_")) continue;
    Model m = load_onnx_file((entry.path() / "model.onnx").string());
    std::filesystem::path data = entry.path() / "test_data_set_0";
    Tensor x = load_tensor_pb_file((data / "input_0.pb").string());
    Tensor want = load_tensor_pb_file((data / "output_0.pb").string());
    std::vector<ValueInfo> fed;
    for (size_t i = 0; i < m.graph.inputs.size(); ++i) {
      if (i == 0) {
        fed.push_back(m.graph.inputs[i]);
        continue;
      }
      m.graph.initializers[m.graph.inputs[i].name] =
          load_tensor_pb_file((data / ("input_" + std::to_string(i) + ".pb")).string());
    }
    m.graph.inputs = fed;
    ++total;
    Session s(m, {.threads = 2});
    const Plan& plan = s.plan_for({Value::of(x)});
    bool chosen = false;
    for (const PlanStep& st : plan.steps) chosen = chosen || st.kernel->name().starts_with("f32_resize_");
    if (!chosen) continue;  // tf_crop_and_resize, antialias: the reference kernel's
    ++fast;
    Tensor got = s.run({{fed[0].name, x}})[0];
    ASSERT_EQ(got.shape(), want.shape()) << name;
    for (int64_t i = 0; i < got.numel(); ++i) {
      float g = got.data<float>()[i], w = want.data<float>()[i];
      ASSERT_LE(std::abs(g - w), 1e-7f + 1e-3f * std::abs(w)) << name << " [" << i << "]";
    }
    // The same node channels-last, through the factory.
    const Node& node = m.graph.nodes[0];
    std::vector<Arg> args = {Arg(x)};
    for (size_t i = 1; i < node.inputs.size(); ++i)
      args.push_back(node.inputs[i].empty() ? Arg::omitted() : Arg::constant(m.graph.initializers.at(node.inputs[i])));
    int64_t opset = m.opset_import[0].version;
    test::KernelRun r = test::run_kernel_and_reference(node.op_type, opset, args, node.attributes,
                                                       {.isa = test::isa_tiers().back(), .channels_last = true});
    ASSERT_EQ(r.fast.size(), 1u) << name;
    for (int64_t i = 0; i < r.fast[0].numel(); ++i) {
      float g = r.fast[0].data<float>()[i], w = want.data<float>()[i];
      ASSERT_LE(std::abs(g - w), 1e-7f + 1e-3f * std::abs(w)) << name << " nhwc [" << i << "]";
    }
  }
  std::cout << "[ kernels  ] fast Resize on " << fast << " of " << total << " ONNX backend tests\n";
  EXPECT_GE(fast, 30);
}

}  // namespace
}  // namespace hone
