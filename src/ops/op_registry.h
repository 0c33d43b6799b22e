// Operators: each is registered once, next to its implementation, with its opset range, a shape function and a
// reference kernel (plain C++, obviously correct: the oracle every fast kernel is tested against).
//
//   HONE_REGISTER_OP({.name = "Relu", .since = 6, .infer = infer_same_as_input, .compute = relu_ref});
//
// A node of op O in a model importing opset V of its domain uses the schema whose [since, until] holds V.
#pragma once
#include <climits>
#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ops/value.h"

namespace hone {

class OpContext;
class InferenceContext;

using ShapeFn = void (*)(InferenceContext&);
using KernelFn = void (*)(OpContext&);

inline constexpr int kLatestOpset = INT_MAX;

struct OpSchema {
  std::string domain;  // "" is ai.onnx
  std::string name;
  int since = 1;              // first opset version this implementation serves
  int until = kLatestOpset;   // last opset version it serves (inclusive)
  ShapeFn infer = nullptr;    // null: outputs are unknown until run (unless all inputs are constant)
  KernelFn compute = nullptr;
  bool deterministic = true;  // false for random ops: never evaluated at plan time
};

class OpRegistry {
 public:
  static OpRegistry& instance();
  void add(OpSchema schema);
  // The schema serving `opset`, or null.
  const OpSchema* find(std::string_view domain, std::string_view name, int64_t opset) const;
  // Whether any version of the op is registered (distinguishes "unknown op" from "unsupported opset").
  bool knows(std::string_view domain, std::string_view name) const;
  std::vector<const OpSchema*> all() const;

 private:
  std::vector<OpSchema> schemas_;
};

struct OpRegistrar {
  explicit OpRegistrar(OpSchema s) { OpRegistry::instance().add(std::move(s)); }
};

#define HONE_CONCAT_INNER(a, b) a##b
#define HONE_CONCAT(a, b) HONE_CONCAT_INNER(a, b)
#define HONE_REGISTER_OP(...) \
  static const ::hone::OpRegistrar HONE_CONCAT(hone_op_registrar_, __COUNTER__)(::hone::OpSchema __VA_ARGS__)

// Runs subgraphs (If/Loop/Scan bodies) for control-flow kernels; implemented by the runtime.
class SubgraphRunner {
 public:
  virtual ~SubgraphRunner() = default;
  // Runs `body` with its graph inputs bound to `inputs` (in order); outer-scope names resolve to the enclosing
  // graph's values. Returns the body's outputs in order.
  virtual std::vector<Value> run(const Graph& body, const std::vector<Value>& inputs) = 0;
};

// What a kernel sees while it runs one node.
class OpContext {
 public:
  OpContext(const Node& node, int64_t opset, const Value* const* inputs, size_t num_inputs, Value* outputs,
            size_t num_outputs, int threads, SubgraphRunner* subgraphs)
      : node_(node), opset_(opset), inputs_(inputs), num_inputs_(num_inputs), outputs_(outputs),
        num_outputs_(num_outputs), threads_(threads), subgraphs_(subgraphs) {}

  const Node& node() const { return node_; }
  int64_t opset() const { return opset_; }
  int threads() const { return threads_; }

  size_t num_inputs() const { return num_inputs_; }
  // Present: the node names the input and its value is not an empty optional.
  bool has_input(size_t i) const { return i < num_inputs_ && inputs_[i] && !inputs_[i]->is_none(); }
  // The i-th input as a tensor; throws naming the node when it is missing or not a tensor.
  const Tensor& input(size_t i) const;
  const Value& input_value(size_t i) const;

  size_t num_outputs() const { return num_outputs_; }
  // Whether the node names output i (optional outputs may be omitted).
  bool wants_output(size_t i) const;
  // Output i as a zero-filled tensor of the given type and shape. Uses the memory the plan reserved for it when
  // type and shape match the plan; throws if they contradict a concrete planned shape (a shape-function bug).
  Tensor& output(size_t i, DType dtype, const Shape& shape);
  // Same, without zero-filling: for kernels that write every element.
  Tensor& output_uninitialized(size_t i, DType dtype, const Shape& shape);
  // Output i as this kernel already wrote it (for kernels that finish another kernel's result in place).
  Tensor& written_output(size_t i);
  // Sets output i to a value (a sequence, an optional, or a tensor computed elsewhere).
  void set_output(size_t i, Value v);

  SubgraphRunner& subgraphs() const;

 private:
  Tensor& bind_output(size_t i, DType dtype, const Shape& shape, bool zero);
  const Node& node_;
  int64_t opset_;
  const Value* const* inputs_;
  size_t num_inputs_;
  Value* outputs_;
  size_t num_outputs_;
  int threads_;
  SubgraphRunner* subgraphs_;
};

// What a shape function sees: input types, and input values where they are known constants.
class InferenceContext {
 public:
  InferenceContext(const Node& node, int64_t opset, std::vector<const TypeInfo*> input_types,
                   std::vector<const Tensor*> input_values, size_t num_outputs)
      : node_(node), opset_(opset), input_types_(std::move(input_types)), input_values_(std::move(input_values)),
        output_types_(num_outputs), output_values_(num_outputs) {}

  const Node& node() const { return node_; }
  int64_t opset() const { return opset_; }
  size_t num_inputs() const { return input_types_.size(); }
  bool has_input(size_t i) const { return i < input_types_.size() && input_types_[i] != nullptr; }
  // Unknown-kind TypeInfo for an absent input.
  const TypeInfo& input_type(size_t i) const;
  DType input_dtype(size_t i) const { return input_type(i).elem; }
  // The input's shape, or null when its rank is unknown.
  const SymShape* input_shape(size_t i) const;
  // The input's value when it is a constant known at plan time (initializer, Constant, folded shape math).
  const Tensor* input_value(size_t i) const { return i < input_values_.size() ? input_values_[i] : nullptr; }

  size_t num_outputs() const { return output_types_.size(); }
  void set_output(size_t i, TypeInfo t);
  void set_output_tensor(size_t i, DType dtype, std::optional<SymShape> shape) {
    set_output(i, TypeInfo::tensor(dtype, std::move(shape)));
  }
  // A constant result known at plan time (e.g. Shape of a known shape); also sets the type.
  void set_output_value(size_t i, Tensor value);

  const std::vector<TypeInfo>& output_types() const { return output_types_; }
  std::vector<Tensor>& output_values() { return output_values_; }

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<const TypeInfo*> input_types_;
  std::vector<const Tensor*> input_values_;
  std::vector<TypeInfo> output_types_;
  std::vector<Tensor> output_values_;
};

}  // namespace hone
