"""A minimal Alertmanager webhook receiver: appends each notification to a file.

    python scripts/alert_receiver.py [--host 127.0.0.1] [--port 9095] [--out FILE]

Alertmanager (monitoring/alertmanager/alertmanager.yml) posts its webhook JSON to
``/critical`` or ``/warning``; each notification becomes one JSON line in ``--out``
(default ``monitoring/run/alerts.jsonl``) with the path and the time it arrived, and one
summary line on stdout. Stands in for a pager, e-mail or chat until one is configured.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def _handler(out: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received = datetime.now(UTC).isoformat(timespec="seconds")
            with out.open("a") as sink:
                sink.write(
                    json.dumps({"received": received, "path": self.path, **body}) + "\n"
                )
            for alert in body.get("alerts", []):
                sys.stdout.write(
                    f"{received} {self.path} {alert['status']} "
                    f"{alert['labels'].get('alertname')}: "
                    f"{alert['annotations'].get('summary', '')}\n"
                )
            sys.stdout.flush()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9095)
    parser.add_argument("--out", type=Path, default=Path("monitoring/run/alerts.jsonl"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer((args.host, args.port), _handler(args.out))
    server.serve_forever()


if __name__ == "__main__":
    main()
