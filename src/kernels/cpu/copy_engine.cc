// The copy plans of the data-movement kernels (copy_engine.h).
#include "kernels/cpu/copy_engine.h"

#include <immintrin.h>

#include <cstring>

#include "ops/op_helpers.h"

namespace hone::cpu::copy {

const OpSchema& reference_of(const KernelQuery& q) {
  const OpSchema* s = OpRegistry::instance().find(q.node.domain, q.node.op_type, q.opset);
  if (!s || !s->compute) fail("{}: no reference kernel", q.node.label());
  return *s;
}

std::optional<std::vector<int64_t>> constant_ints(const KernelQuery& q, size_t i) {
  if (i >= q.input_types.size() || !q.input_types[i]) return std::vector<int64_t>{};  // omitted
  const Tensor* t = i < q.input_constants.size() ? q.input_constants[i] : nullptr;
  if (!t || !is_integer(t->dtype())) return std::nullopt;
  return t->to_int64_vector();
}

// ---- strided views ----

namespace {
template <typename T>
void strided_elements(const StridedCopy& c, const char* src, char* dst, int64_t begin, int64_t end) {
  const T* s = reinterpret_cast<const T*>(src);
  T* y = reinterpret_cast<T*>(dst);
  size_t r = c.dims.size();
  int64_t o = begin / c.run, j = begin % c.run;
  // Unravel the outer index o into the source offset.
  int64_t idx[kMaxCopyDims] = {}, off = c.base;
  for (size_t d = r, rem = static_cast<size_t>(o); d-- > 0;) {
    idx[d] = static_cast<int64_t>(rem) % c.dims[d];
    rem /= static_cast<size_t>(c.dims[d]);
    off += idx[d] * c.stride[d];
  }
  for (int64_t i = begin; i < end;) {
    int64_t n = std::min(c.run - j, end - i);
    const T* from = s + off + j * c.run_stride;
    if (c.run_stride == 1) {
      if (n == 1) y[i] = *from;
      else std::memcpy(y + i, from, static_cast<size_t>(n) * sizeof(T));
    } else if (c.run_stride == 0) {
      std::fill_n(y + i, n, *from);
    } else {
      for (int64_t k = 0; k < n; ++k) y[i + k] = from[k * c.run_stride];
    }
    i += n;
    j = 0;
    for (size_t d = r; d-- > 0;) {  // odometer
      if (++idx[d] < c.dims[d]) {
        off += c.stride[d];
        break;
      }
      off -= c.stride[d] * (c.dims[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace

StridedCopy plan_strided(const Shape& shape, const std::vector<int64_t>& strides, int64_t base, size_t elem) {
  StridedCopy c;
  c.elem = elem;
  c.base = base;
  c.numel = shape_numel(shape);
  std::vector<int64_t> dims, st;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!dims.empty() && st.back() == strides[d] * shape[d]) {
      dims.back() *= shape[d];
      st.back() = strides[d];
    } else {
      dims.push_back(shape[d]);
      st.push_back(strides[d]);
    }
  }
  if (!dims.empty()) {
    c.run = dims.back();
    c.run_stride = st.back();
    dims.pop_back();
    st.pop_back();
  }
  c.dims = std::move(dims);
  c.stride = std::move(st);
  return c;
}

void run_strided(const StridedCopy& c, const void* src, void* dst, int threads) {
  if (c.numel == 0) return;
  const char* s = static_cast<const char*>(src);
  char* y = static_cast<char*>(dst);
  parallel_ranges(c.numel, copy_threads(c.numel * static_cast<int64_t>(c.elem), threads), [&](int64_t b, int64_t e) {
    HONE_COPY_DISPATCH(c.elem, strided_elements<T>(c, s, y, b, e));
  });
}


// ---- Transpose ----

void simplify_transpose(const Shape& in, const std::vector<int64_t>& perm, Shape& rin, std::vector<int64_t>& rperm) {
  std::vector<int64_t> map(in.size(), -1), kept;
  int64_t next = 0;
  for (size_t a = 0; a < in.size(); ++a)
    if (in[a] != 1) map[a] = next++;
  for (int64_t p : perm)
    if (map[static_cast<size_t>(p)] >= 0) kept.push_back(map[static_cast<size_t>(p)]);
  Shape sizes;
  for (int64_t d : in)
    if (d != 1) sizes.push_back(d);
  // Groups of consecutive output axes that read consecutive input axes.
  std::vector<std::pair<int64_t, int64_t>> groups;  // [first, last] input axis, in output order
  for (int64_t a : kept) {
    if (!groups.empty() && groups.back().second + 1 == a) groups.back().second = a;
    else groups.push_back({a, a});
  }
  std::vector<size_t> by_input(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) by_input[g] = g;
  std::sort(by_input.begin(), by_input.end(), [&](size_t x, size_t y) { return groups[x].first < groups[y].first; });
  rin.assign(groups.size(), 1);
  rperm.assign(groups.size(), 0);
  for (size_t i = 0; i < by_input.size(); ++i) {
    const auto& [first, last] = groups[by_input[i]];
    for (int64_t a = first; a <= last; ++a) rin[i] *= sizes[static_cast<size_t>(a)];
    rperm[by_input[i]] = static_cast<int64_t>(i);
  }
}

TileTranspose plan_tile_transpose(const Shape& rin, const std::vector<int64_t>& rperm, size_t elem, Isa isa) {
  size_t r = rin.size();
  std::vector<int64_t> in_strides = strides_of(rin);
  Shape out(r);
  for (size_t i = 0; i < r; ++i) out[i] = rin[static_cast<size_t>(rperm[i])];
  std::vector<int64_t> out_strides = strides_of(out);
  TileTranspose t;
  t.elem = elem;
  t.block = elem <= 4 ? 16 : 8;
  t.avx2 = elem == 4 && static_cast<int>(isa) >= static_cast<int>(Isa::Avx2);
  size_t a = static_cast<size_t>(rperm[r - 1]);
  t.m = rin[a];
  t.src_a = in_strides[a];
  t.n = rin[r - 1];
  for (size_t i = 0; i + 1 < r; ++i) {
    size_t src_axis = static_cast<size_t>(rperm[i]);
    if (src_axis == r - 1) {
      t.dst_b = out_strides[i];
      continue;
    }
    t.dims.push_back(out[i]);
    t.src_stride.push_back(in_strides[src_axis]);
    t.dst_stride.push_back(out_strides[i]);
  }
  t.dims.push_back((t.m + t.block - 1) / t.block);
  t.src_stride.push_back(t.block * t.src_a);
  t.dst_stride.push_back(t.block);
  t.items = 1;
  for (int64_t d : t.dims) t.items *= d;
  return t;
}

namespace {

// d[k * ds + i] = s[i * ss + k] for i, k < 8: eight rows through eight AVX2 registers.
__attribute__((target("avx2"))) void transpose_8x8(const uint32_t* s, int64_t ss, uint32_t* d, int64_t ds) {
  const float* src = reinterpret_cast<const float*>(s);
  float* dst = reinterpret_cast<float*>(d);
  __m256 r[8], t[8], u[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ss);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; ++k) {
    _mm256_storeu_ps(dst + k * ds, _mm256_permute2f128_ps(u[k], u[k + 4], 0x20));
    _mm256_storeu_ps(dst + (k + 4) * ds, _mm256_permute2f128_ps(u[k], u[k + 4], 0x31));
  }
}

template <typename T>
void tile_items(const TileTranspose& t, const T* src, T* dst, int64_t begin, int64_t end) {
  size_t r = t.dims.size();
  int64_t idx[kMaxCopyDims] = {}, so = 0, dof = 0;
  for (size_t d = r, rem = static_cast<size_t>(begin); d-- > 0;) {
    idx[d] = static_cast<int64_t>(rem) % t.dims[d];
    rem /= static_cast<size_t>(t.dims[d]);
    so += idx[d] * t.src_stride[d];
    dof += idx[d] * t.dst_stride[d];
  }
  const int64_t bs = t.block, sa = t.src_a, db = t.dst_b;
  for (int64_t it = begin; it < end; ++it) {
    int64_t rows = std::min(bs, t.m - idx[r - 1] * bs);
    const T* s = src + so;
    T* y = dst + dof;
    int64_t b_done = 0;  // columns already moved by the 8x8 register tiles
    if constexpr (sizeof(T) == 4) {
      if (t.avx2 && rows == bs) {
        b_done = t.n / 8 * 8;
        for (int64_t b0 = 0; b0 < b_done; b0 += 8)
          for (int64_t a0 = 0; a0 < rows; a0 += 8) transpose_8x8(s + a0 * sa + b0, sa, y + b0 * db + a0, db);
      }
    }
    for (int64_t b0 = b_done; b0 < t.n; b0 += bs) {
      int64_t b1 = std::min(t.n, b0 + bs);
      for (int64_t ib = b0; ib < b1; ++ib) {
        T* yrow = y + ib * db;
        const T* scol = s + ib;
        for (int64_t ia = 0; ia < rows; ++ia) yrow[ia] = scol[ia * sa];
      }
    }
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < t.dims[d]) {
        so += t.src_stride[d];
        dof += t.dst_stride[d];
        break;
      }
      so -= t.src_stride[d] * (t.dims[d] - 1);
      dof -= t.dst_stride[d] * (t.dims[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace

void run_tile_transpose(const TileTranspose& t, const void* src, void* dst, int threads) {
  parallel_ranges(t.items, threads, [&](int64_t b, int64_t e) {
    HONE_COPY_DISPATCH(t.elem, tile_items<T>(t, static_cast<const T*>(src), static_cast<T*>(dst), b, e));
  });
}

// ---- slabs ----

Slabs plan_slabs(const std::vector<Shape>& parts, size_t axis, size_t elem) {
  Slabs s;
  const Shape& first = parts[0];
  int64_t inner = 1;
  for (size_t d = 0; d < axis; ++d) s.outer *= first[d];
  for (size_t d = axis + 1; d < first.size(); ++d) inner *= first[d];
  for (const Shape& p : parts) {
    s.bytes.push_back(p[axis] * inner * static_cast<int64_t>(elem));
    s.total += s.bytes.back();
  }
  return s;
}

void copy_slabs(const Slabs& s, bool join, char* joined, char* const* parts, int64_t begin, int64_t end) {
  if (s.total == 0) return;
  int64_t o = begin / s.total, within = begin % s.total;
  size_t k = 0;
  int64_t start = 0;  // offset of part k in the row
  while (start + s.bytes[k] <= within) start += s.bytes[k++];
  for (int64_t at = begin; at < end;) {
    int64_t off = within - start;
    int64_t n = std::min(s.bytes[k] - off, end - at);
    if (n > 0 && parts[k]) {
      char* p = parts[k] + o * s.bytes[k] + off;
      if (join) std::memcpy(joined + at, p, static_cast<size_t>(n));
      else std::memcpy(p, joined + at, static_cast<size_t>(n));
    }
    at += n;
    within += n;
    start += s.bytes[k];
    if (++k == s.bytes.size()) {
      k = 0;
      start = within = 0;
      ++o;
    }
  }
}

// ---- channels-last ----

Tensor to_channels_last(const Tensor& t) {
  const Shape& s = t.shape();
  Tensor y(DType::Float32, s);
  const float* x = t.data<float>();
  float* o = y.data<float>();
  int64_t c = s[1], hw = s[2] * s[3];
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t k = 0; k < c; ++k) o[(n * hw + p) * c + k] = x[(n * c + k) * hw + p];
  return y;
}

}  // namespace hone::cpu::copy
