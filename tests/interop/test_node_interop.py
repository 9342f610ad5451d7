"""Credentials issued by a running lernode node verify in Digital Bazaar's verifier, end to end.

The other interop tests compare our credentials *library* with the JS stack using keys and DID
documents the test hands over. Here nothing is handed over: a node made by `bootstrap.prepare`
(embedded anvil, accredited institution) issues, anchors, revokes and suspends through its
services; the verifier (tests/interop/js/verify_issued.mjs) then runs `vc.verifyCredential` +
`vc-bitstring-status-list`'s `checkStatus` with a document loader that

- resolves the issuer's `did:ethr` with ethr-did-resolver 11.1.3 against the node's chain (RPC
  URL, chain id and ERC-1056 registry from `node.deployment`), so the key is whatever the chain
  says, not what lernode's database or resolver says;
- serves the status list credentials exactly as `GET /v1/status-lists/{id}` returned them;
- serves JSON-LD contexts from the node's bundle (no network).

Status: a credential carries one `message` entry with `statusSize: 2` (docs/design.md). checkStatus
reads one bit at `statusListIndex` (it ignores statusSize), which is the compatibility bit: `true`
for revoked and suspended credentials. The script also decodes the 2-bit value at bits
`[2i, 2i+1]` of the same list with the library's `decodeList`: 0x2 revoked, 0x1 suspended.

The verification method reaches `Ed25519Multikey.from()` as ethr-did-resolver renders the
`did/pub/Ed25519/veriKey/base58` attribute: an `Ed25519VerificationKey2018` with
`publicKeyBase58` and no `@context` (DID Core dereferencing of a fragment returns the node
itself). DB's library converts that form to a Multikey on its own, so the loader does no rewrite.
A loader that copied the DID document's `@context` onto the method would be refused
(`test_multikey_from_accepts_ed25519_2018_only_without_a_foreign_context`); such verifiers must
drop that context or rewrite the method to a Multikey (docs/did-ethr.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import base58
import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.chain.bindings import DID_REGISTRY
from node.chain.deploy import deploy_contract
from node.credentials import jcs
from node.credentials.cohort import cohort_inputs
from node.credentials.inputs import AchievementInput, CredentialInput, LearnerInput, ResultInput
from node.credentials.model import build_open_badge
from node.credentials.proofs import Cryptosuite
from node.credentials.status_list import (
    MIN_LIST_LENGTH,
    STATUS_SIZE,
    Bitstring,
    status_list_entry,
)
from node.issuance.allocation import Reservation
from node.issuance.service import HELPER_SIGNING
from node.issuance.status import StatusAction
from node.store.models import CredentialState, Institution, StatusList
from node.wiring.runtime import Node
from tests.support import interop
from tests.support.interop import VERIFY_ISSUED, run_node_script
from tests.support.nodes import ready_node
from tests.support.ob3_corpus import COHORT_CSV, COHORT_TEMPLATE, clr_parts, single_inputs

pytestmark = [pytest.mark.anvil, pytest.mark.interop]

SUITES = list(Cryptosuite)
#: What each test does to a credential; one credential per role and suite, so tests that change
#: status never touch the credentials another test expects to be clean.
ROLES = ("kept", "revoked", "suspended")

Verdict = dict[str, Any]


@dataclass
class IssuingNode:
    """The node under test, its institution, its public API and a handle on the JS verifier."""

    node: Node
    institution: Institution
    api: TestClient
    node_binary: str

    @property
    def chain(self) -> dict[str, Any]:
        deployment = self.node.deployment
        return {
            "rpcUrl": self.node.chain.rpc_url,
            "chainId": deployment.chain_id,
            "registry": deployment.did_registry,
        }

    def served_status_lists(self, credentials: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Every status list credential the credentials point at, fetched over the API the way
        a verifier dereferences `statusListCredential` (URL -> served JSON)."""
        base = self.node.settings.base_url
        served: dict[str, Any] = {}
        for credential in credentials:
            entries = credential["credentialStatus"]
            for entry in entries if isinstance(entries, list) else [entries]:
                url = entry["statusListCredential"]
                assert url.startswith(f"{base}/v1/status-lists/"), url
                if url not in served:
                    response = self.api.get(url.removeprefix(base))
                    assert response.status_code == 200, response.text
                    served[url] = response.json()
        return served

    def verify(
        self,
        credentials: Sequence[dict[str, Any]],
        *,
        documents: dict[str, Any] | None = None,
        chain: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One run of the JS verifier over `credentials` (status lists fetched now unless
        `documents` replaces them)."""
        request = {
            "chain": chain or self.chain,
            "documents": self.served_status_lists(credentials) if documents is None else documents,
            "credentials": list(credentials),
        }
        return run_node_script(self.node_binary, VERIFY_ISSUED, request)


def statuses(verdict: Verdict) -> dict[str, bool]:
    """checkStatus's bits by purpose (`True` = the bit is set: revoked / suspended)."""
    assert verdict["statuses"] is not None, verdict
    return {s["statusPurpose"]: s["status"] for s in verdict["statuses"]}


#: (checkStatus's 1-bit reading, the 2-bit value at [2i, 2i+1]) of each state.
ACTIVE, SUSPENDED, REVOKED = (False, 0), (True, 1), (True, 2)


def reading(verdict: Verdict) -> tuple[bool, int]:
    """What Digital Bazaar's library reads for the one `message` entry: checkStatus's bit at
    `statusListIndex` and the 2-bit value decoded from the same list."""
    assert verdict["statuses"] is not None, verdict
    [entry] = verdict["statuses"]
    assert entry["statusPurpose"] == "message", entry
    return entry["status"], entry["value"]


def _input(role: str) -> CredentialInput:
    """A badge with non-ASCII text, a result and a hashed e-mail identifier: the parts of OB 3.0
    that exercise the contexts and canonicalization, not just a minimal credential."""
    return CredentialInput(
        learner=LearnerInput(id="did:key:z6MkLearner", name="Zoë", email="zoe@example.org"),
        achievement=AchievementInput(
            achievement_type="Course",
            name=f"Álgebra lineal ({role})",
            description="Vectors and matrices",
            criteria_narrative="Pass the exam",
        ),
        results=[ResultInput(value="9.5", status="Completed")],
    )


@pytest.fixture(scope="module")
def issuing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IssuingNode]:
    """One node for the module, as `lernode up` makes it (prepare() on a fresh data dir), with
    confirmations=1 so `drain()` reaches finality in about a block. The background threads are
    not started: the tests drive the worker with `drain()`, so every state is deterministic."""
    node_binary = interop.node_binary()
    with ready_node(tmp_path_factory.mktemp("interop-node"), background=False) as ready:
        assert ready.accreditation == "accredited"
        with TestClient(create_app(ready.node)) as api:
            yield IssuingNode(ready.node, ready.institution, api, node_binary)


