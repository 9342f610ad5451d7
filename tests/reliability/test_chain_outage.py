"""The chain's RPC goes away during issuance and comes back: issuance never stops, nothing is
anchored twice, everything ends `final`.

The chain is an anvil with a state file; the outage is a real one (the anvil process is stopped,
writing its state, and started again later on the same port from that file), not a mocked error.
While it lasts, the node must keep accepting credentials and honestly call them `pending`,
`/health` must say `degraded` rather than hang or fail, and a verifier asking meanwhile gets a
report (from the event index, while it was confirmed at the head moments ago) or a retryable
`503` problem `chain_unavailable` (once the index is stale it cannot vouch that no revocation
came since: node/verification/readers/indexed.py), as does a credential's status list, which the
node reads from the chain: never a 500.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from node.chain.anvil import free_port
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

pytestmark = [pytest.mark.slow, pytest.mark.anvil, pytest.mark.timeout(400)]

#: The issue's number. The worker's backoff is capped at 30 s, so recovery takes at most that.
OUTAGE_SECONDS = 60.0


def test_a_sixty_second_chain_outage_keeps_issuance_open_and_loses_nothing(
    tmp_path: Path,
) -> None:
    port = free_port()
    state = tmp_path / "chain" / "anvil-state.json"
    chain = external_chain(state_file=state, port=port).start()
    try:
        deployment = deploy(tmp_path, chain.rpc_url)
        node = NodeProcess(
            tmp_path,
            chain.rpc_url,
            env={"LERNODE_CONFIRMATIONS": "2", "LERNODE_ANCHOR_INTERVAL": "0.3"},
        ).start()
        issued: list[str] = []
        try:
            with node.client() as client:
                before = client.post(
                    "/v1/credentials",
                    json={
                        "credentials": [credential_input(i) for i in range(5)],
                        "anchor_now": True,
                    },
                )
                assert before.status_code == 201
                issued += [c["id"] for c in before.json()["credentials"]]
                wait_until(
                    lambda: all(s["state"] == "final" for s in states(client, issued).values()),
                    timeout=60,
                    what="the first credentials to be final",
                )
                time.sleep(1.5)  # let anvil's 1 s state interval include them
                bundle = client.get(f"/v1/credentials/{issued[0]}/bundle").json()
                status_list = urlsplit(
                    bundle["credential"]["credentialStatus"]["statusListCredential"]
                ).path

                chain.stop()  # SIGTERM: anvil writes its state file and exits
                during: list[str] = []
                outage_started = time.monotonic()
                n = 100
                health_seen: set[str] = set()
                unanswered: Counter[str] = Counter()
                while time.monotonic() - outage_started < OUTAGE_SECONDS:
                    response = client.post(
                        "/v1/credentials",
                        json={"credentials": [credential_input(n), credential_input(n + 1)],
                              "anchor_now": True},
                    )  # fmt: skip
                    n += 2
                    assert response.status_code == 201, response.text
                    assert {c["state"] for c in response.json()["credentials"]} == {"pending"}
                    during += [c["id"] for c in response.json()["credentials"]]
                    health = client.get("/health", timeout=30)
                    assert health.status_code == 200
                    health_seen.add(health.json()["status"])
                    for answer in (
                        client.post("/v1/verify", json=bundle, timeout=30),
                        client.get(status_list, timeout=30),
                    ):
                        assert answer.status_code in (200, 503), answer.text
                        if answer.status_code == 503:
                            assert answer.json()["code"] == "chain_unavailable"
                            assert answer.json()["retryable"] is True
                            unanswered[answer.request.url.path] += 1
                    time.sleep(2)
                assert health_seen == {"degraded"}
                assert unanswered[urlsplit(status_list).path] > 0, "the chain was down"
                outage = states(client, during)
                assert {s["state"] for s in outage.values()} == {"pending"}
                assert all(s["receipt"] is None for s in outage.values())

                chain.start()  # same port, same state file
                recovered_at = time.monotonic()
                issued += during
                wait_until(
                    lambda: all(s["state"] == "final" for s in states(client, issued).values()),
                    timeout=120,
                    what="every credential final after the outage",
                )
                recovery = time.monotonic() - recovered_at
                seen = states(client, issued)
        finally:
            node.stop()

        contracts = chain_contracts(chain.rpc_url, deployment)
        anchors = anchors_on_chain(contracts)
        assert_each_root_once(anchors)
        by_root = {a.root: a for a in anchors}
        for body in seen.values():
            assert_receipt_on_chain(body["receipt"], by_root, contracts.client)
        issuer = next(iter(seen.values()))["receipt"]["issuer"].lower()
        assert sum(a.count for a in anchors if a.issuer == issuer) == len(issued)
        assert "Traceback" not in node.log_tail(200_000)
        print(
            f"\nchain outage {OUTAGE_SECONDS:.0f}s: {len(during)} credentials accepted as pending "
            f"during it, all final {recovery:.1f}s after the chain returned; "
            f"{len(anchors)} roots, each once"
        )
    finally:
        chain.stop()
