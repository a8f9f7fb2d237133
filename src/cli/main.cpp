// terrascope: pixel-grounded vision-language answers about satellite scenes.
// Exit codes: 0 success, 1 a question/input failed (one line on stderr), 2 usage error.
#include <CLI/CLI.hpp>
#include <iostream>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "terrascope/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "terrascope: ask TerraScope about satellite scenes; get answers and georeferenced masks",
      "terrascope"};
  app.set_version_flag("--version", std::string("terrascope ") + TERRASCOPE_VERSION);
  app.require_subcommand(1);

  std::vector<std::pair<CLI::App*, terrascope::cli::CommandRunner>> commands;
  auto add = [&](terrascope::cli::CommandRunner runner) {
    commands.emplace_back(app.get_subcommands({}).back(), std::move(runner));
  };
  add(terrascope::cli::add_ask_command(app));
  add(terrascope::cli::add_batch_command(app));
  add(terrascope::cli::add_bench_command(app));
  add(terrascope::cli::add_info_command(app));
  add(terrascope::cli::add_perf_command(app));
  add(terrascope::cli::add_verify_command(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0 in CLI11.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  try {
    for (auto& [sub, runner] : commands) {
      if (sub->parsed()) return runner();
    }
  } catch (const terrascope::Error& e) {
    std::cerr << "terrascope: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "terrascope: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
