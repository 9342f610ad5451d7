"""node.governance mirrors the contract's vocabulary exactly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from eth_utils import keccak

from node.chain.contracts.types import (
    KNOWN_CREDENTIAL_TYPES,
    IssuerStatus,
    ProposalAction,
    StatusPurpose,
    credential_type_id,
    credential_type_name,
)
from node.errors import InvalidInput

INTERFACES = Path(__file__).resolve().parents[2] / "contracts" / "interfaces"


def _solidity_enum(file_name: str, name: str) -> list[str]:
    source = (INTERFACES / file_name).read_text()
    match = re.search(rf"enum {name} \{{([^}}]*)\}}", source)
    assert match is not None, f"enum {name} not found"
    return [member.strip() for member in match.group(1).split(",") if member.strip()]


def _camel(python_name: str) -> str:
    return "".join(part.capitalize() for part in python_name.split("_"))


@pytest.mark.parametrize(
    ("python_enum", "interface", "solidity_name"),
    [
        (ProposalAction, "IIssuerRegistry.sol", "Action"),
        (IssuerStatus, "IIssuerRegistry.sol", "IssuerStatus"),
        (StatusPurpose, "ICredentialRegistry.sol", "StatusPurpose"),
    ],
)
def test_python_enums_match_the_solidity_enums_in_order(
    python_enum: type[ProposalAction] | type[IssuerStatus] | type[StatusPurpose],
    interface: str,
    solidity_name: str,
) -> None:
    solidity = _solidity_enum(interface, solidity_name)
    assert [_camel(member.name) for member in python_enum] == solidity
    assert [member.value for member in python_enum] == list(range(len(python_enum)))


def test_credential_type_ids_are_keccak_of_the_utf8_name() -> None:
    assert credential_type_id("OpenBadgeCredential") == keccak(text="OpenBadgeCredential")
    assert KNOWN_CREDENTIAL_TYPES == ("OpenBadgeCredential", "ClrCredential")
    for name in KNOWN_CREDENTIAL_TYPES:
        assert credential_type_name(credential_type_id(name)) == name
    assert credential_type_name(keccak(text="SomethingElse")) is None


def test_an_empty_credential_type_name_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as info:
        credential_type_id("")
    assert info.value.code == "invalid_credential_type"
