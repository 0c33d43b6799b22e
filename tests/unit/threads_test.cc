// The session's thread count bounds the CPU a run uses (no oversubscription: every kernel honours it), and no thread
// keeps spinning after run returns. Measured with the process's CPU time (getrusage), never with wall-clock targets.
#include <gtest/gtest.h>
#include <omp.h>
#include <sched.h>
#include <sys/resource.h>

#include <chrono>
#include <random>
#include <thread>

#include "hone/hone.h"
#include "runtime/thread_placement.h"

namespace hone {
namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// Three 3x3 convolutions with residual adds, big enough that every kernel would go parallel if it could.
Model conv_stack() {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  Graph& g = m.graph;
  g.name = "stack";
  g.inputs.push_back({"x", TypeInfo::tensor(DType::Float32, SymShape{Dim(1), Dim(64), Dim(56), Dim(56)}), ""});
  g.outputs.push_back({"y", TypeInfo::tensor(DType::Float32), ""});
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-0.05f, 0.05f);
  std::string cur = "x";
  for (int i = 0; i < 3; ++i) {
    std::string w = "w" + std::to_string(i), c = "c" + std::to_string(i), r = "r" + std::to_string(i),
                a = "a" + std::to_string(i);
    Tensor wt(DType::Float32, {64, 64, 3, 3});
    for (float& v : wt.span<float>()) v = d(rng);
    g.initializers[w] = wt;
    g.nodes.push_back({c, "Conv", "", {cur, w}, {c}, {Attribute::of_ints("pads", {1, 1, 1, 1})}, ""});
    g.nodes.push_back({r, "Relu", "", {c}, {r}, {}, ""});
    std::string out = i == 2 ? "y" : a;
    g.nodes.push_back({a, "Add", "", {r, cur}, {out}, {}, ""});
    cur = out;
  }
  return m;
}

TEST(Threads, RunsUseAtMostTheirThreadsAndLeaveNothingSpinning) {
  unsigned cores = std::thread::hardware_concurrency();
  for (int threads : {1, 2}) {
    if (threads > static_cast<int>(cores)) continue;
    SCOPED_TRACE(threads);
    Session s(conv_stack(), {.threads = threads});
    Tensor x(DType::Float32, {1, 64, 56, 56});
    std::vector<Value> in = {Value::of(x)}, out;
    s.run_into(in, out);
    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_seconds();
    for (int i = 0; i < 20; ++i) s.run_into(in, out);
    double cpu = cpu_seconds() - c0;
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // CPU time can only exceed wall time by running more threads than asked for (plus clock granularity).
    EXPECT_LE(cpu, threads * wall * 1.15 + 0.02) << "cpu " << cpu << " s over " << wall << " s wall";
    // After run returns: OpenMP workers may spin briefly before sleeping, but not for long.
    double idle0 = cpu_seconds();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    double idle = cpu_seconds() - idle0;
    EXPECT_LT(idle, 0.03) << "threads used " << idle << " s of CPU during 0.3 s after run returned";
  }
}

cpu_set_t cpus_upto(int n) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c = 0; c < n; ++c) CPU_SET(c, &set);
  return set;
}

TEST(Threads, SpreadTargetsMoveOnlyCollidingThreadsToFreeCpus) {
  cpu_set_t two = cpus_upto(2), four = cpus_upto(4);
  EXPECT_EQ(spread_targets({1, 1}, two), std::vector<int>({-1, 0}));  // the master stays, the worker moves
  EXPECT_EQ(spread_targets({0, 1}, two), std::vector<int>({-1, -1}));
  EXPECT_EQ(spread_targets({3, 3, 3, 1}, four), std::vector<int>({-1, 0, 2, -1}));
  EXPECT_EQ(spread_targets({0, 0, 0}, two), std::vector<int>({-1, 1, -1}));  // more threads than CPUs
  cpu_set_t odd;
  CPU_ZERO(&odd);
  CPU_SET(1, &odd);
  CPU_SET(3, &odd);
  EXPECT_EQ(spread_targets({1, 1}, odd), std::vector<int>({-1, 3}));  // only allowed CPUs
}

TEST(Threads, SpreadLeavesTheTeamApartAndUnpinned) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  if (CPU_COUNT(&allowed) < 2) GTEST_SKIP() << "needs two CPUs";
  // Put the team on one CPU (a one-CPU mask, then the old mask back), as the scheduler sometimes does.
#pragma omp parallel num_threads(2)
  {
    cpu_set_t one;
    CPU_ZERO(&one);
    int first = 0;
    while (!CPU_ISSET(first, &allowed)) ++first;
    CPU_SET(first, &one);
    sched_setaffinity(0, sizeof(one), &one);
    sched_setaffinity(0, sizeof(allowed), &allowed);
  }
  SpreadResult r = spread_omp_threads(2);
  EXPECT_EQ(r.threads, 2);
  EXPECT_LE(r.moved, 1);  // the scheduler may have separated them already on waking the worker
  EXPECT_GE(r.cpus[0], 0);
  EXPECT_NE(r.cpus[0], r.cpus[1]);
  std::vector<int> unpinned(2, 0);
#pragma omp parallel num_threads(2)
  {
    cpu_set_t own;
    sched_getaffinity(0, sizeof(own), &own);
    unpinned[static_cast<size_t>(omp_get_thread_num())] = CPU_EQUAL(&own, &allowed) ? 1 : 0;
  }
  EXPECT_EQ(unpinned, std::vector<int>({1, 1}));
}

}  // namespace
}  // namespace hone
