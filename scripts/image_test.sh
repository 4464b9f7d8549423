#!/usr/bin/env bash
# `make image-test`: build the image, then use it as a deployment would.
#
# 1. scripts/build_image.sh (on the local Debian base when no registry is reachable);
# 2. the image runs as a non-root user and holds no compiler;
# 3. `kedro run --pipelines data_processing` in the image, no network, against a mounted
#    data folder holding only the raw file: the cleaned table and the quality report
#    appear in that folder;
# 4. a champion trained on the host (conf/test's small grids) in an MLflow store in a
#    temporary folder, mounted at the same path (the registry records artifact paths);
#    `serve` with MLFLOW_TRACKING_URI pointing at it: /health, one /predict, and the
#    image's HEALTHCHECK;
# 5. the image's size, against the goal (IMAGE_MAX_MB, default 900).
#
# Prints a pass/fail line per check and a summary; exits non-zero when one fails (the
# temporary folder is then kept). Environment: PYTHON (default .venv/bin/python), PODMAN.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PYTHON="${PYTHON:-.venv/bin/python}"
read -r -a PODMAN <<<"${PODMAN:-podman --runtime runc --cgroup-manager=cgroupfs}"
LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
VERSION="$("$PYTHON" -c 'import student_performance as p; print(p.__version__)')"
TAG="student-performance:$VERSION"
MAX_MB="${IMAGE_MAX_MB:-900}"
tmp="$(mktemp -d /var/tmp/image-test.XXXXXX)"
container="student-performance-image-test-$$"
passed=0
failed=0
start=$(date +%s)

check() {  # check OK|FAIL what
    if [[ "$1" == OK ]]; then
        passed=$((passed + 1))
        echo "image-test: PASS  $2"
    else
        failed=$((failed + 1))
        echo "image-test: FAIL  $2"
    fi
}
finish() {
    "${PODMAN[@]}" rm -f "$container" >/dev/null 2>&1 || true
    echo "image-test: $([[ $failed -eq 0 ]] && echo PASSED || echo FAILED):" \
        "$passed passed, $failed failed in $(($(date +%s) - start)) s"
    if [[ $failed -eq 0 ]]; then
        rm -rf "$tmp"
    else
        echo "image-test: files kept in $tmp"
    fi
}
trap finish EXIT

# 1. build
build_start=$(date +%s)
if bash scripts/build_image.sh "$TAG"; then
    check OK "built $TAG in $(($(date +%s) - build_start)) s"
else
    check FAIL "build $TAG"
    exit 1
fi

# 2. non-root, no compiler
read -r uid compilers < <("${PODMAN[@]}" run --rm "${LIMITS[@]}" --network none --no-healthcheck \
    --entrypoint sh "$TAG" -c 'echo "$(id -u) $(command -v gcc cc c++ | wc -l)"' 2>/dev/null)
[[ "$uid" != 0 && "$compilers" == 0 ]] && ok=OK || ok=FAIL
check "$ok" "runs as uid $uid (not root), $compilers compilers on PATH"

# 3. kedro run in the image on a mounted data folder
mkdir -p "$tmp/data"
cp -r data/01_raw "$tmp/data/"
chmod -R a+rwX "$tmp/data"
if "${PODMAN[@]}" run --rm "${LIMITS[@]}" --network none --no-healthcheck \
    -v "$tmp/data:/app/data" "$TAG" \
    kedro run --pipelines data_processing >"$tmp/kedro-run.log" 2>&1 \
    && [[ -f "$tmp/data/03_primary/prm_students.parquet" ]] \
    && [[ -f "$tmp/data/08_reporting/data_quality_report.json" ]]; then
    rows="$("$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1])); print("%s rows in, %s kept" % (r["rows_in"], r["rows_kept"]))' \
        "$tmp/data/08_reporting/data_quality_report.json")"
    check OK "kedro run --pipelines data_processing in the image: data/03_primary and the quality report in the mounted folder ($rows)"
else
    tail -30 "$tmp/kedro-run.log"
    check FAIL "kedro run --pipelines data_processing in the image"
fi

# 4. a champion on the host, served by the image
project="$tmp/project"
mkdir -p "$project/conf/local" "$project/src" "$project/data" "$tmp/mlstore"
cp -r conf/base conf/logging.yml "$project/conf/"
cp conf/test/parameters_*.yml "$project/conf/local/"
cp pyproject.toml "$project/"
cp -r data/01_raw "$project/data/"
store="sqlite:///$tmp/mlstore/mlflow.db"
if (cd "$project" && STUDENT_PERFORMANCE_HOME="$project" MLFLOW_TRACKING_URI="$store" \
    MLFLOW_ARTIFACT_ROOT="$tmp/mlstore/mlartifacts" KEDRO_DISABLE_TELEMETRY=1 \
    "$ROOT/.venv/bin/kedro" run --pipelines training >"$tmp/training.log" 2>&1); then
    check OK "a champion trained on the host into $tmp/mlstore"
else
    tail -30 "$tmp/training.log"
    check FAIL "training the champion on the host"
    exit 1
fi
chmod -R a+rwX "$tmp/mlstore"
port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# no systemd here for podman's healthcheck timer: the check is run by hand below
"${PODMAN[@]}" run -d --name "$container" "${LIMITS[@]}" --network host \
    --health-interval disable \
    -e PORT="$port" -e MLFLOW_TRACKING_URI="$store" -v "$tmp/mlstore:$tmp/mlstore" \
    "$TAG" serve >/dev/null 2>"$tmp/serve-start.log"
served="$("$PYTHON" - "$port" <<'EOF'
import json, sys, time, urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.monotonic() + 180
health = None
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
            health = json.load(answer)
            break
    except OSError:
        time.sleep(1)
if health is None:
    print("FAIL no answer from /health within 180 s")
    sys.exit()
record = {"Gender": " MALE ", "Caste": "obc", "coaching": "NO", "time": "two",
          "Class_ten_education": "SEBA", "twelve_education": "AHSEC", "medium": "english",
          "Class_ X_Percentage": "vg", "Class_XII_Percentage": "Good",
          "Father_occupation": "DOCTOR", "Mother_occupation": None}
request = urllib.request.Request(f"{base}/predict", data=json.dumps(record).encode(),
                                 headers={"Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=10) as answer:
    prediction = json.load(answer)
ok = "prediction" in prediction and prediction.get("model_version")
print(f"{'OK' if ok else 'FAIL'} /health {json.dumps(health)}; /predict: "
      f"{prediction.get('prediction')} by version {prediction.get('model_version')}")
EOF
)"
check "${served%% *}" "serve in the image: ${served#* }"
if "${PODMAN[@]}" healthcheck run "$container" >/dev/null 2>&1; then
    check OK "the image's HEALTHCHECK (GET /health) reports healthy"
else
    check FAIL "the image's HEALTHCHECK (GET /health)"
fi
if [[ "${served%% *}" != OK ]]; then
    "${PODMAN[@]}" logs "$container" 2>&1 | tail -30
fi

# 5. size
size=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$TAG")
mb=$((size / 1000000))
[[ $mb -le $MAX_MB ]] && ok=OK || ok=FAIL
check "$ok" "image size $mb MB (goal <= $MAX_MB MB)"
[[ $failed -eq 0 ]]
