// Shared plumbing of the oneDNN-backed kernels: the CPU engine, eltwise post-ops (what planner-level fusion will hand
// a kernel's constructor), and a prepared primitive that binds Hone's plain (row-major / NC[D]HW) tensors by pointer.
// Everything that can be decided for a concrete shape (primitive, weight layout, reorders, scratchpad) is done once
// when the kernel is created; run only swaps data pointers and executes.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ops/hone/fused_conv.h"
#include "runtime/kernel.h"

namespace hone::dnnl_cpu {

dnnl::engine& cpu_engine();

// One eltwise post-op applied to the primitive's result: dst = scale * alg(dst; alpha, beta). Relu is
// {eltwise_relu, 0 (negative slope)}, Clip is {eltwise_clip, lo, hi}, LeakyRelu {eltwise_relu, alpha},
// Sigmoid {eltwise_logistic}, HardSigmoid {eltwise_linear, alpha, beta} then {eltwise_clip, 0, 1} (oneDNN 2.6 has
// no hardsigmoid), SiLU {eltwise_swish, 1},
// GELU {eltwise_gelu_erf}, HardSwish {eltwise_hardswish}.
struct EltwisePostOp {
  dnnl::algorithm alg;
  float alpha = 0.f;
  float beta = 0.f;
  float scale = 1.f;
  bool residual = false;  // instead of an eltwise: a binary Add of the kernel's residual input (see make_attr)
};
using PostOps = std::vector<EltwisePostOp>;

// Attributes with the post-ops, a user-managed scratchpad and, when != 1, a common output scale. A residual post-op
// becomes a binary Add of a tensor described by `residual`.
dnnl::primitive_attr make_attr(const PostOps& post_ops, float output_scale = 1.f,
                               const dnnl::memory::desc* residual = nullptr);
// The oneDNN post-ops of a fused op's `post_ops` / `post_op_params` attributes (ops/hone/fused_conv.h).
PostOps fused_post_ops(const Node& node);
// Index of the residual post-op in the chain, or -1.
int residual_index(const PostOps& post_ops);
// " +relu +clip" style suffix for kernel names, so the profile shows what was fused.
std::string post_ops_suffix(const PostOps& post_ops);

// The concrete shape of a float32 tensor input, or nullopt (other dtypes, unknown dims, absent input).
std::optional<Shape> concrete_f32_shape(const TypeInfo* t);

dnnl::memory::dims to_dims(const Shape& s);
// Plain dense row-major layout for any rank (abcd... tags).
dnnl::memory::desc plain_desc(const dnnl::memory::dims& dims);
// The layout of a Hone activation tensor: plain, or nhwc for a rank-4 tensor planned channels-last.
dnnl::memory::desc activation_desc(const Shape& shape, Layout layout);
// The same layout (dims, strides) holding another data type (e.g. a bf16 primitive's view of a float32 tensor).
dnnl::memory::desc with_type(const dnnl::memory::desc& d, dnnl::memory::data_type t);
// Threads for a primitive doing `flops` of work: 1 below a few microseconds' worth, where waking a second thread costs
// more than it saves (tiny convolutions and matmuls of small models), else `threads`.
int threads_for_work(double flops, int threads);
// Sets OpenMP's thread count for a scope (oneDNN sizes a primitive's partitioning when it is created).
class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int n);
  ~ScopedOmpThreads();
  ScopedOmpThreads(const ScopedOmpThreads&) = delete;
  ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

 private:
  int previous_;
};

// Runs a reorder between two memories already bound to data, with `threads` OpenMP threads (0: as set).
void execute_reorder(const dnnl::reorder& r, const dnnl::memory& src, const dnnl::memory& dst, int threads);

// A copy of `src` (plain, dims `dims`) in the layout `want`, made once (weights pre-packing).
dnnl::memory pack_constant(const float* src, const dnnl::memory::dims& dims, const dnnl::memory::desc& src_desc,
                           const dnnl::memory::desc& want);