@pytest.fixture(scope="module")
def issued(issuing: IssuingNode) -> dict[tuple[str, Cryptosuite], dict[str, Any]]:
    """(role, suite) -> a credential the node issued and anchored (final on chain)."""
    node, institution = issuing.node, issuing.institution
    credentials: dict[tuple[str, Cryptosuite], dict[str, Any]] = {}
    for suite in SUITES:
        signed = node.issuance.issue(
            institution, [_input(role) for role in ROLES], cryptosuite=suite
        )
        credentials.update(((role, suite), c) for role, c in zip(ROLES, signed, strict=True))
    node.worker.drain(timeout=30)
    for credential in credentials.values():
        record = node.issuance.record(credential["id"])
        assert record.state == CredentialState.FINAL
        assert node.issuance.receipt(record) is not None
    return credentials


def _change_status(
    issuing: IssuingNode, credentials: list[dict[str, Any]], action: StatusAction
) -> None:
    changes = issuing.node.status.apply(issuing.institution, [c["id"] for c in credentials], action)
    assert all(change.changed for change in changes)
    issuing.node.worker.drain(timeout=30)


# -- the credential and its key --------------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES)
def test_reference_verifier_accepts_a_node_credential_with_the_key_from_the_chain(
    issuing: IssuingNode, issued: dict[tuple[str, Cryptosuite], dict[str, Any]], suite: Cryptosuite
) -> None:
    credential = issued["kept", suite]
    [proof] = credential["proof"]  # OB 3.0's array of one proof
    assert proof["cryptosuite"] == suite.value
    answer = issuing.verify([credential])
    [verdict] = answer["results"]
    assert verdict["verified"] is True, verdict["errors"]
    assert reading(verdict) == ACTIVE

    # The key it checked is the one ethr-did-resolver read from the registry: the node's
    # institution key, rendered as the 2018 method (not a Multikey we supplied).
    method_id = proof["verificationMethod"]
    assert answer["loads"][method_id] == "did:ethr"
    assert answer["loads"][issuing.institution.did] == "did:ethr"
    public_key = issuing.node.signing_key(issuing.institution).public_bytes
    assert answer["methods"][method_id] == {
        "id": method_id,
        "type": "Ed25519VerificationKey2018",
        "controller": issuing.institution.did,
        "publicKeyBase58": base58.b58encode(public_key).decode(),
    }


@pytest.mark.parametrize("suite", SUITES)
def test_reference_verifier_rejects_a_tampered_node_credential(
    issuing: IssuingNode, issued: dict[tuple[str, Cryptosuite], dict[str, Any]], suite: Cryptosuite
) -> None:
    credential = issued["kept", suite]
    subject = {**credential["credentialSubject"], "name": "Mallory"}
    [verdict] = issuing.verify([{**credential, "credentialSubject": subject}])["results"]
    assert verdict["verified"] is False
    assert "Invalid signature." in verdict["errors"]


