// A one-line progress bar on stderr for long measurements. It stays silent unless stderr is a terminal and the work
// has already taken longer than a second, so short runs, pipes and logs see nothing.
#pragma once
#include <chrono>
#include <string>

namespace hone {

class ProgressBar {
 public:
  // `label` precedes the bar ("measuring"). enabled=false silences it whatever the terminal.
  explicit ProgressBar(std::string label, bool enabled = true);
  ~ProgressBar();  // finish()
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `fraction` of the work done, in [0, 1]; `detail` is shown after the bar ("412 runs"). Redraws at most 10 times
  // per second.
  void update(double fraction, const std::string& detail);
  // Erases the bar if one was drawn.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  Clock::time_point start_, last_draw_;
};

}  // namespace hone
