"""A verifier reads the chain once: a node at the chain head answers from its event index with
no JSON-RPC call at all, and falls back to the chain (two round trips) only when its index cannot
answer; `lernode verify --rpc` makes at most two round trips; and none of them needs state older
than the latest block, so a pruned node serves them as well as an archive node."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.chain.contracts.types import ProposalAction
from node.issuance.status import StatusAction
from node.store.models import IndexerCursor
from node.verification.readers.facts import ReadPlan
from node.verification.readers.indexed import IndexedChainSource
from node.verification.readers.rpc import RpcChainSource
from node.wiring.runtime import Node
from tests.support.rpc_proxy import rpc_proxy
from tests.support.verification_nodes import (
    IssuerSite,
    advance,
    failing,
    index,
    write_bundle,
)

pytestmark = pytest.mark.anvil


@dataclass
class Calls:
    """JSON-RPC round trips a node made, each with the methods it carried."""

    round_trips: list[list[str]] = field(default_factory=list)


@contextmanager
def counted(node: Node) -> Iterator[Calls]:
    """Count every JSON-RPC request the node's chain client sends (a counting provider)."""
    provider = node.chain.w3.provider
    calls = Calls()
    single, batch = provider.make_request, provider.make_batch_request  # type: ignore[attr-defined]

    def make_request(method: Any, params: Any) -> Any:
        calls.round_trips.append([str(method)])
        return single(method, params)

    def make_batch_request(requests: Any) -> Any:
        calls.round_trips.append([str(method) for method, _ in requests])
        return batch(requests)

    provider.make_request = make_request  # type: ignore[method-assign]
    provider.make_batch_request = make_batch_request  # type: ignore[attr-defined]
    try:
        yield calls
    finally:
        provider.make_request = single  # type: ignore[method-assign]
        provider.make_batch_request = batch  # type: ignore[attr-defined]


def cursor_block(node: Node) -> int:
    with node.db.session() as session:
        cursor = session.get(IndexerCursor, "chain")
        assert cursor is not None
        return cursor.block_number


def lernode_verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli", "verify", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- the node ---------------------------------------------------------------------------------


def test_a_node_at_the_chain_head_verifies_without_a_single_json_rpc_call(
    site: IssuerSite,
) -> None:
    node = site.node
    bundle, revoked = site.issue(), site.issue()
    node.status.apply(site.institution, [revoked["credential"]["id"]], StatusAction.REVOKE)
    node.worker.drain()
    index(node)
    block = cursor_block(node)
    with TestClient(create_app(node)) as api, counted(node) as calls:
        for _ in range(3):
            report = site.verify(bundle)
            assert report.verdict == "valid", failing(report)
            assert report.as_json()["chainState"] == {"block": block, "source": "index"}
        # Without its receipt: the node finds it in its own database.
        assert site.verify(bundle["credential"]).verdict == "valid"
        assert failing(site.verify(revoked)) == {"status": "revoked"}
        answer = api.post("/v1/verify", json=bundle).json()
        assert (answer["verdict"], answer["chainState"]["source"]) == ("valid", "index")
    assert calls.round_trips == []


def test_a_revocation_indexed_at_a_new_block_is_seen_by_the_very_next_verification(
    site: IssuerSite,
) -> None:
    """Verifications at one index state share their facts (anchors, status words, DID
    documents, the registry's answer); an indexer's move to a new block ends the sharing."""
    node = site.node
    bundle = site.issue()
    node.worker.drain()
    index(node)
    for _ in range(2):
        assert site.verify(bundle).verdict == "valid"
    node.status.apply(site.institution, [bundle["credential"]["id"]], StatusAction.REVOKE)
    node.worker.drain()
    index(node)
    report = site.verify(bundle)
    assert failing(report) == {"status": "revoked"}
    assert report.as_json()["chainState"] == {"block": cursor_block(node), "source": "index"}


def test_when_the_index_lags_behind_a_receipt_the_node_reads_the_chain_in_two_round_trips(
    site: IssuerSite,
) -> None:
    node = site.node
    index(node)
    fresh = site.issue()  # anchored after the index's last poll
    assert fresh["receipt"]["blockNumber"] > cursor_block(node)
    with counted(node) as calls:
        report = site.verify(fresh)
    assert report.verdict == "valid", failing(report)
    assert report.as_json()["chainState"]["source"] == "chain"
    assert len(calls.round_trips) <= 2
    assert calls.round_trips[0] == ["eth_call"]
    assert all(method == "eth_getLogs" for method in calls.round_trips[1])
    index(node)
    with counted(node) as calls:
        assert site.verify(fresh).as_json()["chainState"]["source"] == "index"
    assert calls.round_trips == []


def test_a_stale_index_is_not_trusted(site: IssuerSite) -> None:
    node = site.node
    bundle = site.issue()
    index(node)
    source = node.verifier.chain
    assert isinstance(source, IndexedChainSource)
    later = datetime.now(UTC) + timedelta(seconds=source.max_age.total_seconds() + 60)
    original = source.clock
    source.clock = lambda: later
    try:
        report = site.verify(bundle)
    finally:
        source.clock = original
    assert report.verdict == "valid"
    assert report.as_json()["chainState"]["source"] == "chain"


