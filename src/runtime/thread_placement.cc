#include "runtime/thread_placement.h"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <bitset>
#include <chrono>
#include <vector>

namespace hone {

void spread_targets(const int* cpus, int n, const cpu_set_t& allowed, int* target) {
  // Keep the first thread found on each CPU (the master first: its CPU holds the caller's cache), move the others
  // to allowed CPUs no team thread is on; with more threads than CPUs, the surplus stays where it is.
  std::bitset<CPU_SETSIZE> used;
  std::bitset<kMaxSpreadThreads> keep;
  for (int t = 0; t < n; ++t) {
    target[t] = -1;
    int c = cpus[t];
    if (c < 0 || c >= CPU_SETSIZE || used[static_cast<size_t>(c)]) continue;
    used[static_cast<size_t>(c)] = true;
    keep[static_cast<size_t>(t)] = true;
  }
  int next = 0;
  for (int t = 0; t < n; ++t) {
    if (keep[static_cast<size_t>(t)]) continue;
    while (next < CPU_SETSIZE && (used[static_cast<size_t>(next)] || !CPU_ISSET(next, &allowed))) ++next;
    if (next == CPU_SETSIZE) break;
    used[static_cast<size_t>(next)] = true;
    target[t] = next;
  }
}

std::vector<int> spread_targets(const std::vector<int>& cpus, const cpu_set_t& allowed) {
  int n = std::min(static_cast<int>(cpus.size()), kMaxSpreadThreads);
  std::vector<int> target(static_cast<size_t>(n), -1);
  spread_targets(cpus.data(), n, allowed, target.data());
  return target;
}

SpreadResult spread_omp_threads(int threads) {
  // Nothing here allocates: it runs at the start of runs, which must not (tests/unit/run_alloc_test.cc).
  SpreadResult r;
  if (threads <= 1 || threads > kMaxSpreadThreads || omp_in_parallel() ||
      omp_get_proc_bind() != omp_proc_bind_false)
    return r;
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) < 2) return r;
  std::array<int, kMaxSpreadThreads> cpu, target;
  cpu.fill(-1);
  target.fill(-1);
  int team = 0, moved = 0;
#pragma omp parallel num_threads(threads) reduction(+ : moved)
  {
    auto me = static_cast<size_t>(omp_get_thread_num());
    cpu[me] = sched_getcpu();
#pragma omp barrier
#pragma omp single
    {
      team = omp_get_num_threads();
      spread_targets(cpu.data(), team, allowed, target.data());
    }
    int want = target[me];
    if (want >= 0) {
      cpu_set_t own, one;
      if (sched_getaffinity(0, sizeof(own), &own) == 0 && CPU_ISSET(want, &own)) {
        CPU_ZERO(&one);
        CPU_SET(want, &one);
        // Setting a mask without the current CPU migrates this thread at once; the old mask is restored so that
        // the scheduler stays free to move it later.
        if (sched_setaffinity(0, sizeof(one), &one) == 0) {
          moved += 1;
          cpu[me] = sched_getcpu();
          sched_setaffinity(0, sizeof(own), &own);
        }
      }
    }
  }
  r.threads = team;
  r.moved = moved;
  r.cpus = cpu;
  return r;
}

void keep_omp_threads_spread(int threads) {
  if (threads <= 1) return;
  using Clock = std::chrono::steady_clock;
  // About one parallel region (a few microseconds) per millisecond of running: under 0.5% of a run, and threads
  // that the scheduler put back together are apart again within a millisecond.
  constexpr auto kInterval = std::chrono::milliseconds(1);
  thread_local Clock::time_point last{};
  thread_local int last_threads = 0;
  auto now = Clock::now();
  if (threads == last_threads && now - last < kInterval) return;
  last = now;
  last_threads = threads;
  spread_omp_threads(threads);
}

}  // namespace hone
