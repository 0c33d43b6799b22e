#include "bench/machine_probe.h"

#include <immintrin.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/error.h"
#include "hone/hone.h"

namespace hone {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// ---- FMA throughput: independent accumulators (more than FMA latency x ports) so the loop is port-bound. ----

constexpr int kAccumulators = 12;

__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t iters) {
  const __m512 a = _mm512_set1_ps(0.9999f), b = _mm512_set1_ps(0.0001f);
  __m512 acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kAccumulators; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t iters) {
  const __m256 a = _mm256_set1_ps(0.9999f), b = _mm256_set1_ps(0.0001f);
  __m256 acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  for (int64_t k = 0; k < iters; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < kAccumulators; ++i) s = _mm256_add_ps(s, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  float r = 0;
  for (float v : lanes) r += v;
  return r;
}

float fma_loop_scalar(int64_t iters) {
  float acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) acc[i] = static_cast<float>(i);
  for (int64_t k = 0; k < iters; ++k)
    for (int i = 0; i < kAccumulators; ++i) acc[i] = acc[i] * 0.9999f + 0.0001f;
  float r = 0;
  for (float v : acc) r += v;
  return r;
}

struct Isa {
  const char* name;
  int lanes;
  float (*fma_loop)(int64_t);
};

// The widest ISA the CPU has, unless HONE_ISA forces a narrower one (so the scalar path can be exercised anywhere).
Isa pick_isa() {
  const char* forced = std::getenv("HONE_ISA");
  std::string want = forced ? forced : "";
  __builtin_cpu_init();
  bool avx512 = __builtin_cpu_supports("avx512f");
  bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (want == "scalar") avx512 = avx2 = false;
  if (want == "avx2") avx512 = false;
  if (avx512) return {"avx512f", 16, fma_loop_avx512};
  if (avx2) return {"avx2", 8, fma_loop_avx2};
  return {"scalar", 1, fma_loop_scalar};
}

// Runs fn(thread_index) on `threads` threads at once; returns the wall time of the slowest.
template <typename Fn>
double timed_parallel(int threads, Fn fn) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      fn(t);
    });
  while (ready.load() < threads - 1) std::this_thread::yield();
  auto t0 = Clock::now();
  go.store(true, std::memory_order_release);
  fn(0);
  for (auto& th : pool) th.join();
  return seconds_since(t0);
}

std::atomic<float> g_sink{0};  // keeps results observable so no loop is optimized away

double measure_gflops(const Isa& isa, int threads) {
  double flops_per_iter = 2.0 * kAccumulators * isa.lanes;
  // Calibrate on one thread so that a timed run takes about 10 ms; the best of several short runs resists other
  // processes competing for the cores better than one long run.
  int64_t iters = 1 << 16;
  for (;;) {
    auto t0 = Clock::now();
    g_sink = g_sink + isa.fma_loop(iters);
    double s = seconds_since(t0);
    if (s > 0.005 || iters > (int64_t{1} << 34)) {
      iters = std::max<int64_t>(iters, static_cast<int64_t>(static_cast<double>(iters) * 0.010 / s));
      break;
    }
    iters *= 4;
  }
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    double s = timed_parallel(threads, [&](int) { g_sink = g_sink + isa.fma_loop(iters); });
    best = std::max(best, flops_per_iter * static_cast<double>(iters) * threads / s / 1e9);
  }
  return best;
}

// ---- Read bandwidth: every thread sums its slice of one buffer much larger than any cache. ----

__attribute__((target("avx512f"))) float sum_avx512(const float* p, size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
  }
  float r = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  for (; i < n; ++i) r += p[i];
  return r;
}

__attribute__((target("avx2"))) float sum_avx2(const float* p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  float r = 0;
  for (float v : lanes) r += v;
  for (; i < n; ++i) r += p[i];
  return r;
}

float sum_scalar(const float* p, size_t n) {
  float a[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) a[k] += p[i + k];
  float r = 0;
  for (float v : a) r += v;
  for (; i < n; ++i) r += p[i];
  return r;
}

