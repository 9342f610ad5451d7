"""did:web identifiers map to the document URLs the did:web method defines, the node names and
serves its institutions' did:web documents with the did:ethr's keys, and method ids map between
the two DIDs by fragment."""

from __future__ import annotations

from typing import Any

import base58
import pytest

from node.credentials.multikey import base58btc_multibase
from node.did.did_web import (
    did_web_at_path,
    did_web_document,
    did_web_for,
    ethr_method_id,
    parse_web_did,
    web_method_id,
)
from node.did.errors import InvalidDid, MethodNotSupported
from node.did.hosting import institution_dids, mint_did_web, signing_identity
from node.errors import ConfigurationError, Conflict
from node.store.models import Institution

ETHR = "did:ethr:0x7a69:0x1111111111111111111111111111111111111111"
KEY = bytes(range(32))


@pytest.mark.parametrize(
    ("did", "url"),
    [  # the did:web method specification's examples, and a few more
        ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
        ("did:web:example.com%3a8443", "https://example.com:8443/.well-known/did.json"),
        ("did:web:Example.COM:a%20b", "https://example.com/a%20b/did.json"),
        ("did:web:localhost", "https://localhost/.well-known/did.json"),
    ],
)
def test_a_did_web_names_its_document_url(did: str, url: str) -> None:
    parsed = parse_web_did(did)
    assert parsed.did == did
    assert parsed.document_url() == url


@pytest.mark.parametrize(
    "did",
    [
        "did:web:127.0.0.1",  # the method forbids IP addresses
        "did:web:127.1",
        "did:web:0x7f.1",
        "did:web:2130706433",
        "did:web:example.com%3A0",
        "did:web:example.com%3A70000",
        "did:web:exa%2Fmple.com",
        "did:web:example.com:..:admin",
        "did:web:example.com:a%2Fb",
        "did:web:-example.com",
        "did:web:example..com",
        "did:web:",
    ],
)
def test_unsafe_or_malformed_did_webs_are_invalid(did: str) -> None:
    with pytest.raises(InvalidDid):
        parse_web_did(did)


def test_only_did_web_is_parsed_as_one() -> None:
    with pytest.raises(InvalidDid):
        parse_web_did(ETHR)
    with pytest.raises(InvalidDid):
        parse_web_did("not a did")
    assert not issubclass(MethodNotSupported, InvalidDid)


def test_method_ids_map_between_the_two_dids_by_fragment() -> None:
    web = "did:web:node.example:institutions:2"
    assert web_method_id(f"{ETHR}#delegate-3", web) == f"{web}#delegate-3"
    assert ethr_method_id(f"{web}#delegate-3", ETHR) == f"{ETHR}#delegate-3"
    with pytest.raises(InvalidDid):
        ethr_method_id(web, ETHR)  # no fragment
    with pytest.raises(InvalidDid):
        ethr_method_id(f"{web}#delegate-3", "did:key:z6Mk")  # not a did:ethr
    with pytest.raises(InvalidDid):
        ethr_method_id(f"{ETHR}#delegate-3", ETHR)  # not a did:web method


@pytest.mark.parametrize(
    ("base_url", "root", "expected"),
    [
        ("https://node.example", True, "did:web:node.example"),
        ("https://node.example/", False, "did:web:node.example:institutions:7"),
        ("https://Node.Example:8443", True, "did:web:node.example%3A8443"),
        ("https://node.example:443", True, "did:web:node.example"),
        ("https://proxy.example/lernode", True, "did:web:proxy.example:lernode:institutions:7"),
        ("http://localhost:8000", True, "did:web:localhost%3A8000"),
    ],
)
def test_the_node_mints_did_webs_from_its_public_url(
    base_url: str, root: bool, expected: str
) -> None:
    assert mint_did_web(base_url, 7, root=root) == expected


