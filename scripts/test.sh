#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors, and runs
# every test (unit, integration on a throwaway PostgreSQL, ops checks), fuzzes each parser
# briefly, then builds and runs the tests again under AddressSanitizer + UBSan, and the
# daemon's threaded parts under ThreadSanitizer.
#   LOCKWATCH_SANITIZERS=0 scripts/test.sh   skips the sanitizer pass (quicker local runs)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

echo "== build (warnings as errors)"
scripts/build.sh build -DLOCKWATCH_WERROR=ON
echo "== tests"
(cd build && ctest --output-on-failure --timeout 900)

echo "== fuzzing: a bounded run of each libFuzzer target (scripts/fuzz.sh 600 for a long one)"
scripts/fuzz.sh "${LOCKWATCH_FUZZ_SECONDS:-10}"

if [[ "${LOCKWATCH_SANITIZERS:-1}" != 0 ]]; then
  echo "== build and tests under ASan+UBSan"
  BUILD_TYPE=Debug scripts/build.sh build-asan -DLOCKWATCH_WERROR=ON \
    -DLOCKWATCH_SANITIZE=address,undefined
  # Third-party leaks only (each explained in the file); detect_leaks stays on for ours.
  # print_suppressions=0: the tally of suppressed leaks would add lines to the commands'
  # stderr, which the tests hold to one line.
  (cd build-asan && LSAN_OPTIONS="suppressions=$PWD/../tests/sanitizers/lsan.supp:print_suppressions=0" \
    ctest --output-on-failure --timeout 900)

  echo "== the threaded parts (poll loop, worker, HTTP threads) under ThreadSanitizer"
  BUILD_TYPE=Debug scripts/build.sh build-tsan -DLOCKWATCH_SANITIZE=thread
  # halt_on_error: a race kills the daemon, so the tests that watch it fail.
  (cd build-tsan && TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
    ctest --output-on-failure --timeout 900 \
      -R '^(cluster\.|integration\.(watch|policies|faults|systemd_notify)$)')
fi
