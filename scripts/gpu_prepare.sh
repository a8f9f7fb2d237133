#!/usr/bin/env bash
# Prepares .gpu_deps/ (git-ignored through .git/info/exclude) for one call of scripts/gpu_check.sh
# on the GPU machine, which has no Debian packages and no network:
#   .gpu_deps/root      Debian 12 packages unpacked (pcre2, utf8proc, nlohmann_json, pkgconf), used
#                       there only for what its image lacks (GPU_DEPS in gpu_check.sh)
#   .gpu_deps/testdata  the tiny bundle tiny-s0 and its golden outputs, made here
# Usage: bash scripts/gpu_prepare.sh [BUILD_DIR]   (a build whose testdata is made; default build)
# Then, on the GPU machine, with .gpu_deps carried:
#   OUT=... STEPS="build parity qwen2 decode8b" TESTDATA=$PWD/.gpu_deps/testdata \
#     bash scripts/gpu_check.sh
set -euo pipefail
{
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
DEPS=.gpu_deps
TESTDATA=$BUILD_DIR/testdata
for d in bundles/tiny-s0 golden/tiny-s0; do
  if [[ ! -d "$TESTDATA/$d" ]]; then
    echo "gpu_prepare: $TESTDATA/$d: missing (scripts/make_testdata.sh $TESTDATA makes it)" >&2
    exit 1
  fi
done
mkdir -p .git/info
for ignored in "/$DEPS/" "/$DEPS.tmp/"; do
  grep -qxF "$ignored" .git/info/exclude 2>/dev/null || echo "$ignored" >> .git/info/exclude
done
rm -rf "$DEPS.tmp" && mkdir -p "$DEPS.tmp/debs" "$DEPS.tmp/testdata/bundles" "$DEPS.tmp/testdata/golden"
(cd "$DEPS.tmp/debs" && apt-get download libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 \
  libpcre2-posix3 libutf8proc-dev libutf8proc2 nlohmann-json3-dev pkgconf pkgconf-bin libpkgconf3)
for f in "$DEPS.tmp"/debs/*.deb; do dpkg -x "$f" "$DEPS.tmp/root"; done
rm -rf "$DEPS.tmp/debs"
cp -rL "$TESTDATA/bundles/tiny-s0" "$DEPS.tmp/testdata/bundles/"
cp -rL "$TESTDATA/golden/tiny-s0" "$DEPS.tmp/testdata/golden/"
rm -rf "$DEPS" && mv "$DEPS.tmp" "$DEPS"
du -sh "$DEPS"
exit
}
