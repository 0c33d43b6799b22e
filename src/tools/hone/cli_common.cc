#include <algorithm>
#include <cmath>

#include "tools/hone/commands.h"

namespace hone::cli {

std::pair<std::string, std::string> split_assignment(const std::string& arg, const std::vector<ValueInfo>& known,
                                                     const std::string& flag) {
  size_t best = std::string::npos;
  for (const ValueInfo& v : known)
    if (arg.size() > v.name.size() && arg.compare(0, v.name.size(), v.name) == 0 && arg[v.name.size()] == '=' &&
        (best == std::string::npos || v.name.size() > best))
      best = v.name.size();
  if (best == std::string::npos) best = arg.find('=');
  if (best == std::string::npos || best == 0) fail("{} expects NAME=VALUE, got '{}'", flag, arg);
  return {arg.substr(0, best), arg.substr(best + 1)};
}

Shape parse_shape(const std::string& text, const std::string& what) {
  Shape shape;
  if (text.empty() || text == "scalar") return shape;
  size_t start = 0;
  for (;;) {
    size_t end = text.find_first_of("x,", start);
    std::string dim = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dim.empty() || dim.size() > 15 || !std::all_of(dim.begin(), dim.end(), [](char c) { return c >= '0' && c <= '9'; }))
      fail("{}: bad shape '{}' (expected dims like 1x3x224x224)", what, text);
    shape.push_back(std::stoll(dim));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  shape_numel(shape);  // rejects absurd element counts
  return shape;
}

const ValueInfo& find_input(const std::vector<ValueInfo>& inputs, const std::string& name) {
  for (const ValueInfo& v : inputs)
    if (v.name == name) return v;
  std::string names;
  for (const ValueInfo& v : inputs) names += (names.empty() ? "'" : ", '") + v.name + "'";
  fail("the model has no input named '{}' (its inputs: {})", name, names.empty() ? "none" : names);
}

Shape concrete_input_shape(const ValueInfo& input, const std::optional<Shape>& given, std::vector<std::string>* notes) {
  const TypeInfo& t = input.type;
  if (given) {
    if (t.shape) {
      const SymShape& s = *t.shape;
      if (s.size() != given->size())
        fail("input '{}' is declared with shape [{}] (rank {}); shape {} has rank {}", input.name, sym_shape_str(s),
             s.size(), shape_str(*given), given->size());
      for (size_t k = 0; k < s.size(); ++k)
        if (s[k].known() && s[k].value != (*given)[k])
          fail("input '{}' is declared with shape [{}]; shape {} differs in dimension {} ({} != {})", input.name,
               sym_shape_str(s), shape_str(*given), k, (*given)[k], s[k].value);
    }
    return *given;
  }
  if (!t.shape) fail("input '{}' declares no shape; give one with --shape or --input", input.name);
  Shape out;
  for (size_t k = 0; k < t.shape->size(); ++k) {
    const Dim& d = (*t.shape)[k];
    if (d.known()) {
      out.push_back(d.value);
      continue;
    }
    out.push_back(1);
    if (notes)
      notes->push_back(d.symbol.empty()
                           ? fmt::format("input '{}': unknown dimension {} set to 1", input.name, k)
                           : fmt::format("input '{}': symbolic dimension '{}' set to 1", input.name, d.symbol));
  }
  return out;
}

std::string human_count(double v) {
  const char* units[] = {"", " k", " M", " G", " T", " P"};
  int u = 0;
  while (std::fabs(v) >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  if (u == 0) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}{}", v, units[u]);
}

std::string human_bytes(double v) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(v) >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return fmt::format("{:.0f} B", v);
  return fmt::format("{:.3g} {}", v, units[u]);
}

std::string dtype_label(DType t) {
  if (t == DType::Float32) return "float32";
  if (t == DType::Float64) return "float64";
  if (t == DType::Undefined) return "?";
  return std::string(dtype_name(t));
}

std::string describe_model_header(const Model& m, const std::string& path) {
  std::string opsets;
  for (const OperatorSetId& o : m.opset_import)
    opsets += fmt::format("{}{} {}", opsets.empty() ? "" : ", ", o.domain.empty() ? "ai.onnx" : o.domain, o.version);
  std::string producer = m.producer_name.empty() ? "unknown producer" : m.producer_name;
  if (!m.producer_version.empty()) producer += " " + m.producer_version;
  return fmt::format("model {}: IR version {}, {}, opsets: {}", path, m.ir_version, producer,
                     opsets.empty() ? "none" : opsets);
}

}  // namespace hone::cli
