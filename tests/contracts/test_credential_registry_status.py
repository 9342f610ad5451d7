"""CredentialRegistry status bitmaps: layout, ownership, permanence of revocation."""

from __future__ import annotations

from typing import Any

import pytest
from web3.contract import Contract

from node.chain.contracts.types import ProposalAction, StatusPurpose
from tests.support.contracts import (
    OPEN_BADGE,
    Chain,
    Consortium,
    events,
    reverts,
    reverts_without_data,
)

REVOCATION = StatusPurpose.REVOCATION
SUSPENSION = StatusPurpose.SUSPENSION
LIST_ID = 3
PURPOSE_TAKERS = {
    "setStatus",
    "updateStatusWords",
    "isStatusSet",
    "statusWords",
    "StatusWordChanged",
}


@pytest.fixture
def issuer(chain: Chain, consortium: Consortium) -> str:
    consortium.accredit(chain.accounts[3], [OPEN_BADGE])
    return chain.accounts[3]


def test_list_geometry_constants(credential_registry: Contract) -> None:
    functions = credential_registry.functions
    assert functions.LIST_SIZE().call() == 131_072
    assert functions.LIST_WORDS().call() == 512


def test_purpose_is_the_status_purpose_enum_with_abi_type_uint8(
    credential_registry: Contract,
) -> None:
    """Purposes are the enum StatusPurpose { Revocation, Suspension }; on the wire a uint8."""
    abi: list[dict[str, Any]] = [dict(entry) for entry in credential_registry.abi]
    functions = [entry for entry in abi if entry.get("name") in PURPOSE_TAKERS]
    assert len(functions) == len(PURPOSE_TAKERS)
    for entry in functions:
        (purpose,) = [item for item in entry["inputs"] if item["name"] == "purpose"]
        assert purpose["type"] == "uint8"
        assert purpose["internalType"] == "enum ICredentialRegistry.StatusPurpose"


def test_set_status_sets_the_documented_bit(
    chain: Chain, credential_registry: Contract, issuer: str
) -> None:
    """Entry i is bit 1 << (i % 256) of word i // 256."""
    functions = credential_registry.functions
    receipt = chain.send(functions.setStatus(LIST_ID, REVOCATION, 257, True), issuer)

    (changed,) = events(credential_registry, "StatusWordChanged", receipt)
    assert changed["args"] == {
        "issuer": issuer,
        "listId": LIST_ID,
        "purpose": REVOCATION,
        "wordIndex": 1,
        "word": 1 << 1,
    }
    assert functions.statusWords(issuer, LIST_ID, REVOCATION, 0, 3).call() == [0, 2, 0]
    assert functions.isStatusSet(issuer, LIST_ID, REVOCATION, 257).call()
    assert not functions.isStatusSet(issuer, LIST_ID, REVOCATION, 256).call()
    assert not functions.isStatusSet(issuer, LIST_ID, SUSPENSION, 257).call()
    assert not functions.isStatusSet(issuer, LIST_ID + 1, REVOCATION, 257).call()

    last = 131_071
    chain.send(functions.setStatus(LIST_ID, REVOCATION, last, True), issuer)
    assert functions.statusWords(issuer, LIST_ID, REVOCATION, 511, 1).call() == [1 << 255]


def test_revocation_is_permanent(chain: Chain, credential_registry: Contract, issuer: str) -> None:
    functions = credential_registry.functions
    chain.send(functions.setStatus(LIST_ID, REVOCATION, 5, True), issuer)
    with reverts(credential_registry, "RevocationIsPermanent"):
        chain.send(functions.setStatus(LIST_ID, REVOCATION, 5, False), issuer)
    with reverts(credential_registry, "RevocationIsPermanent"):
        chain.send(functions.updateStatusWords(LIST_ID, REVOCATION, [0], [1 << 5], False), issuer)
    assert functions.isStatusSet(issuer, LIST_ID, REVOCATION, 5).call()


def test_suspension_can_be_lifted(chain: Chain, credential_registry: Contract, issuer: str) -> None:
    functions = credential_registry.functions
    chain.send(functions.setStatus(LIST_ID, SUSPENSION, 9, True), issuer)
    assert functions.isStatusSet(issuer, LIST_ID, SUSPENSION, 9).call()
    receipt = chain.send(functions.setStatus(LIST_ID, SUSPENSION, 9, False), issuer)
    assert events(credential_registry, "StatusWordChanged", receipt)[0]["args"]["word"] == 0
    assert not functions.isStatusSet(issuer, LIST_ID, SUSPENSION, 9).call()


