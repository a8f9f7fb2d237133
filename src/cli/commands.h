// Each subcommand lives in its own file and registers itself on the root CLI11 app.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace terrascope::cli {

// A registered subcommand's body; returns the process exit code.
using CommandRunner = std::function<int()>;

// Registration functions, one per subcommand file. Each adds its CLI::App and returns the runner
// that main() calls when that subcommand was chosen.
CommandRunner add_info_command(CLI::App& app);
CommandRunner add_verify_command(CLI::App& app);
CommandRunner add_ask_command(CLI::App& app);
CommandRunner add_batch_command(CLI::App& app);
CommandRunner add_bench_command(CLI::App& app);
CommandRunner add_perf_command(CLI::App& app);

}  // namespace terrascope::cli