def test_the_key_really_comes_from_the_chain(
    issuing: IssuingNode, issued: dict[tuple[str, Cryptosuite], dict[str, Any]]
) -> None:
    """The same DID resolved against a second, fresh ERC-1056 registry on the same chain (one
    that never saw the institution's key) has no `#delegate-1`: verification must fail, which
    shows the accepting verdicts above rest on what the node published on chain."""
    node = issuing.node
    empty_registry = deploy_contract(node.sender(node.operator), DID_REGISTRY).contract_address
    assert empty_registry is not None
    chain = {**issuing.chain, "registry": empty_registry}
    credential = issued["kept", Cryptosuite.EDDSA_RDFC_2022]
    [verdict] = issuing.verify([credential], chain=chain)["results"]
    assert verdict["verified"] is False
    missing = f"{credential['proof'][0]['verificationMethod']} is not a verification method of"
    assert any(missing in e for e in verdict["errors"]), verdict


# -- status lists ----------------------------------------------------------------------------


def test_checkstatus_reads_revocation_from_the_served_list(
    issuing: IssuingNode, issued: dict[tuple[str, Cryptosuite], dict[str, Any]]
) -> None:
    """Revocation written on chain shows up in the list credential the API serves, verified
    (proof, issuer, purpose `message`) by checkStatus: its 1-bit reading is "set" and the 2-bit
    value is 0x2; neighbours on the same list stay clear, and the credential itself still
    verifies (revocation is a status, not a forgery)."""
    targets = [issued["revoked", suite] for suite in SUITES]
    controls = [issued["kept", suite] for suite in SUITES]
    before = issuing.verify(targets)["results"]
    assert [reading(v) for v in before] == [ACTIVE, ACTIVE]

    _change_status(issuing, targets, StatusAction.REVOKE)

    after = issuing.verify(targets + controls)["results"]
    assert all(v["verified"] for v in after), [v["errors"] for v in after]
    assert [reading(v) for v in after] == [REVOKED, REVOKED, ACTIVE, ACTIVE]


def test_checkstatus_reads_suspension_and_reinstatement(
    issuing: IssuingNode, issued: dict[tuple[str, Cryptosuite], dict[str, Any]]
) -> None:
    targets = [issued["suspended", suite] for suite in SUITES]
    control = issued["kept", Cryptosuite.EDDSA_RDFC_2022]

    _change_status(issuing, targets, StatusAction.SUSPEND)
    suspended = issuing.verify([*targets, control])["results"]
    assert [reading(v) for v in suspended] == [SUSPENDED, SUSPENDED, ACTIVE]

    _change_status(issuing, targets, StatusAction.REINSTATE)
    reinstated = issuing.verify(targets)["results"]
    assert [reading(v) for v in reinstated] == [ACTIVE, ACTIVE]


def test_checkstatus_refuses_a_served_list_whose_bits_were_altered(
    issuing: IssuingNode, issued: dict[tuple[str, Cryptosuite], dict[str, Any]]
) -> None:
    """checkStatus verifies the status list credential's eddsa-rdfc-2022 proof against the
    chain key: a list whose bits changed after signing (here: every entry set) is refused, so
    the bits read in the tests above are the ones the node signed."""
    credential = issued["kept", Cryptosuite.EDDSA_RDFC_2022]
    documents = issuing.served_status_lists([credential])
    url = credential["credentialStatus"]["statusListCredential"]
    listed = documents[url]
    forged_subject = {**listed["credentialSubject"], "encodedList": _all_set_list()}
    documents[url] = {**listed, "credentialSubject": forged_subject}
    [verdict] = issuing.verify([credential], documents=documents)["results"]
    assert verdict["verified"] is False
    errors = verdict["errors"]
    assert any(e.startswith('"BitstringStatusListCredential" not verified') for e in errors)
    assert "Invalid signature." in errors


