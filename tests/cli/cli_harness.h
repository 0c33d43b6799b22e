// Runs the built `hone` program from GoogleTest cases and captures its exit status, stdout and stderr.
// The binary: $HONE_BIN, else `hone` beside the test binary's build folder (build*/tests/hone_tests ->
// build*/hone), else HONE_SOURCE_DIR/build/hone. Tests skip, saying why, when none is built.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace hone::testing {

struct CliResult {
  int status = -1;  // exit status, or -1 when the program did not exit normally
  std::string out, err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string read_text_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string hone_binary() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("HONE_BIN"); env && *env) return env;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path beside = self.parent_path().parent_path() / "hone";
    if (fs::exists(beside)) return beside.string();
  }
  return std::string(HONE_SOURCE_DIR) + "/build/hone";
}

// A fresh, empty folder for one test.
inline std::filesystem::path fresh_temp_dir(const std::string& tag) {
  namespace fs = std::filesystem;
  static int counter = 0;
  fs::path p = fs::temp_directory_path() / ("hone-cli-test-" + std::to_string(::getpid()) + "-" + tag + "-" +
                                            std::to_string(counter++));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// Runs `hone args...` with optional environment assignments ("XDG_CACHE_HOME=/tmp/x").
inline CliResult run_hone(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  namespace fs = std::filesystem;
  fs::path dir = fresh_temp_dir("io");
  std::string cmd;
  for (const std::string& e : env) cmd += e.substr(0, e.find('=') + 1) + shell_quote(e.substr(e.find('=') + 1)) + " ";
  cmd += shell_quote(hone_binary());
  for (const std::string& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + shell_quote((dir / "out").string()) + " 2>" + shell_quote((dir / "err").string()) + " </dev/null";
  int raw = std::system(cmd.c_str());
  CliResult r;
  r.status = (raw != -1 && WIFEXITED(raw)) ? WEXITSTATUS(raw) : -1;
  r.out = read_text_file(dir / "out");
  r.err = read_text_file(dir / "err");
  fs::remove_all(dir);
  return r;
}

#define HONE_REQUIRE_CLI_BINARY()                                                                       \
  do {                                                                                                  \
    if (!std::filesystem::exists(::hone::testing::hone_binary()))                                       \
      GTEST_SKIP() << "the hone program is not built at " << ::hone::testing::hone_binary()             \
                   << " (build target hone_cli, or set HONE_BIN)";                                      \
  } while (0)

}  // namespace hone::testing
