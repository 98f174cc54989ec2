#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors, and runs
# every test (unit, integration on a throwaway PostgreSQL, ops checks); then builds and runs
# them again under AddressSanitizer + UndefinedBehaviorSanitizer.
#   LOCKWATCH_SANITIZERS=0 scripts/test.sh   skips the sanitizer pass (quicker local runs)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

echo "== build (warnings as errors)"
scripts/build.sh build -DLOCKWATCH_WERROR=ON
echo "== tests"
(cd build && ctest --output-on-failure --timeout 900)

if [[ "${LOCKWATCH_SANITIZERS:-1}" != 0 ]]; then
  echo "== build and tests under ASan+UBSan"
  BUILD_TYPE=Debug scripts/build.sh build-asan -DLOCKWATCH_WERROR=ON \
    -DLOCKWATCH_SANITIZE=address,undefined
  (cd build-asan && ctest --output-on-failure --timeout 900)
fi
