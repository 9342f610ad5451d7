"""Real processes for the fault tests: an external anvil, `lernode deploy`, `lernode up`.

The node under test is always a `lernode up` subprocess with its own data directory, pointed at
an anvil that is *not* its child (`LERNODE_RPC_URL`), so killing the node never loses chain
state and stopping the chain never kills the node. The chain seals an empty block every second
on top of instant mining (`--block-time 1 --mixed-mining`, what `lernode up` gives its embedded
chain), so confirmations accrue while nobody sends transactions.

What the tests check is read from two independent witnesses: the node's API (what it *said*)
and the chain's contract events (what *happened*), never from the node's own bookkeeping alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from eth_utils import keccak
from sqlalchemy import create_engine, text

from node.chain.anvil import DEFAULT_CHAIN_ID, AnvilProcess, free_port
from node.chain.bindings import Contracts, Deployment
from node.chain.client import ChainClient
from node.credentials.merkle import process_proof
from node.wiring.runtime import embedded_mining_args
from tests.support.up import ANVIL_KEY_0, LERNODE, wait_health
from tests.support.up import node_env as up_env

#: API processes of a node under test unless a test asks for more. These campaigns are about
#: data, the chain and crashes, which one process serves exactly as several do (every request
#: commits in its own transaction whichever process answers it), and each API worker process
#: costs a start about 3 s of CPU on 2 cores, started a hundred times over the suite. The worker
#: topology has tests of its own (tests/e2e/node/test_lernode_up_workers.py,
#: test_verify_load_workers.py) and the kill -9 campaign of test_crash_recovery.py runs the
#: default (one worker per core).
API_PROCESSES = 1

ACHIEVEMENT = {
    "name": "Reliability Engineering",
    "description": "Keeps records safe through crashes",
    "criteria_narrative": "Survived the fault campaign",
    "achievement_type": "Certificate",
}


def credential_input(n: int) -> dict[str, Any]:
    return {"learner": {"name": f"Learner {n}", "email": f"l{n}@example.edu"},
            "achievement": ACHIEVEMENT}  # fmt: skip


def external_chain(
    state_file: Path | None = None, port: int | None = None, block_time: float = 1.0
) -> AnvilProcess:
    """An anvil the node joins by RPC; with a state file it survives stop/start on one port."""
    return AnvilProcess(
        state_file=state_file,
        port=port,
        state_interval=1 if state_file is not None else None,
        extra_args=embedded_mining_args(block_time),
    )


def node_env(data_dir: Path, rpc_url: str | None, **extra: str) -> dict[str, str]:
    """The node's environment; `rpc_url` None: its own embedded chain (`lernode up` alone)."""
    chain = {} if rpc_url is None else {
        "LERNODE_RPC_URL": rpc_url, "LERNODE_CHAIN_ID": str(DEFAULT_CHAIN_ID)
    }  # fmt: skip
    return up_env(data_dir, **{"LERNODE_LOG_LEVEL": "warning", **chain, **extra})


