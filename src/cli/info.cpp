// terrascope info <raster> [--json]: what a raster holds, where it lies, and how much of it is
// valid.
#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "terrascope/raster_info.h"

namespace terrascope::cli {
namespace {

// Nodata as JSON: a number, or "nan"/"inf"/"-inf" (JSON has no non-finite numbers).
nlohmann::json nodata_json(const BandInfo& band) {
  if (!band.has_nodata) return nullptr;
  if (std::isnan(band.nodata)) return "nan";
  if (std::isinf(band.nodata)) return band.nodata > 0 ? "inf" : "-inf";
  return band.nodata;
}

nlohmann::json info_json(const RasterInfo& info) {
  nlohmann::json out;
  out["path"] = info.path;
  out["driver"] = info.driver;
  out["width"] = info.grid.width;
  out["height"] = info.grid.height;
  out["bands"] = nlohmann::json::array();
  for (const BandInfo& band : info.bands) {
    out["bands"].push_back({{"index", band.index},
                            {"description", band.description},
                            {"data_type", band.data_type},
                            {"colour", band.colour},
                            {"nodata", nodata_json(band)}});
  }
  if (info.grid.crs_wkt.empty()) {
    out["crs"] = nullptr;
  } else {
    out["crs"] = {{"name", info.crs_name},
                  {"epsg", info.epsg != 0 ? nlohmann::json(info.epsg) : nlohmann::json(nullptr)},
                  {"geographic", info.geographic},
                  {"wkt", info.grid.crs_wkt}};
  }
  if (info.grid.has_geotransform) {
    out["geotransform"] = info.grid.geotransform;
    out["rotated"] = info.rotated;
  } else {
    out["geotransform"] = nullptr;
    out["rotated"] = false;
  }
  if (info.pixel_width_m > 0.0) {
    out["pixel_size_m"] = {info.pixel_width_m, info.pixel_height_m};
  } else {
    out["pixel_size_m"] = nullptr;
  }
  out["valid_share"] = info.valid_share;
  out["valid_share_exact"] = info.valid_share_exact;
  return out;
}

std::string nodata_text(const BandInfo& band) {
  if (!band.has_nodata) return "none";
  std::ostringstream out;
  out << band.nodata;
  return out.str();
}

void print_text(const RasterInfo& info, std::ostream& out) {
  out << info.path << " (" << info.driver << ")\n";
  out << "size: " << info.grid.width << " x " << info.grid.height << " pixels, "
      << info.bands.size() << (info.bands.size() == 1 ? " band" : " bands") << "\n";
  for (const BandInfo& band : info.bands) {
    out << "  band " << band.index << ": " << band.data_type;
    if (!band.description.empty()) out << ", \"" << band.description << "\"";
    out << ", " << band.colour << ", nodata " << nodata_text(band) << "\n";
  }
  if (info.grid.crs_wkt.empty()) {
    out << "crs: none\n";
  } else {
    out << "crs: " << info.crs_name;
    if (info.epsg != 0) out << " (EPSG:" << info.epsg << ")";
    out << "\n";
  }
  if (info.grid.has_geotransform) {
    const auto& g = info.grid.geotransform;
    out << std::setprecision(15) << "geotransform: " << g[0] << ", " << g[1] << ", " << g[2] << ", "
        << g[3] << ", " << g[4] << ", " << g[5] << (info.rotated ? " (rotated)" : "") << "\n";
  } else {
    out << "geotransform: none (pixel coordinates)\n";
  }
  out << std::setprecision(6);
  if (info.pixel_width_m > 0.0) {
    out << "pixel size: " << info.pixel_width_m << " x " << info.pixel_height_m << " m"
        << (info.geographic ? " (at the scene centre)" : "") << "\n";
  } else {
    out << "pixel size: unknown in metres\n";
  }
  out << "valid pixels: " << std::fixed << std::setprecision(2) << 100.0 * info.valid_share << "%"
      << (info.valid_share_exact ? "" : " (on a decimated read)") << "\n";
}

}  // namespace

CommandRunner add_info_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("info", "Describe a raster (size, bands, CRS, grid, valid pixels)");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("raster", *path, "Raster file or GDAL path (/vsizip/..., VRT, PNG, ...)")
      ->required();
  cmd->add_flag("--json", *json, "Machine-readable output");
  return [path, json]() -> int {
    const RasterInfo info = describe_raster(*path);
    if (*json) {
      std::cout << info_json(info).dump(2) << "\n";
    } else {
      print_text(info, std::cout);
    }
    return 0;
  };
}

}  // namespace terrascope::cli
