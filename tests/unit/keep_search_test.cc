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
  // "b" lowered another way (lower_otherwise): it adds b_other_error instead; b_other: that way was taken.
  double b_other_error = 0;
  bool b_other = false;
  double sum(const std::set<std::string>& keep, bool b_the_other_way) const {
    double s = 0;
    for (const auto& [node, e] : error) s += keep.count(node) ? 0 : node == "b" && b_the_other_way ? b_other_error : e;
    return s;
  }
  KeepSearchProblem problem() {
    KeepSearchProblem p;
    p.candidates = {"a", "b", "c", "d", "e"};
    p.lower_is_better = true;
    p.evaluate = [this](const std::set<std::string>& keep, const std::string&) {
      ++runs;
      return sum(keep, b_other);
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

TEST(KeepSearch, ByEfficiencyKeepsTheMostGainPerCostFirst) {
  // Errors b 0.5, d 0.3, c 0.02, e 0.004, a 0.001; "b" costs 100 and "d" 10, the rest 1 each (total 113, floor
  // 113 / 50 = 2.26): gain per cost d 0.3 / 12.26 > c 0.02 / 3.26 > b 0.5 / 102.26 > e > a.
  AdditiveErrors m;
  KeepSearchProblem p = m.problem();
  const std::map<std::string, double> cost = {{"a", 1}, {"b", 100}, {"c", 1}, {"d", 10}, {"e", 1}};
  p.cost = [cost](const std::string& node) { return cost.at(node); };
  p.by_efficiency = true;
  p.target = 0.03;
  SearchResult r = search_keep_set(p);
  EXPECT_TRUE(r.met);
  EXPECT_EQ(steps_of(r), (std::vector<std::string>{"d", "c", "b"}));
  EXPECT_NEAR(r.final_metric, 0.005, 1e-12);
  for (const LayerSensitivity& s : r.sensitivity) EXPECT_NEAR(s.cost_share, cost.at(s.node) / 113, 1e-12) << s.node;
  // Without it, the same costs only break ties: the largest error first.
  p.by_efficiency = false;
  EXPECT_EQ(steps_of(search_keep_set(p)), (std::vector<std::string>{"b", "d"}));
}

TEST(KeepSearch, ByEfficiencyFallsBackToGainWhenTheCheapFirstMissTheTarget) {
  // "b" (error 0.5) is far the costliest: by gain per cost it comes last (floor 1004 / 50: d 0.3 / 21.08, e, c, a,
  // then b 0.5 / 1020), where the search stops one short with 0.5 left.
  AdditiveErrors m;
  m.error = {{"a", 0.05}, {"b", 0.5}, {"c", 0.06}, {"d", 0.3}, {"e", 0.07}};
  KeepSearchProblem p = m.problem();
  p.cost = [](const std::string& node) { return node == "b" ? 1000.0 : 1.0; };
  p.by_efficiency = true;
  p.target = 0.2;
  SearchResult r = search_keep_set(p);
  EXPECT_TRUE(r.met);
  EXPECT_FALSE(r.by_efficiency);
  EXPECT_EQ(steps_of(r), (std::vector<std::string>{"b", "d"}));
  EXPECT_NEAR(r.final_metric, 0.18, 1e-12);
  EXPECT_EQ(r.evaluations, m.runs);
  // A target the cheap ones reach keeps the efficient order.
  p.target = 0.51;
  SearchResult cheap = search_keep_set(p);
  EXPECT_TRUE(cheap.met);
  EXPECT_TRUE(cheap.by_efficiency);
  EXPECT_EQ(steps_of(cheap), (std::vector<std::string>{"d", "e", "c", "a"}));
}

TEST(KeepSearch, ByEfficiencyPutsCandidatesWithoutGainLast) {
  AdditiveErrors m;
  m.error["a"] = 0;  // free to keep, but keeping it gains nothing
  KeepSearchProblem p = m.problem();
  p.cost = [](const std::string& node) { return node == "a" ? 0.0 : 50.0; };
  p.by_efficiency = true;
  p.target = 0.0;
  SearchResult r = search_keep_set(p);
  ASSERT_EQ(r.sensitivity.size(), 5u);
  EXPECT_EQ(r.sensitivity.back().node, "a");
  EXPECT_EQ(r.sensitivity.front().node, "b");
}

TEST(KeepSearch, DropWorseningLeavesALayerThatHurtsLowered) {
  // Errors that partly cancel, as on real data: keeping "d" float while "b" is float too adds 0.1 instead of
  // removing 0.3.
  AdditiveErrors m;
  KeepSearchProblem p = m.problem();
  auto additive = p.evaluate;
  p.evaluate = [additive](const std::set<std::string>& keep, const std::string& l) {
    double v = additive(keep, l);
    return keep.count("b") && keep.count("d") ? v + 0.4 : v;
  };
  p.target = 0.2;
  p.drop_worsening = true;
  SearchResult r = search_keep_set(p);
  // b (0.825 -> 0.325), d (-> 0.425: worse, dropped), c (0.325 -> 0.305), e (-> 0.301); "a" is never tried (one short).
  EXPECT_FALSE(r.met);
  EXPECT_EQ(steps_of(r), (std::vector<std::string>{"b", "d", "c", "e"}));
  ASSERT_EQ(r.steps.size(), 4u);
  EXPECT_TRUE(r.steps[0].kept);
  EXPECT_FALSE(r.steps[1].kept);
  EXPECT_NEAR(r.steps[1].after, 0.425, 1e-12);
  EXPECT_NEAR(r.steps[2].before, 0.325, 1e-12);  // measured from the set without "d"
  EXPECT_EQ(r.keep_float, (std::set<std::string>{"b", "c", "e"}));
  EXPECT_NEAR(r.final_metric, 0.301, 1e-12);
  // Without it, "d" stays float once kept.
  p.drop_worsening = false;
  SearchResult plain = search_keep_set(p);
  EXPECT_TRUE(plain.keep_float.count("d"));
}

TEST(KeepSearch, TrimLowersAgainWhatALaterKeptLayerMadeUnneeded) {
  // "d"'s error shows only while "b" is lowered (it flows through "b"). By gain per cost "d" (cost 1) is kept before
  // "b" (cost 10); once "b" is float too, "d" is no longer needed and is lowered again.
  AdditiveErrors m;
  KeepSearchProblem p = m.problem();
  auto additive = p.evaluate;
  p.evaluate = [additive](const std::set<std::string>& keep, const std::string& l) {
    double v = additive(keep, l);
    return keep.count("b") && !keep.count("d") ? v - 0.3 : v;
  };
  const std::map<std::string, double> cost = {{"a", 1}, {"b", 10}, {"c", 0.1}, {"d", 1}, {"e", 1}};
  p.cost = [cost](const std::string& node) { return cost.at(node); };
  p.by_efficiency = true;
  p.target = 0.03;
  SearchResult plain = search_keep_set(p);
  EXPECT_EQ(plain.keep_float, (std::set<std::string>{"b", "d"}));
  p.trim = true;
  m.runs = 0;
  SearchResult r = search_keep_set(p);
  EXPECT_TRUE(r.met);
  EXPECT_EQ(r.keep_float, (std::set<std::string>{"b"}));
  EXPECT_EQ(steps_of(r), (std::vector<std::string>{"d", "b", "d"}));
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_TRUE(r.steps[2].trimmed);
  EXPECT_FALSE(r.steps[2].kept);
  EXPECT_NEAR(r.steps[2].before, 0.025, 1e-12);
  EXPECT_NEAR(r.steps[2].after, 0.025, 1e-12);
  EXPECT_NEAR(r.final_metric, 0.025, 1e-12);
  // Tried: "b" (the costliest; without it 0.525 misses) and "d"; never "c" (under the floor).
  EXPECT_EQ(r.evaluations, plain.evaluations + 2);
  EXPECT_EQ(r.evaluations, m.runs);
}

TEST(KeepSearch, TrimLowersAnotherWayWhatCannotBeLoweredAsItIs) {
  // Costs alike: the greedy keeps "b" and "d" (0.025 <= 0.03). Lowering "b" as it is misses (0.525); lowered the
  // other way (say, its input smoothed) it adds 0.004 only, which is taken, and later evaluations build on it. "d"
  // has no other way (NaN) and stays float.
  AdditiveErrors m;
  m.b_other_error = 0.004;
  KeepSearchProblem p = m.problem();
  p.cost = [](const std::string&) { return 1.0; };
  p.by_efficiency = true;
  p.target = 0.03;
  p.trim = true;
  SearchResult plain = search_keep_set(p);
  EXPECT_EQ(plain.keep_float, (std::set<std::string>{"b", "d"}));

  int other_runs = 0, taken = 0;
  std::vector<std::string> asked;
  p.lower_otherwise = [&](const std::set<std::string>& keep, const std::string& node) {
    asked.push_back(node);
    KeepSearchProblem::Otherwise o;
    if (node != "b") return o;
    EXPECT_FALSE(keep.count("b"));
    EXPECT_TRUE(keep.count("d"));
    o.metric = m.sum(keep, true);
    o.how = "smoothed";
    o.evaluations = 2;
    other_runs += 2;
    return o;
  };
  p.take_otherwise = [&](const std::string& node) {
    EXPECT_EQ(node, "b");
    m.b_other = true;
    ++taken;
  };
  m.runs = 0;
  SearchResult r = search_keep_set(p);
  EXPECT_TRUE(r.met);
  EXPECT_EQ(taken, 1);
  EXPECT_EQ(r.keep_float, (std::set<std::string>{"d"}));
  // "b" first (graph order among equal costs), then "d": "d" misses and is not asked again in the next pass, since
  // the metric did not improve since it missed.
  EXPECT_EQ(asked, (std::vector<std::string>{"b", "d"}));
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_EQ(r.steps[2].node, "b");
  EXPECT_TRUE(r.steps[2].trimmed);
  EXPECT_EQ(r.steps[2].how, "smoothed");
  EXPECT_NEAR(r.steps[2].before, 0.025, 1e-12);
  EXPECT_NEAR(r.steps[2].after, 0.029, 1e-12);
  EXPECT_NEAR(r.final_metric, 0.029, 1e-12);
  EXPECT_EQ(r.evaluations, m.runs + other_runs);
}

TEST(KeepSearch, LoweredAnotherWayWithCheaperLayersKeptInstead) {
  // "b" costs 20, the rest 1: the greedy keeps "d", then "b" (0.025 <= 0.03). Lowering "b" as it is misses (0.525);
  // the other way it adds `b_error` instead of 0.5: that misses too (0.04), but cheaper layers kept float instead
  // may make up for it: keeping "c" too gives 0.02, met, and "b" leaves the keep set for "c".
  for (double b_error : {0.015, 0.05}) {
    AdditiveErrors m;
    m.b_other_error = b_error;
    KeepSearchProblem p = m.problem();
    const std::map<std::string, double> cost = {{"a", 1}, {"b", 20}, {"c", 1}, {"d", 1}, {"e", 1}};
    p.cost = [cost](const std::string& node) { return cost.at(node); };
    p.by_efficiency = true;
    p.target = 0.03;
    p.trim = true;
    p.lower_otherwise = [&](const std::set<std::string>& keep, const std::string& node) {
      KeepSearchProblem::Otherwise o;
      if (node != "b") return o;
      o.metric = m.sum(keep, true);
      o.how = "smoothed";
      return o;
    };
    int takes = 0, undos = 0;
    p.take_otherwise = [&](const std::string&) { m.b_other = true, ++takes; };
    p.undo_otherwise = [&] { m.b_other = false, ++undos; };
    SearchResult r = search_keep_set(p);
    EXPECT_TRUE(r.met);
    EXPECT_EQ(takes, 1);
    if (b_error < 0.02) {
      EXPECT_EQ(undos, 0);
      EXPECT_EQ(r.keep_float, (std::set<std::string>{"c", "d"}));
      ASSERT_FALSE(r.steps.empty());
      EXPECT_EQ(r.steps.back().node, "b");
      EXPECT_TRUE(r.steps.back().trimmed);
      EXPECT_EQ(r.steps.back().how, "smoothed; kept float instead: c");
      EXPECT_NEAR(r.final_metric, 0.02, 1e-12);
    } else {
      // 0.05: "c" and "e" (two at most) kept float instead reach 0.051, which misses: undone, "b" stays float.
      EXPECT_EQ(undos, 1);
      EXPECT_FALSE(m.b_other);
      EXPECT_EQ(r.keep_float, (std::set<std::string>{"b", "d"}));
      EXPECT_NEAR(r.final_metric, 0.025, 1e-12);
    }
    EXPECT_EQ(r.evaluations, m.runs);
  }
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
