"""Replaying ERC-1056 histories into DID documents, as ethr-did-resolver 11.1.3 does.

Histories are written by hand; the interop test checks the same rules against the reference
resolver on a real chain.
"""

from __future__ import annotations

from eth_account import Account

from node.did.attributes import encode_bytes32
from node.did.document import (
    DID_CONTEXT,
    AttributeChanged,
    DelegateChanged,
    DidEvent,
    OwnerChanged,
    build_document,
)
from node.did.identifier import parse_ethr_did

CHAIN = 31337
ADDRESS = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
CHECKSUMMED = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DID = f"did:ethr:0x7a69:{ADDRESS}"
DELEGATE = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
DELEGATE_CHECKSUMMED = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
NOW = 1_700_000_000
LATER = NOW + 1_000


def attribute(block: int, name: str, value: bytes, valid_to: int = LATER) -> AttributeChanged:
    return AttributeChanged(block, NOW - 100 + block, encode_bytes32(name), value, valid_to)


def delegate(block: int, kind: str, valid_to: int = LATER) -> DelegateChanged:
    return DelegateChanged(block, NOW - 100 + block, encode_bytes32(kind), DELEGATE, valid_to)


def build(history: list[DidEvent], now: int = NOW, at_block: int | None = None, did: str = DID):
    return build_document(parse_ethr_did(did), CHAIN, history, now=now, at_block=at_block)


def ids(document: dict[str, object], key: str = "verificationMethod") -> list[str]:
    entries = document.get(key, [])
    assert isinstance(entries, list)
    return [(e["id"] if isinstance(e, dict) else e).rsplit("#", 1)[1] for e in entries]


def test_no_history_gives_the_controller_only_and_no_metadata() -> None:
    version = build([])
    assert version.with_context() == {
        "@context": list(DID_CONTEXT),
        "id": DID,
        "verificationMethod": [
            {
                "id": f"{DID}#controller",
                "type": "EcdsaSecp256k1RecoveryMethod2020",
                "controller": DID,
                "blockchainAccountId": f"eip155:{CHAIN}:{CHECKSUMMED}",
            }
        ],
        "authentication": [f"{DID}#controller"],
        "assertionMethod": [f"{DID}#controller"],
    }
    assert version.metadata() == {}


def test_an_ed25519_base58_key_is_an_ed25519_2018_assertion_method() -> None:
    document = build([attribute(5, "did/pub/Ed25519/veriKey/base58", b"\x00\x01" + b"\x02" * 30)])
    method = document.document["verificationMethod"][1]
    assert method["type"] == "Ed25519VerificationKey2018"
    assert method["publicKeyBase58"].startswith("1")  # a leading zero byte is a leading "1"
    assert ids(document.document, "assertionMethod") == ["controller", "delegate-1"]
    assert ids(document.document, "authentication") == ["controller"]


def test_key_encodings_and_purposes() -> None:
    document = build(
        [
            attribute(1, "did/pub/Secp256k1/sigAuth/hex", b"\x02" * 33),
            attribute(2, "did/pub/X25519/enc/base64", b"\xfb" * 3),
            attribute(3, "did/pub/RSA/veriKey/pem", b"-----BEGIN PUBLIC KEY-----"),
            attribute(4, "did/pub/Ed25519/veriKey/mbase", b"\x01"),
            attribute(5, "did/pub/RSA/veriKey/pem", b"\xff"),  # not UTF-8: counted, not listed
        ]
    ).document
    methods = document["verificationMethod"]
    assert [m["type"] for m in methods[1:]] == [
        "EcdsaSecp256k1VerificationKey2019",
        "X25519KeyAgreementKey2019",
        "RSAVerificationKey2018",
        "Ed25519VerificationKey2018",
    ]
    assert methods[1]["publicKeyHex"] == "02" * 33
    assert methods[2]["publicKeyBase64"] == "+/v7"
    assert methods[3]["publicKeyPem"] == "-----BEGIN PUBLIC KEY-----"
    assert methods[4]["value"] == "01"  # unknown encodings: raw hex under `value`
    assert ids(document, "authentication") == ["controller", "delegate-1"]
    assert ids(document, "keyAgreement") == ["delegate-2"]
    assert ids(document, "assertionMethod") == [
        "controller",
        "delegate-1",
        "delegate-3",
        "delegate-4",
    ]


def test_delegates_sig_auth_also_authenticates_and_other_types_are_only_counted() -> None:
    document = build(
        [
            delegate(1, "veriKey"),
            delegate(2, "sigAuth"),
            delegate(3, "other"),
            delegate(4, "veriKey"),
        ]
    ).document
    assert ids(document) == ["controller", "delegate-4", "delegate-2"]  # renumbered in place
    assert ids(document, "authentication") == ["controller", "delegate-2"]
    assert document["verificationMethod"][1]["blockchainAccountId"] == (
        f"eip155:{CHAIN}:{DELEGATE_CHECKSUMMED}"
    )


