// terrascope info: placeholder until the raster layer lands (issue 2).
#include "cli/commands.h"
#include "terrascope/error.h"

namespace terrascope::cli {

CommandRunner add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Describe a raster (size, bands, CRS, grid, valid pixels)");
  auto path = std::make_shared<std::string>();
  cmd->add_option("raster", *path, "Raster file or GDAL path")->required();
  return [path]() -> int { throw Error(*path, "info is not implemented yet"); };
}

}  // namespace terrascope::cli
