"""A reorg drops the blocks holding an anchor and a revocation: the node notices, re-submits,
and never calls anything `final` that the canonical chain does not hold.

The reorg is anvil's `evm_revert` to a snapshot taken just before the node sent the anchor and
the revocation: every block since (with both transactions) leaves the chain, which then grows
again from the snapshot with empty blocks each second. It is shallower than the configured
confirmations (6 blocks at 1 s), as a reorg must be for `final` to mean anything.

A watcher polls the API throughout and keeps every answer, so "never reported final" is checked
against what the node actually said, not against its database afterwards.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.credentials.status_list import REVOKED, Bitstring, entry_value
from tests.support.processes import (
    NodeProcess,
    anchors_on_chain,
    assert_each_root_once,
    assert_receipt_on_chain,
    chain_contracts,
    credential_input,
    deploy,
    external_chain,
    states,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.anvil, pytest.mark.timeout(300)]

CONFIRMATIONS = 6


class Watcher(threading.Thread):
    """Records (time, id, state, receipt) for the watched credentials every 0.2 s."""

    def __init__(self, node: NodeProcess, ids: list[str]) -> None:
        super().__init__(name="watcher", daemon=True)
        self.node, self.ids = node, ids
        self.seen: list[tuple[float, str, str, dict[str, Any] | None]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                # A fresh connection each round: a kept-alive one the server closed meanwhile
                # would make the watcher, not the node, fail.
                with self.node.client() as client:
                    answers = states(client, self.ids)
            except httpx.TransportError:
                continue
            for credential_id, body in answers.items():
                self.seen.append((time.monotonic(), credential_id, body["state"], body["receipt"]))
            time.sleep(0.2)


def revoked_on_chain(node: NodeProcess, client: Any, credential: dict[str, Any]) -> bool:
    """Read the revocation bit (the high bit of the 2-bit entry) from the node's status list
    credential (built from the chain)."""
    entry = credential["credentialStatus"]
    path = entry["statusListCredential"].split("/v1/", 1)[1]
    listed = client.get(f"/v1/{path}").json()
    bits = Bitstring.decode(listed["credentialSubject"]["encodedList"])
    return entry_value(bits, int(entry["statusListIndex"])) & REVOKED == REVOKED


def test_a_reorg_dropping_an_anchor_and_a_revocation_is_noticed_and_repaired(
    tmp_path: Path,
) -> None:
    with external_chain() as chain:
        deployment = deploy(tmp_path, chain.rpc_url)
        node = NodeProcess(
            tmp_path,
            chain.rpc_url,
            env={"LERNODE_CONFIRMATIONS": str(CONFIRMATIONS), "LERNODE_ANCHOR_INTERVAL": "0.2"},
        ).start()
        contracts = chain_contracts(chain.rpc_url, deployment)
        rpc = contracts.client.request
        try:
            with node.client() as client:
                # An older credential, final before the reorg, to revoke inside the dropped blocks.
                old = client.post(
                    "/v1/credentials", json={"credential": credential_input(0), "anchor_now": True}
                ).json()["credentials"][0]
                wait_until(
                    lambda: client.get(f"/v1/credentials/{old['id']}").json()["state"] == "final",
                    timeout=60,
                    what="the old credential to be final",
                )
                snapshot = rpc("evm_snapshot", [])
                dropped_from = contracts.client.latest_block() + 1

                fresh = client.post(
                    "/v1/credentials",
                    json={"credentials": [credential_input(i) for i in (1, 2, 3)],
                          "anchor_now": True},
                ).json()["credentials"]  # fmt: skip
                fresh_ids = [c["id"] for c in fresh]
                watcher = Watcher(node, fresh_ids)
                watcher.start()
                revoke = client.post(
                    f"/v1/credentials/{old['id']}/revoke", json={"reason": "test", "wait": 20}
                )
                assert revoke.json()["onChain"] == "confirmed", revoke.text
                assert revoked_on_chain(node, client, old["credential"])
                wait_until(
                    lambda: (
                        {s["state"] for s in states(client, fresh_ids).values()} == {"anchored"}
                    ),
                    timeout=20,
                    interval=0.1,
                    what="the fresh credentials to be anchored",
                )
                before = states(client, fresh_ids)
                first_anchor_block = before[fresh_ids[0]]["receipt"]["blockNumber"]
                assert first_anchor_block >= dropped_from
                assert contracts.client.latest_block() - first_anchor_block < CONFIRMATIONS

                assert rpc("evm_revert", [snapshot]) is True
                reorg_at = time.monotonic()
                # The anchor and the revocation are gone from the canonical chain.
                dropped_tx = before[fresh_ids[0]]["receipt"]["transactionHash"]
                assert contracts.client.receipt(dropped_tx) is None
                assert not revoked_on_chain(node, client, old["credential"])

                wait_until(
                    lambda: {s["state"] for s in states(client, fresh_ids).values()} == {"final"},
                    timeout=90,
                    what="the re-anchored credentials to be final",
                )
                wait_until(
                    lambda: revoked_on_chain(node, client, old["credential"]),
                    timeout=60,
                    what="the revocation to be back on chain",
                )
                wait_until(
                    lambda: (
                        {i for _, i, state, _ in watcher.seen if state == "final"} == set(fresh_ids)
                    ),
                    timeout=10,
                    interval=0.1,
                    what="the watcher to see them final too",
                )
                after = states(client, fresh_ids)
                recovered = time.monotonic() - reorg_at
                record = client.get(f"/v1/credentials/{old['id']}").json()
                assert record["revoked"] is True
        finally:
            if "watcher" in locals():
                watcher.stop.set()
                watcher.join(10)
            node.stop()

        # Never `final` for an anchor that the reorg dropped: every `final` answer names a
        # transaction and block the canonical chain holds now.
        finals = [(t, i, r) for t, i, state, r in watcher.seen if state == "final"]
        assert finals, "the watcher never saw the credentials final"
        for _, _, receipt in finals:
            assert receipt is not None
            mined = contracts.client.receipt(receipt["transactionHash"])
            assert mined is not None and int(mined["blockNumber"]) == receipt["blockNumber"]
        assert all(t > reorg_at for t, _, _ in finals), "final reported before the reorg"
        # The node saw the reorg: it went back to `pending`/`anchored`, not straight on.
        after_reorg = {state for t, _, state, _ in watcher.seen if t > reorg_at}
        assert after_reorg & {"pending", "anchored"}

        anchors = anchors_on_chain(contracts)
        assert_each_root_once(anchors)
        by_root = {a.root: a for a in anchors}
        for body in after.values():
            assert_receipt_on_chain(body["receipt"], by_root, contracts.client)
            assert body["receipt"]["blockNumber"] >= dropped_from
        print(
            f"\nreorg: blocks from {dropped_from} dropped (anchor in {first_anchor_block}, "
            f"{CONFIRMATIONS} confirmations configured); anchor and revocation re-submitted, "
            f"all final again {recovered:.1f}s later; 0 final answers for dropped blocks "
            f"({len(watcher.seen)} observations)"
        )
