#!/usr/bin/env bash
# Builds the container image from the Dockerfile with buildah, for machines without a
# Docker engine (CI's) and without a registry to pull the base from:
#   scripts/image.sh [TAG]        (default TAG: localhost/pg_lockwatch:latest)
# When buildah has no debian:bookworm-slim, one is made with debootstrap
# (scripts/bookworm-base.sh, cached) and stored under that name. No layer cache: it
# would keep a build stage of about 1 GB per source version. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-localhost/pg_lockwatch:latest}
base=docker.io/library/debian:bookworm-slim
base_label=org.pg-lockwatch.base

# The base made here carries the name of the tarball it came from, so a new tarball
# (other apt settings, or 30 days old) replaces it; one from a registry has no such label.
base_made_from() {
  buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$base_label\"}}" \
    "$base" 2>/dev/null || true
}

import_base() {
  local tarball=$1 ctr
  echo "image: storing $tarball as $base"
  ctr=$(buildah from --pull=never scratch)
  buildah add --quiet "$ctr" "$tarball" / >/dev/null
  buildah config --cmd bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --label "$base_label=$(basename "$tarball")" "$ctr"
  buildah commit --quiet --rm "$ctr" "$base" >/dev/null
}

command -v buildah >/dev/null || { echo "image: buildah is missing: scripts/install-deps.sh --test" >&2; exit 2; }
made_from=$(base_made_from)
if [[ -z "$made_from" ]] ||
  [[ "$made_from" != "<no value>" && "$made_from" != "$(basename "$(scripts/bookworm-base.sh --path)")" ]]; then
  import_base "$(scripts/bookworm-base.sh)"
fi
echo "image: buildah bud --isolation chroot -t $tag ."
# Docker's image format: the OCI one has no HEALTHCHECK.
buildah bud --isolation chroot --format docker --pull=never -t "$tag" .