double measure_bandwidth(const Isa& isa, int threads) {
  constexpr size_t kBytes = size_t{256} << 20;
  constexpr size_t kFloats = kBytes / sizeof(float);
  std::unique_ptr<float, decltype(&std::free)> buf(static_cast<float*>(std::aligned_alloc(64, kBytes)), &std::free);
  if (!buf) return 0;
  float* p = buf.get();
  size_t chunk = (kFloats / static_cast<size_t>(threads) + 63) / 64 * 64;
  auto slice = [&](int t, size_t* begin, size_t* n) {
    *begin = std::min(kFloats, chunk * static_cast<size_t>(t));
    *n = std::min(kFloats, *begin + chunk) - *begin;
  };
  // First touch from the thread that will read the slice (NUMA placement), with small values.
  timed_parallel(threads, [&](int t) {
    size_t b, n;
    slice(t, &b, &n);
    for (size_t i = 0; i < n; ++i) p[b + i] = static_cast<float>((b + i) & 7) * 0.125f;
  });
  auto sum = isa.lanes == 16 ? sum_avx512 : isa.lanes == 8 ? sum_avx2 : sum_scalar;
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    double s = timed_parallel(threads, [&](int t) {
      size_t b, n;
      slice(t, &b, &n);
      g_sink = g_sink + sum(p + b, n);
    });
    best = std::max(best, static_cast<double>(kBytes) / s / 1e9);
  }
  return best;
}

constexpr int kCacheVersion = 1;

MachinePeaks from_json(const nlohmann::json& j) {
  MachinePeaks m;
  m.name = j.at("name").get<std::string>();
  m.peak_gflops = j.at("peak_gflops").get<double>();
  m.peak_gflops_1thread = j.value("peak_gflops_1thread", 0.0);
  m.bandwidth_gbs = j.at("bandwidth_gbs").get<double>();
  m.threads = j.value("threads", 0);
  m.isa = j.value("isa", "");
  return m;
}

}  // namespace

float streaming_read_sum(const float* p, size_t n) {
  static const Isa isa = pick_isa();
  return isa.lanes == 16 ? sum_avx512(p, n) : isa.lanes == 8 ? sum_avx2(p, n) : sum_scalar(p, n);
}

std::string cpu_model_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
      if (!v.empty()) return v;
    }
  }
  return "unknown CPU";
}

MachinePeaks measure_machine(int threads) {
  if (threads <= 0) threads = available_cores();
  Isa isa = pick_isa();
  MachinePeaks m;
  m.threads = threads;
  m.isa = isa.name;
  m.name = fmt::format("{} ({} core{})", cpu_model_name(), threads, threads == 1 ? "" : "s");
  m.peak_gflops_1thread = measure_gflops(isa, 1);
  // More cores cannot be slower than one; less means other processes held the cores during the probe.
  m.peak_gflops = threads == 1 ? m.peak_gflops_1thread : std::max(m.peak_gflops_1thread, measure_gflops(isa, threads));
  m.bandwidth_gbs = measure_bandwidth(isa, threads);
  m.source = fmt::format("measured now ({} FMA loop, {}-thread sum over 256 MiB)", isa.name, threads);
  return m;
}

std::string machine_cache_path() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg) return std::string(xdg) + "/hone/machine.json";
  const char* home = std::getenv("HOME");
  if (home && *home) return std::string(home) + "/.cache/hone/machine.json";
  return "";
}

MachinePeaks machine_peaks(bool remeasure) {
  std::string path = machine_cache_path();
  std::string model = cpu_model_name();
  int cores = available_cores();
  std::string isa = pick_isa().name;
  if (!path.empty() && !remeasure) {
    try {
      std::ifstream f(path);
      if (f) {
        nlohmann::json j = nlohmann::json::parse(f);
        if (j.value("version", 0) == kCacheVersion && j.value("cpu_model", "") == model &&
            j.value("cores", 0) == cores && j.value("isa", "") == isa) {
          MachinePeaks m = from_json(j);
          if (m.peak_gflops > 0 && m.bandwidth_gbs > 0) {
            m.source = fmt::format("measured earlier on this machine, cached in {}", path);
            return m;
          }
        }
      }
    } catch (const std::exception&) {
      // A corrupt or foreign cache is re-measured and replaced.
    }
  }
  MachinePeaks m = measure_machine(cores);
  if (path.empty()) {
    m.source += "; not cached (neither XDG_CACHE_HOME nor HOME is set)";
    return m;
  }
  nlohmann::json j = {{"version", kCacheVersion},          {"cpu_model", model},
                      {"cores", cores},                     {"isa", m.isa},
                      {"name", m.name},                     {"peak_gflops", m.peak_gflops},
                      {"peak_gflops_1thread", m.peak_gflops_1thread}, {"bandwidth_gbs", m.bandwidth_gbs},
                      {"threads", m.threads}};
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  {
    std::ofstream f(tmp);
    f << j.dump(2) << "\n";
    if (!f) ec = std::make_error_code(std::errc::io_error);
  }
  if (!ec) std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    m.source += fmt::format("; could not cache it in {}", path);
  } else {
    m.source += fmt::format("; cached in {}", path);
  }
  return m;
}

