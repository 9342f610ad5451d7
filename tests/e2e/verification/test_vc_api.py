"""The W3C CCG Verifiable Credentials API on a node: each endpoint with the request shapes of the
VC-API specification, and with malformed requests (RFC 9457 problems, never a 500); and a
holder's presentation, through the VC-API and through `lernode verify`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from node.access.apikeys import create_key
from node.credentials.multikey import encode_public_key
from node.credentials.proofs import sign
from tests.support.verification_nodes import IssuerSite

pytestmark = pytest.mark.anvil

HOLDER = Ed25519PrivateKey.from_private_bytes(b"\x66" * 32)
FINGERPRINT = encode_public_key(HOLDER.public_key())
HOLDER_DID = f"did:key:{FINGERPRINT}"
CHALLENGE = "5f1c8e2a-0d5b-4b8e-9f6c-2a7d3e1b9c40"
DOMAIN = "hiring.employer.example"


@pytest.fixture(scope="module")
def issuer_auth(site: IssuerSite) -> dict[str, str]:
    key = create_key(site.node.db, ["issuer"], institution_id=site.institution.id)
    return {"Authorization": f"Bearer {key.token}"}


def unsigned_badge(site: IssuerSite, **changes: Any) -> dict[str, Any]:
    """An Open Badge as a VC-API client writes it: no id, status or proof."""
    credential = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": site.institution.did, "type": ["Profile"], "name": site.institution.name},
        "validFrom": "2025-01-01T00:00:00Z",
        "name": "Forklift Safety",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://example.org/achievements/forklift",
                "type": ["Achievement"],
                "name": "Forklift Safety",
                "description": "Operates a forklift safely",
                "criteria": {"narrative": "Passed the practical test"},
            },
        },
    }
    credential.update(changes)
    return credential


def issued(site: IssuerSite, api: TestClient, auth: dict[str, str]) -> dict[str, Any]:
    response = api.post(
        "/credentials/issue", json={"credential": unsigned_badge(site), "options": {}}, headers=auth
    )
    assert response.status_code == 201, response.text
    site.node.worker.drain()
    credential: dict[str, Any] = response.json()["verifiableCredential"]
    return credential


def presentation(credentials: list[dict[str, Any]], **proof: Any) -> dict[str, Any]:
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": HOLDER_DID,
        "verifiableCredential": credentials,
    }
    proof.setdefault("challenge", CHALLENGE)
    proof.setdefault("domain", DOMAIN)
    return sign(
        document, HOLDER, f"{HOLDER_DID}#{FINGERPRINT}", proof_purpose="authentication", **proof
    )


def assert_problem(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if code is not None:
        assert response.json()["code"] == code


# -- issue --------------------------------------------------------------------------------------


def test_a_credential_written_by_the_institution_is_issued_as_given_and_anchored(
    site: IssuerSite, api: TestClient, issuer_auth: dict[str, str]
) -> None:
    written = unsigned_badge(site)
    credential = issued(site, api, issuer_auth)
    for member in ("@context", "type", "issuer", "validFrom", "name", "credentialSubject"):
        assert credential[member] == written[member]
    assert credential["id"].startswith("urn:uuid:")
    assert credential["proof"][0]["proofPurpose"] == "assertionMethod"
    assert credential["credentialStatus"]
    record = site.node.issuance.record(credential["id"])
    assert record.state != "pending"

    verified = api.post("/credentials/verify", json={"verifiableCredential": credential})
    assert verified.status_code == 200, verified.text
    assert verified.json() == {
        "verified": True,
        "checks": [
            "format",
            "proof",
            "issuer_key",
            "accreditation",
            "anchor",
            "status",
            "validity",
        ],
        "warnings": [],
        "errors": [],
        "problemDetails": [],
    }


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"credential": {"issuer": "did:example:someone-else"}}, 422, "invalid_context"),
        ({}, 422, None),
        ({"credential": "a string"}, 422, None),
        ({"credential": {}, "unknown": 1}, 422, None),
    ],
)
def test_issuing_refuses_malformed_requests_with_problems(
    api: TestClient, issuer_auth: dict[str, str], body: Any, status: int, code: str | None
) -> None:
    assert_problem(api.post("/credentials/issue", json=body, headers=issuer_auth), status, code)


def test_issuing_refuses_credentials_it_would_not_sign(
    site: IssuerSite, api: TestClient, issuer_auth: dict[str, str]
) -> None:
    cases = [
        (unsigned_badge(site, issuer="did:ethr:0x7a69:0x" + "12" * 20), "issuer_mismatch"),
        (unsigned_badge(site, proof={"type": "DataIntegrityProof"}), "proof_not_allowed"),
        (unsigned_badge(site, type=["VerifiableCredential"]), "unsupported_credential_type"),
        (unsigned_badge(site, credentialStatus={"type": "X"}), "credentialstatus_not_allowed"),
        (unsigned_badge(site, validFrom="yesterday"), None),
    ]
    for credential, code in cases:
        response = api.post(
            "/credentials/issue", json={"credential": credential}, headers=issuer_auth
        )
        assert_problem(response, 422, code)
    assert_problem(api.post("/credentials/issue", json={"credential": unsigned_badge(site)}), 401)
    assert_problem(
        api.post(
            "/credentials/issue",
            content=b"{not json",
            headers={**issuer_auth, "Content-Type": "application/json"},
        ),
        400,
        "malformed_json",
    )


# -- verify -------------------------------------------------------------------------------------


def test_a_credential_that_fails_verification_is_a_400_with_the_same_structure(
    site: IssuerSite, api: TestClient, issuer_auth: dict[str, str]
) -> None:
    credential = issued(site, api, issuer_auth)
    credential["name"] = "Forged"
    response = api.post(
        "/credentials/verify", json={"verifiableCredential": credential, "options": {}}
    )
    assert response.status_code == 400
    result = response.json()
    assert result["verified"] is False
    assert set(result) == {"verified", "checks", "warnings", "errors", "problemDetails"}
    assert any(line.startswith("proof: proof_invalid") for line in result["errors"])
    assert {"code": "proof_invalid", "title": "proof"}.items() <= result["problemDetails"][
        0
    ].items()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"verifiableCredential": "not an object"},
        {"verifiableCredential": {"hello": "world"}},
        {"verifiableCredential": {}, "extra": True},
        [1, 2, 3],
    ],
)
def test_verifying_malformed_requests_is_a_problem_never_a_500(api: TestClient, body: Any) -> None:
    response = api.post("/credentials/verify", json=body)
    assert_problem(response, 422)


# -- status -------------------------------------------------------------------------------------


def test_status_updates_revoke_suspend_and_reinstate(
    site: IssuerSite, api: TestClient, issuer_auth: dict[str, str]
) -> None:
    suspended, revoked = issued(site, api, issuer_auth), issued(site, api, issuer_auth)

    def update(credential: dict[str, Any], purpose: str, value: bool) -> Any:
        return api.post(
            "/credentials/status",
            json={
                "credentialId": credential["id"],
                "credentialStatus": {"type": "BitstringStatusList", "statusPurpose": purpose},
                "status": value,
            },
            headers=issuer_auth,
        )

    for credential, purpose in ((suspended, "suspension"), (revoked, "revocation")):
        response = update(credential, purpose, True)
        assert response.status_code == 200, response.text
        assert response.json()["changed"] is True
    site.node.worker.drain()

    def errors(credential: dict[str, Any]) -> list[str]:
        answer = api.post("/credentials/verify", json={"verifiableCredential": credential})
        return [line.split(":")[1].strip() for line in answer.json()["errors"]]

    assert errors(suspended) == ["suspended"]
    assert errors(revoked) == ["revoked"]
    assert update(suspended, "suspension", False).status_code == 200
    site.node.worker.drain()
    assert errors(suspended) == []
    assert_problem(update(revoked, "revocation", False), 409, "revocation_is_permanent")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {
                "credentialId": "urn:uuid:00000000-0000-4000-8000-000000000000",
                "credentialStatus": {"type": "BitstringStatusList", "statusPurpose": "revocation"},
                "status": True,
            },
            404,
            "credential_not_found",
        ),
        (
            {
                "credentialId": "x",
                "credentialStatus": {"type": "BitstringStatusList", "statusPurpose": "refresh"},
                "status": True,
            },
            422,
            "unsupported_status_purpose",
        ),
        (
            {
                "credentialId": "x",
                "credentialStatus": {"type": "StatusList1999", "statusPurpose": "revocation"},
                "status": True,
            },
            422,
            "unsupported_status_type",
        ),
        ({"credentialId": "x", "status": True}, 422, None),
        ({"credentialId": "x", "credentialStatus": {"type": "x"}, "status": "yes"}, 422, None),
    ],
)
def test_status_updates_refuse_malformed_requests(
    api: TestClient, issuer_auth: dict[str, str], body: Any, status: int, code: str | None
) -> None:
    assert_problem(api.post("/credentials/status", json=body, headers=issuer_auth), status, code)


def test_status_updates_need_an_issuer_key(api: TestClient) -> None:
    body = {
        "credentialId": "x",
        "credentialStatus": {"type": "BitstringStatusList", "statusPurpose": "revocation"},
        "status": True,
    }
    assert_problem(api.post("/credentials/status", json=body), 401)


# -- presentations ------------------------------------------------------------------------------


def test_a_holders_presentation_of_node_issued_credentials_verifies(
    site: IssuerSite, api: TestClient, issuer_auth: dict[str, str]
) -> None:
    credentials = [issued(site, api, issuer_auth), issued(site, api, issuer_auth)]
    body = {
        "verifiablePresentation": presentation(credentials),
        "options": {"challenge": CHALLENGE, "domain": DOMAIN},
    }
    response = api.post("/presentations/verify", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["verified"] is True
    assert response.json()["errors"] == []

    wrong = {**body, "options": {"challenge": "another", "domain": DOMAIN}}
    refused = api.post("/presentations/verify", json=wrong)
    assert refused.status_code == 400
    assert [line.split(":")[1].strip() for line in refused.json()["errors"]] == [
        "challenge_mismatch"
    ]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"verifiablePresentation": {}},
        {"verifiablePresentation": {"@context": [], "type": "VerifiableCredential"}},
        {"verifiablePresentation": {"type": ["VerifiablePresentation"]}, "options": []},
        {"verifiablePresentation": {"type": "x"}, "options": {"challenge": 5}},
    ],
)
def test_verifying_malformed_presentations_is_a_problem(api: TestClient, body: Any) -> None:
    assert_problem(api.post("/presentations/verify", json=body), 422)


def test_the_cli_verifies_a_presentation_with_its_challenge_and_domain(
    site: IssuerSite, api: TestClient, issuer_auth: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "presentation.json"
    path.write_text(json.dumps(presentation([issued(site, api, issuer_auth)])))
    common = [
        "--rpc",
        site.node.chain.rpc_url,
        "--registry",
        site.node.deployment.credential_registry,
    ]

    def lernode_verify(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "node.cli", "verify", str(path), *common, *extra],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    good = lernode_verify("--challenge", CHALLENGE, "--domain", DOMAIN)
    assert good.returncode == 0, good.stdout + good.stderr  # anchored alone: no receipt needed
    assert good.stdout.startswith("VALID: presentation by did:key:")
    assert "passed   challenge" in good.stdout and "passed   holder_key" in good.stdout
    wrong = lernode_verify("--challenge", "another", "--domain", DOMAIN)
    assert wrong.returncode == 1
    assert "failed   challenge      challenge_mismatch" in wrong.stdout


def test_the_openapi_document_lists_the_vc_api(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/credentials/issue",
        "/credentials/verify",
        "/presentations/verify",
        "/credentials/status",
    ):
        assert "post" in paths[path], path


def test_the_nodes_own_verify_endpoint_takes_a_presentation_too(
    site: IssuerSite, api: TestClient, issuer_auth: dict[str, str]
) -> None:
    vp = presentation([issued(site, api, issuer_auth)])
    answer = api.post("/v1/verify", params={"challenge": CHALLENGE, "domain": DOMAIN}, json=vp)
    assert answer.status_code == 200
    assert answer.json()["verdict"] == "valid"
    assert answer.json()["holder"] == HOLDER_DID
    unasked = api.post("/v1/verify", json=vp).json()
    assert unasked["verdict"] == "unknown"
    assert {c["name"]: c["code"] for c in unasked["checks"]}["challenge"] == (
        "challenge_not_requested"
    )
