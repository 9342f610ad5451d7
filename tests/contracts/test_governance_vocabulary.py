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
    credential_type_id,
    credential_type_name,
)
from node.errors import InvalidInput

SOURCE = (Path(__file__).resolve().parents[2] / "contracts" / "IssuerRegistry.sol").read_text()


def _solidity_enum(name: str) -> list[str]:
    match = re.search(rf"enum {name} \{{([^}}]*)\}}", SOURCE)
    assert match is not None, f"enum {name} not found"
    return [member.strip() for member in match.group(1).split(",") if member.strip()]


def _camel(python_name: str) -> str:
    return "".join(part.capitalize() for part in python_name.split("_"))


@pytest.mark.parametrize(
    ("python_enum", "solidity_name"),
    [(ProposalAction, "Action"), (IssuerStatus, "IssuerStatus")],
)
def test_python_enums_match_the_solidity_enums_in_order(
    python_enum: type[ProposalAction] | type[IssuerStatus], solidity_name: str
) -> None:
    assert [_camel(member.name) for member in python_enum] == _solidity_enum(solidity_name)
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