const std::vector<MachinePeaks>& builtin_targets() {
  auto target = [](const char* name, const char* what, double gflops, double gbs) {
    MachinePeaks m;
    m.name = name;
    m.description = what;
    m.peak_gflops = gflops;
    m.bandwidth_gbs = gbs;
    m.nominal = true;
    m.source = fmt::format("nominal built-in target '{}': {}", name, what);
    return m;
  };
  static const std::vector<MachinePeaks> targets = {
      target("zen5-2c", "2 Zen 5 vCPUs at ~3.7 GHz, 512-bit FMA (measured in Hone's benchmarks)", 466, 40),
      target("zen5-1c", "1 Zen 5 vCPU at ~3.7 GHz, 512-bit FMA (measured in Hone's benchmarks)", 234, 35),
      target("avx2-laptop", "4-core AVX2 laptop at ~3 GHz, 2x256-bit FMA, dual-channel DDR4-3200 (published peaks)",
             384, 51.2),
      target("cortex-a76", "4x Cortex-A76 at 2.4 GHz (Raspberry Pi 5 class), 2x128-bit NEON FMA, LPDDR4X "
                           "(published peaks)",
             153.6, 17),
      target("jetson-orin-cpu",
             "12x Cortex-A78AE at 2.2 GHz (Jetson AGX Orin CPU), 2x128-bit NEON FMA, LPDDR5 shared with the GPU "
             "(published peaks)",
             422.4, 204.8),
  };
  return targets;
}

MachinePeaks target_peaks(const std::string& name_or_file) {
  for (const MachinePeaks& t : builtin_targets())
    if (t.name == name_or_file) return t;
  bool looks_like_file = name_or_file.find('/') != std::string::npos ||
                         (name_or_file.size() > 5 && name_or_file.substr(name_or_file.size() - 5) == ".json");
  std::error_code ec;
  if (!looks_like_file && !std::filesystem::exists(name_or_file, ec)) {
    std::string names;
    for (const MachinePeaks& t : builtin_targets()) names += (names.empty() ? "" : ", ") + t.name;
    fail("unknown target '{}' (built-in targets: {}; or give a JSON file with name, peak_gflops, bandwidth_gbs)",
         name_or_file, names);
  }
  std::ifstream f(name_or_file);
  if (!f) fail("cannot open target file '{}': {}", name_or_file, std::strerror(errno));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    fail("target file '{}' is not valid JSON: {}", name_or_file, e.what());
  }
  if (!j.is_object()) fail("target file '{}' must hold a JSON object", name_or_file);
  MachinePeaks m;
  auto number = [&](const char* key) {
    if (!j.contains(key)) fail("target file '{}' lacks \"{}\"", name_or_file, key);
    if (!j[key].is_number() || j[key].get<double>() <= 0)
      fail("target file '{}': \"{}\" must be a positive number", name_or_file, key);
    return j[key].get<double>();
  };
  m.peak_gflops = number("peak_gflops");
  m.bandwidth_gbs = number("bandwidth_gbs");
  if (j.contains("name") && !j["name"].is_string()) fail("target file '{}': \"name\" must be a string", name_or_file);
  m.name = j.value("name", std::filesystem::path(name_or_file).stem().string());
  m.nominal = true;
  m.source = fmt::format("target file {}", name_or_file);
  return m;
}

}  // namespace hone
