#!/usr/bin/env bash
# The Debian package (scripts/package.sh), installed with apt on a clean bookworm root
# (debootstrapped, in a chroot): apt resolves its computed Depends, `pg_lockwatch --version`
# runs and the installed binary checks the test cluster; the files are where the README
# says, with a man page for pg_lockwatch and each of its commands (every option of each
# --help in its page) and a bash completion that offers every command and option; the
# user, /etc/pg_lockwatch and its conffile are set up; then remove keeps only the conffile
# and purge leaves nothing, the DSN file included.
# Exit 77 (skipped) where a chroot cannot be made. Needs LOCKWATCH_BUILD_DIR and
# LOCKWATCH_TEST_CLUSTER_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."

skip() {
  echo "SKIP: $*"
  exit 77
}
[[ $(id -u) -eq 0 ]] || skip "installing into a chroot needs root"
unshare --mount --fork true 2>/dev/null || skip "no mount namespaces here (unshare --mount)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (scripts/install-deps.sh --test)"
build=${LOCKWATCH_BUILD_DIR:?the build directory}
set -a
# shellcheck source=/dev/null
. "${LOCKWATCH_TEST_CLUSTER_DIR:?the cluster.start fixture sets it}/env"
set +a

root=""
cleanup() { [[ -n "$root" ]] && rm -rf "$root"; }
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# A command in the root, with /proc mounted as on a real machine, in a mount namespace of
# its own: the mount goes away with it.
in_root() {
  unshare --mount --propagation private --fork sh -c \
    'root=$1; shift; mount -t proc proc "$root/proc" && exec chroot "$root" "$@"' \
    sh "$root" env DEBIAN_FRONTEND=noninteractive "$@"
}
apt_in_root() { in_root apt-get -o Dpkg::Use-Pty=0 -y -qq "$@"; }

# apt's and dpkg's output, failing on any warning or error they print.
quiet_apt() {
  local log=$1
  shift
  apt_in_root "$@" >"$log" 2>&1 || { cat "$log"; fail "apt-get $* failed"; }
  if grep -E '^(W|E): |warning|error' "$log"; then fail "apt-get $* warned"; fi
}

echo "== building the package (scripts/package.sh $build)"
deb=$(scripts/package.sh "$build" 2>"$build/package.log") || { cat "$build/package.log"; fail "no package"; }
echo "   $deb: Depends: $(dpkg-deb -f "$deb" Depends)"
version=$("$build/pg_lockwatch" --version)

echo "== a clean bookworm root"
root=$(mktemp -d /var/tmp/lockwatch-deb-test.XXXXXX)
tar -C "$root" -xf "$(scripts/bookworm-base.sh)"
[[ $(stat -c %a "$root") == 755 ]] || fail "the base's / is $(stat -c %a "$root"), not 755"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
quiet_apt "$root/tmp/update.log" update

echo "== apt install ./$(basename "$deb")"
quiet_apt "$root/tmp/install.log" install --no-install-recommends "/tmp/$(basename "$deb")"
[[ $(in_root pg_lockwatch --version) == "$version" ]] || fail "--version: $(in_root pg_lockwatch --version)"
in_root sh -c 'ldd /usr/bin/pg_lockwatch /usr/lib/pg_lockwatch/*.so' >"$root/tmp/ldd.txt" ||
  fail "ldd failed: $(cat "$root/tmp/ldd.txt")"
if grep 'not found' "$root/tmp/ldd.txt"; then fail "a shared library is missing: Depends is incomplete"; fi
in_root pg_lockwatch config check /etc/pg_lockwatch/pg_lockwatch.toml >/dev/null ||
  fail "the packaged config does not validate"
in_root pg_lockwatch check --dsn "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE" \
  >"$root/tmp/check.txt" || fail "pg_lockwatch check against the test cluster: $(cat "$root/tmp/check.txt")"

echo "== the file layout"
mapfile -t commands < <(in_root pg_lockwatch help |
  awk '/^commands:/ {on = 1; next} on && !NF {exit} on && $1 != "help" {print $1}')
