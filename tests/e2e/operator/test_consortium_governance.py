"""Specifications for consortium operators: three members, threshold two, each on its own node
with its own key, govern one institution's accreditation — and the contract enforces every step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from node.api.app import create_app
from node.chain.contracts.types import credential_type_id
from node.chain.deploy import deploy_all
from node.chain.sender import TransactionSender
from node.config import Settings
from node.errors import ContractRevert
from node.store.models import AnchorBatch, BatchState
from node.wiring.bootstrap import ensure_admin_key, ensure_own_institution
from node.wiring.runtime import Node

if TYPE_CHECKING:
    from tests.support.chain import DevChain

OB = "OpenBadgeCredential"
CREDENTIAL = {
    "learner": {"name": "Ada", "email": "ada@example.edu"},
    "achievement": {
        "name": "Electrician license",
        "description": "State electrician license",
        "criteria_narrative": "Passed the board exam",
        "achievement_type": "License",
    },
}


class Member:
    """One consortium member's node and an API client with its admin key."""

    def __init__(self, node: Node) -> None:
        self.node = node
        key = ensure_admin_key(node)
        self.api = TestClient(create_app(node), headers={"Authorization": f"Bearer {key}"})

    def post(self, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
        response = self.api.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        result: dict[str, object] = response.json()
        return result


@pytest.fixture
def consortium(clean_chain: DevChain, tmp_path: Path) -> Iterator[list[Member]]:
    operators = clean_chain.accounts[2:5]
    client = clean_chain.client()
    deployment = deploy_all(
        TransactionSender(client, operators[0]),
        members=[o.address for o in operators],
        threshold=2,
        proposal_lifetime=3600,
    )
    deployment_file = tmp_path / "deployment.json"
    deployment.save(deployment_file)
    members = []
    for index, operator in enumerate(operators):
        settings = Settings(
            data_dir=tmp_path / f"member-{index}",
            rpc_url=clean_chain.rpc_url,
            deployment_file=deployment_file,
            account_key="0x" + operator.key.hex(),
            confirmations=0,
            institution_name=f"Member {index} College",
        )
        members.append(Member(Node.open(settings)))
    try:
        yield members
    finally:
        for member in members:
            member.node.close()


def quiet_instant(chain: DevChain) -> int:
    """An instant 50 s after the last action and 50 s before the next one: blocks of a fast
    chain often share a second, so probing "right after" an action is ambiguous."""
    chain.rpc("evm_increaseTime", 50)
    chain.rpc("evm_mine")
    instant = int(chain.client().block("latest")["timestamp"])  # type: ignore[index]
    chain.rpc("evm_increaseTime", 50)
    chain.rpc("evm_mine")
    return instant


def propose_and_pass(proposer: Member, approver: Member, body: dict[str, object]) -> int:
    proposal = proposer.post("/v1/governance/proposals", body)
    proposal_id = int(proposal["id"])  # type: ignore[call-overload]
    assert proposal["state"] == "open"  # 1 of 2
    below = proposer.api.post(f"/v1/governance/proposals/{proposal_id}/execute")
    assert below.status_code == 409 and below.json()["code"] == "threshold_not_reached"
    assert approver.post(f"/v1/governance/proposals/{proposal_id}/approve")["state"] == "ready"
    assert approver.post(f"/v1/governance/proposals/{proposal_id}/execute")["state"] == "executed"
    return proposal_id


def try_anchor(node: Node, root: bytes) -> None:
    institution = node.own_institution()
    assert institution is not None
    account = node.onboarding.account(institution)
    node.sender(account).transact(
        node.contracts.credential_registry.anchor(root, 1, credential_type_id(OB))
    )


def test_a_two_of_three_consortium_governs_an_issuer_through_its_whole_life(
    consortium: list[Member], clean_chain: DevChain
) -> None:
    a, b, c = consortium
    institution, status = ensure_own_institution(a.node)
    assert status.startswith("accreditation proposed")  # one member's word is not enough
    issuer = institution.address
    pending = int(a.api.get("/v1/governance/proposals").json()[0]["id"])

    # accredit: needs a second member
    t_before = quiet_instant(clean_chain)
    b.post(f"/v1/governance/proposals/{pending}/approve")
    c.post(f"/v1/governance/proposals/{pending}/execute")
    t_accredited = quiet_instant(clean_chain)

    # issue allowed: the institution's credential is anchored
    a.node.issuance.issue(institution, [_input()], anchor_now=True)
    a.node.worker.drain()
    try_anchor(a.node, b"\x01" * 32)

    # suspend: the contract refuses anchoring, whatever the node does
    propose_and_pass(b, c, {"action": "suspend_issuer", "target": issuer})
    t_suspended = quiet_instant(clean_chain)
    with pytest.raises(ContractRevert) as refused:
        try_anchor(a.node, b"\x02" * 32)
    assert refused.value.code == "not_accredited"
    a.node.issuance.issue(institution, [_input()], anchor_now=True)
    a.node.worker.request_flush()
    a.node.worker.step()
    with a.node.db.session() as session:
        failed = session.exec(select(AnchorBatch).where(AnchorBatch.state == BatchState.FAILED))
        assert "NotAccredited" in (failed.first().last_error or "")  # type: ignore[union-attr]

    # reinstate: anchoring works again
    propose_and_pass(c, a, {"action": "reinstate_issuer", "target": issuer})
    t_reinstated = quiet_instant(clean_chain)
    try_anchor(a.node, b"\x03" * 32)

    # remove: final
    propose_and_pass(a, b, {"action": "remove_issuer", "target": issuer})
    t_removed = quiet_instant(clean_chain)
    with pytest.raises(ContractRevert):
        try_anchor(a.node, b"\x04" * 32)

    # history, queried afterwards at each point in time
    governance = c.node.governance
    assert [
        governance.is_accredited(issuer, OB, t)
        for t in (t_before, t_accredited, t_suspended, t_reinstated, t_removed)
    ] == [False, True, False, True, False]
    record = c.api.get(f"/v1/issuers/{issuer}").json()
    assert record["status"] == "removed"
    assert [s["status"] for s in record["status_history"]] == [
        "active",
        "suspended",
        "active",
        "removed",
    ]
    assert all(g["granted_until"] is not None for g in record["accreditations"])


def test_members_cannot_approve_twice_and_outsiders_cannot_vote(
    consortium: list[Member], clean_chain: DevChain
) -> None:
    a, b, _ = consortium
    proposal = a.post(
        "/v1/governance/proposals", {"action": "change_threshold", "new_threshold": 3}
    )
    again = a.api.post(f"/v1/governance/proposals/{proposal['id']}/approve")
    assert again.status_code == 409 and again.json()["code"] == "already_approved"

    outsider = clean_chain.accounts[7]
    with pytest.raises(ContractRevert) as refused:
        TransactionSender(clean_chain.client(), outsider).transact(
            b.node.contracts.issuer_registry.approve(int(proposal["id"]))
        )
    assert refused.value.code == "not_member"


def _input() -> object:
    from node.credentials.inputs import CredentialInput

    return CredentialInput.model_validate(CREDENTIAL)
