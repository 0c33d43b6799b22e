#include "tools/hone/data_options.h"

#include <fmt/format.h>

#include <cmath>

#include "data/image_folder.h"

namespace hone::cli {
namespace {

double parse_number(const std::string& text, const std::string& flag) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(v))
    throw CLI::ValidationError(flag, fmt::format("'{}' is not a number", text));
  return v;
}

// "224" or "224x224" (',' also separates).
std::vector<int64_t> parse_size(const std::string& text, const std::string& flag) {
  std::vector<int64_t> dims;
  size_t start = 0;
  for (;;) {
    size_t end = text.find_first_of("x,", start);
    std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    bool digits = !part.empty() && part.size() <= 6 &&
                  std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    int64_t v = digits ? std::stoll(part) : 0;
    if (v < 1 || v > data::kMaxImageSide)
      throw CLI::ValidationError(flag, fmt::format("'{}' is not S or HxW with sides of 1 to {}", text,
                                                   data::kMaxImageSide));
    dims.push_back(v);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (dims.size() > 2) throw CLI::ValidationError(flag, fmt::format("'{}' is not S or HxW", text));
  return dims;
}

std::vector<double> parse_list(const std::string& text, const std::string& flag) {
  std::vector<double> values;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(',', start);
    values.push_back(parse_number(text.substr(start, end == std::string::npos ? std::string::npos : end - start), flag));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return values;
}

std::string join(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ",") + fmt::format("{:g}", x);
  return s;
}

}  // namespace

void add_data_options(CLI::App& app, data::DataOptions& o, const std::string& group) {
  app.add_option_function<std::string>(
         "--resize", [&o](const std::string& s) { o.resize = parse_size(s, "--resize"); },
         "Images: shorter side to S, or exactly HxW (bilinear, no antialiasing)")
      ->type_name("S|HxW")
      ->group(group);
  app.add_option_function<std::string>(
         "--crop", [&o](const std::string& s) { o.crop = parse_size(s, "--crop"); },
         "Images: center crop to SxS or HxW after resizing")
      ->type_name("S|HxW")
      ->group(group);
  app.add_option_function<std::string>(
         "--scale",
         [&o](const std::string& s) {
           size_t slash = s.find('/');
           double v = slash == std::string::npos
                          ? parse_number(s, "--scale")
                          : parse_number(s.substr(0, slash), "--scale") / parse_number(s.substr(slash + 1), "--scale");
           if (!std::isfinite(v) || v == 0) throw CLI::ValidationError("--scale", fmt::format("'{}' is not a usable scale", s));
           o.scale = v;
         },
         "Multiply stored values by X first (default 1/255 for 8-bit images and uint8 arrays, 1 for other integers, "
         "float arrays unchanged)")
      ->type_name("X")
      ->group(group);
  app.add_option_function<std::string>(
         "--mean", [&o](const std::string& s) { o.mean = parse_list(s, "--mean"); },
         "Subtract per channel after scaling (one value, or one per channel)")
      ->type_name("A[,B,C]")
      ->group(group);
  app.add_option_function<std::string>(
         "--std",
         [&o](const std::string& s) {
           o.stddev = parse_list(s, "--std");
           for (double v : o.stddev)
             if (!(v > 0)) throw CLI::ValidationError("--std", fmt::format("'{}': every value must be positive", s));
         },
         "Then divide per channel")
      ->type_name("A[,B,C]")
      ->group(group);
  app.add_option_function<std::string>(
         "--layout", [&o](const std::string& s) { o.layout = s == "nhwc" ? data::Layout::NHWC : data::Layout::NCHW; },
         "Images: sample layout produced (default nchw); arrays: where their channel axis is, for --mean/--std")
      ->type_name("LAYOUT")
      ->check(CLI::IsMember({"nchw", "nhwc"}))
      ->group(group);
  app.add_option_function<std::string>(
         "--color",
         [&o](const std::string& s) {
           o.color = s == "bgr" ? data::ColorOrder::BGR : s == "gray" ? data::ColorOrder::Gray : data::ColorOrder::RGB;
         },
         "Images: channel order, or one gray channel (default rgb)")
      ->type_name("COLOR")
      ->check(CLI::IsMember({"rgb", "bgr", "gray"}))
      ->group(group);
  app.add_option("--limit", o.limit, "Use only the first N samples")
      ->type_name("N")
      ->check(CLI::PositiveNumber)
      ->group(group);
  app.add_option("--batch", o.batch, "Samples per run when the model's batch dimension is symbolic (default 32)")
      ->type_name("N")
      ->check(CLI::PositiveNumber)
      ->group(group);
}

std::string describe_data_options(const data::DataOptions& o) {
  auto size = [](const std::vector<int64_t>& v) {
    return v.size() == 1 ? fmt::format("{}", v[0]) : fmt::format("{}x{}", v[0], v[1]);
  };
  std::vector<std::string> parts;
  if (!o.resize.empty()) parts.push_back((o.resize.size() == 1 ? "resize shorter side " : "resize ") + size(o.resize));
  if (!o.crop.empty()) parts.push_back("center crop " + size(o.crop));
  if (o.color) parts.push_back(*o.color == data::ColorOrder::BGR ? "bgr" : *o.color == data::ColorOrder::Gray ? "gray" : "rgb");
  if (o.scale) parts.push_back(fmt::format("scale {:g}", *o.scale));
  if (!o.mean.empty()) parts.push_back("mean " + join(o.mean));
  if (!o.stddev.empty()) parts.push_back("std " + join(o.stddev));
  if (o.layout == data::Layout::NHWC) parts.push_back("nhwc");
  std::string s;
  for (const std::string& p : parts) s += (s.empty() ? "" : ", ") + p;
  return s;
}

}  // namespace hone::cli
