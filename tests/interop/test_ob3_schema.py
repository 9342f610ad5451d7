"""Every credential the node issues validates against 1EdTech's published OB 3.0 JSON Schemas.

Strict OB 3.0 consumers (1EdTech's validator, wallets) apply those schemas to a credential as
plain JSON. A varied corpus (tests/interop/ob3_corpus.py) goes through the real issuance service
(single credentials, a CSV cohort, a CLR transcript) and every result is validated with
`jsonschema` (draft 2019-09, formats checked):

- each OpenBadgeCredential, including each one embedded in a CLR, against
  `ob_v3p0_achievementcredential` (1EdTech's, unmodified);
- each issuer profile and achievement creator against `ob_v3p0_profile`;
- each ClrCredential against the CLR 2.0 envelope schema (ours, see schemas/README.md: 1EdTech's
  CLR schema is not available here);
- each served status list credential against the Bitstring Status List shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft201909Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from node.credentials.cohort import cohort_inputs
from node.credentials.model import OB_SCHEMA
from node.credentials.proofs import Cryptosuite, sign
from node.credentials.status_list import (
    Bitstring,
    StatusPurpose,
    message_bitstring,
    status_list_credential,
)
from node.issuance.service import ChainInfo, IssuanceService
from node.keystore import Ed25519Key
from node.store.db import Database
from node.store.models import Institution
from tests.support.ob3_corpus import COHORT_CSV, COHORT_TEMPLATE, clr_parts, single_inputs

SCHEMAS = Path(__file__).parent / "schemas"
SHARED_SCHEMAS = Path(__file__).parents[2].parent / "shared" / "schemas" / "ob-3.0"
OB_CREDENTIAL = "ob_v3p0_achievementcredential-jsonschema1.json"
OB_PROFILE = "ob_v3p0_profile-jsonschema1.json"
CLR_ENVELOPE = "clr_v2p0_envelope.json"
STATUS_LIST = "bitstring_status_list_credential.json"
ISSUER_DID = "did:ethr:0x7a69:0x5fbdb2315678afecb367f032d93f642f64180aa3"
LOGO = "https://uni.example/logo.png"

pytestmark = pytest.mark.interop


def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


def _validators() -> dict[str, Draft201909Validator]:
    names = [OB_CREDENTIAL, OB_PROFILE, CLR_ENVELOPE, STATUS_LIST]
    resources = [(s["$id"], Resource.from_contents(s)) for s in map(_schema, names)]
    registry: Registry[Any] = Registry().with_resources(resources)
    return {
        name: Draft201909Validator(_schema(name), registry=registry, format_checker=FormatChecker())
        for name in names
    }


VALIDATORS = _validators()


def problems(schema: str, document: Any) -> list[str]:
    """Every schema violation, as `path: message` (empty = valid)."""
    errors = list(VALIDATORS[schema].iter_errors(document))
    worst = best_match(errors)
    listed = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    return listed if worst is None else [f"most relevant: {worst.message}", *listed]


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """The corpus issued by the issuance service (SQLite, a real Ed25519 key, no chain needed)."""
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('ob3') / 'lernode.sqlite'}")
    db.migrate()
    with db.session() as session:
        institution = Institution(
            name="Universidad de Ejemplo — جامعة",
            address="0x5fbdb2315678afecb367f032d93f642f64180aa3",
            did=ISSUER_DID,
            verification_method=f"{ISSUER_DID}#delegate-1",
            profile_url="https://uni.example",
            image_url=LOGO,
        )
        session.add(institution)
        session.flush()
        session.refresh(institution)
        session.expunge(institution)
    key = Ed25519Key("k", Ed25519PrivateKey.generate())
    service = IssuanceService(
        db, "https://node.example", lambda _: key, ChainInfo(31337, "0x" + "0" * 40), lambda _: None
    )
    singles = [
        credential
        for n, data in enumerate(single_inputs())
        for credential in service.issue(institution, [data], cryptosuite=list(Cryptosuite)[n % 2])
    ]
    cohort = service.issue(institution, cohort_inputs(COHORT_TEMPLATE, COHORT_CSV))
    learner, courses = clr_parts()
    clr = service.issue_clr(institution, learner, courses, name="Transcript — سجل")
    embedded = list(clr["credentialSubject"]["verifiableCredential"])
    try:
        yield {"singles": singles, "cohort": cohort, "clr": [clr], "embedded": embedded}
    finally:
        db.dispose()


def _open_badges(issued: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return issued["singles"] + issued["cohort"] + issued["embedded"]


def test_the_copied_schemas_are_byte_identical_to_shared() -> None:
    if not SHARED_SCHEMAS.is_dir():
        pytest.skip("../shared is not available")
    for shared in SHARED_SCHEMAS.iterdir():
        assert (SCHEMAS / shared.name).read_bytes() == shared.read_bytes(), shared.name


def test_the_corpus_is_varied_and_large_enough(issued: dict[str, list[dict[str, Any]]]) -> None:
    """What the corpus covers, measured on what was issued (not on what was meant)."""
    badges = _open_badges(issued)
    subjects = [b["credentialSubject"] for b in badges]
    identity_types = {i["identityType"] for s in subjects for i in s.get("identifier", [])}
    assert {"sisSourcedId", "emailAddress", "ext:MatriculationNumber", "isbn"} <= identity_types
    assert {i["hashed"] for s in subjects for i in s.get("identifier", [])} == {True, False}
    statuses = {r.get("status") for s in subjects for r in s.get("result", [])}
    assert {"Completed", "Withdrew", "InProgress", "OnHold"} <= statuses
    assert any("activityStartDate" in s for s in subjects)
    assert any("validUntil" in b for b in badges) and any("evidence" in b for b in badges)
    assert any(s["achievement"].get("image") for s in subjects)
    assert len(badges) + len(issued["clr"]) >= 70


def test_every_issued_open_badge_validates_against_the_1edtech_schema(
    issued: dict[str, list[dict[str, Any]]],
) -> None:
    badges = _open_badges(issued)
    invalid = {b["id"]: problems(OB_CREDENTIAL, b) for b in badges}
    assert {k: v for k, v in invalid.items() if v} == {}
    print(f"\nOB 3.0 schema: {len(badges)} of {len(badges)} issued OpenBadgeCredentials valid")


def test_every_issuer_profile_and_creator_validates_against_the_profile_schema(
    issued: dict[str, list[dict[str, Any]]],
) -> None:
    profiles = [b["issuer"] for b in _open_badges(issued) + issued["clr"]]
    profiles += [b["credentialSubject"]["achievement"]["creator"] for b in _open_badges(issued)]
    assert all(p["image"] == {"id": LOGO, "type": "Image", "caption": p["name"]} for p in profiles)
    assert [problems(OB_PROFILE, p) for p in profiles] == [[]] * len(profiles)


def test_every_clr_validates_against_the_clr_2_envelope_and_embeds_valid_badges(
    issued: dict[str, list[dict[str, Any]]],
) -> None:
    [clr] = issued["clr"]
    assert problems(CLR_ENVELOPE, clr) == []
    embedded = clr["credentialSubject"]["verifiableCredential"]
    assert len(embedded) == 3
    assert [problems(OB_CREDENTIAL, c) for c in embedded] == [[], [], []]


def test_every_credential_has_one_status_entry_one_proof_and_the_1edtech_schema(
    issued: dict[str, list[dict[str, Any]]],
) -> None:
    for credential in _open_badges(issued) + issued["clr"]:
        assert isinstance(credential["credentialStatus"], dict)
        assert credential["credentialStatus"]["statusPurpose"] == "message"
        assert isinstance(credential["proof"], list) and len(credential["proof"]) == 1
        schema_ids = [s["id"] for s in credential["credentialSchema"]]
        assert schema_ids[0] in (OB_SCHEMA, issued["clr"][0]["credentialSchema"][0]["id"])
        assert credential["credentialSchema"][0]["type"] == "1EdTechJsonSchemaValidator2019"


@pytest.mark.parametrize("purpose", list(StatusPurpose))
def test_status_list_credentials_have_the_bitstring_status_list_shape(
    purpose: StatusPurpose,
) -> None:
    url = f"https://node.example/v1/status-lists/0xabc-0-{purpose.value}"
    bits = (
        message_bitstring([70_000], [70_001], allocatable=range(65_536, 131_072))
        if purpose is StatusPurpose.MESSAGE
        else Bitstring.from_indices([7])
    )
    unsigned = status_list_credential(
        url, ISSUER_DID, purpose, bits, valid_from=datetime(2025, 1, 1, tzinfo=UTC)
    )
    signed = sign(unsigned, Ed25519PrivateKey.generate(), f"{ISSUER_DID}#delegate-1")
    assert problems(STATUS_LIST, signed) == []


def test_the_schema_check_does_catch_what_1edtech_rejects(
    issued: dict[str, list[dict[str, Any]]],
) -> None:
    """The shapes the audit found: two status entries, a proof object, `studentId`, a date."""
    badge = issued["singles"][0]
    subject = badge["credentialSubject"]
    broken = [
        {**badge, "credentialStatus": [badge["credentialStatus"]] * 2},
        {**badge, "proof": badge["proof"][0]},
        {**badge, "credentialSubject": {**subject, "activityStartDate": "2024-09-01"}},
        {
            **badge,
            "credentialSubject": {
                **subject,
                "identifier": [{**subject["identifier"][0], "identityType": "studentId"}],
            },
        },
    ]
    assert all(problems(OB_CREDENTIAL, b) for b in broken)
