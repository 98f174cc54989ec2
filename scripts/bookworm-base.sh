#!/usr/bin/env bash
# A Debian bookworm root file system (debootstrap --variant=minbase, as debian:bookworm-slim
# is made) as a tarball: the base of the image where none can be pulled, and the clean
# machine the package is installed on. Prints the tarball's path, making it if needed.
#   scripts/bookworm-base.sh          the tarball's path (made first when missing)
#   scripts/bookworm-base.sh --path   the path it has when made, without making it
# The root gets this machine's apt sources and settings (its mirror, a proxy, a snapshot
# archive's Check-Valid-Until), so apt inside reaches what apt here reaches. The tarball
# is cached in $LOCKWATCH_CACHE_DIR (default /var/cache/pg_lockwatch) under a key of those
# settings, this script and debootstrap's version, and made again when 30 days old.
# Needs root.
set -euo pipefail

cache=${LOCKWATCH_CACHE_DIR:-/var/cache/pg_lockwatch}
max_age_days=30

# The apt settings copied into the root: sources, and the config fragments.
apt_files() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
    /etc/apt/apt.conf.d/*; do
    [[ -f "$f" ]] && echo "$f"
  done
  return 0
}

cache_key() {
  {
    cat "${BASH_SOURCE[0]}"  # how it is made
    debootstrap --version
    apt_files | while read -r f; do echo "$f"; cat "$f"; done
  } | sha256sum | cut -c1-16
}

# The first bookworm archive of the host's sources (deb822 or one-line form).
mirror() {
  local url
  url=$(awk '/^URIs:/ {u=$2} /^Suites:.*bookworm( |$)/ && u {print u; exit}' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n "$url" ]] || url=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  echo "${url:-http://deb.debian.org/debian}"
}

root=""
unmount_and_remove() {
  [[ -n "$root" && -d "$root" ]] || return 0
  # debootstrap mounts /proc and /sys in the target; a failed run can leave them.
  awk -v r="$root" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
  rm -rf "$root"
}

make_base() {
  local out=$1 log
  root=$(mktemp -d "$cache/root.XXXXXX")
  chmod 755 "$root" # it becomes /
  trap unmount_and_remove EXIT
  log="$cache/debootstrap.log"
  echo "bookworm-base: debootstrap --variant=minbase bookworm from $(mirror) (about a minute)" >&2
  debootstrap --variant=minbase bookworm "$root" "$(mirror)" >"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; echo "bookworm-base: debootstrap failed (log: $log)" >&2; exit 1; }
  rm -f "$root/etc/apt/sources.list"
  apt_files | while read -r f; do
    mkdir -p "$root$(dirname "$f")"
    cp "$f" "$root$f"
  done
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" --numeric-owner -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  unmount_and_remove
  trap - EXIT
}

if [[ "${1:-}" == --path ]]; then
  echo "$cache/bookworm-minbase-$(cache_key).tar"
  exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "bookworm-base: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null ||
  { echo "bookworm-base: debootstrap is missing: scripts/install-deps.sh --test" >&2; exit 2; }
mkdir -p "$cache"
tarball="$cache/bookworm-minbase-$(cache_key).tar"
find "$cache" -maxdepth 1 -name 'bookworm-minbase-*.tar' \
  \( ! -path "$tarball" -o -mtime +"$max_age_days" \) -delete
[[ -f "$tarball" ]] || make_base "$tarball"
echo "$tarball"
