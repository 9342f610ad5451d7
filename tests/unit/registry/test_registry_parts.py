"""Specifications of the registry's parts that need no chain: the metadata document members vote
on, the replay of an issuer's history, the JOSE the statements use, and the client of other
OpenID Federation registries with its guard."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from eth_hash.auto import keccak
from pydantic import ValidationError

from node.chain.contracts.types import IssuerStatus
from node.errors import InvalidInput
from node.governance.history import OPEN, replay_issuer
from node.governance.metadata import IssuerMetadata, normalize_alias, normalize_aliases
from node.registry.foreign import (
    FetchPolicy,
    GuardedFetch,
    OidfRegistries,
    RegistryUnavailable,
    is_public_address,
)
from node.registry.jose import JwsInvalid, JwsSigner, b64url, thumbprint, verify_jws
from node.registry.trqp import TrqpBadRequest, parse_time
from node.store.models import GovernanceEvent, GovernanceEventKind

# -- the metadata document --------------------------------------------------------------------


def test_the_same_profile_is_always_the_same_bytes_and_hash_on_chain() -> None:
    one = IssuerMetadata(organization_name="Tech", location="Boston", rorid="042nb2s44")
    two = IssuerMetadata.model_validate(
        {"rorid": "https://ror.org/042NB2S44", "location": "Boston", "organization_name": "Tech"}
    )
    assert one.to_chain() == two.to_chain()
    assert keccak(one.to_chain().encode()) == keccak(two.to_chain().encode())
    assert json.loads(one.to_chain()) == {
        "type": "LernodeIssuerMetadata/1",
        "organization_name": "Tech",
        "location": "Boston",
        "rorid": "042nb2s44",
    }


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[1, 2]",
        json.dumps({"organization_name": "No type"}),
        json.dumps({"type": "LernodeIssuerMetadata/1", "organization_name": ""}),
        json.dumps(
            {
                "type": "LernodeIssuerMetadata/1",
                "organization_name": "X",
                "homepage_uri": "javascript:alert(1)",
            }
        ),
    ],
)
def test_a_published_document_that_is_not_a_valid_profile_describes_none(text: str) -> None:
    assert IssuerMetadata.from_chain(text) is None


def test_unknown_keys_of_a_published_document_are_ignored() -> None:
    text = json.dumps({"type": "LernodeIssuerMetadata/1", "organization_name": "X", "later": 1})
    assert IssuerMetadata.from_chain(text) == IssuerMetadata(organization_name="X")


@pytest.mark.parametrize(
    "fields",
    [
        {"organization_name": "Tab\there"},
        {"organization_name": "X", "logo_uri": "data:text/html;base64,PHNjcmlwdD4="},
        {"organization_name": "X", "ctid": "ce-123"},
        {"organization_name": "X", "rorid": "not-a-ror"},
    ],
)
def test_invalid_metadata_is_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        IssuerMetadata.model_validate(fields)


@pytest.mark.parametrize(
    ("name", "homepage", "expected"),
    [
        ("Tech College", "https://tech.example", ("Tech College", "https://tech.example")),
        ("\x82\x13", None, ("Unnamed institution", None)),
        ("  Tab\tCollege\n", "http://plain.example", ("TabCollege", None)),
        ("X" * 600, "https://x.example/a b", ("X" * 200, None)),
    ],
)
def test_a_nodes_own_institution_always_has_a_profile_to_propose(
    name: str, homepage: str | None, expected: tuple[str, str | None]
) -> None:
    profile = IssuerMetadata.from_profile(name, homepage)
    assert (profile.organization_name, profile.homepage_uri) == expected
    assert profile.to_chain()


def test_a_profile_larger_than_the_contract_accepts_is_refused_before_sending() -> None:
    big = IssuerMetadata(
        organization_name="X" * 200,
        legal_name="Y" * 300,
        homepage_uri="https://example.org/" + "a" * 480,
        logo_uri="data:image/png;base64," + "A" * 2970,
        location="Z" * 200,
    )
    with pytest.raises(InvalidInput) as raised:
        big.to_chain()
    assert raised.value.code == "metadata_too_long"


def test_aliases_are_proposed_in_normal_form() -> None:
    assert normalize_alias("did:web:LocalHost%3a8443:Issuers:Harbor") == (
        "did:web:localhost%3A8443:Issuers:Harbor"  # host case folds, paths keep theirs
    )
    assert normalize_aliases(["did:web:A.example", "did:web:a.example", "did:key:z6Mk1"]) == [
        "did:web:a.example",
        "did:key:z6Mk1",
    ]
    for bad in ("did:ethr:0x1:0x" + "11" * 20, "https://example.org", "did:web:" + "a" * 260):
        with pytest.raises(InvalidInput):
            normalize_alias(bad)
    with pytest.raises(InvalidInput):
        normalize_aliases([f"did:web:{i}.example" for i in range(9)])


# -- replaying an issuer's history -------------------------------------------------------------

OB = "0x" + "0b" * 32
CLR = "0x" + "0c" * 32


def event(kind: GovernanceEventKind, at: int, proposal: int, **fields: Any) -> GovernanceEvent:
    return GovernanceEvent(
        contract="0xregistry",
        subject="0xissuer",
        kind=kind,
        proposal_id=proposal,
        block_number=at,
        log_index=0,
        block_hash=f"0x{at:064x}",
        block_time=at,
        tx_hash=f"0x{proposal:064x}",
        **fields,
    )


def accredit(at: int, proposal: int, types: list[str], **window: int) -> GovernanceEvent:
    return event(
        GovernanceEventKind.ACCREDITED,
        at,
        proposal,
        credential_types=json.dumps(types),
        valid_from=window.get("valid_from", 0),
        valid_until=window.get("valid_until", 0),
        metadata_hash="0x" + "00" * 32,
    )


def test_replay_follows_the_contracts_rules_for_grants_and_status() -> None:
    history = replay_issuer(
        "0xissuer",
        [
            accredit(100, 1, [OB], valid_until=1000),
            event(GovernanceEventKind.SUSPENDED, 200, 2),
            accredit(300, 3, [OB, CLR]),  # re-accredited while suspended: stays suspended
            event(GovernanceEventKind.REINSTATED, 400, 4),
            event(GovernanceEventKind.REMOVED, 500, 5),
        ],
    )
    assert [(s.status, s.at) for s in history.statuses] == [
        (IssuerStatus.ACTIVE, 100),
        (IssuerStatus.SUSPENDED, 200),
        (IssuerStatus.ACTIVE, 400),
        (IssuerStatus.REMOVED, 500),
    ]
    assert [(g.credential_type, g.granted_at, g.granted_until) for g in history.grants] == [
        (OB, 100, 300),
        (OB, 300, 500),
        (CLR, 300, 500),
    ]
    assert history.open_grants() == []
    cases = {
        (OB, 99): (False, "never_accredited"),
        (OB, 100): (True, "accredited"),
        (CLR, 150): (False, "not_accredited_for_type"),
        (OB, 250): (False, "issuer_suspended"),
        (OB, 350): (False, "issuer_suspended"),
        (CLR, 450): (True, "accredited"),
        (OB, 499): (True, "accredited"),
        (OB, 500): (False, "issuer_removed"),
    }
    for (type_id, moment), expected in cases.items():
        decision = history.authorized_at(type_id, moment)
        assert (decision.authorized, decision.code) == expected, (type_id, moment)
    assert history.accreditation_proposal == 3


def test_a_grant_outside_its_validity_window_does_not_authorize() -> None:
    history = replay_issuer("0xissuer", [accredit(100, 1, [OB], valid_from=150, valid_until=300)])
    assert history.authorized_at(OB, 120).code == "accreditation_not_in_force"
    assert history.authorized_at(OB, 200).authorized
    assert history.authorized_at(OB, 300).code == "accreditation_not_in_force"
    assert history.grants[0].granted_until == OPEN


# -- JOSE ---------------------------------------------------------------------------------------


def test_the_jwk_thumbprint_is_rfc_7638_over_the_ed25519_key_rfc_8037() -> None:
    # RFC 8037, appendix A.3.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_statement_verifies_only_with_the_published_key_and_untouched() -> None:
    signer = JwsSigner(Ed25519PrivateKey.generate())
    other = JwsSigner(Ed25519PrivateKey.generate())
    token = signer.sign({"sub": "x"}, "entity-statement+jwt")
    assert verify_jws(token, [signer.public_jwk], typ="entity-statement+jwt") == {"sub": "x"}
    header, payload, signature = token.split(".")
    forged = f"{header}.{b64url(json.dumps({'sub': 'y'}).encode())}.{signature}"
    for bad, keys in ((forged, [signer.public_jwk]), (token, [other.public_jwk])):
        with pytest.raises(JwsInvalid):
            verify_jws(bad, keys)
    with pytest.raises(JwsInvalid):
        verify_jws(token, [signer.public_jwk], typ="JWT")
    unsigned = f"{b64url(json.dumps({'alg': 'none'}).encode())}.{payload}."
    with pytest.raises(JwsInvalid):
        verify_jws(unsigned, [signer.public_jwk])


def test_es256_statements_of_other_registries_verify() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "kid": "k1",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }
    signing_input = (
        b64url(json.dumps({"alg": "ES256", "kid": "k1"}).encode())
        + "."
        + b64url(json.dumps({"sub": "did:web:x"}).encode())
    )
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    token = f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    assert verify_jws(token, [jwk]) == {"sub": "did:web:x"}


# -- other registries -------------------------------------------------------------------------

EC_URL = "https://registry.example/.well-known/openid-federation"
FETCH = "https://registry.example/fetch"
DID = "did:web:school.example"


class FakeRegistry:
    """Another OpenID Federation registry, answering from memory; counts requests."""

    def __init__(self) -> None:
        self.signer = JwsSigner(Ed25519PrivateKey.generate())
        self.now = 1_800_000_000
        self.requests: list[str] = []
        self.statement: Callable[[], dict[str, Any]] = lambda: {
            "iss": "https://registry.example",
            "sub": DID,
            "exp": self.now + 100,
            "metadata": {"federation_entity": {"organization_name": "School"}},
        }
        self.signing = self.signer

    def __call__(self, url: str) -> tuple[int, str, bytes]:
        self.requests.append(url)
        if url == EC_URL:
            claims = {
                "iss": "https://registry.example",
                "sub": "https://registry.example",
                "exp": self.now + 100,
                "jwks": {"keys": [self.signer.public_jwk]},
                "metadata": {"federation_entity": {"federation_fetch_endpoint": FETCH}},
            }
            return 200, "", self.signer.sign(claims, "entity-statement+jwt").encode()
        if url == f"{FETCH}?sub=did%3Aweb%3Aschool.example":
            return 200, "", self.signing.sign(self.statement(), "entity-statement+jwt").encode()
        return 404, "", b'{"error":"not_found"}'

    def client(self) -> OidfRegistries:
        return OidfRegistries([EC_URL], self, clock=lambda: self.now)


def test_a_listed_did_matches_with_the_registrys_metadata_and_is_cached() -> None:
    registry = FakeRegistry()
    client = registry.client()
    found = client.lookup(DID)
    assert found.unchecked == []
    assert found.matching == [
        {
            "issuer": {"federation_entity": {"organization_name": "School"}},
            "registry": {"federation_entity": {"federation_fetch_endpoint": FETCH}},
        }
    ]
    assert client.lookup(DID) == found
    assert client.lookup("did:web:stranger.example").matching == []
    client.lookup("did:web:stranger.example")
    assert len(registry.requests) == 3  # configuration, one hit, one miss: each asked once


@pytest.mark.parametrize(
    "tamper",
    ["other_key", "other_subject", "other_issuer", "expired"],
)
def test_a_statement_that_does_not_hold_leaves_the_registry_unchecked(tamper: str) -> None:
    registry = FakeRegistry()
    original = registry.statement
    if tamper == "other_key":
        registry.signing = JwsSigner(Ed25519PrivateKey.generate())
    elif tamper == "other_subject":
        registry.statement = lambda: {**original(), "sub": "did:web:evil.example"}
    elif tamper == "other_issuer":
        registry.statement = lambda: {**original(), "iss": "https://evil.example"}
    else:
        registry.statement = lambda: {**original(), "exp": registry.now - 1}
    found = registry.client().lookup(DID)
    assert found.matching == []
    assert found.unchecked == [{"type": "oidf", "trustAnchorEC": EC_URL, "error": "invalid_jws"}]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("fe80::1", False),
        ("0.0.0.0", False),
        ("not an address", False),
    ],
)
def test_only_public_addresses_are_public(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_the_guard_refuses_plain_http_and_private_addresses_before_connecting() -> None:
    def lookup(host: str, port: int) -> list[str]:
        return {"internal.example": ["10.0.0.7"], "mixed.example": ["93.184.216.34", "127.0.0.1"]}[
            host
        ]

    fetch = GuardedFetch(FetchPolicy(), lookup=lookup)
    for url in (
        "http://internal.example/x",
        "https://internal.example/.well-known/openid-federation",
        "https://mixed.example/.well-known/openid-federation",
        "file:///etc/passwd",
    ):
        with pytest.raises(RegistryUnavailable):
            fetch(url)


def test_trqp_times_are_rfc_3339_in_utc() -> None:
    assert parse_time("2026-01-02T03:04:05Z") == 1767323045
    assert parse_time("2026-01-02T03:04:05.999Z") == 1767323045
    for bad in ("2026-01-02T03:04:05+00:00", "2026-01-02", "2026-13-02T03:04:05Z", "now"):
        with pytest.raises(TrqpBadRequest):
            parse_time(bad)


def test_base64url_is_unpadded() -> None:
    assert b64url(b"\xff\xfe") == base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("=")
