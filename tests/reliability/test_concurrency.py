"""Many concurrent issue and revoke requests through three API processes sharing one PostgreSQL
database: one sender, no nonce collision, no stuck transaction, no double anchoring.

Three `lernode up` processes share a data directory (the keys) and a PostgreSQL database; each
runs an anchoring worker, and the advisory-lock lease (`SenderLease`) must make exactly one of
them send. Halfway through, the sender is killed with SIGKILL: a standby must take over from
the outboxes in the database and finish its work.

The verdict: the chain's `Anchored` events (each root once, counts adding up to the stored
credentials), the chain's status bits (equal to the database's revoked/suspended flags for every
credential), and the transaction outbox (no nonce mined twice, nothing left signed-but-unsent).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from node.chain.contracts.types import StatusPurpose
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

pytestmark = [pytest.mark.slow, pytest.mark.anvil, pytest.mark.postgres, pytest.mark.timeout(400)]

PROCESSES = 3
CLIENT_THREADS = 8
ROUNDS = 12  # per thread: issue 5, then change the status of an earlier credential
LEASE_LINE = "now the chain sender"


def sender_of(nodes: list[NodeProcess]) -> list[NodeProcess]:
    return [n for n in nodes if LEASE_LINE in n.log_tail(2_000_000)]


class Client(threading.Thread):
    def __init__(
        self, seed: int, nodes: list[NodeProcess], issued: list[str], lock: threading.Lock
    ):
        super().__init__(daemon=True)
        self.rng = random.Random(seed)
        self.nodes, self.issued, self.lock = nodes, issued, lock
        self.errors: list[str] = []
        self.status_changes = 0
        self.halfway = threading.Event()

    def alive_node(self) -> NodeProcess:
        alive = [n for n in self.nodes if n.process is not None and n.process.poll() is None]
        return self.rng.choice(alive)

    def run(self) -> None:
        for round_ in range(ROUNDS):
            if round_ == ROUNDS // 2:
                self.halfway.set()
            node = self.alive_node()
            try:
                with node.client(timeout=60) as client:
                    inputs = [credential_input(self.rng.randrange(10**6)) for _ in range(5)]
                    response = client.post("/v1/credentials", json={"credentials": inputs})
                    if response.status_code != 201:
                        self.errors.append(f"issue {response.status_code} {response.text[:200]}")
                        continue
                    with self.lock:
                        self.issued += [c["id"] for c in response.json()["credentials"]]
                        target = self.rng.choice(self.issued)
                    action = self.rng.choice(["revoke", "suspend", "suspend", "reinstate"])
                    changed = client.post(f"/v1/credentials/{target}/{action}", json={"wait": 0})
                    if changed.status_code == 200:
                        self.status_changes += 1
                    elif changed.json().get("code") != "credential_revoked":
                        self.errors.append(f"{action} {changed.status_code} {changed.text[:200]}")
            except httpx.TransportError as error:
                # Only the killed process may drop a connection. Its flag, not poll(): poll()
                # answers None while the main thread's wait() holds the reaping lock.
                if not node.killed:
                    self.errors.append(f"{node.port} dropped a connection: {error!r}")


def test_three_api_processes_on_one_postgres_database_share_one_sender(
    tmp_path: Path, postgres_url: str
) -> None:
    env = {
        "LERNODE_DATABASE_URL": postgres_url,
        "LERNODE_CONFIRMATIONS": "2",
        "LERNODE_ANCHOR_BATCH_SIZE": "20",
        "LERNODE_ANCHOR_INTERVAL": "0.3",
        "LERNODE_LOG_LEVEL": "info",
    }
    with external_chain() as chain:
        deployment = deploy(tmp_path, chain.rpc_url, LERNODE_DATABASE_URL=postgres_url)
        nodes = [NodeProcess(tmp_path, chain.rpc_url, env=env) for _ in range(PROCESSES)]
        issued: list[str] = []
        try:
            for node in nodes:  # one after the other: the first one creates the institution
                node.start()
            wait_until(lambda: len(sender_of(nodes)) == 1, timeout=20, what="one sender")
            clients = [Client(i, nodes, issued, threading.Lock()) for i in range(CLIENT_THREADS)]
            shared = threading.Lock()
            for c in clients:
                c.lock = shared
                c.start()
            for c in clients:
                c.halfway.wait(120)
            (first_sender,) = sender_of(nodes)
            first_sender.kill9()
            for c in clients:
                c.join(300)
            assert all(not c.is_alive() for c in clients)
            errors = [e for c in clients for e in c.errors]
            assert errors == [], errors[:5]
            survivors = [n for n in nodes if n is not first_sender]
            wait_until(
                lambda: len(sender_of(survivors)) == 1, timeout=30, what="a standby taking over"
            )
            engine = create_engine(postgres_url)
            try:

                def settled() -> bool:
                    with engine.connect() as connection:
                        open_credentials = connection.execute(
                            text("SELECT count(*) FROM credential WHERE state <> 'FINAL'")
                        ).scalar()
                        open_updates = connection.execute(
                            text("SELECT count(*) FROM statusupdate WHERE NOT done")
                        ).scalar()
                    return open_credentials == 0 and open_updates == 0

                wait_until(
                    settled, timeout=180, interval=1, what="all final and all status on chain"
                )
                with engine.connect() as connection:
                    credentials = connection.execute(
                        text(
                            "SELECT c.id, c.status_list, c.status_index, c.revoked, c.suspended, "
                            "i.address FROM credential c JOIN institution i "
                            "ON i.id = c.institution_id"
                        )
                    ).all()
                    txs = connection.execute(
                        text("SELECT sender, nonce, tx_hash, state FROM chaintx")
                    ).all()
            finally:
                engine.dispose()
        finally:
            for node in nodes:
                node.stop()

        states_by_value = Counter(str(t.state).lower() for t in txs)
        assert not {"signed", "sent", "failed"} & set(states_by_value), states_by_value
        mined_per_nonce = Counter(
            (t.sender, t.nonce) for t in txs if str(t.state).lower() in ("mined", "final")
        )
        assert max(mined_per_nonce.values()) == 1, "two transactions mined for one nonce"

        contracts = chain_contracts(chain.rpc_url, deployment)
        anchors = anchors_on_chain(contracts)
        assert_each_root_once(anchors)
        issuer = credentials[0].address
        assert sum(a.count for a in anchors if a.issuer == issuer) == len(credentials)
        assert set(issued) <= {c.id for c in credentials}

        registry = contracts.credential_registry
        mismatches = []
        for row in credentials:
            revoked = registry.is_status_set(
                issuer, row.status_list, StatusPurpose.REVOCATION, row.status_index
            )
            suspended = registry.is_status_set(
                issuer, row.status_list, StatusPurpose.SUSPENSION, row.status_index
            )
            if (revoked, suspended) != (row.revoked, row.suspended):
                mismatches.append((row.id, (row.revoked, row.suspended), (revoked, suspended)))
        assert mismatches == [], mismatches[:5]
        changes = sum(c.status_changes for c in clients)
        print(
            f"\nconcurrency: {PROCESSES} API processes x {CLIENT_THREADS} clients; "
            f"{len(credentials)} credentials, {changes} status changes, {len(txs)} transactions, "
            f"{len(anchors)} roots each once, 0 nonce collisions, sender killed and taken over"
        )
