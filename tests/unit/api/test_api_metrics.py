"""`GET /metrics`: Prometheus exposition of request latency per route template, verifications
by verdict, JSON-RPC calls, refused transactions, and the outbox backlog read at scrape time."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from node import metrics
from node.api.routes import metrics as metrics_route
from node.store.backlog import read_backlog
from node.store.db import Database
from node.store.models import AnchorBatch, BatchState, Credential, CredentialState, IndexerCursor

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[None]:
    metrics.configure(None)
    yield
    metrics.configure(None)


def _app(node: SimpleNamespace) -> FastAPI:
    app = FastAPI()
    app.state.node = node
    app.add_middleware(metrics_route.MetricsMiddleware)
    app.include_router(metrics_route.router)

    @app.get("/things/{thing_id}")
    def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    return app


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _credential(n: int, institution_id: int, state: CredentialState, age: timedelta) -> Credential:
    return Credential(
        id=f"urn:uuid:{n}",
        institution_id=institution_id,
        kind="OpenBadgeCredential",
        credential_type_id="0x00",
        credential_hash=f"0x{n:064x}",
        status_list=0,
        status_index=n,
        state=state,
        created_at=datetime.now(UTC) - age,
    )


def test_latency_is_recorded_under_the_route_template_not_the_path(node: SimpleNamespace) -> None:
    with TestClient(_app(node)) as client:
        client.get("/things/a")
        client.get("/things/b")
        client.get("/nowhere")
        text = client.get("/metrics").text
    samples = _samples(text)
    key = ("lernode_http_request_duration_seconds_count",
           (("method", "GET"), ("route", "/things/{thing_id}"), ("status", "200")))  # fmt: skip
    assert samples[key] == 2
    unmatched = ("lernode_http_request_duration_seconds_count",
                 (("method", "GET"), ("route", "unmatched"), ("status", "404")))  # fmt: skip
    assert samples[unmatched] == 1
    assert "/things/a" not in text


def test_verdicts_rpc_calls_and_refused_transactions_are_counted(node: SimpleNamespace) -> None:
    metrics.verification("valid")
    metrics.verification("valid")
    metrics.verification("invalid")
    metrics.rpc_calls(["eth_call", "eth_getLogs"])  # one batch
    metrics.rpc_calls(["eth_blockNumber"])
    metrics.transaction_refused(7)
    with TestClient(_app(node)) as client:
        reply = client.get("/metrics")
    assert reply.headers["content-type"].startswith("text/plain")
    samples = _samples(reply.text)
    assert samples[("lernode_verifications_total", (("verdict", "valid"),))] == 2
    assert samples[("lernode_verifications_total", (("verdict", "invalid"),))] == 1
    # At least: a chain client another test left running in this process may call too.
    assert samples[("lernode_jsonrpc_calls_total", (("method", "eth_call"),))] >= 1
    assert samples[("lernode_jsonrpc_calls_total", (("method", "eth_getLogs"),))] >= 1
    assert samples[("lernode_jsonrpc_requests_total", ())] >= 2
    assert samples[("lernode_refused_transactions_total", (("institution", "7"),))] == 1


def test_outbox_depth_and_anchoring_lag_come_from_the_database(
    node: SimpleNamespace, db: Database, institution_id: int
) -> None:
    with db.session() as session:
        session.add(_credential(1, institution_id, CredentialState.PENDING, timedelta(minutes=5)))
        session.add(_credential(2, institution_id, CredentialState.PENDING, timedelta(0)))
        session.add(_credential(3, institution_id, CredentialState.ANCHORED, timedelta(0)))
        session.add(AnchorBatch(institution_id=institution_id, credential_type_id="0x00",
                                root="0x" + "ab" * 32, count=1, state=BatchState.ANCHORED,
                                block_number=100))  # fmt: skip
        session.add(IndexerCursor(name="chain", block_number=101, block_hash="0x00"))
    backlog = read_backlog(db, confirmations=3)
    assert backlog.pending_credentials == 2
    assert backlog.anchored_not_final == 1
    assert 290 < backlog.oldest_pending_seconds < 400
    assert backlog.blocks_to_finality == 2  # final at 103, the index is at 101
    with TestClient(_app(node)) as client:
        samples = _samples(client.get("/metrics").text)
    assert samples[("lernode_outbox_pending_credentials", ())] == 2
    assert samples[("lernode_anchoring_not_final_credentials", ())] == 1
    assert samples[("lernode_indexed_block", ())] == 101


def test_an_empty_node_reports_zero_backlog(db: Database) -> None:
    backlog = read_backlog(db, confirmations=2)
    assert (backlog.pending_credentials, backlog.oldest_pending_seconds) == (0, 0.0)
    assert backlog.blocks_to_finality == 0


def test_worker_processes_counters_meet_in_the_multiprocess_directory(
    tmp_path: Path, node: SimpleNamespace
) -> None:
    metrics.configure(tmp_path / "metrics")
    metrics.verification("valid")
    # A method no chain client sends: threads of other tests' nodes in this process (their
    # indexers poll with eth_call) count into the same directory while this test runs.
    child = (
        "from node import metrics\nmetrics.verification('valid')\n"
        "metrics.rpc_calls(['test_probe'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", child], env=env, check=True, timeout=60)
    with TestClient(_app(node)) as client:
        samples = _samples(client.get("/metrics").text)
    assert samples[("lernode_verifications_total", (("verdict", "valid"),))] == 2
    assert samples[("lernode_jsonrpc_calls_total", (("method", "test_probe"),))] == 1
