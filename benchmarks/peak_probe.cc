#include "peak_probe.h"

#include "bench/machine_probe.h"

#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

// GCC 12's own AVX-512 headers trip -Wuninitialized in _mm512_reduce_add_ps (their _mm512_undefined_* placeholders).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace hone::bench {
namespace {

// kB of the mapping that contains `addr` backed by huge pages, from /proc/self/smaps; -1 when not found.
double anon_huge_kb(const void* addr, double* size_kb) {
  std::ifstream f("/proc/self/smaps");
  std::string line;
  auto a = reinterpret_cast<uintptr_t>(addr);
  bool in = false;
  while (std::getline(f, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      in = a >= lo && a < hi;
      continue;
    }
    if (!in) continue;
    std::istringstream kv(line);
    std::string key;
    double kb = 0;
    kv >> key >> kb;
    if (key == "Size:") *size_kb = kb;
    if (key == "AnonHugePages:") return kb;
  }
  return -1;
}

}  // namespace

HugePageRead measure_huge_page_read(int threads, size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  std::unique_ptr<float, decltype(&std::free)> buf(static_cast<float*>(std::aligned_alloc(kHugePage, bytes)),
                                                   &std::free);
  HugePageRead r;
  if (!buf) return r;
  ::madvise(buf.get(), bytes, MADV_HUGEPAGE);
  float* p = buf.get();
  const size_t n = bytes / sizeof(float);
  threads = std::max(threads, 1);
  const size_t chunk = (n / static_cast<size_t>(threads) + 63) / 64 * 64;
  // First touch by the thread that reads the slice.
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    size_t b = std::min(n, chunk * static_cast<size_t>(t)), e = std::min(n, b + chunk);
    for (size_t i = b; i < e; ++i) p[i] = static_cast<float>(i & 7) * 0.125f;
  }
  double size_kb = 0, huge_kb = anon_huge_kb(p, &size_kb);
  r.huge_fraction = huge_kb > 0 && size_kb > 0 ? huge_kb / size_kb : 0;
  auto sum = streaming_read_sum;
  volatile float sink = 0;
  for (int rep = 0; rep < 7; ++rep) {
    double t0 = omp_get_wtime();
    float total = 0;
#pragma omp parallel for num_threads(threads) schedule(static, 1) reduction(+ : total)
    for (int t = 0; t < threads; ++t) {
      size_t b = std::min(n, chunk * static_cast<size_t>(t)), e = std::min(n, b + chunk);
      total += sum(p + b, e - b);
    }
    double s = omp_get_wtime() - t0;
    sink = sink + total;
    r.gbs = std::max(r.gbs, static_cast<double>(bytes) / s / 1e9);
  }
  return r;
}

}  // namespace hone::bench

#pragma GCC diagnostic pop
