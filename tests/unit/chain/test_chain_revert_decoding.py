"""Revert data -> ContractRevert: the code clients switch on and the detail people read."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak

from node.chain.bindings import lernode_error_decoder
from node.chain.revert import ErrorDecoder, revert_data_of, snake_case
from node.errors import ContractRevert

ISSUER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
CREDENTIAL_TYPE = keccak(text="OpenBadgeCredential")


def error_abi(name: str, *inputs: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "error",
        "name": name,
        "inputs": [{"name": n, "type": t, "internalType": t} for n, t in inputs],
    }


def revert_data(signature: str, types: list[str], values: list[Any]) -> bytes:
    return keccak(text=signature)[:4] + abi_encode(types, values)


NOT_ACCREDITED = error_abi("NotAccredited", ("issuer", "address"), ("credentialType", "bytes32"))


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("NotAccredited", "not_accredited"),
        ("ThresholdNotReached", "threshold_not_reached"),
        ("InvalidTTL", "invalid_ttl"),
        ("ERC20InsufficientBalance", "erc20_insufficient_balance"),
        ("EmptyBatch", "empty_batch"),
    ],
)
def test_error_names_become_snake_case_codes(name: str, code: str) -> None:
    assert snake_case(name) == code


def test_custom_error_is_decoded_with_contract_name_and_named_arguments() -> None:
    decoder = ErrorDecoder({"CredentialRegistry": [NOT_ACCREDITED]})
    data = revert_data(
        "NotAccredited(address,bytes32)", ["address", "bytes32"], [ISSUER, CREDENTIAL_TYPE]
    )

    error = decoder.decode(data)

    assert isinstance(error, ContractRevert)
    assert error.code == "not_accredited"
    assert error.detail == (
        f"CredentialRegistry: NotAccredited(issuer={ISSUER.lower()}, "
        f"credentialType=0x{CREDENTIAL_TYPE.hex()})"
    )
    assert error.extra["args"] == {
        "issuer": ISSUER.lower(),
        "credentialType": "0x" + CREDENTIAL_TYPE.hex(),
    }


def test_error_without_arguments() -> None:
    decoder = ErrorDecoder({"CredentialRegistry": [error_abi("EmptyBatch")]})
    error = decoder.decode(keccak(text="EmptyBatch()")[:4])
    assert (error.code, error.detail) == ("empty_batch", "CredentialRegistry: EmptyBatch()")


def test_struct_arguments_are_part_of_the_selector() -> None:
    grant = {
        "type": "error",
        "name": "BadGrant",
        "inputs": [
            {
                "name": "grant",
                "type": "tuple",
                "components": [
                    {"name": "from", "type": "uint64"},
                    {"name": "to", "type": "uint64"},
                ],
            }
        ],
    }
    data = revert_data("BadGrant((uint64,uint64))", ["(uint64,uint64)"], [(1, 2)])
    error = ErrorDecoder({"IssuerRegistry": [grant]}).decode(data)
    assert error.detail == "IssuerRegistry: BadGrant(grant=(1, 2))"


def test_shared_error_is_attributed_to_the_called_contract() -> None:
    decoder = ErrorDecoder(
        {"IssuerRegistry": [NOT_ACCREDITED], "CredentialRegistry": [NOT_ACCREDITED]}
    )
    data = revert_data(
        "NotAccredited(address,bytes32)", ["address", "bytes32"], [ISSUER, CREDENTIAL_TYPE]
    )
    assert decoder.decode(data, contract="CredentialRegistry").detail.startswith(
        "CredentialRegistry: "
    )
    assert decoder.decode(data, contract="IssuerRegistry").detail.startswith("IssuerRegistry: ")
    assert decoder.decode(data).detail.startswith("IssuerRegistry: ")  # first registered


def test_require_message_is_reported_verbatim() -> None:
    data = revert_data("Error(string)", ["string"], ["not allowed"])
    error = ErrorDecoder({}).decode(data, contract="X")
    assert (error.code, error.detail) == ("contract_revert", "X: reverted: not allowed")


def test_panic_code_is_explained() -> None:
    data = revert_data("Panic(uint256)", ["uint256"], [0x11])
    error = ErrorDecoder({}).decode(data)
    assert error.code == "contract_panic"
    assert error.detail == "panic 0x11 (arithmetic overflow or underflow)"


def test_unknown_selector_keeps_the_raw_data() -> None:
    error = ErrorDecoder({}).decode(bytes.fromhex("deadbeef00"))
    assert error.code == "unknown_contract_error"
    assert "0xdeadbeef" in error.detail
    assert error.extra["data"] == "0xdeadbeef00"


def test_empty_revert_data() -> None:
    error = ErrorDecoder({}).decode(b"", contract="IssuerRegistry")
    assert (error.code, error.detail) == (
        "contract_revert",
        "IssuerRegistry: reverted without a reason",
    )


def test_truncated_arguments_are_not_misreported_as_the_error() -> None:
    data = keccak(text="NotAccredited(address,bytes32)")[:4] + b"\x00" * 10
    error = ErrorDecoder({"CredentialRegistry": [NOT_ACCREDITED]}).decode(data)
    assert error.code == "unknown_contract_error"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("0x08c379a0", bytes.fromhex("08c379a0")),
        ({"data": "0xabcd"}, b"\xab\xcd"),
        ({"message": "x", "originalError": {"data": "0x01"}}, b"\x01"),
        ("execution reverted", None),
        (None, None),
        ({"message": "no data here"}, None),
    ],
)
def test_revert_data_is_found_in_every_node_error_shape(
    payload: Any, expected: bytes | None
) -> None:
    assert revert_data_of(payload) == expected


def test_decoder_knows_the_errors_of_all_our_contracts() -> None:
    """The real artifacts: the errors the services rely on are decodable by name."""
    known = {(e.contract, e.name) for e in lernode_error_decoder().known_errors()}
    assert {
        ("CredentialRegistry", "NotAccredited"),
        ("CredentialRegistry", "AlreadyAnchored"),
        ("IssuerRegistry", "NotMember"),
        ("IssuerRegistry", "ThresholdNotReached"),
        ("EthereumDIDRegistry", "NotIdentityOwner"),
    } <= known
