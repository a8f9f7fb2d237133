# Sourced by the scripts: exports TERRASCOPE_SHARED_DATA, the real test data read in place.
# Order: the caller's TERRASCOPE_SHARED_DATA, ../shared/data beside the checkout, /work/shared/data.
if [ -z "${TERRASCOPE_SHARED_DATA:-}" ]; then
  for candidate in "$(pwd)/../shared/data" /work/shared/data; do
    if [ -f "$candidate/README.md" ]; then
      TERRASCOPE_SHARED_DATA=$(cd "$candidate" && pwd)
      break
    fi
  done
fi
if [ -z "${TERRASCOPE_SHARED_DATA:-}" ] || [ ! -f "$TERRASCOPE_SHARED_DATA/README.md" ]; then
  echo "error: the shared test data (../shared/data) was not found; set TERRASCOPE_SHARED_DATA" >&2
  exit 1
fi
export TERRASCOPE_SHARED_DATA