// An executable primitive with its arguments. Activation arguments are bound to user pointers at run time; when the
// primitive chose a layout other than the user's, a reorder to/from an owned buffer is run around it.
class PreparedPrimitive {
 public:
  PreparedPrimitive() = default;
  // `pd` must have been created with make_attr (user scratchpad).
  template <typename PD>
  void init(const PD& pd, dnnl::primitive prim) {
    prim_ = std::move(prim);
    impl_ = pd.impl_info_str();
    dnnl::memory::desc sp = pd.scratchpad_desc();
    if (sp.get_size() > 0) args_[DNNL_ARG_SCRATCHPAD] = dnnl::memory(sp, cpu_engine());
  }
  // A constant argument (packed weights, bias).
  void set_constant(int arg, dnnl::memory m) {
    args_[arg] = std::move(m);
    exec_args_.clear();
  }
  // An input or output the kernel binds per run: `user` is the plain layout of the Hone tensor, `prim` the
  // primitive's. Returns the index to pass to bind.
  int add_input(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& prim);
  int add_output(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& prim);
  void bind(int index, const void* data) { binds_[static_cast<size_t>(index)].user.set_data_handle(const_cast<void*>(data)); }
  // Executes with `threads` OpenMP threads (0: leave the current setting).
  void execute(int threads);
  const std::string& impl() const { return impl_; }
  int reorders() const;

 private:
  struct Binding {
    int arg;
    bool is_output;
    dnnl::memory user;          // points at the Hone tensor
    dnnl::memory internal;      // owned, the primitive's layout (null when user's layout is used directly)
    dnnl::reorder reorder;      // user->internal (inputs) or internal->user (outputs)
  };
  int add(int arg, bool is_output, const dnnl::memory::desc& user, const dnnl::memory::desc& prim);
  dnnl::primitive prim_;
  std::string impl_;
  std::unordered_map<int, dnnl::memory> args_;
  std::vector<Binding> binds_;
  // args_ flattened for the C API, built on the first execute: the C++ execute(stream, map) would allocate per call.
  std::vector<dnnl_exec_arg_t> exec_args_;
};

// Conv and ConvTranspose: one activation in and one out, constant weights (input 1) and optional bias (input 2),
// everything fixed at plan time. Subclasses build the primitive, then call bind_constants_and_io.
class DnnlWeightedKernel : public Kernel {
 public:
  ~DnnlWeightedKernel() override;  // out of line: oneDNN handles are released inside libhone
  void run(OpContext& ctx) override;
  const std::string& impl() const { return prim_.impl(); }
  int reorders() const override { return prim_.reorders(); }

 protected:
  explicit DnnlWeightedKernel(PostOps post_ops) : post_ops_(std::move(post_ops)) {}
  // Packs the weights from their ONNX layout `user_w` into the primitive's `prim_w`, the bias (`bias_len` channels;
  // 0 for none), and registers the activation input `x` and output `y` with the primitive's src/dst layouts. The
  // input is bound as `user_src` when given (bytes the same as the layout's), else as the query's layout says.
  void bind_constants_and_io(const KernelQuery& q, const Shape& x, const Shape& y, const dnnl::memory::desc& user_w,
                             const dnnl::memory::desc& prim_w, int64_t bias_len, const dnnl::memory::desc& prim_src,
                             const dnnl::memory::desc& prim_dst, const dnnl::memory::desc* user_src = nullptr);
  // Input 3 of a fused op, added to the result by the residual post-op (see make_attr).
  void bind_residual(const dnnl::memory::desc& d);
  // Plan time: the fastest of `reps` executions on zero-filled scratch tensors (after one untimed run), in
  // milliseconds, for kernels that choose between primitives by measuring them (after bind_constants_and_io /
  // bind_residual).
  double time_execution(int reps);
  PostOps post_ops_;
  PreparedPrimitive prim_;
  int threads_ = 0;  // fixed at creation (threads_for_work); 0: the session's

 private:
  Shape in_shape_, out_shape_;
  int src_ = -1, dst_ = -1, res_ = -1;
};

}  // namespace hone::dnnl_cpu
