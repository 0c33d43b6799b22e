// The greedy keep search behind --max-accuracy-drop / --min-sqnr (int8) and --max-output-error (fp16 / bf16)
// (compress/quantize/accuracy_search.h: search_keep_set), on a made-up metric whose answer is known: each candidate,
// when lowered, adds its own error; the metric is the sum of the lowered candidates' errors.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "compress/quantize/accuracy_search.h"

namespace hone::quant {
namespace {

struct AdditiveErrors {
  std::map<std::string, double> error = {{"a", 0.001}, {"b", 0.5}, {"c", 0.02}, {"d", 0.3}, {"e", 0.004}};
  int runs = 0;
  KeepSearchProblem problem() {
    KeepSearchProblem p;
    p.candidates = {"a", "b", "c", "d", "e"};
    p.lower_is_better = true;
    p.evaluate = [this](const std::set<std::string>& keep, const std::string&) {
      ++runs;
      double sum = 0;
      for (const auto& [node, e] : error) sum += keep.count(node) ? 0 : e;
      return sum;
    };
    return p;
  }
};

std::vector<std::string> steps_of(const SearchResult& r) {
  std::vector<std::string> s;
  for (const SearchStep& st : r.steps) s.push_back(st.node);
  return s;
}

TEST(KeepSearch, KeepsTheLargestErrorsFirstUntilTheTargetHolds) {
  for (bool only_one : {false, true}) {
    AdditiveErrors m;
    KeepSearchProblem p = m.problem();
    p.only_one = only_one;
    p.target = 0.03;
    SearchResult r = search_keep_set(p);
    EXPECT_TRUE(r.met);
    EXPECT_EQ(steps_of(r), (std::vector<std::string>{"b", "d"})) << only_one;
    EXPECT_NEAR(r.quantized, 0.825, 1e-12);
    EXPECT_NEAR(r.final_metric, 0.025, 1e-12);
    EXPECT_EQ(r.keep_float, (std::set<std::string>{"b", "d"}));
    // 1 full run, 5 sensitivity runs, and the steps not taken from a sensitivity run.
    EXPECT_EQ(r.evaluations, m.runs);
    EXPECT_EQ(r.evaluations, only_one ? 8 : 7);
  }
}

TEST(KeepSearch, StopsOneShortOfKeepingEverythingAndReportsAMiss) {
  AdditiveErrors m;
  KeepSearchProblem p = m.problem();
  p.target = 0.0005;  // only keeping all five would reach it
  SearchResult r = search_keep_set(p);
  EXPECT_FALSE(r.met);
  EXPECT_EQ(r.keep_float.size(), 4u);
  EXPECT_NEAR(r.final_metric, 0.001, 1e-12);  // "a", the least sensitive, stays lowered
}

TEST(KeepSearch, ABudgetSkipsCandidatesItCannotAfford) {
  AdditiveErrors m;
  KeepSearchProblem p = m.problem();
  p.target = 0.03;
  p.may_keep = [](const std::set<std::string>& keep) { return !keep.count("b"); };  // "b" is too costly to keep
  SearchResult r = search_keep_set(p);
  EXPECT_FALSE(r.met);
  EXPECT_EQ(steps_of(r), (std::vector<std::string>{"d", "c", "e"}));
  EXPECT_NEAR(r.final_metric, 0.501, 1e-12);
}

TEST(KeepSearch, HigherIsBetterAndPatience) {
  AdditiveErrors m;
  KeepSearchProblem p = m.problem();
  auto lower = p.evaluate;
  p.evaluate = [lower](const std::set<std::string>& keep, const std::string& l) { return -lower(keep, l); };
  p.lower_is_better = false;
  p.target = -0.03;
  SearchResult r = search_keep_set(p);
  EXPECT_TRUE(r.met);
  EXPECT_EQ(steps_of(r), (std::vector<std::string>{"b", "d"}));
  // A metric no step improves: patience 2 stops after two steps.
  KeepSearchProblem flat = m.problem();
  flat.evaluate = [](const std::set<std::string>&, const std::string&) { return 1.0; };
  flat.target = 0.5;
  flat.patience = 2;
  SearchResult f = search_keep_set(flat);
  EXPECT_FALSE(f.met);
  EXPECT_EQ(f.steps.size(), 2u);
}

TEST(KeepSearch, MetAtOnceRunsOnce) {
  AdditiveErrors m;
  KeepSearchProblem p = m.problem();
  p.target = 1.0;
  SearchResult r = search_keep_set(p);
  EXPECT_TRUE(r.met);
  EXPECT_EQ(r.evaluations, 1);
  EXPECT_TRUE(r.steps.empty() && r.sensitivity.empty());
}

}  // namespace
}  // namespace hone::quant
