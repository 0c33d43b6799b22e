#include "kernels/cpu/dnnl_common.h"

#include <algorithm>
#include <chrono>

#include <omp.h>

#include "core/foreign_alloc.h"

namespace hone::dnnl_cpu {

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

namespace {
dnnl::stream& thread_stream() {
  thread_local dnnl::stream s(cpu_engine());
  return s;
}

const char* alg_name(dnnl::algorithm a) {
  switch (a) {
    case dnnl::algorithm::eltwise_relu: return "relu";
    case dnnl::algorithm::eltwise_clip: return "clip";
    case dnnl::algorithm::eltwise_clip_v2: return "clip";
    case dnnl::algorithm::eltwise_logistic: return "sigmoid";
    case dnnl::algorithm::eltwise_linear: return "linear";
    case dnnl::algorithm::eltwise_hardswish: return "hardswish";
    case dnnl::algorithm::eltwise_swish: return "silu";
    case dnnl::algorithm::eltwise_gelu_erf: return "gelu";
    case dnnl::algorithm::eltwise_gelu_tanh: return "gelu_tanh";
    case dnnl::algorithm::eltwise_tanh: return "tanh";
    default: return "eltwise";
  }
}
}  // namespace

dnnl::primitive_attr make_attr(const PostOps& post_ops, float output_scale, const dnnl::memory::desc* residual) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (output_scale != 1.f) attr.set_output_scales(0, {output_scale});
  if (!post_ops.empty()) {
    dnnl::post_ops po;
    for (const EltwisePostOp& p : post_ops) {
      if (!p.residual) {
        po.append_eltwise(p.scale, p.alg, p.alpha, p.beta);
      } else {
        if (!residual) fail("internal error: a residual post-op without a residual tensor");
        po.append_binary(dnnl::algorithm::binary_add, *residual);
      }
    }
    attr.set_post_ops(po);
  }
  return attr;
}

PostOps fused_post_ops(const Node& node) {
  using dnnl::algorithm;
  std::vector<std::string> ops = node.attr_strings("post_ops");
  std::vector<float> params = node.attr_floats("post_op_params");
  PostOps out;
  size_t k = 0;
  for (const std::string& op : ops) {
    int n = post_op_param_count(op);
    if (n < 0 || k + static_cast<size_t>(n) > params.size()) fail("{}: malformed post-op chain", node.label());
    const float* p = params.data() + k;
    k += static_cast<size_t>(n);
    if (op == "Relu") out.push_back({algorithm::eltwise_relu, 0.f});
    else if (op == "LeakyRelu") out.push_back({algorithm::eltwise_relu, p[0]});
    else if (op == "Clip") out.push_back({algorithm::eltwise_clip_v2, p[0], p[1]});
    else if (op == "Sigmoid") out.push_back({algorithm::eltwise_logistic});
    else if (op == "Tanh") out.push_back({algorithm::eltwise_tanh});
    else if (op == "HardSwish") out.push_back({algorithm::eltwise_hardswish});
    else if (op == "Swish") out.push_back({algorithm::eltwise_swish, p[0]});
    else if (op == "Linear") out.push_back({algorithm::eltwise_linear, p[0], p[1]});
    else if (op == "HardSigmoid") {
      out.push_back({algorithm::eltwise_linear, p[0], p[1]});
      out.push_back({algorithm::eltwise_clip_v2, 0.f, 1.f});
    } else if (op == "Add") {
      EltwisePostOp r{algorithm::binary_add};
      r.residual = true;
      out.push_back(r);
    } else {
      fail("{}: post-op '{}' has no oneDNN form", node.label(), op);
    }
  }
  return out;
}

int residual_index(const PostOps& post_ops) {
  for (size_t i = 0; i < post_ops.size(); ++i)
    if (post_ops[i].residual) return static_cast<int>(i);
  return -1;
}

std::string post_ops_suffix(const PostOps& post_ops) {
  std::string s;
  for (const EltwisePostOp& p : post_ops) s += std::string("+") + (p.residual ? "add" : alg_name(p.alg));
  return s;
}

