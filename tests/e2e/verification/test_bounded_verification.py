"""The public verifier bounds the work one request can cost, and still verifies the largest
transcript the node issues: a CLR of 500 achievements (over 1 MB, refused with 413 before the
verification routes took larger bodies), while the audit's ~1 MB CLR of 1,612 minimal items is
refused before any signature is checked."""

from __future__ import annotations

import copy
import json

import pytest
from fastapi.testclient import TestClient

from node.credentials.inputs import LearnerInput
from node.credentials.proofs import Cryptosuite
from tests.support.verification_nodes import IssuerSite, credential_input

pytestmark = pytest.mark.anvil


def transcript(site: IssuerSite, count: int, suite: Cryptosuite) -> dict[str, object]:
    node = site.node
    clr = node.issuance.issue_clr(
        site.institution,
        LearnerInput(name="Grace Hopper", email="grace@example.edu"),
        [credential_input() for _ in range(count)],
        name="Transcript",
        cryptosuite=suite,
    )
    node.worker.drain()
    return site.bundle(clr["id"])


def test_the_audits_clr_of_1612_minimal_items_is_refused_before_any_check(
    site: IssuerSite, api: TestClient
) -> None:
    bundle = transcript(site, 1, Cryptosuite.EDDSA_JCS_2022)
    credential = copy.deepcopy(bundle["credential"])
    assert isinstance(credential, dict)
    part = credential["credentialSubject"]["verifiableCredential"][0]
    minimal = {k: part[k] for k in ("@context", "type", "issuer", "credentialSubject", "proof")}
    credential["credentialSubject"]["verifiableCredential"] = [minimal] * 1612
    body = json.dumps({"credential": credential, "receipt": bundle["receipt"]}).encode()
    assert len(body) < site.node.settings.max_verify_body_bytes
    response = api.post("/v1/verify", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["code"] == "too_many_credentials"
    assert api.get("/health").status_code == 200


@pytest.mark.slow
def test_a_transcript_of_500_achievements_issued_by_the_node_verifies(
    site: IssuerSite, api: TestClient
) -> None:
    bundle = transcript(site, 500, Cryptosuite.EDDSA_RDFC_2022)
    body = json.dumps(bundle).encode()
    assert len(body) > 1_000_000  # more than the general body limit
    response = api.post("/v1/verify", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text[:500]
    report = response.json()
    assert report["verdict"] == "valid", [c for c in report["checks"] if c["status"] != "passed"]
    assert len(report["embedded"]) == 500
