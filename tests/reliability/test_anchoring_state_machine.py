"""The anchoring worker as a state machine facing a chain that refuses, forgets and hangs.

Each specification runs a node with its embedded chain (1 s blocks, one confirmation) and drives
its worker step by step. What it checks is read from the chain (anchors, status bits) and from
the credentials' lifecycle events, never from the worker's own bookkeeping alone.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from node import metrics
from node.access import apikeys
from node.access.apikeys import Scope
from node.anchoring.worker import AnchoringWorker, WorkerConfig
from node.api.app import create_app
from node.chain.client import ChainClient
from node.chain.contracts.types import CLR_CREDENTIAL, OPEN_BADGE_CREDENTIAL, ProposalAction
from node.chain.contracts.types import StatusPurpose as ChainPurpose
from node.config import Settings
from node.credentials.inputs import CredentialInput
from node.errors import Conflict
from node.issuance.status import StatusAction
from node.store.models import (
    AnchorBatch,
    AnchorRefusal,
    Credential,
    CredentialEvent,
    CredentialState,
    Institution,
)
from node.wiring.bootstrap import prepare
from node.wiring.runtime import Node

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

TYPES = [OPEN_BADGE_CREDENTIAL, CLR_CREDENTIAL]


def credential_input(n: int) -> CredentialInput:
    return CredentialInput.model_validate(
        {
            "learner": {"name": f"Learner {n}", "email": f"l{n}@example.edu"},
            "achievement": {
                "name": "State Machines",
                "description": "Moves only along allowed edges",
                "criteria_narrative": "Passed",
                "achievement_type": "Certificate",
            },
        }
    )


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """A node whose worker retries a refused institution after 1 s, then 2 s (not 5 s...)."""
    settings = Settings(data_dir=tmp_path / "node", confirmations=1, anchor_interval=0.1)
    node, _, _, _ = prepare(settings)
    node.__dict__["worker"] = AnchoringWorker(
        node.db,
        node.chain,
        node.contracts,
        account_for=node.onboarding.account,
        sender_for=node.sender,
        config=WorkerConfig(
            batch_size=64,
            batch_interval=0.1,
            confirmations=1,
            refusal_backoff=1.0,
            refusal_backoff_cap=2.0,
        ),
    )
    try:
        yield node
    finally:
        node.close()


def onboard(node: Node, name: str, types: list[str] | None = TYPES) -> Institution:
    institution = node.onboarding.create_institution(name)
    if types is not None:
        accredit(node, institution, types)
    return institution


def accredit(node: Node, institution: Institution, types: list[str]) -> None:
    proposal = node.onboarding.request_accreditation(
        node.governance, node.operator, institution, types
    )
    node.governance.execute(node.operator, proposal)


def issuer_action(node: Node, action: ProposalAction, institution: Institution) -> None:
    proposal = node.governance.propose_issuer_action(node.operator, action, institution.address)
    node.governance.execute(node.operator, proposal)


def issue(node: Node, institution: Institution, count: int) -> list[str]:
    signed = node.issuance.issue(institution, [credential_input(n) for n in range(count)])
    return [c["id"] for c in signed]


def states(node: Node, ids: list[str]) -> set[CredentialState]:
    with node.db.session() as session:
        rows = session.exec(select(Credential.state).where(col(Credential.id).in_(ids))).all()
    return set(rows)


def events(node: Node, credential_id: str) -> list[str]:
    with node.db.session() as session:
        rows = session.exec(
            select(CredentialEvent.event)
            .where(CredentialEvent.credential_id == credential_id)
            .order_by(col(CredentialEvent.id))
        ).all()
    return list(rows)


def step_until(node: Node, done: Callable[[], bool], timeout: float = 60.0) -> None:
    """Step the worker (at least once) until `done()`."""
    deadline = time.monotonic() + timeout
    while True:
        node.worker.request_flush()
        node.worker.step()
        if done():
            return
        assert time.monotonic() < deadline, "the worker did not get there in time"
        time.sleep(0.1)


def final(node: Node, ids: list[str]) -> Callable[[], bool]:
    return lambda: states(node, ids) == {CredentialState.FINAL}


def refusal(node: Node, institution: Institution, work: str) -> AnchorRefusal | None:
    with node.db.session() as session:
        return session.get(AnchorRefusal, (institution.id, work))


def anchored_root_count(node: Node, institution: Institution, root: str) -> int:
    registry = node.contracts.credential_registry
    return len(
        registry.anchored_events(
            institution.address, bytes.fromhex(root[2:]), node.deployment.block_number
        )
    )


def batch_of(node: Node, credential_id: str) -> AnchorBatch:
    with node.db.session() as session:
        credential = session.get(Credential, credential_id)
        assert credential is not None and credential.batch_id is not None
        batch = session.get(AnchorBatch, credential.batch_id)
        assert batch is not None
        return batch


def status_bit(node: Node, institution: Institution, credential_id: str) -> bool:
    with node.db.session() as session:
        credential = session.get(Credential, credential_id)
        assert credential is not None
    return node.contracts.credential_registry.is_status_set(
        institution.address,
        credential.status_list,
        ChainPurpose.REVOCATION,
        credential.status_index,
    )


# -- issue 10.3: one institution's refusal never stops the others --------------------------------


def test_a_suspended_issuer_with_a_pending_revocation_leaves_the_others_anchoring(
    node: Node,
) -> None:
    suspended = node.own_institution()
    assert suspended is not None
    first = issue(node, suspended, 1)
    node.worker.drain()
    node.status.apply(suspended, first, StatusAction.REVOKE, reason="key compromised")
    issuer_action(node, ProposalAction.SUSPEND_ISSUER, suspended)
    healthy = [onboard(node, "Healthy One"), onboard(node, "Healthy Two")]
    ids = [i for institution in healthy for i in issue(node, institution, 3)]

    step_until(node, final(node, ids))

    refused = refusal(node, suspended, "status")
    assert refused is not None and refused.code == "not_active_issuer"
    assert "status_refused" in events(node, first[0])
    assert metrics.sample("lernode_refused_transactions_total", {"institution": suspended.did}) >= 1
    health = node.health()
    assert health["status"] == "degraded"
    assert any(suspended.did in problem for problem in health["problems"])
    admin = apikeys.create_key(node.db, [Scope.ADMIN], label="test").token
    with TestClient(create_app(node), headers={"Authorization": f"Bearer {admin}"}) as api:
        standing = api.get("/v1/institution").json()
    assert [p["code"] for p in standing["anchoringProblems"]] == ["not_active_issuer"]


def test_a_refused_institution_is_retried_with_growing_backoff_not_every_step(node: Node) -> None:
    institution = node.own_institution()
    assert institution is not None
    issue(node, institution, 1)
    issuer_action(node, ProposalAction.SUSPEND_ISSUER, institution)
    for _ in range(5):
        node.worker.request_flush()
        node.worker.step()
    refused = refusal(node, institution, "anchor")
    assert refused is not None and refused.count == 1
    assert refused.next_attempt_at > refused.last_at


# -- issue 10.4: a refused batch is rebuilt on its own row -----------------------------------------


def test_a_batch_refused_by_the_chain_is_rebuilt_with_the_same_root_once_the_refusal_lifts(
    node: Node,
) -> None:
    institution = node.own_institution()
    assert institution is not None
    ids = issue(node, institution, 2)
    issuer_action(node, ProposalAction.SUSPEND_ISSUER, institution)
    node.worker.request_flush()
    node.worker.step()
    assert refusal(node, institution, "anchor") is not None
    issuer_action(node, ProposalAction.REINSTATE_ISSUER, institution)

    step_until(node, final(node, ids))

    batch = batch_of(node, ids[0])
    with node.db.session() as session:
        rows = session.exec(select(AnchorBatch).where(AnchorBatch.root == batch.root)).all()
    assert len(rows) == 1
    assert anchored_root_count(node, institution, batch.root) == 1
    assert refusal(node, institution, "anchor") is None
    assert events(node, ids[0]) == ["issued", "anchor_refused", "anchored", "final"]


# -- issue 10.1: nothing anchored or final that the chain lacks ------------------------------------


def test_an_anchor_the_chain_lost_goes_back_to_the_outbox_and_is_anchored_again(
    node: Node,
) -> None:
    institution = node.own_institution()
    assert institution is not None
    snapshot = node.chain.request("evm_snapshot")
    ids = issue(node, institution, 3)
    node.worker.drain()
    root = batch_of(node, ids[0]).root
    node.chain.request("evm_revert", [snapshot])  # the chain forgets the anchor
    assert anchored_root_count(node, institution, root) == 0

    node.worker.stop()  # a restart: the old worker lets go of the sending lease
    restarted = node.__dict__["worker"] = AnchoringWorker(
        node.db, node.chain, node.contracts, node.onboarding.account, node.sender,
        node.worker.config,
    )  # fmt: skip
    step_until(node, final(node, ids))

    assert restarted is node.worker
    assert anchored_root_count(node, institution, root) == 1
    assert events(node, ids[0]) == [
        "issued", "anchored", "final", "anchor_lost", "anchored", "final",
    ]  # fmt: skip


def test_an_anchor_still_on_chain_is_adopted_never_anchored_twice(node: Node) -> None:
    institution = node.own_institution()
    assert institution is not None
    ids = issue(node, institution, 2)
    node.worker.drain()
    batch = batch_of(node, ids[0])
    with node.db.session() as session:  # as if the database had lost track of it
        from node.anchoring.transitions import transition
        from node.store.models import BatchState

        stored = session.get(AnchorBatch, batch.id)
        assert stored is not None
        transition(session, stored, BatchState.BUILT)

    step_until(node, final(node, ids))

    assert anchored_root_count(node, institution, batch.root) == 1


def test_a_revocation_the_chain_lost_is_sent_again(node: Node) -> None:
    institution = node.own_institution()
    assert institution is not None
    ids = issue(node, institution, 1)
    node.worker.drain()
    snapshot = node.chain.request("evm_snapshot")
    node.status.apply(institution, ids, StatusAction.REVOKE)
    node.worker.drain()
    assert status_bit(node, institution, ids[0])
    node.chain.request("evm_revert", [snapshot])
    assert not status_bit(node, institution, ids[0])

    node.worker.stop()  # a restart: the old worker lets go of the sending lease
    node.__dict__["worker"] = AnchoringWorker(
        node.db, node.chain, node.contracts, node.onboarding.account, node.sender,
        node.worker.config,
    )  # fmt: skip
    step_until(node, lambda: status_bit(node, institution, ids[0]))

    assert "status_lost" in events(node, ids[0])


# -- issue 10.6: issuance needs accreditation; status never waits for the anchor -----------------


def test_issuing_before_accreditation_is_refused_with_a_clear_problem(node: Node) -> None:
    newcomer = onboard(node, "Not Yet Accredited", types=None)
    with pytest.raises(Conflict) as refused:
        issue(node, newcomer, 1)
    assert refused.value.code == "issuer_not_accredited"

    assert newcomer.id is not None
    key = apikeys.create_key(node.db, [Scope.ISSUER], label="n", institution_id=newcomer.id)
    body = {"credential": credential_input(1).model_dump(mode="json", exclude_none=True)}
    with TestClient(create_app(node), headers={"Authorization": f"Bearer {key.token}"}) as api:
        response = api.post("/v1/credentials", json=body)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "issuer_not_accredited"
    with node.db.session() as session:
        assert (
            session.exec(select(Credential).where(Credential.institution_id == newcomer.id)).first()
            is None
        )


def test_a_revocation_reaches_the_status_list_while_the_credential_cannot_be_anchored(
    node: Node,
) -> None:
    institution = node.own_institution()
    assert institution is not None
    ids = issue(node, institution, 1)
    # Re-accredited for transcripts only: its badges are refused on chain, yet it stays Active.
    accredit(node, institution, [CLR_CREDENTIAL])
    node.worker.request_flush()
    node.worker.step()
    assert refusal(node, institution, "anchor") is not None

    node.status.apply(institution, ids, StatusAction.REVOKE)
    step_until(node, lambda: status_bit(node, institution, ids[0]), timeout=20)

    assert states(node, ids) == {CredentialState.PENDING}


# -- issue 10.12: /health never waits for a chain that does not answer ---------------------------


@pytest.fixture
def silent_chain() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for connection in accepted:
            connection.close()
        server.close()


def test_health_answers_degraded_within_a_second_when_the_chain_stops_answering(
    node: Node, silent_chain: str
) -> None:
    node.__dict__.pop("chain_probe", None)
    node.chain = ChainClient(silent_chain)
    with TestClient(create_app(node)) as api:
        started = time.monotonic()
        response = api.get("/health")
        elapsed = time.monotonic() - started
    body: dict[str, Any] = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert any(problem.startswith("chain:") for problem in body["problems"])
    assert elapsed < 1.0