std::optional<Shape> concrete_f32_shape(const TypeInfo* t) {
  if (!t || !t->is_tensor() || t->elem != DType::Float32 || !t->shape) return std::nullopt;
  return to_concrete(*t->shape);
}

dnnl::memory::dims to_dims(const Shape& s) { return dnnl::memory::dims(s.begin(), s.end()); }

dnnl::memory::desc plain_desc(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * std::max<dnnl::memory::dim>(dims[i], 1);
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

int threads_for_work(double flops, int threads) { return flops < 4e6 ? 1 : threads; }

ScopedOmpThreads::ScopedOmpThreads(int n) : previous_(omp_get_max_threads()) {
  if (n > 0 && n != previous_) omp_set_num_threads(n);
}
ScopedOmpThreads::~ScopedOmpThreads() {
  if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
}

dnnl::memory::desc activation_desc(const Shape& shape, Layout layout) {
  if (layout == Layout::ChannelsLast && shape.size() == 4)
    return dnnl::memory::desc(to_dims(shape), dnnl::memory::data_type::f32, dnnl::memory::format_tag::nhwc);
  return plain_desc(to_dims(shape));
}

dnnl::memory::desc with_type(const dnnl::memory::desc& d, dnnl::memory::data_type t) {
  dnnl::memory::desc r = d;
  r.data.data_type = static_cast<dnnl_data_type_t>(t);
  return r;
}

dnnl::memory pack_constant(const float* src, const dnnl::memory::dims& dims, const dnnl::memory::desc& src_desc,
                           const dnnl::memory::desc& want) {
  dnnl::memory user(src_desc, cpu_engine(), const_cast<float*>(src));
  dnnl::memory packed(want, cpu_engine());
  dnnl::reorder(user, packed).execute(thread_stream(), user, packed);
  thread_stream().wait();
  return packed;
}

int PreparedPrimitive::add(int arg, bool is_output, const dnnl::memory::desc& user, const dnnl::memory::desc& prim) {
  Binding b{arg, is_output, dnnl::memory(user, cpu_engine(), DNNL_MEMORY_NONE), {}, {}};
  if (user != prim) {
    b.internal = dnnl::memory(prim, cpu_engine());
    b.reorder = is_output ? dnnl::reorder(b.internal, b.user) : dnnl::reorder(b.user, b.internal);
    args_[arg] = b.internal;
  } else {
    args_[arg] = b.user;
  }
  binds_.push_back(std::move(b));
  exec_args_.clear();
  return static_cast<int>(binds_.size()) - 1;
}

int PreparedPrimitive::add_input(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& prim) {
  return add(arg, false, user, prim);
}
int PreparedPrimitive::add_output(int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& prim) {
  return add(arg, true, user, prim);
}

int PreparedPrimitive::reorders() const {
  int n = 0;
  for (const Binding& b : binds_) n += b.internal ? 1 : 0;
  return n;
}

namespace {
// Executes a primitive through the C API with a prepared argument list (no allocation).
void execute_raw(const dnnl::primitive& p, dnnl::stream& s, const dnnl_exec_arg_t* args, int n) {
  ForeignCall scope;  // oneDNN allocates its argument map on every execution
  dnnl::error::wrap_c_api(dnnl_primitive_execute(p.get(), s.get(), n, args), "could not execute a primitive");
}
}  // namespace

void execute_reorder(const dnnl::reorder& r, const dnnl::memory& src, const dnnl::memory& dst, int threads) {
  if (threads > 0 && omp_get_max_threads() != threads) omp_set_num_threads(threads);
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src.get()}, {DNNL_ARG_TO, dst.get()}};
  dnnl::stream& s = thread_stream();
  execute_raw(r, s, args, 2);
  ForeignCall scope;
  s.wait();
}

