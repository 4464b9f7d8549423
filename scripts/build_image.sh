#!/usr/bin/env bash
# Build the project's image from the Containerfile (`make image`):
#
#   scripts/build_image.sh [TAG]        (default: student-performance:<package version>)
#
# 1. on the host: build/wheelhouse/, every pinned runtime dependency (requirements.txt
#    less kedro-viz and pytest, which the runtime never imports), kept between builds so
#    that a second build downloads nothing; build/dist/, the project's wheel;
# 2. the base: $BASE_IMAGE when set; else python:3.11-slim when it is present or can be
#    pulled; else the local Debian base of scripts/container_base.sh (no registry);
# 3. podman build; on the local base without network (the wheels of step 1 and the
#    base's packages are all it needs).
#
# Environment: PYTHON (the host interpreter that builds the wheels, default
# .venv/bin/python), BASE_IMAGE, PODMAN (default: podman with the runc runtime and
# cgroupfs, as this kind of machine needs). Prints the tag, the build time and the size.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
read -r -a PODMAN <<<"${PODMAN:-podman --runtime runc --cgroup-manager=cgroupfs}"
VERSION="$("$PYTHON" -c 'import student_performance as p; print(p.__version__)')"
TAG="${1:-student-performance:$VERSION}"
SLIM=docker.io/library/python:3.11-slim
LOCAL_BASE=localhost/student-performance-base:bookworm-1
WHEELS=build/wheelhouse
DIST=build/dist
start=$(date +%s)

# 1. the wheelhouse (dependencies) and the project's wheel
mkdir -p "$WHEELS" "$DIST"
rm -f "$DIST"/*.whl
# Left out of the image: the graph viewer and the test runner, and the offline copy of
# Swagger UI (the image's /docs loads it from FastAPI's CDN, as a browser reaching the
# service can); the image must stay under its 900 MB goal.
grep -v -E '^(kedro-viz|pytest|fastapi-offline)==' requirements.txt >"$WHEELS/requirements.new"
# pip's resolver takes minutes even when every wheel is there: only when the pins change
if ! cmp -s "$WHEELS/requirements.new" "$WHEELS/requirements.txt" \
    || [[ ! -f "$WHEELS/.complete" ]]; then
    rm -f "$WHEELS/.complete"
    mv "$WHEELS/requirements.new" "$WHEELS/requirements.txt"
    "$PYTHON" -m pip wheel -q --disable-pip-version-check --find-links "$WHEELS" \
        -w "$WHEELS" -r "$WHEELS/requirements.txt" >build/pip-wheel.log 2>&1 || {
        grep -v '^WARNING: Location' build/pip-wheel.log | tail -20 >&2
        exit 1
    }
    touch "$WHEELS/.complete"
fi
rm -f "$WHEELS/requirements.new"
"$PYTHON" -m pip wheel -q --disable-pip-version-check --no-deps -w "$DIST" . \
    >build/pip-wheel.log 2>&1 || {
    grep -v '^WARNING: Location' build/pip-wheel.log | tail -20 >&2
    exit 1
}
ls "$DIST"/student_performance-"$VERSION"-*.whl >/dev/null

# 2. the base
base="${BASE_IMAGE:-}"
if [[ -z "$base" ]]; then
    if "${PODMAN[@]}" image exists "$SLIM" \
        || timeout 60 "${PODMAN[@]}" pull -q "$SLIM" >/dev/null 2>&1; then
        base="$SLIM"
    else
        echo "build_image: $SLIM cannot be pulled (no registry): the local Debian base"
        bash scripts/container_base.sh "$LOCAL_BASE"
        base="$LOCAL_BASE"
    fi
fi

# 3. the image (docker format: OCI images have no HEALTHCHECK). The local base holds
# every system library the image needs, so its build runs without network; on another
# base the runtime stage may have to apt-get install libgomp1.
network=()
[[ "$base" == "$LOCAL_BASE" ]] && network=(--network none)
previous="$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)"
echo "build_image: $TAG on $base"
"${PODMAN[@]}" build --format docker "${network[@]}" --pull=missing \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    --build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$VERSION" \
    -f Containerfile -t "$TAG" . >build/image-build.log 2>&1 || {
    tail -40 build/image-build.log >&2
    echo "build_image: FAILED (log: build/image-build.log)" >&2
    exit 1
}
# the image this tag named before is now untagged: remove it (the builder stage's layers
# stay, they are the cache of the next build)
current="$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$TAG")"
if [[ -n "$previous" && "$previous" != "$current" ]]; then
    "${PODMAN[@]}" rmi "$previous" >/dev/null 2>&1 || true
fi
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$TAG")
echo "build_image: built $TAG in $(($(date +%s) - start)) s, $((size / 1000000)) MB"
