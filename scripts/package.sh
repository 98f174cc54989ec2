#!/usr/bin/env bash
# Builds the Debian package: scripts/package.sh [BUILD_DIR]   (default BUILD_DIR: build)
# Leaves BUILD_DIR/packages/pg-lockwatch_VERSION-1_ARCH.deb and prints its path. Its
# Depends are computed from the binary's shared libraries (dpkg-shlibdeps).
# Install it with: apt install ./build/packages/pg-lockwatch_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
scripts/install-deps.sh >&2
scripts/build.sh "$dir" >&2
rm -rf "$dir/packages"
(cd "$dir" && cpack -G DEB) >&2
ls "$dir"/packages/pg-lockwatch_*.deb