def test_revocation_removes_the_entry_but_keeps_its_number_taken() -> None:
    history: list[DidEvent] = [
        delegate(1, "veriKey"),
        delegate(2, "veriKey", valid_to=2),  # revoked: validTo in the past
        attribute(3, "did/pub/Ed25519/veriKey/hex", b"\x01"),
        delegate(4, "veriKey"),  # re-added: appended after the attribute
    ]
    assert ids(build(history).document) == ["controller", "delegate-3", "delegate-4"]


def test_validity_is_inclusive_of_now() -> None:
    key = [attribute(1, "did/pub/Ed25519/veriKey/hex", b"\x01", valid_to=NOW)]
    assert ids(build(key, now=NOW).document) == ["controller", "delegate-1"]
    assert ids(build(key, now=NOW + 1).document) == ["controller"]


def test_services_parse_json_endpoints_and_keep_text_ones() -> None:
    document = build(
        [
            attribute(1, "did/svc/LinkedDomains", b"https://uni.example"),
            attribute(2, "did/svc/Status", b'{"uri":"https://s.example"}'),
            attribute(3, "did/svc/Weird", b"NaN"),
        ]
    ).document
    assert [(s["type"], s["serviceEndpoint"]) for s in document["service"]] == [
        ("LinkedDomains", "https://uni.example"),
        ("Status", {"uri": "https://s.example"}),
        ("Weird", "NaN"),  # JSON.parse rejects NaN, so the text stays text
    ]
    assert ids(document, "service") == ["service-1", "service-2", "service-3"]


def test_unreadable_and_unmatched_names_are_ignored() -> None:
    unreadable = AttributeChanged(1, NOW, b"\xff" * 32, b"\x01", LATER)
    document = build([unreadable, attribute(2, "did/pub/Ed25519", b"\x01"), attribute(3, "x", b"")])
    assert ids(document.document) == ["controller", "delegate-1"]
    assert document.document["verificationMethod"][1]["type"] == "Ed25519"
    assert document.version_id == 3


def test_the_revoked_enc_key_quirk_is_reproduced() -> None:
    history: list[DidEvent] = [
        attribute(1, "did/pub/X25519/enc/base64", b"\x01"),
        attribute(2, "did/pub/X25519/enc/base64", b"\x01", valid_to=0),
    ]
    document = build(history).document
    assert ids(document) == ["controller"]
    assert ids(document, "keyAgreement") == ["delegate-1"]  # dangling, as in the reference


def test_an_owner_change_moves_the_controller() -> None:
    document = build([OwnerChanged(1, NOW, DELEGATE)]).document
    assert document["verificationMethod"][0]["blockchainAccountId"].endswith(DELEGATE_CHECKSUMMED)


def test_owner_zero_deactivates_and_stops_the_replay() -> None:
    version = build([delegate(1, "veriKey"), OwnerChanged(2, NOW, "0x" + "00" * 20)])
    assert version.deactivated
    assert version.document == {
        "id": DID,
        "verificationMethod": [],
        "authentication": [],
        "assertionMethod": [],
    }
    assert version.metadata()["deactivated"] is True


def test_a_version_hides_later_events_and_names_the_next_one() -> None:
    history: list[DidEvent] = [delegate(3, "veriKey"), delegate(7, "sigAuth"), delegate(9, "x")]
    version = build(history, at_block=5)
    assert ids(version.document) == ["controller", "delegate-1"]
    assert version.metadata() == {
        "versionId": "3",
        "updated": "2023-11-14T22:11:43Z",
        "nextVersionId": "7",
        "nextUpdate": "2023-11-14T22:11:47Z",
    }
    assert build(history, at_block=0).metadata() == {
        "nextVersionId": "3",
        "nextUpdate": "2023-11-14T22:11:43Z",
    }


def test_a_public_key_did_lists_its_key_while_it_owns_itself() -> None:
    account = Account.create()
    key = "0x" + account._key_obj.public_key.to_compressed_bytes().hex()
    did = f"did:ethr:0x7a69:{key}"
    own = build([], did=did).document
    assert ids(own) == ["controller", "controllerKey"]
    assert own["verificationMethod"][1]["publicKeyHex"] == key[2:]
    assert ids(own, "assertionMethod") == ["controller", "controllerKey"]
    moved = build([OwnerChanged(1, NOW, DELEGATE)], did=did).document
    assert ids(moved) == ["controller"]