def test_the_index_holds_the_same_issuer_history_as_the_contract(site: IssuerSite) -> None:
    node = site.node
    college = node.onboarding.create_institution("Twice Suspended College")
    proposal = node.onboarding.request_accreditation(
        node.governance, node.operator, college, ["OpenBadgeCredential"]
    )
    node.governance.execute(node.operator, proposal)
    for action in (
        ProposalAction.SUSPEND_ISSUER,
        ProposalAction.REINSTATE_ISSUER,
        ProposalAction.REMOVE_ISSUER,
    ):
        advance(node, 5)
        governance, operator = node.governance, node.operator
        governance.execute(
            operator, governance.propose_issuer_action(operator, action, college.address)
        )
    index(node)
    issuer = college.address.lower()
    plan = ReadPlan(frozenset({issuer}))
    source = node.verifier.chain
    assert isinstance(source, IndexedChainSource)
    indexed = source.facts_for(plan)
    on_chain = source.fallback.facts_for(plan)
    assert indexed.state.source == "index" and on_chain.state.source == "chain"
    assert indexed.accreditation_history(issuer) == on_chain.accreditation_history(issuer)
    assert indexed.status_history(issuer) == on_chain.status_history(issuer)
    assert len(indexed.status_history(issuer)) == 4


# -- the RPC-only verifier --------------------------------------------------------------------


def test_the_cli_reads_the_chain_in_at_most_two_round_trips_from_current_state_only(
    site: IssuerSite, tmp_path: Path
) -> None:
    node = site.node
    bundle = site.issue()
    node.chain.request("anvil_mine", ["0x40"])  # the anchor is now well below the head
    path = write_bundle(tmp_path / "bundle.json", bundle)
    registry = node.deployment.credential_registry
    with rpc_proxy(node.chain.rpc_url, pruned=True) as proxy:
        done = lernode_verify(str(path), "--rpc", proxy.url, "--registry", registry, "--json")
        trips = list(proxy.log.round_trips)
        refused = list(proxy.log.refused)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "valid"
    assert report["chainState"]["source"] == "chain"
    assert len(trips) <= 2, trips
    assert trips[0] == ["eth_call"]
    assert all(method == "eth_getLogs" for method in trips[1])
    assert refused == []


def test_a_clr_with_many_achievements_is_still_two_round_trips(
    site: IssuerSite, tmp_path: Path
) -> None:
    node = site.node
    from node.credentials.inputs import LearnerInput
    from tests.support.verification_nodes import credential_input

    clr = node.issuance.issue_clr(
        site.institution,
        LearnerInput(name="Grace Hopper", email="grace@example.edu"),
        [credential_input() for _ in range(12)],
        name="Transcript",
    )
    node.worker.drain()
    bundle = site.bundle(clr["id"])
    parts = clr["credentialSubject"]["verifiableCredential"]
    bundle["embeddedReceipts"] = [
        node.issuance.receipt(node.issuance.record(part["id"])) for part in parts
    ]
    path = write_bundle(tmp_path / "clr.json", bundle)
    with rpc_proxy(node.chain.rpc_url, pruned=True) as proxy:
        done = lernode_verify(
            str(path), "--rpc", proxy.url, "--registry", node.deployment.credential_registry
        )
        trips = list(proxy.log.round_trips)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(trips) <= 2, trips


def test_an_unreachable_or_broken_chain_is_exit_2_with_one_line(
    site: IssuerSite, tmp_path: Path
) -> None:
    path = write_bundle(tmp_path / "bundle.json", site.issue())
    registry = site.node.deployment.credential_registry
    with rpc_proxy(site.node.chain.rpc_url) as proxy:
        proxy.break_()
        broken = lernode_verify(str(path), "--rpc", proxy.url, "--registry", registry)
    gone = lernode_verify(str(path), "--rpc", "http://127.0.0.1:9", "--registry", registry)
    nothing = lernode_verify(
        str(path), "--rpc", site.node.chain.rpc_url, "--registry", "0x" + "42" * 20
    )
    for done, code in ((broken, "chain_"), (gone, "chain_"), (nothing, "registry_not_found")):
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().count("\n") == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert code in done.stderr


def test_the_node_and_the_cli_agree(site: IssuerSite, tmp_path: Path) -> None:
    node = site.node
    bundle = site.issue()
    index(node)
    from_index = site.verify(bundle).as_json()
    source = node.verifier.chain
    assert isinstance(source, IndexedChainSource)
    assert isinstance(source.fallback, RpcChainSource)
    path = write_bundle(tmp_path / "bundle.json", bundle)
    done = lernode_verify(
        str(path),
        "--rpc",
        node.chain.rpc_url,
        "--registry",
        node.deployment.credential_registry,
        "--json",
    )
    from_chain = json.loads(done.stdout)
    assert [(c["name"], c["code"]) for c in from_index["checks"]] == [
        (c["name"], c["code"]) for c in from_chain["checks"]
    ]
