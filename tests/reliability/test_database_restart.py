"""PostgreSQL restarted under a running node: requests fail cleanly and retryably, then succeed;
nothing is half-written.

A `lernode up` on PostgreSQL takes a steady stream of issue and read requests while the server
is restarted (`pg_ctlcluster ... restart`, a real stop and start). Every answer must be either a
success or a `503` problem with `retryable: true` (never a 500, never a dropped connection);
requests succeed again once the server is back; every credential the API returned is stored
and ends `final`, and every stored credential row is whole (document, hash, status index and
its `issued` event together, or nothing).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text

from tests.support.processes import (
    NodeProcess,
    anchors_on_chain,
    assert_each_root_once,
    chain_contracts,
    credential_input,
    deploy,
    external_chain,
    wait_until,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.serial,
    pytest.mark.anvil,
    pytest.mark.postgres,
    pytest.mark.timeout(300),
]

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def restart_postgres() -> None:
    version = next(Path("/etc/postgresql").iterdir()).name
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )


def postgres_is_up() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=2) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


class Traffic(threading.Thread):
    """Issues one credential and reads one back, over and over, recording every answer."""

    def __init__(self, node: NodeProcess) -> None:
        super().__init__(daemon=True)
        self.node = node
        self.answers: list[tuple[float, str, int, dict[str, Any]]] = []
        self.returned: list[str] = []
        self.transport_errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        with self.node.client(timeout=30) as client:
            while not self.stop.is_set():
                n += 1
                try:
                    issued = client.post(
                        "/v1/credentials", json={"credential": credential_input(n)}
                    )
                    self._record("issue", issued)
                    if issued.status_code == 201:
                        self.returned.append(issued.json()["credentials"][0]["id"])
                    if self.returned:
                        self._record("read", client.get(f"/v1/credentials/{self.returned[-1]}"))
                except httpx.TransportError as exc:
                    self.transport_errors.append(repr(exc))
                time.sleep(0.05)

    def _record(self, kind: str, response: httpx.Response) -> None:
        body = response.json() if response.content else {}
        self.answers.append((time.monotonic(), kind, response.status_code, body))


def test_a_postgres_restart_gives_retryable_503s_then_success_and_nothing_half_written(
    tmp_path: Path, postgres_url: str
) -> None:
    assert postgres_is_up()
    with external_chain() as chain:
        deployment = deploy(tmp_path, chain.rpc_url, LERNODE_DATABASE_URL=postgres_url)
        node = NodeProcess(
            tmp_path,
            chain.rpc_url,
            env={
                "LERNODE_DATABASE_URL": postgres_url,
                "LERNODE_CONFIRMATIONS": "1",
                "LERNODE_ANCHOR_INTERVAL": "0.3",
            },
        ).start()
        traffic = Traffic(node)
        try:
            traffic.start()
            time.sleep(2)
            restart_started = time.monotonic()
            try:
                restart_postgres()
            finally:
                wait_until(postgres_is_up, timeout=60, what="PostgreSQL back up")
            restarted = time.monotonic()
            time.sleep(3)
            traffic.stop.set()
            traffic.join(60)
            with node.client() as client:
                wait_until(
                    lambda: all(
                        client.get(f"/v1/credentials/{i}").json().get("state") == "final"
                        for i in traffic.returned
                    ),
                    timeout=90,
                    what="every returned credential final",
                )
        finally:
            traffic.stop.set()
            node.stop()
            if not postgres_is_up():  # never leave the shared server down
                restart_postgres()

        statuses = Counter(status for _, _, status, _ in traffic.answers)
        assert traffic.transport_errors == [], node.log_tail()
        assert set(statuses) <= {200, 201, 503}, statuses
        failures = [body for _, _, status, body in traffic.answers if status == 503]
        assert failures, "the restart went unnoticed: no request hit it"
        for body in failures:
            assert body["retryable"] is True and body["code"] == "storage_unavailable", body
            assert body["type"].endswith("/storage_unavailable")
        after = [status for t, _, status, _ in traffic.answers if t > restarted + 1]
        assert after and set(after) <= {200, 201}, "requests must succeed once the server is back"

        engine = create_engine(postgres_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT c.id, c.document IS NOT NULL, c.credential_hash, "
                        "(SELECT count(*) FROM credentialevent e "
                        " WHERE e.credential_id = c.id AND e.event = 'issued') "
                        "FROM credential c"
                    )
                ).all()
        finally:
            engine.dispose()
        stored = {row[0] for row in rows}
        assert set(traffic.returned) <= stored
        half_written = [row for row in rows if not (row[1] and row[2] and row[3] == 1)]
        assert half_written == []
        anchors = anchors_on_chain(chain_contracts(chain.rpc_url, deployment))
        assert_each_root_once(anchors)
        assert sum(a.count for a in anchors) == len(stored)
        print(
            f"\npostgres restart ({restarted - restart_started:.1f}s): answers {dict(statuses)}; "
            f"{len(failures)} retryable 503s, then success; {len(stored)} credentials stored "
            f"whole, {len(traffic.returned)} returned, all final, each root anchored once"
        )
