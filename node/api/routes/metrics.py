"""`GET /metrics`: the node's counters and backlog in the Prometheus text format.

Latency per route template is recorded by `MetricsMiddleware` (installed by `create_app`), so a
route never times itself; outbox depth and anchoring lag are read from the database when scraped.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node import metrics
from node.store.backlog import read_backlog

router = APIRouter(tags=["node"])


def _backlog_metrics(node: Any) -> Iterable[Metric]:
    backlog = read_backlog(node.db, node.settings.confirmations)
    figures = (
        (
            "lernode_outbox_pending_credentials",
            "Signed credentials waiting to be anchored.",
            backlog.pending_credentials,
        ),
        (
            "lernode_outbox_pending_status_updates",
            "Status changes (revocations, suspensions) waiting to be sent.",
            backlog.pending_status_updates,
        ),
        (
            "lernode_anchoring_oldest_pending_seconds",
            "Age of the oldest credential not yet in a mined block.",
            backlog.oldest_pending_seconds,
        ),
        (
            "lernode_anchoring_not_final_credentials",
            "Credentials in mined blocks not yet final.",
            backlog.anchored_not_final,
        ),
        (
            "lernode_anchoring_blocks_to_finality",
            "Blocks still to come before the oldest anchored batch is final.",
            backlog.blocks_to_finality,
        ),
    )
    for name, documentation, value in figures:
        yield GaugeMetricFamily(name, documentation, value=float(value))
    if backlog.indexed_block is not None:
        yield GaugeMetricFamily(
            "lernode_indexed_block",
            "Highest block the node's indexers have read.",
            value=float(backlog.indexed_block),
        )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def get_metrics(request: Request) -> Response:
    """Counters of every worker process plus the database backlog, for Prometheus to scrape."""
    node = request.app.state.node
    body = metrics.exposition(lambda: _backlog_metrics(node))
    return Response(body, media_type=metrics.CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Observe each HTTP request's duration under its route template (`/v1/credentials/{id}`),
    never the raw path, so the number of series stays bounded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics.http_request(
                scope.get("method", ""), template, status, time.perf_counter() - started
            )
