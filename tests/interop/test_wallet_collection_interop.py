"""Learners' wallets collect offered credentials from a node served over HTTPS, played by the
wallets' own libraries: the Learner Credential Wallet's stack (`@digitalcredentials/vc` with
Ed25519Signature2020) for the DCC deep link and the VC-API exchange, Digital Bazaar's
`@digitalbazaar/vc` (Data Integrity) for a VC-API exchange, and the `@openid4vc/openid4vci`
client for OpenID4VCI's pre-authorized code flow. Each collected credential is bound to the
holder's DID and verifies."""

from __future__ import annotations

import secrets
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.api.app import create_app
from tests.support.interop import run_js
from tests.support.nodes import ready_node
from tests.support.tls import TlsFiles, free_port, make_test_tls, serve

pytestmark = [pytest.mark.interop, pytest.mark.anvil]

WALLET = Path(__file__).parent / "js" / "wallet.mjs"


class Site:
    """The HTTPS node and the institution's API client."""

    def __init__(self, base: str, tls: TlsFiles, admin_key: str) -> None:
        self.base = base
        self.tls = tls
        trust = ssl.create_default_context(cafile=str(tls.ca))
        self.api = httpx.Client(
            base_url=base,
            verify=trust,
            headers={"Authorization": f"Bearer {admin_key}"},
            timeout=30,
        )
        self.public = httpx.Client(base_url=base, verify=trust, timeout=30)

    def wallet(self, command: str, request: dict[str, Any]) -> dict[str, Any]:
        answer = run_js(WALLET, command, request, self.tls.ca)
        assert "error" not in answer, answer
        return answer

    def issue_and_offer(self, **options: Any) -> dict[str, Any]:
        body = {
            "credential": {
                "learner": {"name": "Grace Hopper", "email": "grace@example.edu"},
                "achievement": {
                    "name": "Compilers",
                    "description": "Wrote one",
                    "criteria_narrative": "A working compiler",
                    "achievement_type": "Course",
                },
            },
            "anchor_now": True,
        }
        issued = self.api.post("/v1/credentials", json=body)
        assert issued.status_code == 201, issued.text
        credential_id = issued.json()["credentials"][0]["id"]
        made = self.api.post("/v1/offers", json={"credential_ids": [credential_id], **options})
        assert made.status_code == 201, made.text
        offer: dict[str, Any] = made.json()["offers"][0]
        return offer

    def verified(self, credential: dict[str, Any]) -> dict[str, Any]:
        """The node verifier's report, once the collected copy is anchored."""
        deadline = time.monotonic() + 30
        while True:
            state = self.api.get(f"/v1/credentials/{credential['id']}").json()["state"]
            if state != "pending" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        report: dict[str, Any] = self.public.post("/v1/verify", json=credential).json()
        return report


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp("wallet-interop")
    tls = make_test_tls(directory)
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    with (
        ready_node(directory / "node", public_url=base, verify_rate_limit=100_000) as ready,
        serve(create_app(ready.node), port, tls),
    ):
        yield Site(base, tls, ready.admin_key)


def seed() -> str:
    return secrets.token_hex(32)


def assert_bound_and_valid(site: Site, credential: dict[str, Any], did: str) -> None:
    assert credential["credentialSubject"]["id"] == did
    report = site.verified(credential)
    assert report["verdict"] == "valid", report["checks"]


def test_the_learner_credential_wallet_collects_through_the_dcc_request_deep_link(
    site: Site,
) -> None:
    offer = site.issue_and_offer()
    link = offer["links"]["lcw"]
    assert link.startswith("https://lcw.app/request.html?issuer=127.0.0.1")
    answer = site.wallet("lcw-dcc", {"deepLink": link, "seed": seed()})
    assert answer["status"] == 200, answer["body"]
    assert answer["presentation"]["proof"]["type"] == "Ed25519Signature2020"
    assert_bound_and_valid(site, answer["body"], answer["did"])
    state = site.api.get(f"/v1/offers/{offer['id']}").json()
    assert (state["state"], state["holder"], state["protocol"]) == (
        "collected", answer["did"], "dcc",
    )  # fmt: skip


