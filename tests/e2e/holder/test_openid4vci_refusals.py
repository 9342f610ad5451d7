"""OpenID4VCI's pre-authorized code flow refuses, with the specification's error codes, every
grant, token and proof that is not exactly right, and a refusal leaves the offer collectable.
(The happy path with an independent client: tests/interop/test_wallet_collection_interop.py.)"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from fastapi.testclient import TestClient

from node.wiring.runtime import Node
from tests.support.holders import Holder, issue, offer

ISSUER = "https://node.example.edu"
GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CONFIGURATION = "OpenBadgeCredential_ldp_vc"


def code_of(made: dict[str, Any]) -> str:
    document = wallet_offer(made)
    code: str = document["grants"][GRANT]["pre-authorized_code"]
    return code


def wallet_offer(made: dict[str, Any]) -> dict[str, Any]:
    import json

    value = parse_qs(urlsplit(made["links"]["openid4vciByValue"]).query)["credential_offer"][0]
    document: dict[str, Any] = json.loads(unquote(value))
    return document


def token(wallet: TestClient, code: str, **extra: str) -> Any:
    return wallet.post(
        "/oid4vci/token", data={"grant_type": GRANT, "pre-authorized_code": code, **extra}
    )


def nonce(wallet: TestClient) -> str:
    value: str = wallet.post("/oid4vci/nonce").json()["c_nonce"]
    return value


def request_credential(
    wallet: TestClient, access_token: str, proof: str, configuration: str = CONFIGURATION
) -> Any:
    return wallet.post(
        "/oid4vci/credential",
        headers={"Authorization": f"Bearer {access_token}"},
        json={"credential_configuration_id": configuration, "proofs": {"jwt": [proof]}},
    )


def test_the_metadata_describe_an_ldp_vc_issuer_that_is_its_own_authorization_server(
    wallet: TestClient,
) -> None:
    metadata = wallet.get("/.well-known/openid-credential-issuer").json()
    assert metadata["credential_issuer"] == ISSUER
    assert metadata["credential_endpoint"] == f"{ISSUER}/oid4vci/credential"
    assert metadata["nonce_endpoint"] == f"{ISSUER}/oid4vci/nonce"
    badge = metadata["credential_configurations_supported"][CONFIGURATION]
    assert badge["format"] == "ldp_vc"
    assert badge["credential_definition"]["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert badge["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
    server = wallet.get("/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == ISSUER and server["token_endpoint"] == f"{ISSUER}/oid4vci/token"
    assert server["pre-authorized_grant_anonymous_access_supported"] is True
    assert wallet.post("/oid4vci/nonce").headers["cache-control"] == "no-store"


def test_the_offer_by_reference_is_the_offer_by_value(api: TestClient, wallet: TestClient) -> None:
    made = offer(api, issue(api))
    by_reference = wallet.get(made["links"]["credentialOfferUri"]).json()
    assert by_reference == wallet_offer(made)
    assert by_reference["credential_issuer"] == ISSUER
    assert by_reference["credential_configuration_ids"] == [CONFIGURATION]


def test_a_pre_authorized_code_is_exchanged_once(api: TestClient, wallet: TestClient) -> None:
    made = offer(api, issue(api))
    assert (
        wallet.post("/oid4vci/token", data={"grant_type": "client_credentials"}).json()["error"]
        == "unsupported_grant_type"
    )
    assert token(wallet, "made-up-code").json()["error"] == "invalid_grant"
    first = token(wallet, code_of(made))
    assert first.status_code == 200 and first.json()["token_type"] == "Bearer"
    assert first.headers["cache-control"] == "no-store"
    replay = token(wallet, code_of(made))
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_a_transaction_code_is_required_and_guessing_it_burns_the_offer(
    api: TestClient, wallet: TestClient
) -> None:
    made = offer(api, issue(api), tx_code=True)
    assert wallet_offer(made)["grants"][GRANT]["tx_code"]["length"] == 6
    assert token(wallet, code_of(made)).json()["error"] == "invalid_request"
    wrong = "000000" if made["txCode"] != "000000" else "111111"
    for _ in range(5):
        assert token(wallet, code_of(made), tx_code=wrong).json()["error"] == "invalid_grant"
    burnt = token(wallet, code_of(made), tx_code=made["txCode"])
    assert burnt.json()["error"] == "invalid_grant"
    assert "too many" in burnt.json()["error_description"]


def test_proofs_that_are_not_exactly_right_are_refused_and_the_offer_stays_open(
    api: TestClient, wallet: TestClient, node: Node
) -> None:
    made = offer(api, issue(api))
    access = token(wallet, code_of(made)).json()["access_token"]
    holder, intruder = Holder(), Holder()
    fresh = nonce(wallet)
    refusals = {
        "invalid_proof": [
            holder.proof_jwt(audience="https://elsewhere.example", nonce=fresh),
            holder.proof_jwt(audience=ISSUER, nonce=fresh, signer=intruder),
            holder.proof_jwt(audience=ISSUER, nonce=fresh, iat=time.time() - 86_400),
            "not.a.jwt",
        ],
        "invalid_nonce": [
            holder.proof_jwt(audience=ISSUER, nonce=None),
            holder.proof_jwt(
                audience=ISSUER, nonce=fresh[:-2] + ("BB" if fresh.endswith("AA") else "AA")
            ),
        ],
    }
    for error, proofs in refusals.items():
        for proof in proofs:
            response = request_credential(wallet, access, proof)
            assert response.status_code == 400, response.text
            assert response.json()["error"] == error, response.json()
    wrong_configuration = request_credential(
        wallet, access, holder.proof_jwt(audience=ISSUER, nonce=fresh), "ClrCredential_ldp_vc"
    )
    assert wrong_configuration.json()["error"] == "unknown_credential_configuration"
    assert api.get(f"/v1/offers/{made['id']}").json()["state"] == "open"

    issued = request_credential(wallet, access, holder.proof_jwt(audience=ISSUER, nonce=fresh))
    assert issued.status_code == 200, issued.text
    [entry] = issued.json()["credentials"]
    assert entry["credential"]["credentialSubject"]["id"] == holder.did


def test_an_expired_nonce_is_refused(
    api: TestClient, wallet: TestClient, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = offer(api, issue(api))
    access = token(wallet, code_of(made)).json()["access_token"]
    now = node.oid4vci.clock()
    with monkeypatch.context() as earlier:
        earlier.setattr(
            node.oid4vci,
            "clock",
            lambda: now - timedelta(seconds=node.settings.offer_token_ttl + 1),
        )
        stale = nonce(wallet)
    response = request_credential(wallet, access, Holder().proof_jwt(audience=ISSUER, nonce=stale))
    assert response.status_code == 400 and response.json()["error"] == "invalid_nonce"
    assert api.get(f"/v1/offers/{made['id']}").json()["state"] == "open"


def test_access_tokens_are_checked_before_anything_else(
    api: TestClient, wallet: TestClient
) -> None:
    proof = Holder().proof_jwt(audience=ISSUER, nonce=nonce(wallet))
    missing = wallet.post(
        "/oid4vci/credential", json={"credential_configuration_id": CONFIGURATION}
    )
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_token"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    unknown = request_credential(wallet, "made-up-token", proof)
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_token"


def test_an_expired_offer_grants_no_token(api: TestClient, wallet: TestClient, node: Node) -> None:
    from datetime import UTC, datetime, timedelta

    from node.store.models import Offer

    made = offer(api, issue(api))
    with node.db.session() as session:
        row = session.get(Offer, made["id"])
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(row)
    assert token(wallet, code_of(made)).json()["error"] == "invalid_grant"
    assert wallet.get(made["links"]["credentialOfferUri"]).status_code == 410
