"""Specifications for an issuing institution: issue, anchor in Merkle batches, revoke, suspend,
erase — and what ends up on chain."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from node.credentials.cohort import cohort_inputs
from node.credentials.merkle import credential_hash, leaf, process_proof
from node.credentials.status_list import (
    MIN_LIST_LENGTH,
    Bitstring,
    StatusPurpose,
    first_allocatable,
)
from node.store.models import ChainTx, Institution, StatusList
from node.wiring.runtime import Node

ACHIEVEMENT = {
    "name": "Intro to Welding",
    "description": "Structural welding fundamentals",
    "criteria_narrative": "Passed the practical exam",
    "achievement_type": "Certificate",
    "alignments": [
        {
            "target_name": "Welding",
            "target_url": "https://credentialengineregistry.org/resources/ce-0001",
            "target_type": "ceasn:Competency",
        }
    ],
}


def one_credential(email: str = "ada@example.edu") -> dict[str, Any]:
    return {"learner": {"name": "Ada", "email": email}, "achievement": ACHIEVEMENT}


def entries_handed_out(node: Node) -> int:
    """Status entries allocated so far (a list opened on the way is no entry spent)."""
    with node.db.session() as session:
        lists = session.exec(select(StatusList)).all()
    return sum(row.next_index - first_allocatable(row.capacity) for row in lists)


def status_txs(node: Node) -> int:
    with node.db.session() as session:
        return len(session.exec(select(ChainTx).where(ChainTx.purpose == "status")).all())


def anchor_txs(node: Node) -> int:
    with node.db.session() as session:
        return len(session.exec(select(ChainTx).where(ChainTx.purpose == "anchor")).all())


def test_an_issued_credential_is_pending_then_final_with_a_receipt_the_chain_confirms(
    node: Node, api: TestClient
) -> None:
    response = api.post("/v1/credentials", json={"credential": one_credential()})
    assert response.status_code == 201, response.text
    issued = response.json()["credentials"][0]
    assert issued["state"] == "pending"
    credential = issued["credential"]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"].startswith("urn:uuid:")
    assert credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"

    node.worker.drain()

    bundle = api.get(f"/v1/credentials/{credential['id']}/bundle").json()
    assert bundle["credential"] == credential
    receipt = bundle["receipt"]
    assert receipt["credentialHash"] == "0x" + credential_hash(credential).hex()
    registry = node.contracts.credential_registry
    root = bytes.fromhex(receipt["root"][2:])
    proof = [bytes.fromhex(p[2:]) for p in receipt["proof"]]
    the_leaf = leaf(credential_hash(credential))
    assert registry.contract.functions.verifyInclusion(root, proof, the_leaf).call()
    anchor = registry.anchor_of(receipt["issuer"], root)
    assert anchor is not None
    assert anchor.block_number == receipt["blockNumber"]
    assert anchor.count == receipt["count"] >= 1
    assert api.get(f"/v1/credentials/{credential['id']}").json()["state"] == "final"


def test_a_cohort_of_1000_from_csv_is_anchored_in_a_handful_of_transactions(
    node: Node, institution: Institution
) -> None:
    rows = "\n".join(f"Learner {i},learner{i}@example.edu,{50 + i % 50}" for i in range(1000))
    inputs = cohort_inputs({"achievement": ACHIEVEMENT}, "name,email,result\n" + rows)
    before = anchor_txs(node)

    issued = node.issuance.issue(institution, inputs, anchor_now=True)
    node.worker.drain()

    assert len(issued) == 1000
    assert anchor_txs(node) - before <= 5
    registry = node.contracts.credential_registry
    roots: dict[str, int] = {}
    for credential in issued:
        receipt = node.issuance.receipt(node.issuance.record(credential["id"]))
        assert receipt is not None
        proof = [bytes.fromhex(p[2:]) for p in receipt["proof"]]
        computed = process_proof(proof, leaf(credential_hash(credential)))
        assert "0x" + computed.hex() == receipt["root"]
        roots[receipt["root"]] = receipt["count"]
    for root, count in roots.items():
        anchor = registry.anchor_of(institution.address, bytes.fromhex(root[2:]))
        assert anchor is not None
        assert anchor.count == count
    assert sum(roots.values()) == 1000


def test_revoking_100_credentials_is_one_transaction_and_the_status_list_matches_the_chain(
    node: Node, institution: Institution, api: TestClient
) -> None:
    inputs = [one_credential(f"r{i}@example.edu") for i in range(100)]
    issued = api.post("/v1/credentials", json={"credentials": inputs}).json()["credentials"]
    ids = [c["id"] for c in issued]
    node.worker.drain()
    before = status_txs(node)

    result = api.post("/v1/credentials/status", json={"action": "revoke", "ids": ids}).json()

    assert result["onChain"] == "confirmed"
    assert all(change["changed"] for change in result["changes"])
    assert status_txs(node) - before == 1
    entry = issued[0]["credential"]["credentialStatus"]
    assert (entry["statusPurpose"], entry["statusSize"]) == ("message", 2)
    list_id = entry["statusListCredential"].rsplit("/", 1)[1]
    assert list_id == f"{institution.address}-0-status"
    served = api.get(f"/v1/status-lists/{list_id}").json()
    assert served["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert served["credentialSubject"]["statusPurpose"] == "message"
    bits = Bitstring.decode(served["credentialSubject"]["encodedList"])
    revoked_on_chain = Bitstring.from_words(
        list(node.status.chain_words(institution.address, 0, StatusPurpose.REVOCATION))
    ).set_indices()
    revoked_indexes = {int(c["credential"]["credentialStatus"]["statusListIndex"]) for c in issued}
    assert revoked_indexes == set(revoked_on_chain)
    # Each revoked entry i: value 0x2 at bits [2i, 2i+1], plus the 1-bit compatibility bit i.
    expected = {2 * i for i in revoked_indexes} | revoked_indexes
    assert set(bits.set_indices()) == expected
    assert len(bits) == 2 * MIN_LIST_LENGTH


def test_suspension_is_reversible_and_revocation_is_permanent(node: Node, api: TestClient) -> None:
    credential_id = api.post("/v1/credentials", json={"credential": one_credential()}).json()[
        "credentials"
    ][0]["id"]
    node.worker.drain()

    suspended = api.post(f"/v1/credentials/{credential_id}/suspend")
    assert suspended.status_code == 200
    assert api.get(f"/v1/credentials/{credential_id}").json()["suspended"] is True
    reinstated = api.post(f"/v1/credentials/{credential_id}/reinstate").json()
    assert reinstated["changes"][0]["changed"] is True
    assert api.get(f"/v1/credentials/{credential_id}").json()["suspended"] is False

    api.post(f"/v1/credentials/{credential_id}/revoke")
    refused = api.post(f"/v1/credentials/{credential_id}/reinstate")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "credential_revoked"


def test_erasure_deletes_the_content_and_leaves_no_personal_data_anywhere(
    node: Node, api: TestClient
) -> None:
    credential = api.post(
        "/v1/credentials", json={"credential": one_credential("erase-me@example.edu")}
    ).json()["credentials"][0]["credential"]
    node.worker.drain()

    assert api.delete(f"/v1/credentials/{credential['id']}").status_code == 204

    state = api.get(f"/v1/credentials/{credential['id']}").json()
    assert state["erased"] is True
    assert state["credential"] is None
    assert api.get(f"/v1/credentials/{credential['id']}/bundle").json()["code"] == (
        "credential_erased"
    )
    with node.db.session() as session:
        dump = json.dumps(
            [row.model_dump(mode="json") for row in session.exec(select(ChainTx)).all()]
        )
    assert "erase-me" not in dump and "Ada" not in dump


def test_bad_issue_requests_get_problems_and_issue_nothing(api: TestClient) -> None:
    no_learner = api.post("/v1/credentials", json={"credential": {"achievement": ACHIEVEMENT}})
    assert no_learner.status_code == 422
    assert no_learner.headers["content-type"].startswith("application/problem+json")
    both = api.post("/v1/credentials", json={"credential": one_credential(), "credentials": []})
    assert both.status_code == 422
    unauthenticated = TestClient(api.app).post(
        "/v1/credentials", json={"credential": one_credential()}
    )
    assert unauthenticated.status_code == 401
    assert api.get("/v1/credentials/urn:uuid:nope").json()["code"] == "credential_not_found"


def test_values_that_split_json_ld_processors_are_refused_before_anything_is_spent(
    node: Node, api: TestClient
) -> None:
    """`1e-7` canonicalizes as "0" in jsonld.js and "1.0E-7" in pyld; NUL and other control
    characters are serialized differently by stock pyld; a lone surrogate cannot even be encoded
    by pyld. Each is a 4xx problem (never a 500), and no status entry is allocated for it."""
    allocated_before = entries_handed_out(node)
    tiny = {**ACHIEVEMENT, "credits_available": 1e-7}
    nul = {**ACHIEVEMENT, "name": "Welding\u0000"}
    good_then_bad = {"credentials": [one_credential(), {**one_credential(), "achievement": nul}]}
    # In a bulk request the signing of the first documents is under way when the bad one is
    # reached: the request still stores nothing and its entries go back.
    bulk = [one_credential() for _ in range(200)]
    bulk[150] = {**one_credential(), "achievement": tiny}
    for body in (
        {"credential": {**one_credential(), "achievement": tiny}},
        {"credential": {**one_credential(), "achievement": nul}},
        good_then_bad,
        {"credentials": bulk},
    ):
        refused = api.post("/v1/credentials", json=body)
        assert refused.status_code == 422, refused.text
        # NUL is refused even earlier, by the request inspection every route shares.
        assert refused.json()["code"] in ("non_portable_value", "nul_character")
    assert refused.json()["credential"] == 150
    surrogate = api.post(
        "/v1/credentials",
        content=b'{"credential": {"learner": {"name": "\\ud800"}, "achievement": {}}}',
        headers={"content-type": "application/json"},
    )
    assert surrogate.status_code in (400, 422), surrogate.text
    assert entries_handed_out(node) == allocated_before
