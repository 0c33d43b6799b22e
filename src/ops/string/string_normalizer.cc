// StringNormalizer (opset 10): drops stop words from a [C] or [1, C] string tensor, then lower- or upper-cases what
// is left. Case mapping is locale-independent (utf8_case.h): the `locale` attribute is accepted and ignored, since
// results must not depend on which locales the machine has installed.
#include <unordered_set>

#include "ops/op_helpers.h"
#include "ops/string/utf8_case.h"

namespace hone {
namespace {

enum class CaseChange { None, Lower, Upper };

CaseChange case_change_of(const Node& n) {
  std::string action = n.attr_string("case_change_action", "NONE");
  if (action == "NONE") return CaseChange::None;
  if (action == "LOWER") return CaseChange::Lower;
  if (action == "UPPER") return CaseChange::Upper;
  fail("{}: case_change_action must be NONE, LOWER or UPPER, got '{}'", n.label(), action);
}

void check_input_shape(const Node& n, size_t rank, int64_t first_dim) {
  if (rank == 1) return;
  if (rank == 2 && (first_dim == 1 || first_dim < 0)) return;
  fail("{}: input must have shape [C] or [1, C]", n.label());
}

void string_normalizer(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::String) fail("{}: input must be a string tensor, got {}", n.label(), dtype_name(x.dtype()));
  check_input_shape(n, x.shape().size(), x.rank() == 2 ? x.dim(0) : 1);
  CaseChange change = case_change_of(n);
  bool case_sensitive = n.attr_int("is_case_sensitive", 0) != 0;

  std::unordered_set<std::string> stops;
  for (const std::string& w : n.attr_strings("stopwords")) stops.insert(case_sensitive ? w : utf8::lower(w));

  std::vector<std::string> kept;
  for (const std::string& s : x.span<std::string>()) {
    if (!stops.empty() && stops.count(case_sensitive ? s : utf8::lower(s))) continue;
    switch (change) {
      case CaseChange::None: kept.push_back(s); break;
      case CaseChange::Lower: kept.push_back(utf8::lower(s)); break;
      case CaseChange::Upper: kept.push_back(utf8::upper(s)); break;
    }
  }
  // Everything dropped: one empty string, as the spec says ([1] or [1, 1]).
  if (kept.empty()) kept.emplace_back();
  int64_t c = static_cast<int64_t>(kept.size());
  Shape shape = x.rank() == 1 ? Shape{c} : Shape{1, c};
  Tensor& y = ctx.output(0, DType::String, shape);
  for (size_t i = 0; i < kept.size(); ++i) y.data<std::string>()[i] = std::move(kept[i]);
}

void infer_string_normalizer(InferenceContext& ctx) {
  const Node& n = ctx.node();
  case_change_of(n);
  const SymShape* s = ctx.input_shape(0);
  if (!s) {
    ctx.set_output_tensor(0, DType::String, std::nullopt);
    return;
  }
  check_input_shape(n, s->size(), s->size() == 2 && (*s)[0].known() ? (*s)[0].value : -1);
  Dim c = s->back();
  // Without stop words nothing is dropped, except that an empty input becomes one empty string.
  bool keeps_all = n.attr_strings("stopwords").empty() && c.known() && c.value > 0;
  if (!keeps_all) c = Dim();
  ctx.set_output_tensor(0, DType::String, s->size() == 1 ? SymShape{c} : SymShape{Dim(1), c});
}

}  // namespace

HONE_REGISTER_OP({.name = "StringNormalizer", .since = 10, .infer = infer_string_normalizer,
                  .compute = string_normalizer});

}  // namespace hone
