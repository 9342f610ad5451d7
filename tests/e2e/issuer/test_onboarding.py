"""Specifications for onboarding another institution on a node: its own DID, key, profile,
accreditation proposal and issuer API key — and it issues only once the consortium agrees."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from node.store.models import Institution
from node.wiring.runtime import Node

CREDENTIAL = {
    "learner": {"name": "Ada", "email": "ada@example.edu"},
    "achievement": {
        "name": "Forklift operation",
        "description": "Safe forklift operation",
        "criteria_narrative": "Passed the practical test",
        "achievement_type": "License",
    },
}


def test_a_second_institution_gets_its_own_identity_and_issues_once_accredited(
    node: Node, institution: Institution, api: TestClient
) -> None:
    created = api.post("/v1/admin/institutions", json={"name": "Harbor Training Center"})
    assert created.status_code == 201, created.text
    second = created.json()
    assert second["did"].startswith("did:ethr:0x7a69:0x") and second["did"] != institution.did
    assert second["verificationMethod"].startswith(second["did"] + "#delegate-")
    assert second["status"] == "none"
    assert second["proposal"]["action"] == "accredit_issuer"
    assert second["proposal"]["state"] == "ready"  # this node's operator is the only member

    issuer = TestClient(api.app, headers={"Authorization": f"Bearer {second['apiKey']}"})
    assert issuer.get("/v1/institution").json()["accreditedNow"]["OpenBadgeCredential"] is False

    api.post(f"/v1/governance/proposals/{second['proposal']['id']}/execute")
    standing = issuer.get("/v1/institution").json()
    assert standing["status"] == "active"
    assert standing["accreditedNow"] == {"OpenBadgeCredential": True, "ClrCredential": True}

    issued = issuer.post("/v1/credentials", json={"credential": CREDENTIAL}).json()
    credential = issued["credentials"][0]["credential"]
    assert credential["issuer"]["id"] == second["did"]
    node.worker.drain()
    bundle = issuer.get(f"/v1/credentials/{credential['id']}/bundle").json()
    assert bundle["receipt"]["issuer"] == second["address"]
    # The other institution's key cannot see it.
    assert api.get(f"/v1/credentials/{credential['id']}").status_code == 404


def test_only_an_admin_key_onboards(api: TestClient, node: Node) -> None:
    anonymous = TestClient(api.app).post("/v1/admin/institutions", json={"name": "X"})
    assert anonymous.status_code == 401
    bad = api.post("/v1/admin/institutions", json={"name": ""})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_a_did_web_institution_needs_a_node_with_a_public_host_name(
    api: TestClient, node: Node
) -> None:
    def institutions() -> int:
        with node.db.session() as session:
            return len(session.exec(select(Institution)).all())

    before = institutions()
    refused = api.post("/v1/admin/institutions", json={"name": "Web U", "did_method": "web"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "did_web_needs_public_host"  # PUBLIC_URL is an IP here
    assert institutions() == before  # refused before anything was created