[[ ${#commands[@]} -ge 6 ]] || fail "pg_lockwatch help lists only: ${commands[*]}"
expected=(/usr/bin/pg_lockwatch /usr/lib/systemd/system/pg_lockwatch.service
  /usr/lib/sysusers.d/pg_lockwatch.conf /usr/lib/tmpfiles.d/pg_lockwatch.conf
  /etc/pg_lockwatch/pg_lockwatch.toml /usr/share/bash-completion/completions/pg_lockwatch
  /usr/share/pg_lockwatch/pg_lockwatch.json /usr/share/pg_lockwatch/pg_lockwatch.rules.yml
  /usr/share/man/man1/pg_lockwatch.1.gz)
for doc in README.md RUNBOOK.md SECURITY.md pg_lockwatch.toml roles.sql; do
  expected+=("/usr/share/doc/pg_lockwatch/$doc")
done
for command in "${commands[@]}"; do expected+=("/usr/share/man/man1/pg_lockwatch-$command.1.gz"); done
in_root dpkg -L pg-lockwatch >"$root/tmp/files"
for path in "${expected[@]}"; do
  [[ -f "$root$path" ]] || fail "$path is not installed"
  grep -qx "$path" "$root/tmp/files" || fail "$path does not belong to the package"
done
compgen -G "$root/usr/lib/pg_lockwatch/*.so" >/dev/null || fail "no OpenSSL compat libraries"
[[ $(in_root dpkg-query -W -f='${Conffiles}' pg-lockwatch) == *" /etc/pg_lockwatch/pg_lockwatch.toml "* ]] ||
  fail "the config is not a conffile"
[[ $(in_root getent passwd pg_lockwatch | cut -d: -f7) == /usr/sbin/nologin ]] || fail "no pg_lockwatch user"
[[ $(in_root stat -c '%U:%G %a' /etc/pg_lockwatch /etc/pg_lockwatch/pg_lockwatch.toml | tr '\n' ' ') == \
  "root:pg_lockwatch 750 root:pg_lockwatch 640 " ]] || fail "/etc/pg_lockwatch is not root:pg_lockwatch 0750/0640"

echo "== man pages: one per command, each option of its --help in it, no groff warning"
for command in "${commands[@]}"; do
  page="$root/usr/share/man/man1/pg_lockwatch-$command.1.gz"
  warnings=$(zcat "$page" | groff -man -ww -z 2>&1)
  [[ -z "$warnings" ]] || fail "pg_lockwatch-$command.1: $warnings"
  zgrep -qF "pg_lockwatch\\-$command" "$root/usr/share/man/man1/pg_lockwatch.1.gz" ||
    fail "pg_lockwatch(1) does not list $command"
  for option in $(in_root pg_lockwatch "$command" --help | sed -n 's/^  --\([a-z0-9-]*\).*/\1/p'); do
    zgrep -qF -- "\\-\\-${option//-/\\-}" "$page" || fail "pg_lockwatch-$command.1 lacks --$option"
  done
done

echo "== bash completion: every command, every option of each --help"
# COMPREPLY for the words "$@" (the last is the one being completed), in the root's bash.
complete_words() {
  in_root bash -c '. /usr/share/bash-completion/completions/pg_lockwatch
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _pg_lockwatch; printf "%s\n" "${COMPREPLY[@]}"' \
    bash "$@" | sort | tr '\n' ' '
}
offered=$(complete_words pg_lockwatch "")
for command in "${commands[@]}"; do
  [[ " $offered " == *" $command "* ]] || fail "completion does not offer $command: $offered"
  want=$(in_root pg_lockwatch "$command" --help | sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p' | sort -u |
    tr '\n' ' ')
  got=$(complete_words pg_lockwatch "$command" --)
  [[ "$got" == *"--help "* ]] || fail "completion of $command lacks --help: $got"
  for option in $want; do
    [[ " $got " == *" $option "* ]] || fail "completion of $command lacks $option: $got"
  done
done
[[ $(complete_words pg_lockwatch config "") == "check " ]] || fail "config does not complete to check"
[[ $(complete_words pg_lockwatch run --config /etc/pg_lockwatch/pg_) == "/etc/pg_lockwatch/pg_lockwatch.toml " ]] ||
  fail "--config does not complete file names"

echo "== apt remove: only the conffile stays"
echo "host=db1 user=lockwatch password=secret" >"$root/etc/pg_lockwatch/dsn"
quiet_apt "$root/tmp/remove.log" remove pg-lockwatch
[[ $(in_root dpkg-query -W -f='${Status}' pg-lockwatch) == "deinstall ok config-files" ]] ||
  fail "after remove: $(in_root dpkg-query -W -f='${Status}' pg-lockwatch)"
while read -r path; do
  [[ -d "$root$path" || "$path" == /etc/* || ! -e "$root$path" ]] || fail "$path is left after remove"
done <"$root/tmp/files"
[[ -f "$root/etc/pg_lockwatch/pg_lockwatch.toml" ]] || fail "remove took the conffile"

echo "== apt purge: nothing stays"
quiet_apt "$root/tmp/purge.log" purge pg-lockwatch
if in_root dpkg-query -W pg-lockwatch >/dev/null 2>&1; then fail "dpkg still knows pg-lockwatch"; fi
for path in /etc/pg_lockwatch /usr/lib/pg_lockwatch /usr/share/doc/pg_lockwatch /usr/share/pg_lockwatch; do
  [[ ! -e "$root$path" ]] || fail "$path is left after purge"
done
echo "ok: $(basename "$deb") installs, works, removes and purges cleanly"