def deploy(data_dir: Path, rpc_url: str, **extra: str) -> Deployment:
    """`lernode deploy` with anvil's funded key 0 as the operator (one-member consortium)."""
    result = subprocess.run(
        [*LERNODE, "deploy"],
        env=node_env(data_dir, rpc_url, LERNODE_ACCOUNT_KEY=ANVIL_KEY_0, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return Deployment.load(data_dir / "deployment.json")


@dataclass
class NodeProcess:
    """One `lernode up` subprocess; output goes to a log file (a full pipe would freeze it)."""

    data_dir: Path
    rpc_url: str | None  # None: the node runs its own embedded chain
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    #: `LERNODE_WORKERS`; None: the node's default, one API worker process per core.
    workers: int | None = API_PROCESSES
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    killed: bool = False  # set before the SIGKILL: a connection it drops after that is expected
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"node-{self.port}.log"

    def start(self, timeout: float = 90.0) -> NodeProcess:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*LERNODE, "up"],
            env=node_env(self.data_dir, self.rpc_url, **self._settings()),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.starts += 1
        self.killed = False
        self.wait_healthy(timeout)
        return self

    def _settings(self) -> dict[str, str]:
        workers = {} if self.workers is None else {"LERNODE_WORKERS": str(self.workers)}
        return {"LERNODE_PORT": str(self.port), **workers, **self.env}

    def wait_healthy(self, timeout: float) -> dict[str, Any]:
        assert self.process is not None
        return wait_health(self.url, self.process, timeout, output=self.log_tail)

    def kill9(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no goodbye."""
        assert self.process is not None
        self.killed = True
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self._close_log()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 4000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[-chars:].decode("utf-8", "replace")

    def admin_key(self) -> str:
        return (self.data_dir / "secrets" / "admin-api-key").read_text().strip()

    def client(self, timeout: float = 60.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.admin_key()}"},
            timeout=timeout,
        )


# -- the chain as witness ----------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    root: str
    issuer: str
    count: int
    block_number: int
    tx_hash: str


class Issuer(threading.Thread):
    """Issues until `target` credentials were returned, riding out the node's deaths."""

    def __init__(
        self,
        node: NodeProcess,
        target: int,
        per_request: int = 10,
        deadline: float = 400,
        cryptosuite: str | None = None,
    ) -> None:
        super().__init__(name="issuer", daemon=True)
        self.node = node
        self.target = target
        self.per_request = per_request
        self.deadline = deadline
        self.body: dict[str, Any] = {"cryptosuite": cryptosuite} if cryptosuite else {}
        self.returned: list[str] = []
        self.failed_requests = 0
        self.unexpected: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        deadline = time.monotonic() + self.deadline
        while len(self.returned) < self.target and not self.stop.is_set():
            assert time.monotonic() < deadline, "issuance did not finish"
            batch = [credential_input(n + i) for i in range(self.per_request)]
            n += self.per_request
            try:
                with self.node.client(timeout=30) as client:
                    response = client.post(
                        "/v1/credentials", json={"credentials": batch, **self.body}
                    )
            except (httpx.HTTPError, OSError):
                self.failed_requests += 1  # the node died under us: this request never returned
                time.sleep(0.2)
                continue
            if response.status_code != 201:
                self.unexpected.append(f"{response.status_code} {response.text[:300]}")
                time.sleep(0.2)
                continue
            self.returned += [c["id"] for c in response.json()["credentials"]]


def stored_credentials(data_dir: Path) -> dict[str, tuple[str, int | None]]:
    """id -> (state, batch id) straight from the node's SQLite file."""
    return {
        row[0]: (str(row[1]).lower(), row[2])
        for row in sqlite_rows(data_dir, "SELECT id, state, batch_id FROM credential")
    }


def sqlite_rows(data_dir: Path, query: str) -> list[Any]:
    """Rows of `query` on the node's SQLite file (only read; the node may be running)."""
    engine = create_engine(f"sqlite:///{data_dir / 'lernode.sqlite'}")
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(query)).all())
    finally:
        engine.dispose()


def chain_contracts(rpc_url: str, deployment: Deployment) -> Contracts:
    return Contracts(ChainClient(rpc_url, expected_chain_id=deployment.chain_id), deployment)


def anchors_on_chain(contracts: Contracts) -> list[Anchor]:
    """Every `Anchored` event of the canonical chain since the deployment."""
    logs = contracts.credential_registry.contract.events.Anchored().get_logs(
        from_block=contracts.deployment.block_number
    )
    return [
        Anchor(
            root="0x" + bytes(log["args"]["root"]).hex(),
            issuer=str(log["args"]["issuer"]).lower(),
            count=int(log["args"]["count"]),
            block_number=int(log["blockNumber"]),
            tx_hash="0x" + bytes(log["transactionHash"]).hex(),
        )
        for log in logs
    ]


def assert_each_root_once(anchors: Iterable[Anchor]) -> None:
    doubled = {root: n for root, n in Counter(a.root for a in anchors).items() if n > 1}
    assert not doubled, f"roots anchored more than once: {doubled}"


def assert_receipt_on_chain(
    receipt: dict[str, Any], anchors_by_root: dict[str, Anchor], client: ChainClient
) -> None:
    """The receipt's proof leads to a root the chain anchored, in the block it names."""
    leaf = bytes.fromhex(receipt["leaf"][2:])
    assert leaf == keccak(keccak(bytes.fromhex(receipt["credentialHash"][2:]))), receipt
    root = process_proof([bytes.fromhex(p[2:]) for p in receipt["proof"]], leaf)
    assert "0x" + root.hex() == receipt["root"], receipt
    anchor = anchors_by_root.get(receipt["root"])
    assert anchor is not None, f"receipt root {receipt['root']} is not anchored on chain"
    assert anchor.block_number == receipt["blockNumber"], (anchor, receipt)
    assert anchor.tx_hash == receipt["transactionHash"], (anchor, receipt)
    assert anchor.count == receipt["count"]
    mined = client.receipt(receipt["transactionHash"])
    assert mined is not None and int(mined["blockNumber"]) == receipt["blockNumber"]


def wait_until(
    predicate: Callable[[], bool], timeout: float, interval: float = 0.5, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def states(client: httpx.Client, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """`GET /v1/credentials/{id}` for each id (404s included as a body with `code`)."""
    found: dict[str, dict[str, Any]] = {}
    for credential_id in ids:
        response = client.get(f"/v1/credentials/{credential_id}")
        body = response.json()
        body["_status"] = response.status_code
        found[credential_id] = body
    return found
