// Mutated model files either load and run, or fail with hone::Error: never a crash, a hang, or another exception.
// Each case runs in a forked child under a memory limit, so a forged size cannot take the machine down either.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "hone/hone.h"
#include "test_paths.h"

namespace hone {
namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// Child exit codes: 0 ran or refused with hone::Error; 3 another exception.
int load_and_run(const std::string& bytes) {
  try {
    Session s = Session::load_bytes(bytes.data(), bytes.size(), {.threads = 1});
    std::vector<Value> feeds;
    for (const ValueInfo& in : s.inputs()) {
      if (!in.type.is_tensor() || !in.type.shape) return 0;
      Shape shape;
      for (const Dim& d : *in.type.shape) shape.push_back(d.known() ? d.value : 1);
      feeds.push_back(Value::of(Tensor(in.type.elem == DType::Undefined ? DType::Float32 : in.type.elem, shape)));
    }
    s.run_values(feeds);
    return 0;
  } catch (const Error&) {
    return 0;
  } catch (const std::exception& e) {
    fprintf(stderr, "non-hone exception: %s\n", e.what());
    return 3;
  }
}

std::string run_isolated(const std::string& bytes) {
  pid_t pid = fork();
  if (pid == 0) {
    rlimit lim{size_t{4} << 30, size_t{4} << 30};  // 4 GiB of address space
    setrlimit(RLIMIT_AS, &lim);
    alarm(20);
    _exit(load_and_run(bytes));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
  if (WEXITSTATUS(status) != 0) return "threw an exception that is not hone::Error";
  return "";
}

TEST(LoaderFuzz, MutatedModelsNeverCrash) {
  for (const char* name : {"fashion_mnist_cnn.onnx", "fashion_mnist_mlp.onnx"}) {
    std::string good = read_bytes(test::fixture(name));
    ASSERT_FALSE(good.empty());
    std::mt19937 rng(2026);
    for (int trial = 0; trial < 300; ++trial) {
      std::string m = good;
      switch (trial % 3) {
        case 0:  // flip a few random bytes
          for (int k = 0; k < 1 + static_cast<int>(rng() % 8); ++k) m[rng() % m.size()] = static_cast<char>(rng());
          break;
        case 1:  // cut the file short
          m.resize(rng() % m.size());
          break;
        default: {  // copy a chunk of the file over another place (plausible-looking fields in wrong spots)
          size_t len = 1 + rng() % 64, from = rng() % (m.size() - len), to = rng() % (m.size() - len);
          m.replace(to, len, good.substr(from, len));
        }
      }
      std::string verdict = run_isolated(m);
      EXPECT_EQ(verdict, "") << name << " trial " << trial;
    }
  }
}

}  // namespace
}  // namespace hone