def _all_set_list() -> str:
    length = STATUS_SIZE * MIN_LIST_LENGTH
    return Bitstring(length, b"\xff" * (length // 8)).encode()


# -- the varied corpus and credentials from before the message design ------------------------


def test_reference_verifier_accepts_every_credential_of_the_varied_corpus(
    issuing: IssuingNode,
) -> None:
    """The schema-conformance corpus (every result kind, identifier type, image, RTL and emoji
    text, activity dates...), issued by this chain-backed node one request at a time, as a CSV
    cohort and as a CLR transcript, verifies in Digital Bazaar's verifier (proof as an array of
    one), each embedded credential of the CLR too, and checkStatus reads every one as active."""
    node, institution = issuing.node, issuing.institution
    suites = list(Cryptosuite)
    singles = [
        credential
        for n, data in enumerate(single_inputs())
        for credential in node.issuance.issue(institution, [data], cryptosuite=suites[n % 2])
    ]
    cohort = node.issuance.issue(institution, cohort_inputs(COHORT_TEMPLATE, COHORT_CSV))
    learner, courses = clr_parts()
    clr = node.issuance.issue_clr(institution, learner, courses, name="Transcript")
    everything = [*singles, *cohort, clr, *clr["credentialSubject"]["verifiableCredential"]]
    verdicts = issuing.verify(everything)["results"]
    failures = {
        c["id"]: v["errors"] for c, v in zip(everything, verdicts, strict=True) if not v["verified"]
    }
    assert failures == {}
    assert {reading(v) for v in verdicts} == {ACTIVE}
    print(f"\nDigital Bazaar: {len(everything)} of {len(everything)} corpus credentials verified")


@pytest.mark.parametrize("suite", SUITES)
def test_reference_verifier_accepts_every_credential_of_a_request_signed_by_the_helper(
    issuing: IssuingNode, suite: Cryptosuite
) -> None:
    """A request large enough for the signing helper process (node/issuance/signer.py) gives
    credentials Digital Bazaar verifies, every one: the chunks the helper signed and the
    documents finished with its signatures in this process."""
    node, institution = issuing.node, issuing.institution
    inputs = [_input(f"cohort {n}") for n in range(HELPER_SIGNING)]
    signed = node.issuance.issue(institution, inputs, cryptosuite=suite)
    helper = node.issuance._signer
    assert helper is not None and helper._process is not None  # the helper signed them
    verdicts = issuing.verify(signed)["results"]
    assert [v["errors"] for v in verdicts if not v["verified"]] == []
    assert {reading(v) for v in verdicts} == {ACTIVE}


def test_a_credential_issued_before_the_message_design_still_verifies_with_both_entries(
    issuing: IssuingNode,
) -> None:
    """A credential from before (a revocation + a suspension entry on a 1-bit list pair, proof
    as an object) keeps verifying, its lists keep being served at `-revocation` / `-suspension`,
    and checkStatus reads its revocation from them."""
    node, institution = issuing.node, issuing.institution
    number, index = 1_000, 5
    with node.db.session() as session:
        session.add(
            StatusList(
                institution_id=institution.id,
                list_number=number,
                capacity=MIN_LIST_LENGTH,
                next_index=index + 1,
                status_size=1,
            )
        )
    entries = [
        status_list_entry(node.issuance.status_list_url(institution, number, p), index, p)
        for p in ("revocation", "suspension")
    ]
    unsigned = build_open_badge(
        _input("issued before"), node.issuance._profile(institution), credential_status=entries
    )
    # What the node stored before: the service's own signing and storing, with the old entries.
    [stored] = node.issuance._sign_and_store(
        institution,
        [(unsigned, jcs.canonical_members(unsigned))],
        Reservation([(number, index)]),
        Cryptosuite.EDDSA_RDFC_2022,
        False,
    )
    old = {**stored, "proof": stored["proof"][0]}
    [before] = issuing.verify([old])["results"]
    assert before["verified"] is True, before["errors"]
    assert statuses(before) == {"revocation": False, "suspension": False}

    _change_status(issuing, [old], StatusAction.REVOKE)
    [after] = issuing.verify([old])["results"]
    assert after["verified"] is True, after["errors"]
    assert statuses(after) == {"revocation": True, "suspension": False}
    assert {e.get("value") for e in after["statuses"]} == {None}  # 1-bit entries: no 2-bit value


# -- key rotation ----------------------------------------------------------------------------


def test_credentials_signed_before_a_key_rotation_still_verify(
    issuing: IssuingNode, issued: dict[tuple[str, Cryptosuite], dict[str, Any]]
) -> None:
    """After `rotate_signing_key` the DID gains `#delegate-2` and the node signs new credentials
    (and status lists) with it; ethr-did-resolver must still list `#delegate-1`, or every
    credential issued before the rotation would stop verifying elsewhere. It shares the node with
    the other tests in any order: they sign with (or check) `#delegate-1`, which stays valid."""
    node = issuing.node
    rotated = node.onboarding.rotate_signing_key(issuing.institution)
    old = issued["kept", Cryptosuite.EDDSA_JCS_2022]
    assert rotated.verification_method != old["proof"][0]["verificationMethod"]
    [new] = node.issuance.issue(rotated, [_input("after rotation")])
    node.worker.drain(timeout=30)
    answer = issuing.verify([old, new])
    assert [v["verified"] for v in answer["results"]] == [True, True], answer["results"]
    assert new["proof"][0]["verificationMethod"] == rotated.verification_method
    assert set(answer["methods"]) == {
        old["proof"][0]["verificationMethod"],
        rotated.verification_method,
    }
