// `hone`: the command-line face of libhone. Each subcommand lives in its own file (run_command.cc, ...); this file
// parses the command line and turns every failure into one line on stderr: exit 1 for errors, 2 for usage errors.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "tools/hone/commands.h"

namespace {

constexpr const char* kVersion = "0.1.0";

int usage_error(const std::string& msg, const std::string& command) {
  fmt::print(stderr, "hone: error: {}\n", msg);
  fmt::print(stderr, "run 'hone {}--help' for usage\n", command.empty() ? "" : command + " ");
  return 2;
}

int run_main(int argc, char** argv) {
  CLI::App app{"hone: measure, compress and run ONNX models on the CPU", "hone"};
  app.set_version_flag("--version", std::string("hone ") + kVersion);
  app.require_subcommand(0, 1);
  std::vector<hone::cli::Command> commands = {hone::cli::add_run_command(app), hone::cli::add_inspect_command(app),
                                               hone::cli::add_bench_command(app), hone::cli::add_optimize_command(app),
                                               hone::cli::add_eval_command(app),
                                               hone::cli::add_compare_command(app),
                                               hone::cli::add_quantize_command(app),
                                               hone::cli::add_serve_command(app)};
  CLI::App* help = app.add_subcommand("help", "Show help for hone or for one command");
  std::string topic;
  help->add_option("COMMAND", topic, "Command to explain");
  app.footer("Run 'hone <command> --help' for a command's options.");

  // A first word that is neither an option nor a command: say so plainly rather than CLI11's "not expected".
  if (argc > 1 && argv[1][0] != '-') {
    std::string first = argv[1];
    bool known = first == "help";
    for (const auto& c : commands) known = known || c.app->get_name() == first;
    if (!known) {
      std::string names;
      for (const auto& c : commands) names += c.app->get_name() + ", ";
      return usage_error(fmt::format("unknown command '{}' (commands: {}help)", first, names), "");
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    // The help of the command that was chosen, if any.
    fmt::print("{}", app.help());
    return 0;
  } catch (const CLI::CallForVersion& e) {
    fmt::print("{}\n", e.what());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::string command;
    for (const auto& c : commands)
      if (c.app->parsed()) command = c.app->get_name();
    return usage_error(e.what(), command);
  }

  if (help->parsed()) {
    if (topic.empty()) {
      // app.help() would describe the chosen subcommand ("help" itself); ask the formatter for the root's.
      fmt::print("{}", app.get_formatter()->make_help(&app, "hone", CLI::AppFormatMode::Normal));
      return 0;
    }
    for (const auto& c : commands)
      if (c.app->get_name() == topic) {
        fmt::print("{}", c.app->help("hone"));
        return 0;
      }
    return usage_error(fmt::format("unknown command '{}'", topic), "");
  }
  for (const auto& c : commands)
    if (c.app->parsed()) return c.run();
  fmt::print(stderr, "{}", app.help());
  return usage_error("no command given", "");
}

}  // namespace

namespace {
// OpenMP's default wait policy lets idle workers spin for a long while before sleeping. On a machine where other
// processes compete for the cores, a spinning thread holds a core that a descheduled worker needs, and every kernel's
// barrier then waits a scheduler slice: measured here, ResNet-50 on 2 threads went from 45 ms to 2.6 s under load,
// against 0.14 s with short spinning. libgomp reads its settings when it loads, before main, so unless the user chose
// a policy the program sets a short spin and restarts itself once.
void prefer_short_openmp_spinning(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT") || std::getenv("HONE_OMP_CONFIGURED")) return;
  setenv("GOMP_SPINCOUNT", "10000", 1);
  setenv("HONE_OMP_CONFIGURED", "1", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run with the defaults
}
}  // namespace

int main(int argc, char** argv) {
  prefer_short_openmp_spinning(argv);
  try {
    return run_main(argc, argv);
  } catch (const hone::Error& e) {
    fmt::print(stderr, "hone: error: {}\n", e.what());
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "hone: error: out of memory\n");
  } catch (const std::exception& e) {
    fmt::print(stderr, "hone: error: {}\n", e.what());
  } catch (...) {
    fmt::print(stderr, "hone: error: unknown failure\n");
  }
  return 1;
}
