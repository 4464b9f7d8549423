"""Helpers of the monitoring tests: the Debian Prometheus tools on loopback, configured
from the project's own files in monitoring/, and a webhook receiver for Alertmanager.

Each tool runs in its own process group (``background.process_group``) with its data
in a temporary folder; readiness is polled on ``/-/ready``. ``fast_rules`` shortens the
rules' windows and ``for:`` durations so that an end-to-end test completes in well under
two minutes: the expressions, thresholds, labels and annotations stay those of the
project.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.background import LOOPBACK, free_port, process_group, wait_for_http

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
PROMETHEUS_DIR = MONITORING / "prometheus"
RULE_FILES = ("thresholds.yml", "recording.yml", "alerts.yml")


def require_tool(name: str) -> str:
    """The tool's path; skip when missing, except under CI=true where it must exist."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{name} is required under CI: run scripts/install_system_deps.sh"
            )
        pytest.skip(f"{name} is not installed (Debian prometheus packages)")
    return path


def fast_rules(text: str, window: str = "20s", hold: str = "2s") -> str:
    """The rules with every range window set to ``window`` and every ``for`` to ``hold``."""
    text = re.sub(r"\[\d+[smh]\]", f"[{window}]", text)
    return re.sub(r"(?m)^(\s+for:) \S+$", rf"\1 {hold}", text)


# --- webhook receiver ----------------------------------------------------------------
class WebhookReceiver:
    """Records every Alertmanager notification (webhook JSON) with its arrival time."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:  # noqa: SLF001
                    receiver.notifications.append(
                        {
                            "received": time.monotonic(),
                            "received_wall": time.time(),
                            "path": self.path,
                            "body": json.loads(body),
                        }
                    )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(
        self,
        alertname: str,
        status: str,
        since: float,
        timeout: float = 60.0,
        poke: Callable[[], None] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The first notification after ``since`` holding ``alertname`` in ``status``.

        ``poke`` is called between polls (e.g. to keep traffic going).

        Returns:
            The notification (``received``, ``path``, ``body``) and the alert in it.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                seen = list(self.notifications)
            for note in seen:
                if note["received"] < since:
                    continue
                for alert in note["body"]["alerts"]:
                    if (
                        alert["labels"].get("alertname") == alertname
                        and alert["status"] == status
                    ):
                        return note, alert
            if poke is not None:
                poke()
            else:
                time.sleep(0.2)
        raise TimeoutError(
            f"no {status} {alertname} notification within {timeout:.0f} s; got "
            f"{[n['body'].get('groupLabels') for n in seen]}"
        )


# --- the tools -------------------------------------------------------------------------
def http_json(url: str, params: dict[str, str] | None = None) -> Any:
    """GET a JSON answer."""
    if params:
        url = f"{url}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


@contextlib.contextmanager
def pushgateway(workdir: Path) -> Iterator[str]:
    """A Pushgateway on a free loopback port (no persistence); yields its URL."""
    tool = require_tool("prometheus-pushgateway")
    port = free_port()
    log = workdir / "pushgateway.log"
    with process_group(
        # Debian's build persists to /var/lib/prometheus by default: keep it in memory
        [tool, f"--web.listen-address={LOOPBACK}:{port}", "--persistence.file="],
        log,
    ) as process:
        url = f"http://{LOOPBACK}:{port}"
        wait_for_http(f"{url}/-/ready", process, log, timeout=30)
        yield url


@contextlib.contextmanager
def alertmanager(workdir: Path, receiver_url: str) -> Iterator[str]:
    """The project's Alertmanager config with both receivers posting to ``receiver_url``
    and one-second grouping; yields its URL."""
    tool = require_tool("prometheus-alertmanager")
    config = yaml.safe_load((MONITORING / "alertmanager/alertmanager.yml").read_text())
    for route in [config["route"], *config["route"]["routes"]]:
        route.update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = f"{receiver_url}/{receiver['name']}"
    path = workdir / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    log = workdir / "alertmanager.log"
    command = [
        tool,
        f"--config.file={path}",
        f"--storage.path={workdir / 'alertmanager-data'}",
        f"--web.listen-address={LOOPBACK}:{port}",
        "--cluster.listen-address=",  # one instance: no gossip port
    ]
    with process_group(command, log) as process:
        url = f"http://{LOOPBACK}:{port}"
        wait_for_http(f"{url}/-/ready", process, log, timeout=30)
        yield url


@contextlib.contextmanager
def prometheus(
    workdir: Path,
    service: str,
    pushgateway_url: str,
    alertmanager_url: str,
    interval: str = "1s",
) -> Iterator[str]:
    """The project's Prometheus config and rules (``fast_rules``), scraping ``service``
    (host:port) and the Pushgateway every ``interval``; yields its URL."""
    tool = require_tool("prometheus")
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    rules = []
    for name in config["rule_files"]:
        source = PROMETHEUS_DIR / name
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(fast_rules(source.read_text()))
        rules.append(str(target))
    config["rule_files"] = rules
    hosts = {"student_performance": service, "pushgateway": _hostport(pushgateway_url)}
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [hosts[job["job_name"]]]}]
    config["alerting"]["alertmanagers"] = [
        {"static_configs": [{"targets": [_hostport(alertmanager_url)]}]}
    ]
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    log = workdir / "prometheus.log"
    command = [
        tool,
        f"--config.file={path}",
        f"--storage.tsdb.path={workdir / 'prometheus-data'}",
        f"--web.listen-address={LOOPBACK}:{port}",
    ]
    with process_group(command, log) as process:
        url = f"http://{LOOPBACK}:{port}"
        wait_for_http(f"{url}/-/ready", process, log, timeout=60)
        yield url


def _hostport(url: str) -> str:
    parsed = urllib.parse.urlparse(url)
    return f"{parsed.hostname}:{parsed.port}"


def push_time(gateway_url: str, job: str, **grouping: str) -> float:
    """When the Pushgateway last received the group (its ``push_time_seconds``)."""
    for group in http_json(f"{gateway_url}/api/v1/metrics")["data"]:
        labels = group["labels"]
        if labels.get("job") == job and all(
            labels.get(k) == v for k, v in grouping.items()
        ):
            return float(group["push_time_seconds"]["metrics"][0]["value"])
    raise LookupError(f"no group {job} {grouping} on {gateway_url}")


def query(prometheus_url: str, expr: str) -> dict[str, Any]:
    """An instant query's answer (``status``, ``data``)."""
    return http_json(f"{prometheus_url}/api/v1/query", {"query": expr})


def wait_for_series(prometheus_url: str, expr: str, timeout: float = 60.0) -> list:
    """Poll an instant query until it returns at least one series."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = query(prometheus_url, expr)
        if answer["status"] == "success" and answer["data"]["result"]:
            return answer["data"]["result"]
        time.sleep(0.3)
    raise TimeoutError(f"{expr} returned nothing within {timeout:.0f} s")
