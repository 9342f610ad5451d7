"""A learner's wallet collects an offer once, bound to its DID; every other attempt is refused
with a clear problem and changes nothing. (Python-signed presentations here; the wallets' own
libraries play the holder in tests/interop/test_wallet_collection_interop.py.)"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from node.store.models import Credential, CredentialEvent, Offer
from node.wiring.runtime import Node
from tests.support.holders import Holder, issue, offer

DOMAIN = "node.example.edu"


def challenge_of(made: dict[str, Any]) -> str:
    return parse_qs(urlsplit(made["links"]["lcw"]).query)["challenge"][0]


def footprint(node: Node, made: dict[str, Any]) -> tuple[Any, ...]:
    """Everything a collection would change: credentials, their issuance and delivery events
    (the anchoring worker adds its own meanwhile), the offer."""
    with node.db.session() as session:
        credentials = session.exec(select(func.count()).select_from(Credential)).one()
        events = session.exec(
            select(func.count())
            .select_from(CredentialEvent)
            .where(col(CredentialEvent.event).in_(["issued", "collected", "bound"]))
        ).one()
        row = session.get(Offer, made["id"])
        assert row is not None
        return credentials, events, row.state, row.holder, row.access_token_hash


def events_of(node: Node, credential_id: str) -> list[tuple[str, str]]:
    """The lifecycle log as the node reads it (details a holder or caller wrote are sealed)."""
    return [(event["event"], event["detail"]) for event in node.issuance.events(credential_id)]


def test_a_wallet_collects_a_copy_bound_to_its_did_and_linked_to_the_original(
    api: TestClient, wallet: TestClient, node: Node
) -> None:
    credential_id = issue(api)
    made = offer(api, credential_id)
    holder = Holder()
    response = wallet.post(
        f"/offers/{made['id']}/request", json=holder.did_auth(challenge_of(made))
    )
    assert response.status_code == 200, response.text
    copy = response.json()
    assert copy["credentialSubject"]["id"] == holder.did
    assert copy["id"] != credential_id
    assert copy["credentialSubject"]["name"] == "Ada Lovelace"
    record = node.issuance.record(copy["id"])
    assert record.bound_from == credential_id

    state = api.get(f"/v1/offers/{made['id']}").json()
    assert state["state"] == "collected" and state["holder"] == holder.did
    assert state["collectedCredentialId"] == copy["id"] and state["links"] is None
    delivery = {"issued", "offered", "collected", "bound"}
    lifecycle = [(e, d) for e, d in events_of(node, credential_id) if e in delivery]
    assert [event for event, _ in lifecycle] == ["issued", "offered", "collected"]
    assert holder.did in lifecycle[2][1] and copy["id"] in lifecycle[2][1]
    copy_events = [(e, d) for e, d in events_of(node, copy["id"]) if e in delivery]
    assert [event for event, _ in copy_events] == ["issued", "bound"]
    assert holder.did in copy_events[1][1] and credential_id in copy_events[1][1]
    shown = api.get(f"/v1/credentials/{credential_id}").json()
    assert [e["event"] for e in shown["events"] if e["event"] in delivery] == [
        "issued", "offered", "collected",
    ]  # fmt: skip
    assert holder.did in next(e for e in shown["events"] if e["event"] == "collected")["detail"]


@pytest.mark.parametrize(
    ("attempt", "code"),
    [
        ("wrong_challenge", "challenge_mismatch"),
        ("other_signer", "holder_proof_invalid"),
        ("tampered", "holder_proof_invalid"),
        ("claims_other_holder", "holder_mismatch"),
        ("not_a_presentation", "not_a_presentation"),
        ("no_proof", "proof_missing"),
        ("oversized", "presentation_too_large"),
    ],
)
def test_a_refused_dcc_collection_changes_nothing(
    api: TestClient, wallet: TestClient, node: Node, attempt: str, code: str
) -> None:
    made = offer(api, issue(api))
    holder, intruder = Holder(), Holder()
    challenge = challenge_of(made)
    presentation: Any = {
        "wrong_challenge": lambda: holder.did_auth("not-the-challenge"),
        "other_signer": lambda: holder.did_auth(challenge, signer=intruder),
        "tampered": lambda: {**holder.did_auth(challenge), "id": "urn:uuid:added-later"},
        "claims_other_holder": lambda: {**intruder.did_auth(challenge), "holder": holder.did},
        "not_a_presentation": lambda: {"hello": "world"},
        "no_proof": lambda: {**holder.did_auth(challenge), "proof": None},
        "oversized": lambda: {**holder.did_auth(challenge), "padding": "x" * 20_000},
    }[attempt]()
    before = footprint(node, made)
    response = wallet.post(f"/offers/{made['id']}/request", json=presentation)
    assert response.status_code in (403, 422), response.text
    assert response.json()["code"] == code
    assert footprint(node, made) == before
    # The offer is still there for its learner.
    good = wallet.post(f"/offers/{made['id']}/request", json=holder.did_auth(challenge))
    assert good.status_code == 200


def test_a_replayed_collection_is_refused_and_changes_nothing(
    api: TestClient, wallet: TestClient, node: Node
) -> None:
    made = offer(api, issue(api))
    presentation = Holder().did_auth(challenge_of(made))
    assert wallet.post(f"/offers/{made['id']}/request", json=presentation).status_code == 200
    before = footprint(node, made)
    replay = wallet.post(f"/offers/{made['id']}/request", json=presentation)
    assert replay.status_code == 409 and replay.json()["code"] == "offer_already_collected"
    vcapi = wallet.post(made["links"]["exchange"], json={"verifiablePresentation": presentation})
    assert vcapi.status_code == 409
    assert footprint(node, made) == before


def test_an_expired_offer_is_refused_and_shows_expired_in_the_lifecycle(
    api: TestClient, wallet: TestClient, node: Node
) -> None:
    credential_id = issue(api)
    made = offer(api, credential_id)
    with node.db.session() as session:
        row = session.get(Offer, made["id"])
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(row)
    response = wallet.post(
        f"/offers/{made['id']}/request", json=Holder().did_auth(challenge_of(made))
    )
    assert response.status_code == 410 and response.json()["code"] == "offer_expired"
    assert api.get(f"/v1/offers/{made['id']}").json()["state"] == "expired"
    assert "offer_expired" in [event for event, _ in events_of(node, credential_id)]
    page = wallet.get(f"/offers/{made['id']}")
    assert "expired" in page.text and "lcw.app" not in page.text


def test_a_withdrawn_offer_cannot_be_collected(api: TestClient, wallet: TestClient) -> None:
    made = offer(api, issue(api))
    assert api.delete(f"/v1/offers/{made['id']}").json()["state"] == "cancelled"
    response = wallet.post(
        f"/offers/{made['id']}/request", json=Holder().did_auth(challenge_of(made))
    )
    assert response.status_code == 410 and response.json()["code"] == "offer_cancelled"


def test_concurrent_collections_of_one_offer_issue_one_credential(
    api: TestClient, wallet: TestClient, node: Node
) -> None:
    credential_id = issue(api)
    made = offer(api, credential_id)
    challenge = challenge_of(made)
    holders = [Holder() for _ in range(4)]
    presentations = [holder.did_auth(challenge) for holder in holders]
    start = threading.Barrier(len(holders))
    results: list[int] = []

    def collect(presentation: dict[str, Any]) -> None:
        start.wait()
        results.append(wallet.post(f"/offers/{made['id']}/request", json=presentation).status_code)

    threads = [threading.Thread(target=collect, args=(p,)) for p in presentations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [200, 409, 409, 409]
    with node.db.session() as session:
        copies = session.exec(
            select(Credential).where(Credential.bound_from == credential_id)
        ).all()
    assert len(copies) == 1


def test_revoking_the_original_revokes_its_holder_bound_copy(
    api: TestClient, wallet: TestClient, node: Node
) -> None:
    credential_id = issue(api)
    made = offer(api, credential_id)
    copy = wallet.post(
        f"/offers/{made['id']}/request", json=Holder().did_auth(challenge_of(made))
    ).json()
    result = api.post(f"/v1/credentials/{credential_id}/suspend", json={"wait": 0}).json()
    assert {change["id"] for change in result["changes"]} == {credential_id, copy["id"]}
    assert node.issuance.record(copy["id"]).suspended
    api.post(f"/v1/credentials/{credential_id}/reinstate", json={"wait": 0})
    api.post(f"/v1/credentials/{credential_id}/revoke", json={"wait": 0})
    assert node.issuance.record(copy["id"]).revoked
    assert not node.issuance.record(copy["id"]).suspended


def test_a_revoked_credential_can_be_neither_offered_nor_collected(
    api: TestClient, wallet: TestClient
) -> None:
    credential_id = issue(api)
    made = offer(api, credential_id)
    api.post(f"/v1/credentials/{credential_id}/revoke", json={"wait": 0})
    response = wallet.post(
        f"/offers/{made['id']}/request", json=Holder().did_auth(challenge_of(made))
    )
    assert response.status_code == 409 and response.json()["code"] == "credential_revoked"
    again = api.post("/v1/offers", json={"credential_ids": [credential_id]})
    assert again.status_code == 409 and again.json()["code"] == "credential_revoked"


def test_a_credential_issued_to_a_did_goes_only_to_that_did(
    api: TestClient, wallet: TestClient
) -> None:
    owner, other = Holder(), Holder()
    made = offer(api, issue(api, id=owner.did))
    refused = wallet.post(f"/offers/{made['id']}/request", json=other.did_auth(challenge_of(made)))
    assert refused.status_code == 403 and refused.json()["code"] == "wrong_holder"
    accepted = wallet.post(f"/offers/{made['id']}/request", json=owner.did_auth(challenge_of(made)))
    assert accepted.json()["credentialSubject"]["id"] == owner.did


def test_a_vc_api_exchange_asks_for_did_authentication_bound_to_the_nodes_domain(
    api: TestClient, wallet: TestClient, node: Node
) -> None:
    made = offer(api, issue(api))
    exchange = made["links"]["exchange"]
    request = wallet.post(exchange, json={}).json()["verifiablePresentationRequest"]
    assert request["query"] == [
        {"type": "DIDAuthentication", "acceptedMethods": [{"method": "key"}]}
    ]
    assert request["domain"] == DOMAIN and request["challenge"] == challenge_of(made)
    assert request["interact"]["service"][0]["serviceEndpoint"] == exchange
    protocols = wallet.get(made["links"]["interaction"]).json()["protocols"]
    assert protocols == {"vcapi": exchange, "OID4VCI": made["links"]["openid4vci"]}
    browser = wallet.get(
        made["links"]["interaction"], headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert browser.status_code == 303 and browser.headers["location"] == made["links"]["page"]

    holder = Holder()
    before = footprint(node, made)
    no_domain = wallet.post(
        exchange, json={"verifiablePresentation": holder.did_auth(request["challenge"])}
    )
    assert no_domain.status_code == 403 and no_domain.json()["code"] == "domain_mismatch"
    assert footprint(node, made) == before
    done = wallet.post(
        exchange,
        json={"verifiablePresentation": holder.did_auth(request["challenge"], DOMAIN)},
    ).json()
    [credential] = done["verifiablePresentation"]["verifiableCredential"]
    assert credential["credentialSubject"]["id"] == holder.did


def test_a_cohort_gets_one_offer_per_learner_listed_by_cohort(api: TestClient) -> None:
    ids = [issue(api, name=f"Learner {n}") for n in range(3)]
    made = api.post(
        "/v1/offers", json={"credential_ids": ids, "cohort": "spring-2026", "ttl_seconds": 3600}
    ).json()["offers"]
    assert [o["credentialId"] for o in made] == ids
    assert [o["learner"] for o in made] == ["Learner 0", "Learner 1", "Learner 2"]
    assert len({o["links"]["page"] for o in made}) == 3
    listed = api.get("/v1/offers", params={"cohort": "spring-2026"}).json()["offers"]
    assert {o["id"] for o in listed} == {o["id"] for o in made}
    by_credential = api.get("/v1/offers", params={"credential_id": ids[1]}).json()["offers"]
    assert [o["id"] for o in by_credential] == [made[1]["id"]]


def test_an_unknown_offer_is_not_found(wallet: TestClient) -> None:
    response = wallet.post("/offers/no-such-offer-id/request", json={})
    assert response.status_code == 404 and response.json()["code"] == "offer_not_found"


def test_erasing_a_collected_credential_erases_its_bound_copy_and_forgets_the_holder(
    api: TestClient, wallet: TestClient, node: Node
) -> None:
    credential_id = issue(api)
    made = offer(api, credential_id)
    holder = Holder()
    response = wallet.post(
        f"/offers/{made['id']}/request", json=holder.did_auth(challenge_of(made))
    )
    assert response.status_code == 200, response.text
    copy_id = response.json()["id"]

    assert api.delete(f"/v1/credentials/{credential_id}").status_code == 204

    for erased in (credential_id, copy_id):
        shown = api.get(f"/v1/credentials/{erased}").json()
        assert shown["erased"] is True and shown["credential"] is None
        assert all(holder.did not in event["detail"] for event in shown["events"])
    assert api.get(f"/v1/offers/{made['id']}").json()["holder"] is None
    with node.db.session() as session:
        row = session.get(Offer, made["id"])
        assert row is not None and row.holder is None