void PreparedPrimitive::execute(int threads) {
  if (threads > 0 && omp_get_max_threads() != threads) omp_set_num_threads(threads);
  if (exec_args_.empty())
    for (const auto& [arg, mem] : args_) exec_args_.push_back({arg, mem.get()});
  dnnl::stream& s = thread_stream();
  for (Binding& b : binds_)
    if (!b.is_output && b.internal) {
      dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, b.user.get()}, {DNNL_ARG_TO, b.internal.get()}};
      execute_raw(b.reorder, s, r, 2);
    }
  // args_ holds handles to the same memory objects as binds_, so pointers set by bind() are seen here.
  execute_raw(prim_, s, exec_args_.data(), static_cast<int>(exec_args_.size()));
  for (Binding& b : binds_)
    if (b.is_output && b.internal) {
      dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, b.internal.get()}, {DNNL_ARG_TO, b.user.get()}};
      execute_raw(b.reorder, s, r, 2);
    }
  ForeignCall scope;
  s.wait();
}

DnnlWeightedKernel::~DnnlWeightedKernel() = default;

void DnnlWeightedKernel::bind_constants_and_io(const KernelQuery& q, const Shape& x, const Shape& y,
                                               const dnnl::memory::desc& user_w, const dnnl::memory::desc& prim_w,
                                               int64_t bias_len, const dnnl::memory::desc& prim_src,
                                               const dnnl::memory::desc& prim_dst, const dnnl::memory::desc* user_src) {
  in_shape_ = x;
  out_shape_ = y;
  prim_.set_constant(DNNL_ARG_WEIGHTS, pack_constant(q.input_constants[1]->data<float>(), user_w.dims(), user_w, prim_w));
  if (bias_len > 0) {
    dnnl::memory::desc bd({bias_len}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
    prim_.set_constant(DNNL_ARG_BIAS, pack_constant(q.input_constants[2]->data<float>(), bd.dims(), bd, bd));
  }
  src_ = prim_.add_input(DNNL_ARG_SRC, user_src ? *user_src : activation_desc(x, q.layout), prim_src);
  dst_ = prim_.add_output(DNNL_ARG_DST, activation_desc(y, q.layout), prim_dst);
}

void DnnlWeightedKernel::bind_residual(const dnnl::memory::desc& d) {
  res_ = prim_.add_input(DNNL_ARG_ATTR_MULTIPLE_POST_OP(residual_index(post_ops_)) | DNNL_ARG_SRC_1, d, d);
}

double DnnlWeightedKernel::time_execution(int reps) {
  std::vector<float> x(static_cast<size_t>(shape_numel(in_shape_))), y(static_cast<size_t>(shape_numel(out_shape_)));
  std::vector<float> z(res_ >= 0 ? y.size() : 0);
  prim_.bind(src_, x.data());
  prim_.bind(dst_, y.data());
  if (res_ >= 0) prim_.bind(res_, z.data());
  std::vector<double> ms;
  for (int i = 0; i <= reps; ++i) {  // the first run warms caches and is not counted
    auto t0 = std::chrono::steady_clock::now();
    prim_.execute(threads_);
    if (i > 0) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return ms.empty() ? 0.0 : *std::min_element(ms.begin(), ms.end());
}

void DnnlWeightedKernel::run(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::Float32 || x.shape() != in_shape_)
    fail("{}: input is {}[{}] but the kernel was planned for float[{}]", ctx.node().label(), dtype_name(x.dtype()),
         shape_str(x.shape()), shape_str(in_shape_));
  Tensor& y = ctx.output_uninitialized(0, DType::Float32, out_shape_);
  prim_.bind(src_, x.raw());
  prim_.bind(dst_, y.raw());
  if (res_ >= 0) {
    const Tensor& z = ctx.input(3);
    if (z.dtype() != DType::Float32 || z.shape() != out_shape_)
      fail("{}: residual input is {}[{}] but the kernel was planned for float[{}]", ctx.node().label(),
           dtype_name(z.dtype()), shape_str(z.shape()), shape_str(out_shape_));
    prim_.bind(res_, z.raw());
  }
  prim_.execute(threads_ > 0 ? threads_ : ctx.threads());
}

}  // namespace hone::dnnl_cpu
