"""Parsing did:ethr identifiers and DID URLs."""

from __future__ import annotations

import pytest
from eth_account import Account

from node.did.errors import InvalidDid, MethodNotSupported
from node.did.identifier import format_ethr_did, parse_did_url, parse_ethr_did

ADDRESS = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"


def test_a_network_qualified_did_names_its_chain_and_lowercase_account() -> None:
    parsed = parse_ethr_did("did:ethr:0x7a69:0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    assert parsed.chain_id == 31337
    assert parsed.network == "0x7a69"
    assert parsed.address == ADDRESS
    assert parsed.did == "did:ethr:0x7a69:0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


@pytest.mark.parametrize("did", [f"did:ethr:{ADDRESS}", f"did:ethr:mainnet:{ADDRESS}"])
def test_an_omitted_or_named_mainnet_network_is_chain_1(did: str) -> None:
    assert parse_ethr_did(did).chain_id == 1


@pytest.mark.parametrize("network", ["0x7A69", "0x07a69", "sepolia", "rsk:testnet"])
def test_other_spellings_and_unknown_names_have_no_chain(network: str) -> None:
    assert parse_ethr_did(f"did:ethr:{network}:{ADDRESS}").chain_id is None


def test_the_public_key_form_derives_the_account_from_the_key() -> None:
    account = Account.create()
    public_key = "0x" + account._key_obj.public_key.to_compressed_bytes().hex()
    parsed = parse_ethr_did(f"did:ethr:0x7a69:{public_key}")
    assert parsed.address == account.address.lower()
    assert parsed.public_key == public_key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ethr:0x7a69:" + ADDRESS,
        "did:ethr:",
        "did:ethr:0x7a69:0x1234",
        "did:ethr:0x7a69:" + ADDRESS + "00",
        "did:ethr:0x7a69:0x04" + "11" * 32,  # 33 bytes that are no compressed key
        "did:Ethr:" + ADDRESS,
        "did:ethr:0x7a69:" + ADDRESS + "\n",
    ],
)
def test_malformed_dids_are_invalid_did(text: str) -> None:
    with pytest.raises(InvalidDid) as raised:
        parse_ethr_did(text)
    assert raised.value.code == "invalid_did"
    assert raised.value.extra["error"] == "invalidDid"


def test_other_methods_are_not_supported() -> None:
    with pytest.raises(MethodNotSupported) as raised:
        parse_ethr_did("did:web:example.com")
    assert raised.value.status == 501
    assert raised.value.extra["error"] == "methodNotSupported"


def test_a_did_url_splits_into_did_query_and_fragment() -> None:
    url = parse_did_url(f"did:ethr:0x7a69:{ADDRESS}?versionId=12#delegate-1")
    assert url.did.address == ADDRESS
    assert url.query == {"versionId": "12"}
    assert url.fragment == "delegate-1"
    assert url.base == f"did:ethr:0x7a69:{ADDRESS}#delegate-1"


def test_the_canonical_did_is_hex_chain_id_and_lowercase_address() -> None:
    assert format_ethr_did(31337, ADDRESS.upper().replace("0X", "0x")) == (
        f"did:ethr:0x7a69:{ADDRESS}"
    )
    with pytest.raises(InvalidDid):
        format_ethr_did(0, ADDRESS)
