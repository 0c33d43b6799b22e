// `hone serve ARGS` run as a separate program in the tests: stdout and stderr go to files, the ports it prints are
// read back, and it is killed at the end if it is still running.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "../cli/cli_harness.h"

extern char** environ;

namespace hone::serve::testing {

class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& args) : dir_(hone::testing::fresh_temp_dir("serve")) {
    std::vector<std::string> argv_strings = {hone::testing::hone_binary(), "serve"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, (dir_ / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (dir_ / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string out() const { return hone::testing::read_text_file(dir_ / "out"); }
  std::string err() const { return hone::testing::read_text_file(dir_ / "err"); }

  // The port in the first line of stdout matching `pattern` (one capture group), waiting up to 60 s; 0 when the
  // program exited or never said.
  int wait_for_port(const std::regex& pattern) {
    for (int i = 0; i < 600; ++i) {
      std::smatch m;
      const std::string text = out();
      if (std::regex_search(text, m, pattern)) return std::stoi(m[1]);
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }
  // The HTTP port from "HTTP: http://HOST:PORT".
  int wait_for_http_port() { return wait_for_port(std::regex(R"(HTTP: http://[^:\s]+:(\d+))")); }

  // The exit status, waiting up to `seconds`; -1 when it did not exit normally in time.
  int wait_exit(int seconds) {
    for (int i = 0; i < seconds * 100; ++i) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

}  // namespace hone::serve::testing
