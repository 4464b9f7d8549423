#!/usr/bin/env bash
# A local base image for the project's Containerfile, for machines that reach Debian's
# package mirror but no container registry:
#
#   scripts/container_base.sh [IMAGE]   (default: localhost/student-performance-base:bookworm-1;
#                                       the suffix changes when the recipe does)
#
# debootstrap --variant=minbase bookworm with python3, python3-venv, ca-certificates and
# libgomp1 (LightGBM's OpenMP runtime; Debian bookworm's python3 is 3.11, the
# project's), imported with `podman import`.
# Nothing is done when the image already exists, so only the first run pays the ~45 s.
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian). Needs root.
set -euo pipefail
IMAGE="${1:-localhost/student-performance-base:bookworm-1}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if podman image exists "$IMAGE"; then
    echo "container_base: $IMAGE exists"
    exit 0
fi
root="$(mktemp -d /var/tmp/student-performance-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "container_base: debootstrap bookworm into $root"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,libgomp1 \
    bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || {
    tail -20 "$root.log" >&2
    exit 1
}
rm -f "$root.log"
# not needed at run time: apt's lists and caches, documentation, translations
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
    "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/*
tar -C "$root" -c . | podman import --quiet \
    --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$IMAGE" >/dev/null
echo "container_base: imported $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE") bytes)"
