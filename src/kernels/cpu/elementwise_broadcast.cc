#include "kernels/cpu/elementwise_broadcast.h"

#include <omp.h>

#include <algorithm>

#include "kernels/cpu/kernel_helpers.h"

namespace hone::cpu {
namespace {

struct Dim {
  int64_t size, a, b;  // extent and each operand's stride
};

}  // namespace

std::optional<BroadcastWalk> plan_broadcast_walk(const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape pa(rank - a.size(), 1), pb(rank - b.size(), 1);
  pa.insert(pa.end(), a.begin(), a.end());
  pb.insert(pb.end(), b.begin(), b.end());
  BroadcastWalk w;
  w.numel = 1;
  std::vector<Dim> dims;  // innermost first, dims of extent 1 dropped, mergeable neighbours merged
  int64_t stride_a = 1, stride_b = 1;
  for (size_t i = rank; i-- > 0;) {
    if (pa[i] != pb[i] && pa[i] != 1 && pb[i] != 1) return std::nullopt;
    int64_t n = std::max(pa[i], pb[i]);
    if (pa[i] == 0 || pb[i] == 0) n = 0;
    w.numel *= n;
    Dim d{n, pa[i] == 1 ? 0 : stride_a, pb[i] == 1 ? 0 : stride_b};
    stride_a *= pa[i];
    stride_b *= pb[i];
    if (n == 1) continue;
    // Merge with the dim inside it when both operands continue their stride pattern across the boundary.
    if (!dims.empty()) {
      Dim& in = dims.back();
      if (d.a == in.a * in.size && d.b == in.b * in.size) {
        in.size *= d.size;
        continue;
      }
    }
    dims.push_back(d);
  }
  BinaryTile& t = w.tile;
  if (dims.empty()) {  // one element
    t.n = 1;
  } else {
    const Dim& inner = dims[0];
    t.n = inner.size;
    t.operands = inner.a == 0 ? Operands::ScalarA : inner.b == 0 ? Operands::ScalarB : Operands::BothVectors;
    if (dims.size() > 1) {
      t.rows = dims[1].size;
      t.a_stride = dims[1].a;
      t.b_stride = dims[1].b;
    }
  }
  t.y_stride = t.n;
  for (size_t k = dims.size(); k-- > 2;) {
    w.outer_sizes.push_back(dims[k].size);
    w.outer_a.push_back(dims[k].a);
    w.outer_b.push_back(dims[k].b);
    w.outer_count *= dims[k].size;
  }
  return w;
}

namespace {

// Rows [g0, g1) of the walk's outer_count * rows rows, columns [c0, c1) of each.
void run_rows(const BroadcastWalk& w, BinaryFn fn, const float* a, const float* b, float* y, int64_t g0, int64_t g1,
              int64_t c0, int64_t c1) {
  const BinaryTile& t = w.tile;
  int64_t rows = t.rows;
  int64_t ca = t.operands == Operands::ScalarA ? 0 : c0, cb = t.operands == Operands::ScalarB ? 0 : c0;
  for (int64_t g = g0; g < g1;) {
    int64_t o = g / rows, r = g % rows, count = std::min(rows - r, g1 - g);
    int64_t oa = 0, ob = 0;
    int64_t rest = o;
    for (size_t k = w.outer_sizes.size(); k-- > 0;) {
      int64_t idx = rest % w.outer_sizes[k];
      rest /= w.outer_sizes[k];
      oa += idx * w.outer_a[k];
      ob += idx * w.outer_b[k];
    }
    BinaryTile sub = t;
    sub.rows = count;
    sub.n = c1 - c0;
    fn(a + oa + r * t.a_stride + ca, b + ob + r * t.b_stride + cb, y + (o * rows + r) * t.n + c0, sub);
    g += count;
  }
}

}  // namespace

void run_broadcast_walk(const BroadcastWalk& w, BinaryFn fn, const float* a, const float* b, float* y, int threads) {
  if (w.numel == 0) return;
  int64_t total_rows = w.outer_count * w.tile.rows, n = w.tile.n;
  int64_t chunks = std::min<int64_t>(std::max(threads, 1), w.numel / kMinElementsPerThread);
  if (chunks <= 1) return run_rows(w, fn, a, b, y, 0, total_rows, 0, n);
  if (total_rows >= chunks) {
    int64_t per = (total_rows + chunks - 1) / chunks;
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      int64_t g0 = c * per, g1 = std::min(total_rows, g0 + per);
      if (g0 < g1) run_rows(w, fn, a, b, y, g0, g1, 0, n);
    }
    return;
  }
  // Few long rows: split each row's columns instead, in whole vectors.
  int64_t per = ((n + chunks - 1) / chunks + 15) / 16 * 16;
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t c0 = c * per, c1 = std::min(n, c0 + per);
    if (c0 < c1) run_rows(w, fn, a, b, y, 0, total_rows, c0, c1);
  }
}

Shape nhwc_of(const Shape& s) { return {s[0], s[2], s[3], s[1]}; }

std::optional<Shape> plain_as_nhwc(const Shape& s) {
  if (s.size() > 4) return std::nullopt;
  Shape p(4 - s.size(), 1);
  p.insert(p.end(), s.begin(), s.end());
  if (p[1] != 1 && p[2] * p[3] != 1) return std::nullopt;  // C would move past a non-trivial H or W
  return nhwc_of(p);
}

}  // namespace hone::cpu
