// Pattern matching over a QDQ graph for passes/fuse_qdq.cc: which float values are DequantizeLinear outputs of
// per-tensor quantized activations, which are read by a QuantizeLinear alone, and which element-wise work after an
// int8 op's result fuses into it (activations, scalar affine steps, Q -> DQ hops, a residual Add, a Mul by a constant
// per-channel vector, the final Q).
// Read-only: a view of the graph, its types and who reads what, with the nodes a fusion already absorbed marked dead.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ops/hone/quantized.h"
#include "passes/pass.h"

namespace hone::qdq {

bool is_8bit(DType t);

// A quantized activation: the float value DequantizeLinear(q, scale, zero point) reads from.
struct QAct {
  std::string q;
  QuantParams p;
  DType type = DType::UInt8;
};

// A QuantizeLinear that is the one reader of a float value.
struct QOut {
  std::string y;
  QuantParams p;
  DType type = DType::UInt8;
  size_t node = 0;
};

struct Activation {
  std::string op;
  std::vector<float> params;
  std::vector<size_t> nodes;
  std::string out;
};

struct Residual {
  std::string z;
  DType type = DType::Float32;
  QuantParams p;
  size_t node = 0;
  std::string out;
};

// A Mul by a constant float32 vector along the channel axis (axis 1): its factors, [C].
struct ChannelMul {
  Tensor factors;
  size_t node = 0;
  std::string out;
};

// What follows an int8 op's float result and fuses into it: post-ops, a residual, a final QuantizeLinear.
struct Tail {
  std::vector<std::string> ops;
  std::vector<float> params;
  std::optional<Residual> residual;
  std::optional<Tensor> channel_factors;  // the "ChannelMul" post-op's
  std::vector<size_t> absorbed;
  std::string out;
  std::optional<QOut> q;
};

enum class TailOps { All, ClampsOnly };

class QdqPatterns {
 public:
  QdqPatterns(const Graph& g, const PassContext& ctx) : g_(g), ctx_(ctx) { refresh(); }
  // After the graph changed (nodes erased): who reads what again, nothing dead.
  void refresh();
  void mark_dead(size_t i) { dead_[i] = true; }
  void mark_live(size_t i) { dead_[i] = false; }
  const std::vector<bool>& dead() const { return dead_; }

  const Node* live(int i) const {
    return i >= 0 && !dead_[static_cast<size_t>(i)] ? &g_.nodes[static_cast<size_t>(i)] : nullptr;
  }
  const Node* producer(const std::string& v) const { return live(uses_->producer(v)); }
  int sole_consumer(const std::string& v) const { return uses_->sole_consumer(v); }
  static bool is_op(const Node* n, const char* op) { return n && n->domain.empty() && n->op_type == op; }
  // A float32 scalar constant, or null.
  const Tensor* scalar_f32(const std::string& name) const;
  // The per-tensor scale and zero point of a QuantizeLinear / DequantizeLinear, and the quantized type.
  std::optional<std::pair<QuantParams, DType>> per_tensor(const Node& n, DType data_type) const;
  // `v` = DequantizeLinear(q, scalar scale, scalar zero point) of a computed (not constant) 8-bit tensor q.
  std::optional<QAct> dq_activation(const std::string& v) const;
  // The one reader of float value `v` is a per-tensor QuantizeLinear.
  std::optional<QOut> quantize_consumer(const std::string& v) const;
  // Q -> DQ with the same parameters and nothing else reading the quantized tensor: the DQ node's index.
  std::optional<size_t> requantized_hop(const QOut& q) const;
  // The activation reading float value `cur` (alone), if it fuses: an activation op, a decomposed HardSwish or
  // Swish, or a scalar affine step.
  std::optional<Activation> match_activation(const std::string& cur, TailOps allowed) const;
  // Whether two values may have one shape (see the .cc).
  bool same_shape(const std::string& a, const std::string& b) const;
  // An Add (or two-input Sum) of `cur` and another tensor of its shape: quantized (read through its DQ) or float.
  std::optional<Residual> match_residual(const std::string& cur) const;
  // A Mul (read by nothing else) of `cur` and a constant float32 vector of `channels` > 1 values along axis 1 of
  // `cur`: [C, 1, ...] or [1, C, 1, ...] (right-aligned as Mul broadcasts).
  std::optional<ChannelMul> match_channel_mul(const std::string& cur, int64_t channels) const;
  // What follows an int8 op's float result `cur` and fuses into it; `channels` > 1 lets one Mul by a per-channel
  // constant of that many channels in (a convolution's output channels), 0 none.
  Tail parse_tail(std::string cur, bool allow_residual, TailOps allowed, int64_t channels = 0) const;
  // A constant float32 bias of n values along the last axis: [n], [1, n], [1, 1, n] ... (or a scalar).
  std::optional<Tensor> last_axis_bias(const std::string& name, int64_t n) const;
  // A computed float32 value that is no constant.
  bool float_activation(const std::string& v) const;

 private:
  bool decomposed_hardswish(const std::string& cur, Activation* act) const;
  bool decomposed_swish(const std::string& cur, Activation* act) const;
  bool single_activation(const Node& n, Activation* act) const;
  bool scalar_affine(const Node& n, const std::string& cur, Activation* act) const;

  const Graph& g_;
  const PassContext& ctx_;
  std::unique_ptr<GraphUses> uses_;
  std::vector<bool> dead_;
};

}  // namespace hone::qdq
