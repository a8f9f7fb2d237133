// terrascope ask through the binary on real rasters with the tiny bundle: the files written are
// read back with GDAL's own gdalinfo (masks on the input grid), result.json is validated against
// docs/result.schema.json by Python's jsonschema, GeoJSON parses and lies inside the scene; bad
// inputs exit 1 with one line naming the file, usage errors exit 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run_support.h"

namespace terrascope::test {
namespace {

using nlohmann::json;

// The scene's lon/lat bounds from gdalinfo's wgs84Extent polygon.
struct LonLatBounds {
  double west = 1e9, south = 1e9, east = -1e9, north = -1e9;
};

LonLatBounds wgs84_bounds(const json& info) {
  LonLatBounds b;
  for (const auto& point : info["wgs84Extent"]["coordinates"][0]) {
    b.west = std::min(b.west, point[0].get<double>());
    b.east = std::max(b.east, point[0].get<double>());
    b.south = std::min(b.south, point[1].get<double>());
    b.north = std::max(b.north, point[1].get<double>());
  }
  return b;
}

void collect_positions(const json& coordinates, std::vector<std::pair<double, double>>* out) {
  if (coordinates.is_array() && coordinates.size() >= 2 && coordinates[0].is_number()) {
    out->push_back({coordinates[0].get<double>(), coordinates[1].get<double>()});
    return;
  }
  for (const auto& c : coordinates) collect_positions(c, out);
}

// Checks every mask of result.json against the input raster, as GDAL reads both.
void check_outputs(const std::string& out_dir, const std::string& input, bool georeferenced) {
  const std::string result_path = out_dir + "/result.json";
  ASSERT_TRUE(std::filesystem::exists(result_path));
  EXPECT_EQ(schema_errors(result_path), "");
  const json result = json::parse(read_text(result_path));
  const json in = gdalinfo_json(input);
  ASSERT_GE(result["segs"].size(), 1u) << "the tiny bundle made no [SEG]: " << result["text"];
  for (const auto& seg : result["segs"]) {
    for (const auto& mask : seg["masks"]) {
      const std::string file = out_dir + "/" + mask["file"].get<std::string>();
      const json info = gdalinfo_json(file);
      EXPECT_EQ(info["size"], in["size"]) << file;
      EXPECT_EQ(info["bands"].size(), 1u);
      EXPECT_EQ(info["bands"][0]["type"], "Byte");
      if (georeferenced) {
        for (int i = 0; i < 6; ++i) {
          EXPECT_NEAR(info["geoTransform"][i].get<double>(), in["geoTransform"][i].get<double>(),
                      1e-12 * std::max(1.0, std::abs(in["geoTransform"][i].get<double>())));
        }
        EXPECT_EQ(info["coordinateSystem"]["wkt"], in["coordinateSystem"]["wkt"]) << file;
      }
      // The measurement's pixel count is the mask's 1-pixels as GDAL counts them (gdalinfo
      // -hist would need bins; read the histogram of values 0..255 instead).
      std::string out;
      ASSERT_EQ(run_command("gdalinfo -json -hist " + quoted(file) + " 2>/dev/null", &out), 0);
      const json hist = json::parse(out)["bands"][0]["histogram"];
      const double bucket =
          (hist["max"].get<double>() - hist["min"].get<double>()) / hist["count"].get<double>();
      const int index_of_one = static_cast<int>((1.0 - hist["min"].get<double>()) / bucket);
      if (mask["measurements"]["pixel_count"].get<long long>() > 0) {
        EXPECT_EQ(hist["buckets"][index_of_one].get<long long>(),
                  mask["measurements"]["pixel_count"].get<long long>())
            << file;
      }
      const json geojson =
          json::parse(read_text(out_dir + "/" + mask["polygons"].get<std::string>()));
      EXPECT_EQ(geojson["type"], "FeatureCollection");
      EXPECT_EQ(geojson["features"].size(), mask["polygon_count"].get<size_t>());
      if (georeferenced) {
        const LonLatBounds bounds = wgs84_bounds(in);
        const double slack = 1e-6;  // degrees: the polygon vertices are pixel corners
        std::vector<std::pair<double, double>> positions;
        for (const auto& feature : geojson["features"]) {
          collect_positions(feature["geometry"]["coordinates"], &positions);
        }
        for (const auto& [lon, lat] : positions) {
          EXPECT_GE(lon, bounds.west - slack);
          EXPECT_LE(lon, bounds.east + slack);
          EXPECT_GE(lat, bounds.south - slack);
          EXPECT_LE(lat, bounds.north + slack);
        }
      }
    }
  }
  for (const auto& overlay : result["overlays"]) {
    const json info = gdalinfo_json(out_dir + "/" + overlay.get<std::string>());
    EXPECT_EQ(info["driverShortName"], "PNG");
    // The scene at its working size, and a legend strip below (wider for tiny scenes).
    EXPECT_GE(info["size"][0].get<int>(),
              result["inputs"]["frames"][0]["working_width"].get<int>());
    EXPECT_GT(info["size"][1].get<int>(),
              result["inputs"]["frames"][0]["working_height"].get<int>());
  }
}

TEST(AskCli, Sentinel2MasksOnTheInputGrid) {
  TempDir dir;
  const std::string image = shared_data("sen1floods11/Spain_7370579_S2Hand.tif");
  const CliRun run = run_terrascope("ask " + tiny_model_args() + " --image " + quoted(image) +
                                        " --preset sentinel2 -q 'Where is the water?' --out " +
                                        quoted(dir.file("out")),
                                    dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  check_outputs(dir.file("out"), image, true);
  const json result = json::parse(read_text(dir.file("out/result.json")));
  EXPECT_EQ(result["inputs"]["frames"][0]["bands"], json({4, 3, 2}));
  EXPECT_EQ(result["inputs"]["mode"], "single");
  EXPECT_EQ(result["model"]["name"], "terrascope-tiny-random-s0");
  // Measurements from the raster layer: an EPSG:4326 grid has areas in m^2 and lon/lat centroids.
  const json& m = result["segs"][0]["masks"][0]["measurements"];
  if (m["pixel_count"].get<long long>() > 0) {
    EXPECT_TRUE(m.contains("area_m2"));
    EXPECT_TRUE(m.contains("centroid_lonlat"));
  }
  // Piped stdout: the answer (or the whole text when the tiny model gave no <answer>), not empty.
  EXPECT_FALSE(run.out.empty());
}

// The grounding ablation (issue 6): with --no-region-injection the [SEG] still makes its mask and
// reports the region tokens it would have fed, but none is fed. One [SEG] round ends the answer,
// so the ids before it are the same in both runs and the output differs by exactly those rows.
TEST(AskCli, NoRegionInjectionFeedsNoRegionRows) {
  TempDir dir;
  const std::string image = shared_data("sen1floods11/Spain_7370579_S2Hand.tif");
  auto ask = [&](const std::string& name, const std::string& extra) {
    const CliRun run = run_terrascope("ask " + tiny_model_args() + " --image " + quoted(image) +
                                          " --preset sentinel2 -q 'Where is the water?'" +
                                          " --max-seg-rounds 1 --json " + extra + " --out " +
                                          quoted(dir.file(name)),
                                      dir.path());
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return json::parse(read_text(dir.file(name + "/result.json")));
  };
  const json with = ask("with", "");
  const json without = ask("without", "--no-region-injection");
  EXPECT_EQ(schema_errors(dir.file("without/result.json")), "");
  EXPECT_EQ(with["params"]["policies"]["inject_regions"], true);
  EXPECT_EQ(without["params"]["policies"]["inject_regions"], false);
  ASSERT_EQ(with["stop_reason"], "max_seg_rounds") << with["text"];
  ASSERT_EQ(without["stop_reason"], "max_seg_rounds") << without["text"];
  const auto fed = with["segs"][0]["region_indices"].size();
  ASSERT_GE(fed, 1u);
  EXPECT_EQ(without["segs"][0]["region_indices"], with["segs"][0]["region_indices"]);
  EXPECT_EQ(with["tokens"]["output"].get<int>() - without["tokens"]["output"].get<int>(),
            static_cast<int>(fed));
  EXPECT_EQ(with["segs"][0]["masks"][0]["measurements"]["pixel_count"],
            without["segs"][0]["masks"][0]["measurements"]["pixel_count"]);
}

TEST(AskCli, SpaceNetUtmJsonOutputEqualsResultFile) {
  TempDir dir;
  const std::string image = shared_data("spacenet_solaris/sample_geotiff.tif");
  const CliRun run =
      run_terrascope("ask " + tiny_model_args() + " --image " + quoted(image) +
                         " -q 'How many buildings?' --options 'A. 43' 'B. 12' --json --out " +
                         quoted(dir.file("out")),
                     dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  check_outputs(dir.file("out"), image, true);
  json printed = json::parse(run.out);
  json written = json::parse(read_text(dir.file("out/result.json")));
  EXPECT_EQ(printed["question"]["options"], json({"43", "12"}));
  printed.erase("timings_ms");
  written.erase("timings_ms");
  EXPECT_EQ(printed, written);
}

TEST(AskCli, TimeSeriesWritesAMaskPerFrame) {
  TempDir dir;
  const std::string t0 =
      shared_data("debian_r_satellite/LE07_L1TP_195025_20010730_20170204_01_T1_B3.TIF");
  const std::string t1 =
      shared_data("debian_r_satellite/LC08_L1TP_195025_20130707_20170503_01_T1_B4.TIF");
  const CliRun run = run_terrascope(
      "ask " + tiny_model_args() + " --frames " + quoted(t0) + " " + quoted(t1) +
          " --scaling percentile -q 'What changed?' --out " + quoted(dir.file("out")),
      dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  check_outputs(dir.file("out"), t0, true);
  const json result = json::parse(read_text(dir.file("out/result.json")));
  EXPECT_EQ(result["inputs"]["mode"], "series");
  EXPECT_EQ(result["overlays"], json({"overlay_t0.png", "overlay_t1.png"}));
  for (const auto& seg : result["segs"]) {
    ASSERT_EQ(seg["masks"].size(), 2u);
    EXPECT_EQ(seg["masks"][1]["file"], "seg" + std::to_string(seg["index"].get<int>()) + "_t1.tif");
  }
}

TEST(AskCli, OpticalSarPair) {
  TempDir dir;
  const std::string optical = shared_data("spacenet_solaris/rgb_unmasked.tif");
  const std::string sar = shared_data("spacenet_solaris/sar_masked.tif");
  const CliRun run = run_terrascope(
      "ask " + tiny_model_args() + " --image " + quoted(optical) + " --sar " + quoted(sar) +
          " --sar-bands 1,4 -q 'Where are ships?' --out " + quoted(dir.file("out")),
      dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  check_outputs(dir.file("out"), optical, true);
  const json result = json::parse(read_text(dir.file("out/result.json")));
  EXPECT_EQ(result["inputs"]["mode"], "sar");
  EXPECT_EQ(result["inputs"]["sar"]["bands"], json({1, 4}));
}

TEST(AskCli, UngeoreferencedInputWorksInPixels) {
  TempDir dir;
  // solaris' footprint mask has no georeferencing (SOURCES.md).
  const std::string image = shared_data("spacenet_solaris/sample_fp_mask.tif");
  const CliRun run =
      run_terrascope("ask " + tiny_model_args() + " --image " + quoted(image) +
                         " -q 'Where are the buildings?' --out " + quoted(dir.file("out")),
                     dir.path());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  check_outputs(dir.file("out"), image, false);
  const json result = json::parse(read_text(dir.file("out/result.json")));
  EXPECT_FALSE(result["inputs"]["grid"]["georeferenced"].get<bool>());
  for (const auto& seg : result["segs"]) {
    EXPECT_FALSE(seg["masks"][0]["measurements"].contains("area_m2"));
  }
}

TEST(AskCli, StreamsTheReasoningOnATerminal) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1)";
  TempDir dir;
  const std::string command =
      std::string(TERRASCOPE_EXE) + " ask " + tiny_model_args() + " --image " +
      quoted(shared_data("rsvqa_lr_subset/Images_LR/236.tif")) + " -q 'Where is the water?'";
  // script(1) gives the command a pseudo-terminal as stdout.
  std::string out;
  ASSERT_EQ(run_command("script -qec " + quoted(command) + " /dev/null 2>&1", &out), 0) << out;
  EXPECT_NE(out.find("\033[2m"), std::string::npos) << out;  // the reasoning, dimmed, as it comes
  EXPECT_NE(out.find("[SEG]"), std::string::npos) << out;
  EXPECT_EQ(out.find("<REGION>"), std::string::npos) << out;  // placeholders are not shown
  // Piped, the same question prints no terminal codes.
  const CliRun piped = run_terrascope("ask " + tiny_model_args() + " --image " +
                                          quoted(shared_data("rsvqa_lr_subset/Images_LR/236.tif")) +
                                          " -q 'Where is the water?'",
                                      dir.path());
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out.find("\033["), std::string::npos) << piped.out;
}

TEST(AskCli, BadInputsExitOneWithOneLineNamingTheFile) {
  TempDir dir;
  const std::string landsat = shared_data("rasterio_landsat/RGB.byte.tif");
  { std::ofstream(dir.file("notes.tif")) << "not a raster"; }
  struct Case {
    std::string arguments;
    std::string named;
  };
  const std::vector<Case> cases = {
      {tiny_model_args() + " --image " + quoted(dir.file("missing.tif")) + " -q x",
       dir.file("missing.tif")},
      {tiny_model_args() + " --image " + quoted(dir.file("notes.tif")) + " -q x",
       dir.file("notes.tif")},
      {tiny_model_args() + " --image " + quoted(landsat) + " --bands 4,3,2 -q x", landsat},
      {"--model " + quoted(dir.path()) + " --image " + quoted(landsat) + " -q x", dir.path()},
      {tiny_model_args() + " --frames " + quoted(landsat) + " " +
           quoted(shared_data("sen1floods11/Spain_7370579_S2Hand.tif")) + " -q x",
       "Spain_7370579_S2Hand.tif"},
  };
  for (const Case& c : cases) {
    const CliRun run = run_terrascope("ask " + c.arguments, dir.path());
    EXPECT_EQ(run.exit_code, 1) << c.arguments << "\n" << run.err;
    EXPECT_EQ(line_count(run.err), 1) << run.err;
    EXPECT_NE(run.err.find(c.named), std::string::npos) << run.err;
  }
}

TEST(AskCli, UsageErrorsExitTwo) {
  TempDir dir;
  const std::string landsat = quoted(shared_data("rasterio_landsat/RGB.byte.tif"));
  for (const std::string& arguments : {
           tiny_model_args() + " --image " + landsat,  // no question
           tiny_model_args() + " -q x",                // no image
           tiny_model_args() + " --image " + landsat + " --frames " + landsat + " -q x",
           tiny_model_args() + " --image " + landsat + " -q x --options 'A. a' 'C. c'",
           tiny_model_args() + " --image " + landsat + " -q x --dtype fp8",
           tiny_model_args() + " --image " + landsat + " -q x --bands 4,x",
           tiny_model_args() + " --image " + landsat + " -q x --range 10 5",
       }) {
    const CliRun run = run_terrascope("ask " + arguments, dir.path());
    EXPECT_EQ(run.exit_code, 2) << arguments << "\n" << run.err;
  }
}

}  // namespace
}  // namespace terrascope::test
