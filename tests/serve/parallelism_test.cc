// How `hone serve` splits the cores among a model's instances (serve/served_model.h: resolve_parallelism).
#include <gtest/gtest.h>

#include "serve/served_model.h"

namespace hone::serve {
namespace {

ModelConfig config(int instances, int threads) {
  ModelConfig c;
  c.instances = instances;
  c.threads = threads;
  return c;
}

// A timer that must not be consulted: configured parallelism is never second-guessed.
double never() {
  ADD_FAILURE() << "the model was timed although its parallelism was configured";
  return 0;
}

TEST(ResolveParallelism, ConfiguredValuesAreKept) {
  Parallelism p = resolve_parallelism(config(3, 5), 16, never);
  EXPECT_EQ(p.instances, 3);
  EXPECT_EQ(p.threads, 5);
}

TEST(ResolveParallelism, OnlyInstancesShareTheCores) {
  EXPECT_EQ(resolve_parallelism(config(4, 0), 16, never).threads, 4);
  EXPECT_EQ(resolve_parallelism(config(3, 0), 16, never).threads, 5);
  EXPECT_EQ(resolve_parallelism(config(32, 0), 16, never).threads, 1);
  EXPECT_EQ(resolve_parallelism(config(32, 0), 16, never).instances, 32);
}

TEST(ResolveParallelism, OnlyThreadsMeansOneInstance) {
  Parallelism p = resolve_parallelism(config(0, 2), 16, never);
  EXPECT_EQ(p.instances, 1);
  EXPECT_EQ(p.threads, 2);
}

TEST(ResolveParallelism, SmallModelsGetASingleThreadedInstancePerCore) {
  Parallelism p = resolve_parallelism(config(0, 0), 8, [] { return 20e-6; });
  EXPECT_EQ(p.instances, 8);
  EXPECT_EQ(p.threads, 1);
  EXPECT_NE(p.why.find("20 us"), std::string::npos) << p.why;
}

TEST(ResolveParallelism, LargeModelsGetOneInstanceOnEveryCore) {
  Parallelism p = resolve_parallelism(config(0, 0), 8, [] { return 35e-3; });
  EXPECT_EQ(p.instances, 1);
  EXPECT_EQ(p.threads, 8);
  EXPECT_NE(p.why.find("35.00 ms"), std::string::npos) << p.why;
  // The boundary belongs to the large side.
  EXPECT_EQ(resolve_parallelism(config(0, 0), 8, [] { return kSmallModelSeconds; }).instances, 1);
}

TEST(ResolveParallelism, UntimedModelsGetOneInstanceOnEveryCore) {
  Parallelism p = resolve_parallelism(config(0, 0), 4, [] { return -1.0; });
  EXPECT_EQ(p.instances, 1);
  EXPECT_EQ(p.threads, 4);
  EXPECT_NE(p.why.find("could not be timed"), std::string::npos) << p.why;
}

TEST(ResolveParallelism, OneCoreIsOneInstanceOfOneThread) {
  Parallelism p = resolve_parallelism(config(0, 0), 1, never);
  EXPECT_EQ(p.instances, 1);
  EXPECT_EQ(p.threads, 1);
}

}  // namespace
}  // namespace hone::serve
