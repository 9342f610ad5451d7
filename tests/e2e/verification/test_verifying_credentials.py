"""Specifications for a verifier checking an institution's credentials against a real chain:
what makes a credential valid, and each way it can stop being so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from node.chain.contracts.types import ProposalAction, credential_type_id
from node.credentials.inputs import IssuerProfile, LearnerInput
from node.credentials.merkle import credential_hash, leaf
from node.credentials.model import build_clr
from node.credentials.proofs import sign
from node.credentials.status_list import MIN_LIST_LENGTH, Bitstring, status_list_credential
from node.did.attributes import publish_ed25519_key
from node.did.chain_resolver import ChainDidResolver
from node.errors import ContractRevert
from node.issuance.onboarding import ATTRIBUTE_VALIDITY
from node.issuance.status import StatusAction
from node.store.models import Institution
from tests.support.verification_nodes import (
    IssuerSite,
    advance,
    credential_input,
    failing,
    start_chain,
)

pytestmark = pytest.mark.anvil


def second_institution(site: IssuerSite, name: str, kinds: list[str]) -> Institution:
    """Another institution on the same node, accredited for `kinds` only."""
    node = site.node
    institution = node.onboarding.create_institution(name)
    proposal = node.onboarding.request_accreditation(
        node.governance, node.operator, institution, kinds
    )
    node.governance.execute(node.operator, proposal)
    return institution


def issuer_action(site: IssuerSite, action: ProposalAction, institution: Institution) -> None:
    governance, operator = site.node.governance, site.node.operator
    governance.execute(
        operator, governance.propose_issuer_action(operator, action, institution.address)
    )


def anchor_directly(site: IssuerSite, institution: Institution, root: bytes, kind: str) -> None:
    """Anchor a root with the institution's own account, bypassing the node's worker."""
    account = site.node.onboarding.account(institution)
    registry = site.node.contracts.credential_registry
    site.node.sender(account).transact(registry.anchor(root, 1, credential_type_id(kind)))


# -- valid ------------------------------------------------------------------------------------


def test_an_issued_and_anchored_credential_is_valid(site: IssuerSite, api: TestClient) -> None:
    bundle = site.issue()
    report = site.verify(bundle)
    assert report.verdict == "valid", failing(report)
    assert report.credential["achievement"]["name"] == "Industrial Electrician"
    assert report.credential["issuer"]["id"] == site.institution.did

    response = api.post("/v1/verify", json=bundle)
    assert response.status_code == 200
    assert response.json()["verdict"] == "valid"
    assert [c["status"] for c in response.json()["checks"]] == ["passed"] * 7


def test_the_node_finds_the_receipt_of_its_own_credentials(
    site: IssuerSite, api: TestClient
) -> None:
    bundle = site.issue()
    response = api.post("/v1/verify", json=bundle["credential"])
    assert response.json()["verdict"] == "valid"
    anchor = next(c for c in response.json()["checks"] if c["name"] == "anchor")
    assert anchor["code"] == "anchored"


# -- tampering and receipts -------------------------------------------------------------------


def test_a_changed_field_invalidates_the_signature_and_the_anchor(site: IssuerSite) -> None:
    bundle = site.issue()
    bundle["credential"]["credentialSubject"]["name"] = "Someone Else"
    assert failing(site.verify(bundle)) == {
        "proof": "proof_invalid",
        "anchor": "receipt_mismatch",
        "accreditation": "no_anchor_time",
    }


def test_a_receipt_for_another_root_does_not_anchor_the_credential(site: IssuerSite) -> None:
    first, second = site.issue(), site.issue()
    swapped = {"credential": first["credential"], "receipt": second["receipt"]}
    assert failing(site.verify(swapped)) == {
        "anchor": "receipt_mismatch",
        "accreditation": "no_anchor_time",
    }


def test_a_credential_whose_hash_was_never_anchored_fails_the_anchor(site: IssuerSite) -> None:
    pending = site.node.issuance.issue(site.institution, [credential_input()])[0]
    own_leaf = "0x" + leaf(credential_hash(pending)).hex()
    receipt = {
        **site.issue()["receipt"],
        "credentialHash": "0x" + credential_hash(pending).hex(),
        "leaf": own_leaf,
        "root": own_leaf,
        "proof": [],
    }
    assert failing(site.verify({"credential": pending, "receipt": receipt}))["anchor"] == (
        "not_anchored"
    )
    site.node.worker.drain()  # leave nothing pending for the next specification


# -- keys -------------------------------------------------------------------------------------


def test_a_key_rotated_later_still_verifies_what_it_signed(site: IssuerSite) -> None:
    before = site.issue()
    advance(site.node, 5)
    site.institution = site.node.onboarding.rotate_signing_key(site.institution)
    after = site.issue()
    assert (
        before["credential"]["proof"][0]["verificationMethod"]
        != (after["credential"]["proof"][0]["verificationMethod"])
    )
    assert site.verify(before).verdict == "valid"
    assert site.verify(after).verdict == "valid"


def test_a_key_published_after_the_anchor_cannot_have_signed_the_credential(
    site: IssuerSite,
) -> None:
    node, institution = site.node, site.institution
    document = site.issue()["credential"]
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    unsigned["id"] = "urn:uuid:6f1c1d9e-2d35-4c8e-9a83-0c5bb0b1f0a1"
    late_key = node.keystore.create_signing_key()
    numbers = [
        int(m["id"].rsplit("-", 1)[1])
        for m in ChainDidResolver(node.chain, node.contracts.did_registry).document_at(
            institution.did, None
        )["verificationMethod"]
        if "#delegate-" in m["id"]
    ]
    late_id = f"{institution.did}#delegate-{max(numbers) + 1}"
    forged = sign(unsigned, late_key.private_key, late_id, created=datetime.now(UTC))
    anchor_directly(site, institution, leaf(credential_hash(forged)), "OpenBadgeCredential")
    advance(node, 5)
    attribute = publish_ed25519_key(late_key.public_bytes)
    account = node.onboarding.account(institution)
    node.sender(account).transact(
        node.contracts.did_registry.set_attribute(
            account.address, attribute.name, attribute.value, ATTRIBUTE_VALIDITY
        )
    )
    assert node.onboarding.verification_method_for(institution.did, late_key.public_bytes) == (
        late_id
    )
    assert failing(site.verify(forged)) == {
        "issuer_key": "key_added_after_issuance",
        "proof": "key_unavailable",
    }


# -- the issuer's standing --------------------------------------------------------------------


def test_suspension_stops_new_credentials_but_not_those_anchored_before(
    site: IssuerSite,
) -> None:
    college = second_institution(site, "Suspended College", ["OpenBadgeCredential"])
    before = site.issue(college)
    advance(site.node, 5)
    issuer_action(site, ProposalAction.SUSPEND_ISSUER, college)
    advance(site.node, 5)
    try:
        assert site.verify(before).verdict == "valid"

        after = site.node.issuance.issue(college, [credential_input()])[0]
        with pytest.raises(ContractRevert) as refused:
            anchor_directly(site, college, leaf(credential_hash(after)), "OpenBadgeCredential")
        assert refused.value.code == "not_accredited"
        report = site.verify(after)
        assert report.verdict == "invalid"
        assert failing(report) == {
            "accreditation": "issuer_suspended",
            "anchor": "no_receipt",
        }
    finally:
        issuer_action(site, ProposalAction.REINSTATE_ISSUER, college)
        site.node.worker.drain()


def test_a_credential_type_the_issuer_is_not_accredited_for_fails_accreditation(
    site: IssuerSite,
) -> None:
    college = second_institution(site, "Badges Only College", ["OpenBadgeCredential"])
    part = site.issue(college)["credential"]
    signing_key = site.node.signing_key(college)
    assert college.verification_method is not None
    transcript = sign(
        build_clr(
            [part],
            IssuerProfile(id=college.did, name=college.name),
            LearnerInput(name="Grace Hopper", email="grace@example.edu"),
            name="Transcript",
        ),
        signing_key.private_key,
        college.verification_method,
    )
    # The contract checks the type the anchoring issuer declares, so a CLR can be slipped
    # under an Open Badge anchor; the verifier checks the credential's real type.
    anchor_directly(site, college, leaf(credential_hash(transcript)), "OpenBadgeCredential")
    assert failing(site.verify(transcript)) == {"accreditation": "not_accredited_for_type"}


# -- status -----------------------------------------------------------------------------------


def test_revoked_and_suspended_credentials_are_reported_as_such(site: IssuerSite) -> None:
    revoked, suspended = site.issue(), site.issue()
    status = site.node.status
    status.apply(site.institution, [revoked["credential"]["id"]], StatusAction.REVOKE)
    status.apply(site.institution, [suspended["credential"]["id"]], StatusAction.SUSPEND)
    site.node.worker.drain()
    assert failing(site.verify(revoked)) == {"status": "revoked"}
    assert failing(site.verify(suspended)) == {"status": "suspended"}

    status.apply(site.institution, [suspended["credential"]["id"]], StatusAction.REINSTATE)
    site.node.worker.drain()
    assert site.verify(suspended).verdict == "valid"


def test_a_status_list_supplied_by_the_holder_must_agree_with_the_chain(
    site: IssuerSite,
) -> None:
    bundle = site.issue()
    entry = bundle["credential"]["credentialStatus"]
    assert entry["statusPurpose"] == "message"
    served = site.node.status.list_credential(entry["statusListCredential"].rsplit("/", 1)[1])
    assert site.verify({**bundle, "statusListCredentials": [served]}).verdict == "valid"

    index = int(entry["statusListIndex"])
    claims_revoked = status_list_credential(
        entry["statusListCredential"],
        site.institution.did,
        "message",
        Bitstring.from_indices([2 * index, index], 2 * MIN_LIST_LENGTH),
        valid_from=datetime.now(UTC),
    )
    report = site.verify({**bundle, "statusListCredentials": [claims_revoked]})
    assert failing(report) == {"status": "status_list_mismatch"}


# -- time and chain ---------------------------------------------------------------------------


def test_an_expired_credential_is_invalid_after_its_validuntil(
    site: IssuerSite, api: TestClient
) -> None:
    until = datetime.now(UTC) + timedelta(days=365)
    bundle = site.issue(valid_until=until.isoformat())
    assert site.verify(bundle).verdict == "valid"
    later = (until + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert failing(site.verify(bundle, at=later)) == {"validity": "expired"}
    response = api.post("/v1/verify", params={"at": later}, json=bundle)
    assert response.json()["verdict"] == "invalid"


def test_a_credential_from_a_different_chain_is_the_wrong_chain(
    site: IssuerSite, tmp_path: Path
) -> None:
    other_chain = start_chain(chain_id=4242)
    try:
        elsewhere = IssuerSite.open(tmp_path / "elsewhere", other_chain)
        try:
            bundle = elsewhere.issue()
        finally:
            elsewhere.node.close()
    finally:
        other_chain.stop()
    assert failing(site.verify(bundle)) == {
        "anchor": "wrong_chain",
        "issuer_key": "wrong_chain",
        "proof": "key_unavailable",
        "accreditation": "wrong_chain",
        "status": "wrong_chain",
    }


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 422, "invalid_json"),
        (b"[1, 2, 3]", 422, "not_a_credential"),
        (b'{"hello": "world"}', 422, "not_a_credential"),
        (b"", 422, "empty_body"),
    ],
)
def test_bad_input_is_a_problem_document_never_a_500(
    api: TestClient, content: bytes, status: int, code: str
) -> None:
    response = api.post("/v1/verify", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


@pytest.mark.parametrize("name", ["challenge", "domain"])
def test_a_query_the_verifier_cannot_use_is_an_invalid_request_problem(
    site: IssuerSite, api: TestClient, name: str
) -> None:
    bundle = site.issue()
    too_long = api.post("/v1/verify", params={name: "x" * 1025}, json=bundle)
    assert (too_long.status_code, too_long.json()["code"]) == (422, "invalid_request")
    assert too_long.json()["errors"] == [
        {"location": f"query.{name}", "message": "String should have at most 1024 characters"}
    ]
    bad_instant = api.post("/v1/verify", params={"at": "yesterday", name: "x"}, json=bundle)
    assert (bad_instant.status_code, bad_instant.json()["code"]) == (422, "invalid_datetime")
    fits = api.post("/v1/verify", params={name: "x" * 1024}, json=bundle)
    assert (fits.status_code, fits.json()["verdict"]) == (200, "valid")


def test_unsupported_proofs_and_did_methods_are_problems(site: IssuerSite, api: TestClient) -> None:
    credential = site.issue()["credential"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({**credential, "proof": [{**credential["proof"][0], "type": "JsonWebSignature2020"}]},
         "unsupported_proof_type"),
        ({**credential, "issuer": {**credential["issuer"], "id": "did:example:example.edu"}},
         "unsupported_did_method"),
    ]  # fmt: skip
    for body, code in cases:
        response = api.post("/v1/verify", json=body)
        assert (response.status_code, response.json()["code"]) == (422, code)


def test_an_oversized_body_is_refused_before_it_is_read(api: TestClient) -> None:
    limit = api.app.state.node.settings.max_verify_body_bytes  # type: ignore[attr-defined]
    huge = b'{"credential": "' + b"x" * (limit + 100_000) + b'"}'
    response = api.post("/v1/verify", content=huge, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


# -- the page ---------------------------------------------------------------------------------


def test_the_page_verifies_a_pasted_or_uploaded_bundle(site: IssuerSite, api: TestClient) -> None:
    bundle = json.dumps(site.issue())
    pasted = api.post("/verify", data={"credential": bundle, "at": ""})
    uploaded = api.post("/verify", files={"file": ("bundle.json", bundle, "application/json")})
    for response in (pasted, uploaded):
        assert response.status_code == 200
        assert 'data-verdict="valid"' in response.text
        assert "Industrial Electrician" in response.text
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "script-src" not in response.headers["content-security-policy"]


def test_the_page_escapes_what_the_credential_says(site: IssuerSite, api: TestClient) -> None:
    bundle = site.issue(learner={"name": "<script>alert(1)</script>", "email": "x@example.edu"})
    response = api.post("/verify", data={"credential": json.dumps(bundle)})
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text
