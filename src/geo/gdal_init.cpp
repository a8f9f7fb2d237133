// Placeholder translation unit until the raster layer lands (issue 2).
namespace terrascope::geo {
void touch() {}
}  // namespace terrascope::geo