def test_a_public_url_with_an_ip_address_cannot_name_a_did_web() -> None:
    with pytest.raises(ConfigurationError) as refused:
        did_web_for("http://127.0.0.1:8000")
    assert refused.value.code == "did_web_needs_public_host"


@pytest.mark.parametrize(
    ("base_url", "path", "expected"),
    [
        ("https://node.example", "/.well-known/did.json", "did:web:node.example"),
        ("https://node.example", "/institutions/2/did.json", "did:web:node.example:institutions:2"),
        ("https://p.example/ln", "/institutions/2/did.json", "did:web:p.example:ln:institutions:2"),
        ("https://p.example/ln", "/.well-known/did.json", None),  # outside the node's prefix
        ("https://node.example", "/did.json", None),
        ("https://node.example", "/institutions/2/other.json", None),
        ("https://node.example", "/x/.well-known/did.json", None),
        ("https://node.example", "/a/../did.json", None),
        ("http://127.0.0.1:8000", "/.well-known/did.json", None),
    ],
)
def test_a_request_path_maps_back_to_the_did_web_it_serves(
    base_url: str, path: str, expected: str | None
) -> None:
    assert did_web_at_path(base_url, path) == expected


def ethr_document() -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": ETHR,
        "verificationMethod": [
            {
                "id": f"{ETHR}#controller",
                "type": "EcdsaSecp256k1RecoveryMethod2020",
                "controller": ETHR,
                "blockchainAccountId": "eip155:31337:0x1111111111111111111111111111111111111111",
            },
            {
                "id": f"{ETHR}#delegate-1",
                "type": "Ed25519VerificationKey2018",
                "controller": ETHR,
                "publicKeyBase58": base58.b58encode(KEY).decode(),
            },
            {
                "id": f"{ETHR}#delegate-2",
                "type": "X25519KeyAgreementKey2019",
                "controller": ETHR,
                "publicKeyBase58": base58.b58encode(bytes(32)).decode(),
            },
        ],
        "authentication": [f"{ETHR}#controller"],
        "assertionMethod": [f"{ETHR}#controller", f"{ETHR}#delegate-1"],
        "keyAgreement": [f"{ETHR}#delegate-2"],
    }


def test_the_did_web_document_carries_the_did_ethr_keys_as_multikeys() -> None:
    web = "did:web:node.example:institutions:2"
    document = did_web_document(web, ETHR, ethr_document())
    assert document == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": web,
        "alsoKnownAs": [ETHR],
        "verificationMethod": [
            {
                "id": f"{web}#delegate-1",
                "type": "Multikey",
                "controller": web,
                "publicKeyMultibase": base58btc_multibase(b"\xed\x01" + KEY),
            }
        ],
        "assertionMethod": [f"{web}#delegate-1"],
    }


def institution(**fields: Any) -> Institution:
    values: dict[str, Any] = {
        "id": 2,
        "name": "Harbor",
        "address": "0x" + "11" * 20,
        "did": ETHR,
        "verification_method": f"{ETHR}#delegate-4",
    }
    return Institution(**{**values, **fields})


def test_an_institution_signs_under_the_did_it_chose() -> None:
    web = "did:web:node.example:institutions:2"
    plain = institution()
    assert signing_identity(plain).did == ETHR
    assert signing_identity(plain).verification_method == f"{ETHR}#delegate-4"
    assert institution_dids(plain) == (ETHR,)

    linked = institution(did_web=web)  # has a did:web but still signs as did:ethr
    assert signing_identity(linked).did == ETHR
    assert institution_dids(linked) == (ETHR, web)

    webbed = institution(did_web=web, signs_as="web")
    assert signing_identity(webbed).did == web
    assert signing_identity(webbed).verification_method == f"{web}#delegate-4"
    # Lists made under the other DID keep being signed under it.
    assert signing_identity(webbed, ETHR).verification_method == f"{ETHR}#delegate-4"
    with pytest.raises(Conflict):
        signing_identity(webbed, "did:web:elsewhere.example")
