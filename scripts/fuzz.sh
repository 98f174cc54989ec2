#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for SECONDS
# (default 10: the bounded run of the test command; use e.g. 600 for a real session).
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: query_normaliser dsn_redaction config
#                                             duration pg_array json_reader ddl_classifier
# The corpora in tests/fuzz/corpus are read, never written: new inputs go to a temp dir
# (add interesting ones by hand). A crash leaves crash-* in build-fuzz/ and exits non-zero;
# turn it into a unit test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(query_normaliser dsn_redaction config duration pg_array
                                        json_reader ddl_classifier)

CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOCKWATCH_FUZZ=ON \
  -DLOCKWATCH_SANITIZE=address,undefined -DBUILD_TESTING=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

for target in "${targets[@]}"; do
  scratch=$(mktemp -d)
  echo "== fuzz_$target for ${seconds}s"
  (cd build-fuzz && ./tests/fuzz_"$target" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix=./ \
    "$scratch" "../tests/fuzz/corpus/$target" 2>&1 | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)|ERROR|crash' || true)
  rm -rf "$scratch"
  # libFuzzer exits non-zero on a crash; grep above hides the status, so check for artifacts.
  if ls build-fuzz/crash-* build-fuzz/leak-* build-fuzz/timeout-* >/dev/null 2>&1; then
    echo "fuzz_$target found a crash: see build-fuzz/" >&2
    exit 1
  fi
done
