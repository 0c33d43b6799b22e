// The machine's roofline: peak fp32 FLOP/s and DRAM read bandwidth. Measured by a short probe (well under a second:
// a register-blocked FMA loop on one and on all cores, a read over a 256 MiB buffer), cached per CPU model and
// core count, or taken from a named built-in target (nominal, published-ballpark numbers) or a user's JSON file.
#pragma once
#include <string>
#include <vector>

namespace hone {

struct MachinePeaks {
  std::string name;                // CPU model and cores, or the target's name
  std::string description;         // for targets: what the numbers stand for
  double peak_gflops = 0;          // fp32 FLOP/s (10^9) on all `threads`
  double peak_gflops_1thread = 0;  // on one core (0 when not known)
  double bandwidth_gbs = 0;        // DRAM read, 10^9 bytes/s
  int threads = 0;                 // cores the peak uses (0 when not known)
  std::string isa;                 // vector ISA the probe used: avx512f, avx2, scalar ("" for targets)
  std::string source;              // where the numbers came from, in words
  bool nominal = false;            // true for targets: not measured on this machine

  // FLOPs per byte where a kernel turns from memory-bound to compute-bound.
  double ridge() const { return bandwidth_gbs > 0 ? peak_gflops / bandwidth_gbs : 0; }
};

// Runs the probe now (no cache). `threads` <= 0: all cores this process may use.
MachinePeaks measure_machine(int threads = 0);

// The cached measurement for this CPU model and core count, measuring and caching when missing or different.
// Cache: $XDG_CACHE_HOME/hone/machine.json, else ~/.cache/hone/machine.json. A cache that cannot be written is not an
// error (the source says so). `remeasure` ignores the cache (and replaces it): for a probe taken while the machine was
// busy.
MachinePeaks machine_peaks(bool remeasure = false);
std::string machine_cache_path();  // "" when neither XDG_CACHE_HOME nor HOME is set

// `name_or_file`: a built-in target name, or a JSON file {"name", "peak_gflops", "bandwidth_gbs"}. Throws
// hone::Error listing the built-in names for an unknown one, or naming the file and key for a bad file.
MachinePeaks target_peaks(const std::string& name_or_file);
const std::vector<MachinePeaks>& builtin_targets();

// Sum of n floats read once, streaming, with the widest vector loads the CPU has (what the bandwidth probe times;
// also used by benchmarks/peak_probe.cc over huge pages).
float streaming_read_sum(const float* p, size_t n);

// "model name" from /proc/cpuinfo (or "unknown CPU").
std::string cpu_model_name();

}  // namespace hone
