// hone::Error: the one exception type library code throws on bad input or failed operations.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace hone {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

#define HONE_CHECK(cond, ...)                    \
  do {                                           \
    if (!(cond)) ::hone::fail(__VA_ARGS__);      \
  } while (0)

}  // namespace hone
