"""kill -9 during bulk issuance: nothing the API handed out is lost, nothing is anchored twice.

A real `lernode up` (SQLite in its data directory, an external anvil, its API in one worker
process per core as by default, so kills also land on a supervisor with workers) issues 1,000
credentials in requests of 10 while it is killed with SIGKILL at 20 random moments and restarted
each time.
Small batches (25) and a short batch interval keep the anchoring worker busy the whole time, so
kills land in every phase: mid-request, mid-signing, between "batch built" and "transaction
signed", between "signed" and "broadcast", between "mined" and "receipt recorded".

The verdict comes from the chain, not from the node's bookkeeping:
- every credential the API returned (201) exists, is `final`, and its receipt's Merkle proof
  leads to a root whose `Anchored` event is in the block the receipt names;
- every root appears in exactly one `Anchored` event, and the counts of this issuer's anchors
  add up to exactly the credentials the node stores: a credential in two anchored batches (or
  an anchored batch the node forgot) would make the sum too large.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.support.processes import (
    Issuer,
    NodeProcess,
    anchors_on_chain,
    assert_each_root_once,
    assert_receipt_on_chain,
    chain_contracts,
    deploy,
    external_chain,
    states,
    stored_credentials,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.anvil, pytest.mark.timeout(600)]

CREDENTIALS = 1000
PER_REQUEST = 10
KILLS = 20


def test_twenty_kill9s_during_bulk_issuance_lose_nothing_and_anchor_nothing_twice(
    tmp_path: Path,
) -> None:
    rng = random.Random(20)
    with external_chain() as chain:
        deployment = deploy(tmp_path, chain.rpc_url)
        node = NodeProcess(
            tmp_path,
            chain.rpc_url,
            env={
                "LERNODE_CONFIRMATIONS": "2",
                "LERNODE_ANCHOR_BATCH_SIZE": "25",
                "LERNODE_ANCHOR_INTERVAL": "0.2",
            },
            workers=None,
        ).start()
        try:
            issuer = Issuer(node, CREDENTIALS, PER_REQUEST)
            issuer.start()
            kill_moments: list[float] = []
            started = time.monotonic()
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.2, 1.5))
                kill_moments.append(round(time.monotonic() - started, 2))
                node.kill9()
                node.start()
            issuer.join(420)
            assert not issuer.is_alive(), "issuer still running"
            assert issuer.unexpected == [], issuer.unexpected[:3]
            assert len(issuer.returned) >= CREDENTIALS

            with node.client() as client:
                wait_until(
                    lambda: (
                        client.get("/health").json()["pending_anchors"] == 0
                        and all(
                            s["state"] == "final"
                            for s in states(client, issuer.returned[-50:]).values()
                        )
                    ),
                    timeout=180,
                    what="everything anchored and final",
                )
                # Finality of the last ones implies nothing older is still waiting, but check all.
                seen = states(client, issuer.returned)
        finally:
            node.stop()

        lost = [i for i, s in seen.items() if s["_status"] != 200]
        assert lost == [], f"{len(lost)} returned credentials are gone: {lost[:3]}"
        not_final = {i: s["state"] for i, s in seen.items() if s["state"] != "final"}
        assert not_final == {}, list(not_final.items())[:3]

        contracts = chain_contracts(chain.rpc_url, deployment)
        anchors = anchors_on_chain(contracts)
        assert_each_root_once(anchors)
        by_root = {a.root: a for a in anchors}
        for body in seen.values():
            assert_receipt_on_chain(body["receipt"], by_root, contracts.client)

        stored = stored_credentials(tmp_path)
        issuer_address = next(iter(seen.values()))["receipt"]["issuer"].lower()
        anchored_total = sum(a.count for a in anchors if a.issuer == issuer_address)
        assert set(issuer.returned) <= set(stored)
        assert all(state == "final" for state, _ in stored.values())
        assert anchored_total == len(stored), (
            f"{anchored_total} leaves anchored on chain for {len(stored)} stored credentials: "
            "some credential is in more than one anchored batch"
        )
        print(
            f"\ncrash campaign: {KILLS} kill -9 at {kill_moments}s; {len(issuer.returned)} "
            f"credentials returned, {len(stored)} stored ({len(stored) - len(issuer.returned)} "
            f"from requests killed after commit), {issuer.failed_requests} requests cut off, "
            f"{len(anchors)} roots anchored once each, 0 lost"
        )
