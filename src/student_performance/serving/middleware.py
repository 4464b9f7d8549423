"""ASGI middleware of the service: the body-size limit (413) and per-request metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from student_performance.serving.errors import error_response
from student_performance.serving.metrics import ServingMetrics


class _BodyTooLargeError(Exception):
    """The streamed request body passed the limit."""


class RequestGuard:
    """ASGI middleware: body-size limit (413) and per-request metrics.

    The limit is checked on ``Content-Length`` before anything is read and again on
    the bytes actually streamed (a chunked body has no length header).

    Args:
        app: The wrapped ASGI app.
        metrics: Where request counts and latencies go.
        max_body_bytes: The largest accepted body.
        paths: The app's route paths: requests refused before routing (413) are
            counted under their path when it is one of these, else under ``other``.
    """

    def __init__(
        self,
        app: Any,
        metrics: ServingMetrics,
        max_body_bytes: int,
        paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.paths = paths

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = {"status": 500, "started": False, "received": 0}
        try:
            if self._declared_length(scope) > self.max_body_bytes:
                await self._send_too_large(scope, receive, send, state)
                return
            await self._guarded(scope, receive, send, state)
        finally:
            self._observe(scope, state["status"], time.perf_counter() - start)

    async def _guarded(
        self, scope: dict, receive: Callable, send: Callable, state: dict
    ) -> None:
        """Run the app, counting the streamed bytes and noting the answer's status."""

        async def limited_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_body_bytes:
                    raise _BodyTooLargeError
            return message

        async def observed_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
            await send(message)

        try:
            await self.app(scope, limited_receive, observed_send)
        except _BodyTooLargeError:
            if state["started"]:
                raise
            await self._send_too_large(scope, receive, send, state)

    def _observe(self, scope: dict, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None)
        path = scope.get("path", "")
        endpoint = route or (path if path in self.paths else "other")
        self.metrics.observe(endpoint, scope.get("method", ""), status, seconds)

    @staticmethod
    def _declared_length(scope: dict) -> int:
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return 0
        return 0

    async def _send_too_large(
        self, scope: dict, receive: Callable, send: Callable, state: dict
    ) -> None:
        state["status"] = 413
        response = error_response(
            413,
            f"request body larger than the limit of {self.max_body_bytes} bytes "
            "(serving.limits.max_body_bytes); send fewer records per request",
        )
        await response(scope, receive, send)
