#!/usr/bin/env bash
# Configures and builds pg_lockwatch: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Leaves the binary at BUILD_DIR/pg_lockwatch (default BUILD_DIR: build).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
