// RegexFullMatch (opset 20): whether each string matches `pattern` in full. ONNX specifies RE2 syntax; this uses
// std::regex's ECMAScript grammar, which agrees with RE2 on the common subset (classes, \w \d \s \b, groups,
// alternation, bounded repetition, anchors). RE2-only constructs such as (?P<name>...) or \pL are rejected as
// invalid patterns rather than misread.
#include <regex>

#include "ops/op_helpers.h"

namespace hone {
namespace {

std::regex compile_pattern(const Node& n) {
  const Attribute* a = n.find_attr("pattern");
  if (!a) fail("{}: missing required attribute 'pattern'", n.label());
  try {
    return std::regex(a->s, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail("{}: invalid pattern '{}': {}", n.label(), a->s, e.what());
  }
}

void regex_full_match(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::String) fail("{}: input must be a string tensor, got {}", n.label(), dtype_name(x.dtype()));
  std::regex re = compile_pattern(n);
  Tensor& y = ctx.output_uninitialized(0, DType::Bool, x.shape());
  const std::string* px = x.data<std::string>();
  try {
    for (int64_t i = 0; i < x.numel(); ++i) y.data<uint8_t>()[i] = std::regex_match(px[i], re) ? 1 : 0;
  } catch (const std::regex_error& e) {  // e.g. error_complexity on pathological backtracking
    fail("{}: matching failed: {}", n.label(), e.what());
  }
}

void infer_regex_full_match(InferenceContext& ctx) {
  compile_pattern(ctx.node());
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, DType::Bool, s ? std::optional<SymShape>(*s) : std::nullopt);
}

}  // namespace

HONE_REGISTER_OP({.name = "RegexFullMatch", .since = 20, .infer = infer_regex_full_match,
                  .compute = regex_full_match});

}  // namespace hone
