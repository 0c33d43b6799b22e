// ai.onnx.ml ArrayFeatureExtractor (opset 1): selects entries of the last axis of X by the indices in Y (any shape,
// read flat). The output is X.shape[:-1] + [len(Y)]; a 1-D X gives [1, len(Y)], as onnxruntime and ONNX's reference do.
#include "ops/op_helpers.h"

namespace hone {
namespace {

void array_feature_extractor(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  if (x.rank() < 1) fail("{}: X must have rank >= 1", n.label());
  if (idx.dtype() != DType::Int64) fail("{}: Y must be int64, got {}", n.label(), dtype_name(idx.dtype()));
  int64_t width = x.shape().back();
  int64_t k = idx.numel();
  const int64_t* pi = idx.data<int64_t>();
  for (int64_t j = 0; j < k; ++j)
    if (pi[j] < 0 || pi[j] >= width)
      fail("{}: index {} is out of range for a last axis of size {}", n.label(), pi[j], width);
  Shape shape = x.rank() == 1 ? Shape{1, k} : Shape(x.shape().begin(), x.shape().end() - 1);
  if (x.rank() > 1) shape.push_back(k);
  Tensor& y = ctx.output(0, x.dtype(), shape);
  if (k == 0) return;  // k > 0 implies width > 0: every index was checked in range
  int64_t rows = x.numel() / width;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < k; ++j) copy_elements(x, r * width + pi[j], y, r * k + j, 1);
}

void infer_array_feature_extractor(InferenceContext& ctx) {
  const SymShape* x = ctx.input_shape(0);
  const SymShape* idx = ctx.input_shape(1);
  DType t = ctx.input_dtype(0);
  if (!x || !idx || x->empty()) {
    ctx.set_output_tensor(0, t, std::nullopt);
    return;
  }
  Dim k(1);
  for (const Dim& d : *idx) k = (k.known() && d.known()) ? Dim(k.value * d.value) : Dim();
  SymShape y = x->size() == 1 ? SymShape{Dim(1)} : SymShape(x->begin(), x->end() - 1);
  y.push_back(k);
  ctx.set_output_tensor(0, t, y);
}

}  // namespace

HONE_REGISTER_OP({.domain = "ai.onnx.ml", .name = "ArrayFeatureExtractor", .since = 1,
                  .infer = infer_array_feature_extractor, .compute = array_feature_extractor});

}  // namespace hone
