"""kill -9 of the node and, separately, of its embedded chain during bulk issuance (issue 10).

A real `lernode up` with its own embedded anvil (no external chain: the node writes the chain's
state file) issues 2,000 credentials through the API in requests of 20 while it is killed 12
times, alternating: SIGKILL of the node process (its anvil must die with it), SIGKILL of the
anvil process (the node must stop by itself, non-zero). Each time it is started again on the
same data directory, which restarts the chain from the state the node saved. Kills are paced by
issuance progress (the k-th after k/13 of the credentials), so all 12 land during issuance.

Before every kill the batches the node has recorded `final` are read from its database; after
the restart each of them must be anchored on the chain (`anchorOf(issuer, root)`): an
acknowledged `final` survives a crash of either process. At the end, from the chain and the
database: every credential the API returned (201) is stored and `final` (a random 100 with
receipts proven against their `Anchored` events through the API), every root is anchored once,
the issuer's anchored leaves add up to the stored credentials (none in two anchored batches),
every final batch's (issuer, root) is on chain, and no anvil of any run is left running.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest

from node.chain.bindings import Deployment
from node.chain.embedded import process_start_ticks
from tests.support.processes import (
    Issuer,
    NodeProcess,
    anchors_on_chain,
    assert_each_root_once,
    assert_receipt_on_chain,
    chain_contracts,
    sqlite_rows,
    states,
    stored_credentials,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.anvil, pytest.mark.timeout(900)]

CREDENTIALS = 2000
PER_REQUEST = 20
KILLS = 12  # alternating: 6 of the node, 6 of the chain
SAMPLE = 100  # receipts checked through the API (all credentials are checked in the database)


def chain_pid(data_dir: Path) -> tuple[int, int | None]:
    record = json.loads((data_dir / "chain" / "anvil.pid").read_text())
    return int(record["pid"]), record.get("start_ticks")


def final_roots(data_dir: Path) -> set[tuple[str, str]]:
    """(issuer, root) of every batch the node has recorded `final`."""
    rows = sqlite_rows(
        data_dir,
        "SELECT i.address, b.root FROM anchorbatch b JOIN institution i "
        "ON i.id = b.institution_id WHERE lower(b.state) = 'final'",
    )
    return {(str(address).lower(), str(root)) for address, root in rows}


def missing_on_chain(node: NodeProcess, finals: set[tuple[str, str]]) -> list[tuple[str, str]]:
    health = node.wait_healthy(30)
    deployment = Deployment.load(node.data_dir / "deployment.json")
    contracts = chain_contracts(health["rpc_url"], deployment)
    registry = contracts.credential_registry
    return [
        (issuer, root)
        for issuer, root in sorted(finals)
        if registry.anchor_of(issuer, bytes.fromhex(root[2:])) is None
    ]


def gone(pid: int, ticks: int | None, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_start_ticks(pid) != ticks or _zombie(pid):
            return True
        time.sleep(0.1)
    return False


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_kill9_of_node_or_chain_during_bulk_issuance_loses_no_final_and_leaves_no_orphan(
    tmp_path: Path,
) -> None:
    rng = random.Random(10)
    started = time.monotonic()
    node = NodeProcess(
        tmp_path,
        None,  # the node's own embedded chain
        env={
            "LERNODE_CONFIRMATIONS": "2",
            "LERNODE_ANCHOR_BATCH_SIZE": "50",
            "LERNODE_ANCHOR_INTERVAL": "0.2",
        },
    ).start(timeout=180)
    chains = [chain_pid(tmp_path)]
    log: list[str] = []
    checked_finals = 0
    try:
        # eddsa-jcs-2022: signing without RDF canonicalisation keeps the run to minutes.
        issuer = Issuer(node, CREDENTIALS, PER_REQUEST, deadline=700, cryptosuite="eddsa-jcs-2022")
        issuer.start()
        for kill in range(KILLS):
            # Paced by progress, not by the clock, so every kill lands during issuance however
            # fast the machine is: the k-th after k/13 of the credentials, plus a random delay.
            mark = (kill + 1) * CREDENTIALS // (KILLS + 1)
            wait_until(lambda m=mark: len(issuer.returned) >= m, 300, 0.05, f"{mark} issued")
            time.sleep(rng.uniform(0.0, 0.3))
            finals = final_roots(tmp_path)
            pid, ticks = chains[-1]
            if kill % 2 == 0:
                node.kill9()
                assert gone(pid, ticks), f"anvil {pid} outlived kill -9 of its node"
                log.append(f"node@{len(issuer.returned)}")
            else:
                os.kill(pid, signal.SIGKILL)
                assert node.process is not None
                code = node.process.wait(60)
                node._close_log()
                assert code != 0, "the node kept running without its chain"
                log.append(f"chain@{len(issuer.returned)}")
            node.start(timeout=180)
            chains.append(chain_pid(tmp_path))
            lost = missing_on_chain(node, finals)
            assert lost == [], f"after {log[-1]}: final on the node, not on chain: {lost[:3]}"
            checked_finals += len(finals)
        issuer.join(700)
        assert not issuer.is_alive(), "issuer still running"
        assert issuer.unexpected == [], issuer.unexpected[:3]
        assert len(issuer.returned) >= CREDENTIALS
        issued_in = time.monotonic() - started

        with node.client() as client:
            wait_until(
                lambda: (
                    client.get("/health").json()["pending_anchors"] == 0
                    and all(state == "final" for state, _ in stored_credentials(tmp_path).values())
                ),
                timeout=240,
                what="everything anchored and final",
            )
            sample = states(client, rng.sample(issuer.returned, SAMPLE))
        rpc_url = node.wait_healthy(30)["rpc_url"]
        contracts = chain_contracts(rpc_url, Deployment.load(tmp_path / "deployment.json"))
        anchors = anchors_on_chain(contracts)
        by_root = {a.root: a for a in anchors}
        for body in sample.values():  # receipts proven against their `Anchored` event
            assert_receipt_on_chain(body["receipt"], by_root, contracts.client)
        every_final = final_roots(tmp_path)
        assert missing_on_chain(node, every_final) == []
    finally:
        node.stop()

    orphans = [pid for pid, ticks in chains if not gone(pid, ticks, timeout=5)]
    assert orphans == [], f"anvil processes left running: {orphans}"

    stored = stored_credentials(tmp_path)
    lost = sorted(set(issuer.returned) - set(stored))
    assert lost == [], f"{len(lost)} returned credentials are gone: {lost[:3]}"
    assert all(state == "final" for state, _ in stored.values())
    assert_each_root_once(anchors)
    issuer_address = next(iter(sample.values()))["receipt"]["issuer"].lower()
    anchored_total = sum(a.count for a in anchors if a.issuer == issuer_address)
    assert anchored_total == len(stored), (
        f"{anchored_total} leaves anchored on chain for {len(stored)} stored credentials"
    )
    print(
        f"\nembedded-chain campaign: kills {log}; {len(issuer.returned)} credentials returned, "
        f"{len(stored)} stored, {issuer.failed_requests} requests cut off, {len(anchors)} roots "
        f"anchored once each, {checked_finals} final batches re-checked on chain after the "
        f"kills, {len(every_final)} final batches on chain at the end, {len(chains)} anvil "
        f"processes, 0 orphans, 0 lost; issuance {issued_in:.0f}s, total "
        f"{time.monotonic() - started:.0f}s"
    )