def test_the_learner_credential_wallet_collects_through_the_vc_api_interaction_url(
    site: Site,
) -> None:
    offer = site.issue_and_offer()
    answer = site.wallet(
        "lcw-vcapi", {"interactionUrl": offer["links"]["interaction"], "seed": seed()}
    )
    assert answer["protocols"]["vcapi"] == offer["links"]["exchange"]
    assert answer["vpr"]["query"][0]["type"] == "DIDAuthentication"
    assert answer["status"] == 200, answer["body"]
    credentials = answer["body"]["verifiablePresentation"]["verifiableCredential"]
    assert len(credentials) == 1
    assert_bound_and_valid(site, credentials[0], answer["did"])


def test_a_data_integrity_didauth_from_digital_bazaars_library_collects_a_vc_api_exchange(
    site: Site,
) -> None:
    offer = site.issue_and_offer()
    answer = site.wallet("di-vcapi", {"exchangeUrl": offer["links"]["exchange"], "seed": seed()})
    assert answer["presentation"]["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert answer["status"] == 200, answer["body"]
    credential = answer["body"]["verifiablePresentation"]["verifiableCredential"][0]
    assert_bound_and_valid(site, credential, answer["did"])


@pytest.mark.parametrize("by", ["reference", "value"])
def test_an_openid4vci_client_collects_by_the_pre_authorized_code_flow(site: Site, by: str) -> None:
    offer = site.issue_and_offer()
    link = offer["links"]["openid4vci" if by == "reference" else "openid4vciByValue"]
    answer = site.wallet("oid4vci", {"offer": link, "seed": seed()})
    assert answer["version"] == "V1"  # the client read our metadata as OpenID4VCI 1.0
    [entry] = answer["credentials"]
    assert_bound_and_valid(site, entry["credential"], answer["did"])


def test_an_openid4vci_offer_with_a_transaction_code_needs_it(site: Site) -> None:
    offer = site.issue_and_offer(tx_code=True)
    assert offer["txCode"] is not None and len(offer["txCode"]) == 6
    refused = run_js(
        WALLET, "oid4vci", {"offer": offer["links"]["openid4vci"], "seed": seed()}, site.tls.ca
    )
    assert "txCode" in refused.get("error", "") or "tx_code" in refused.get("error", "")
    answer = site.wallet(
        "oid4vci",
        {"offer": offer["links"]["openid4vci"], "seed": seed(), "txCode": offer["txCode"]},
    )
    assert_bound_and_valid(site, answer["credentials"][0]["credential"], answer["did"])


def test_a_replayed_lcw_presentation_and_a_reused_access_token_collect_nothing(
    site: Site,
) -> None:
    offer = site.issue_and_offer()
    link = offer["links"]["lcw"]
    first = site.wallet("lcw-dcc", {"deepLink": link, "seed": seed()})
    assert first["status"] == 200
    replay = site.public.post(offer["links"]["vcRequestUrl"], json=first["presentation"])
    assert replay.status_code == 409
    assert replay.json()["code"] == "offer_already_collected"

    other = site.issue_and_offer()
    collected = site.wallet("oid4vci", {"offer": other["links"]["openid4vci"], "seed": seed()})
    again = site.public.post(
        "/oid4vci/credential",
        headers={"Authorization": f"Bearer {collected['accessToken']}"},
        json={
            "credential_configuration_id": "OpenBadgeCredential_ldp_vc",
            "proofs": {"jwt": [collected["proof"]]},
        },
    )
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_token"
    for made in (offer, other):
        assert (
            len(
                site.api.get("/v1/offers", params={"credential_id": made["credentialId"]}).json()[
                    "offers"
                ]
            )
            == 1
        )
