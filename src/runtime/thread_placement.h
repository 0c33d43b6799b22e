// Keeps a run's OpenMP threads on distinct CPUs.
//
// OpenMP workers wait for work by spinning. When the scheduler has put two of them on one CPU (it does: a new
// thread often starts on its creator's CPU, and the load tracker can keep it there), each spins through the
// other's time slice at every barrier and a parallel kernel runs slower than on one thread (measured on the 2-core
// CI VM: a 64x784x784 MatMul at 2 threads took 1.18 ms co-located, 0.34 ms spread, 0.68 ms on one thread; about a
// third of fresh processes started co-located). The scheduler only separates them slowly, because spinning threads
// rarely look runnable at the same time.
//
// The scheduler also puts them back together: waking a sleeping worker tends to place it on the waker's CPU. So
// keep_omp_threads_spread checks again, at most once a millisecond, at the start of every run.
//
// spread_omp_threads moves colliding team threads onto unused allowed CPUs (a momentary single-CPU affinity, then
// the thread's own mask back): nothing stays pinned. It does nothing when the user bound threads (OMP_PROC_BIND),
// for one thread, or on one CPU.
#pragma once

#include <sched.h>

#include <array>
#include <vector>

namespace hone {

inline constexpr int kMaxSpreadThreads = 256;  // larger teams are left to the scheduler

struct SpreadResult {
  int threads = 0;  // team threads inspected
  int moved = 0;    // threads moved to another CPU
  // Where each team thread (the first `threads`) was when the region ended (the scheduler may move them later).
  std::array<int, kMaxSpreadThreads> cpus{};
};

// For each team thread t < n (cpus[t]: the CPU it is on), target[t]: the CPU to move it to, or -1 to leave it where
// it is. n <= kMaxSpreadThreads. Allocates nothing.
void spread_targets(const int* cpus, int n, const cpu_set_t& allowed, int* target);
std::vector<int> spread_targets(const std::vector<int>& cpus, const cpu_set_t& allowed);  // the same, for tests

// Runs one parallel region of `threads` threads on the calling thread's OpenMP team and spreads it.
SpreadResult spread_omp_threads(int threads);

// spread_omp_threads at most once per interval per calling thread (a clock read otherwise): for every run.
void keep_omp_threads_spread(int threads);

}  // namespace hone