def test_an_unchanged_word_is_not_announced(
    chain: Chain, credential_registry: Contract, issuer: str
) -> None:
    functions = credential_registry.functions
    chain.send(functions.setStatus(LIST_ID, SUSPENSION, 1, True), issuer)
    receipt = chain.send(functions.setStatus(LIST_ID, SUSPENSION, 1, True), issuer)
    assert events(credential_registry, "StatusWordChanged", receipt) == []


def test_batch_update_applies_masks_and_announces_each_changed_word(
    chain: Chain, credential_registry: Contract, issuer: str
) -> None:
    functions = credential_registry.functions
    masks = [0b1011, 1 << 255, 0b1]
    receipt = chain.send(
        functions.updateStatusWords(LIST_ID, SUSPENSION, [0, 2, 0], masks, True), issuer
    )
    announced = [
        (e["args"]["wordIndex"], e["args"]["word"])
        for e in events(credential_registry, "StatusWordChanged", receipt)
    ]
    assert announced == [(0, 0b1011), (2, 1 << 255)]
    assert functions.statusWords(issuer, LIST_ID, SUSPENSION, 0, 3).call() == [
        0b1011,
        0,
        1 << 255,
    ]

    chain.send(functions.updateStatusWords(LIST_ID, SUSPENSION, [0], [0b0011], False), issuer)
    assert functions.statusWords(issuer, LIST_ID, SUSPENSION, 0, 1).call() == [0b1000]


def test_out_of_range_indexes_words_and_purposes_are_refused(
    chain: Chain, credential_registry: Contract, issuer: str
) -> None:
    functions = credential_registry.functions
    with reverts(credential_registry, "IndexOutOfRange", 131_072):
        chain.send(functions.setStatus(LIST_ID, REVOCATION, 131_072, True), issuer)
    with reverts(credential_registry, "WordOutOfRange", 512):
        chain.send(functions.updateStatusWords(LIST_ID, REVOCATION, [512], [1], True), issuer)
    with reverts(credential_registry, "LengthMismatch", 2, 1):
        chain.send(functions.updateStatusWords(LIST_ID, REVOCATION, [0, 1], [1], True), issuer)
    with reverts(credential_registry, "IndexOutOfRange", 131_072):
        functions.isStatusSet(issuer, LIST_ID, REVOCATION, 131_072).call()
    with reverts(credential_registry, "WordOutOfRange", 513):
        functions.statusWords(issuer, LIST_ID, REVOCATION, 500, 13).call()
    assert len(functions.statusWords(issuer, LIST_ID, REVOCATION, 0, 512).call()) == 512


def test_an_issuer_writes_only_its_own_lists(
    chain: Chain, consortium: Consortium, credential_registry: Contract, issuer: str
) -> None:
    other = chain.accounts[4]
    consortium.accredit(other, [OPEN_BADGE])
    functions = credential_registry.functions
    chain.send(functions.setStatus(LIST_ID, SUSPENSION, 4, True), issuer)
    chain.send(functions.setStatus(LIST_ID, SUSPENSION, 4, False), other)

    assert functions.isStatusSet(issuer, LIST_ID, SUSPENSION, 4).call()
    assert not functions.isStatusSet(other, LIST_ID, SUSPENSION, 4).call()


@pytest.mark.parametrize(
    "action", [ProposalAction.SUSPEND_ISSUER, ProposalAction.REMOVE_ISSUER], ids=str
)
def test_only_active_issuers_write_status(
    chain: Chain,
    consortium: Consortium,
    credential_registry: Contract,
    issuer: str,
    action: ProposalAction,
) -> None:
    functions = credential_registry.functions
    outsider = chain.accounts[5]
    with reverts(credential_registry, "NotActiveIssuer", outsider):
        chain.send(functions.setStatus(LIST_ID, REVOCATION, 1, True), outsider)

    consortium.issuer_action(action, issuer)
    with reverts(credential_registry, "NotActiveIssuer", issuer):
        chain.send(functions.setStatus(LIST_ID, REVOCATION, 1, True), issuer)
    with reverts(credential_registry, "NotActiveIssuer", issuer):
        chain.send(functions.updateStatusWords(LIST_ID, SUSPENSION, [0], [1], True), issuer)


def test_an_unknown_purpose_is_refused_by_the_abi_decoder(
    chain: Chain, credential_registry: Contract, issuer: str
) -> None:
    """Only 0 (revocation) and 1 (suspension) decode; anything else reverts without data."""
    functions = credential_registry.functions
    with reverts_without_data():
        chain.send(functions.setStatus(LIST_ID, 2, 0, True), issuer)
    with reverts_without_data():
        chain.send(functions.updateStatusWords(LIST_ID, 2, [0], [1], True), issuer)
    with reverts_without_data():
        functions.isStatusSet(issuer, LIST_ID, 7, 0).call()
    with reverts_without_data():
        functions.statusWords(issuer, LIST_ID, 255, 0, 1).call()
