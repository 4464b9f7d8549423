#!/usr/bin/env bash
# Prometheus, Alertmanager, Pushgateway and a webhook receiver on loopback, configured
# from monitoring/, watching the service of `make serve` (127.0.0.1:8000):
#   scripts/monitoring.sh up     # make monitoring-up
#   scripts/monitoring.sh down   # make monitoring-down
#   scripts/monitoring.sh status
# Ports are the tools' usual ones (Prometheus 9090, Alertmanager 9093, Pushgateway 9091,
# receiver 9095), as monitoring/prometheus/prometheus.yml and alertmanager.yml name them.
# Data, logs and pid files go to monitoring/run/ (git-ignored); `down` stops exactly the
# processes `up` started (their pid files).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=monitoring/run
PYTHON=${PYTHON:-.venv/bin/python}
HOST=127.0.0.1

names=(pushgateway alertmanager receiver prometheus)
declare -A port=([prometheus]=9090 [alertmanager]=9093 [pushgateway]=9091 [receiver]=9095)

command_of() {
  case "$1" in
    prometheus) echo prometheus --config.file=monitoring/prometheus/prometheus.yml \
      --storage.tsdb.path=$RUN/prometheus-data --web.listen-address=$HOST:${port[prometheus]} ;;
    alertmanager) echo prometheus-alertmanager \
      --config.file=monitoring/alertmanager/alertmanager.yml \
      --storage.path=$RUN/alertmanager-data --cluster.listen-address= \
      --web.listen-address=$HOST:${port[alertmanager]} ;;
    # Debian's build persists to /var/lib/prometheus by default: keep it here
    pushgateway) echo prometheus-pushgateway --web.listen-address=$HOST:${port[pushgateway]} \
      --persistence.file=$RUN/pushgateway.data ;;
    receiver) echo "$PYTHON" scripts/alert_receiver.py --host $HOST \
      --port ${port[receiver]} --out $RUN/alerts.jsonl ;;
  esac
}

running() {
  [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null
}

wait_ready() {  # poll the URL until it answers, at most 30 s
  "$PYTHON" - "$1" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2)
        sys.exit(0)
    except OSError:
        time.sleep(0.3)
sys.exit(f"{sys.argv[1]} did not answer within 30 s")
PY
}

up() {
  for tool in prometheus prometheus-alertmanager prometheus-pushgateway; do
    command -v "$tool" >/dev/null || {
      echo "monitoring: $tool is missing: make system-deps (Debian packages)" >&2
      exit 1
    }
  done
  mkdir -p "$RUN"
  for name in "${names[@]}"; do
    if running "$name"; then
      echo "monitoring: $name already running (pid $(cat "$RUN/$name.pid"))"
      continue
    fi
    # shellcheck disable=SC2046 - the command is split on purpose
    setsid $(command_of "$name") >"$RUN/$name.log" 2>&1 < /dev/null &
    echo $! >"$RUN/$name.pid"
    if [ "$name" = receiver ]; then
      url="http://$HOST:${port[receiver]}/"
      sleep 0.5
      running receiver || { cat "$RUN/receiver.log" >&2; exit 1; }
    else
      url="http://$HOST:${port[$name]}/-/ready"
      wait_ready "$url" || { tail -20 "$RUN/$name.log" >&2; exit 1; }
    fi
    echo "monitoring: $name on http://$HOST:${port[$name]} (pid $(cat "$RUN/$name.pid"), log $RUN/$name.log)"
  done
  echo "monitoring: alerts arrive in $RUN/alerts.jsonl; push batch results with"
  echo "  PUSHGATEWAY_URL=http://$HOST:${port[pushgateway]} .venv/bin/kedro run --pipelines drift_monitoring --params drift_batch=..."
  echo "monitoring: stop with make monitoring-down"
}

down() {
  for name in "${names[@]}"; do
    if running "$name"; then
      kill "$(cat "$RUN/$name.pid")"
      echo "monitoring: stopped $name (pid $(cat "$RUN/$name.pid"))"
    fi
    rm -f "$RUN/$name.pid"
  done
}

status() {
  for name in "${names[@]}"; do
    if running "$name"; then
      echo "$name: running (pid $(cat "$RUN/$name.pid")) on http://$HOST:${port[$name]}"
    else
      echo "$name: stopped"
    fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
