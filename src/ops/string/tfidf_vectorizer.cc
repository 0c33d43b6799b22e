// TfIdfVectorizer (opset 9): counts the n-grams of a pool (of int64s or strings) in each row of the input, allowing
// up to max_skip_count skipped items between the parts of an n-gram, and weighs the counts (TF, IDF or TFIDF).
#include <algorithm>
#include <map>

#include <fmt/ranges.h>

#include "ops/op_helpers.h"

namespace hone {
namespace {

enum class Weighting { TF, IDF, TFIDF };

struct TfIdfConfig {
  int64_t min_gram = 0, max_gram = 0, max_skip = 0;
  Weighting mode = Weighting::TF;
  std::vector<int64_t> ngram_counts, ngram_indexes;
  std::vector<float> weights;
  int64_t output_size = 0;
};

TfIdfConfig read_config(const Node& n) {
  TfIdfConfig c;
  c.min_gram = n.require_int("min_gram_length");
  c.max_gram = n.require_int("max_gram_length");
  c.max_skip = n.require_int("max_skip_count");
  if (c.min_gram < 1 || c.max_gram < c.min_gram)
    fail("{}: need 1 <= min_gram_length <= max_gram_length, got {} and {}", n.label(), c.min_gram, c.max_gram);
  if (c.max_skip < 0) fail("{}: max_skip_count must be >= 0, got {}", n.label(), c.max_skip);
  std::string mode = n.attr_string("mode", "");
  if (mode == "TF") c.mode = Weighting::TF;
  else if (mode == "IDF") c.mode = Weighting::IDF;
  else if (mode == "TFIDF") c.mode = Weighting::TFIDF;
  else fail("{}: mode must be TF, IDF or TFIDF, got '{}'", n.label(), mode);
  c.ngram_counts = n.attr_ints("ngram_counts");
  c.ngram_indexes = n.attr_ints("ngram_indexes");
  c.weights = n.attr_floats("weights");
  if (c.ngram_indexes.empty()) fail("{}: ngram_indexes must not be empty", n.label());
  for (int64_t idx : c.ngram_indexes)
    if (idx < 0) fail("{}: ngram_indexes must be >= 0, got {}", n.label(), idx);
  c.output_size = *std::max_element(c.ngram_indexes.begin(), c.ngram_indexes.end()) + 1;
  if (!c.weights.empty() && static_cast<int64_t>(c.weights.size()) < c.output_size)
    fail("{}: weights has {} entries, fewer than the output size {}", n.label(), c.weights.size(), c.output_size);
  return c;
}

// The pool's n-grams of lengths in [min_gram, max_gram], each mapped to its output column. N-grams of other lengths
// still take their ids, so ngram_indexes stays aligned with the whole pool.
template <typename Key>
std::map<std::vector<Key>, int64_t> build_pool(const Node& n, const TfIdfConfig& c, const std::vector<Key>& pool) {
  std::map<std::vector<Key>, int64_t> grams;
  int64_t total = static_cast<int64_t>(pool.size());
  int64_t id = 0;
  for (size_t i = 0; i < c.ngram_counts.size(); ++i) {
    int64_t size = static_cast<int64_t>(i) + 1;
    int64_t start = c.ngram_counts[i];
    int64_t end = i + 1 < c.ngram_counts.size() ? c.ngram_counts[i + 1] : total;
    if (start < 0 || end < start || end > total)
      fail("{}: ngram_counts {} do not describe a pool of {} items", n.label(), fmt::join(c.ngram_counts, ","),
           total);
    int64_t count = (end - start) / size;
    for (int64_t g = 0; g < count; ++g, ++id) {
      if (size < c.min_gram || size > c.max_gram) continue;
      if (id >= static_cast<int64_t>(c.ngram_indexes.size()))
        fail("{}: ngram_indexes has {} entries, fewer than the pool's n-grams", n.label(), c.ngram_indexes.size());
      auto first = pool.begin() + (start + g * size);
      grams[std::vector<Key>(first, first + size)] = c.ngram_indexes[static_cast<size_t>(id)];
    }
  }
  return grams;
}

// Counts, for one row of `len` keys, every pool n-gram found with items `skip` apart (skip = 1 .. max_skip + 1).
// Unigrams do not depend on the skip, so they are counted on the first pass only.
template <typename Key>
void count_row(const TfIdfConfig& c, const std::map<std::vector<Key>, int64_t>& grams, const Key* row, int64_t len,
               int64_t* counts) {
  int64_t first_size = c.min_gram;
  std::vector<Key> gram;
  for (int64_t skip = 1; skip <= c.max_skip + 1; ++skip) {
    for (int64_t start = 0; start < len; ++start) {
      gram.clear();
      for (int64_t size = 1, at = start; size <= c.max_gram && at < len; ++size, at += skip) {
        gram.push_back(row[at]);
        if (size < first_size) continue;
        auto it = grams.find(gram);
        if (it != grams.end()) ++counts[it->second];
      }
    }
    if (first_size == 1) {
      first_size = 2;
      if (first_size > c.max_gram) break;
    }
  }
}

template <typename Key>
void vectorize(OpContext& ctx, const TfIdfConfig& c, const std::vector<Key>& pool, const std::vector<Key>& keys) {
  const Tensor& x = ctx.input(0);
  int64_t rows = x.rank() == 2 ? x.dim(0) : 1;
  int64_t len = x.rank() == 0 ? 1 : x.shape().back();
  auto grams = build_pool(ctx.node(), c, pool);
  std::vector<int64_t> counts(static_cast<size_t>(rows * c.output_size), 0);
  for (int64_t r = 0; r < rows; ++r)
    count_row(c, grams, keys.data() + r * len, len, counts.data() + r * c.output_size);

  Shape shape = x.rank() == 2 ? Shape{rows, c.output_size} : Shape{c.output_size};
  Tensor& y = ctx.output_uninitialized(0, DType::Float32, shape);
  float* py = y.data<float>();
  for (size_t i = 0; i < counts.size(); ++i) {
    auto col = static_cast<size_t>(static_cast<int64_t>(i) % c.output_size);
    float f = static_cast<float>(counts[i]);
    bool weighted = !c.weights.empty();
    switch (c.mode) {
      case Weighting::TF: py[i] = f; break;
      case Weighting::IDF: py[i] = counts[i] > 0 ? (weighted ? c.weights[col] : 1.0f) : 0.0f; break;
      case Weighting::TFIDF: py[i] = weighted ? c.weights[col] * f : f; break;
    }
  }
}

void tfidf_vectorizer(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() > 2) fail("{}: input must have shape [C] or [N, C], got {}", n.label(), shape_str(x.shape()));
  TfIdfConfig c = read_config(n);
  if (x.dtype() == DType::String) {
    std::vector<std::string> pool = n.attr_strings("pool_strings");
    if (pool.empty() && n.has_attr("pool_int64s"))
      fail("{}: string input needs pool_strings, not pool_int64s", n.label());
    std::vector<std::string> keys(x.data<std::string>(), x.data<std::string>() + x.numel());
    vectorize(ctx, c, pool, keys);
  } else if (x.dtype() == DType::Int32 || x.dtype() == DType::Int64) {
    std::vector<int64_t> pool = n.attr_ints("pool_int64s");
    if (pool.empty() && n.has_attr("pool_strings"))
      fail("{}: integer input needs pool_int64s, not pool_strings", n.label());
    vectorize(ctx, c, pool, x.to_int64_vector());
  } else {
    fail("{}: input must be string, int32 or int64, got {}", n.label(), dtype_name(x.dtype()));
  }
}

void infer_tfidf_vectorizer(InferenceContext& ctx) {
  TfIdfConfig c = read_config(ctx.node());
  const SymShape* s = ctx.input_shape(0);
  if (!s) {
    ctx.set_output_tensor(0, DType::Float32, std::nullopt);
    return;
  }
  if (s->size() > 2) fail("{}: input must have shape [C] or [N, C]", ctx.node().label());
  SymShape y = s->size() == 2 ? SymShape{(*s)[0], Dim(c.output_size)} : SymShape{Dim(c.output_size)};
  ctx.set_output_tensor(0, DType::Float32, y);
}

}  // namespace

HONE_REGISTER_OP({.name = "TfIdfVectorizer", .since = 9, .infer = infer_tfidf_vectorizer,
                  .compute = tfidf_vectorizer});

}  // namespace hone
