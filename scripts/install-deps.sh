#!/usr/bin/env bash
# Installs everything pg_lockwatch needs to build, run and test on Debian bookworm.
# Idempotent: packages already present are skipped. Needs root or sudo.
#   scripts/install-deps.sh            build + run deps (incl. a local PostgreSQL)
#   scripts/install-deps.sh --test     also the test tools (pgbouncer, prometheus, ...)
#   scripts/install-deps.sh --build    only what building needs (the image's build stage)
set -euo pipefail

build_pkgs=(
  build-essential cmake pkg-config ca-certificates curl
  libpqxx-dev libboost-dev libspdlog-dev libfmt-dev prometheus-cpp-dev
  libtomlplusplus-dev doctest-dev libsystemd-dev
  # [http] TLS (libpq-dev pulls libssl-dev in too; named because we link it) and basic
  # auth hashes (crypt_r, crypt_gensalt_rn)
  libssl-dev libcrypt-dev
  # PostgreSQL 15's own parser, for preflight --sql's lock classifier
  libpg-query-dev
  # the man pages and bash completion, generated from the binary's --help
  python3
)
run_pkgs=(
  # the throwaway cluster of scripts/run.sh (initdb, pg_ctl, psql, pgbench; python3 picks
  # a free port)
  postgresql postgresql-contrib
)
test_pkgs=(
  pgbouncer prometheus systemd python3-psycopg2 python3-pytest python3-yaml
  procps  # pgrep, for the fault tests that signal the server's processes
  clang libclang-rt-14-dev
  # self-signed certificates for the TLS tests (ca-certificates depends on it anyway)
  openssl
  # the image test (a bookworm base made by debootstrap, built and run by buildah) and
  # the package test (the .deb installed into a debootstrapped root)
  buildah debootstrap
)

want=("${build_pkgs[@]}")
case "${1:-}" in
  "") want+=("${run_pkgs[@]}") ;;
  --test) want+=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
  --build) ;;
  *) echo "usage: $0 [--test|--build]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && { echo "install-deps: all packages present"; exit 0; }

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Installing the postgresql/pgbouncer/prometheus packages must not leave system-wide
# servers running that we never asked for; policy-rc.d stops maintainer scripts starting them.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
