"""The anchor proves this exact credential is under a root its issuer put on *this* chain; the
receipt is only a hint, recomputed and checked against the contract."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.verification_fakes import CHAIN_ID, ISSUER, World


def anchor_check(world: World, credential: dict[str, Any], receipt: Any) -> tuple[str, str]:
    check = world.verify(credential, receipt).check("anchor")
    return check.status.value, check.code


def test_the_anchor_reports_the_issuer_batch_block_and_time(world: World) -> None:
    credential, receipt = world.anchored()
    check = world.verify(credential, receipt).check("anchor")
    assert check.code == "anchored"
    assert "batch of 3" in check.detail and "block 50" in check.detail
    assert "2025-06-15T15:06:40Z" in check.detail


def test_a_receipt_for_another_credential_does_not_fit(world: World) -> None:
    credential, _ = world.anchored()
    _, others = world.anchored()
    assert anchor_check(world, credential, others) == ("failed", "receipt_mismatch")
    stripped = {**others, "credentialHash": None, "leaf": None}
    assert anchor_check(world, credential, stripped) == ("failed", "invalid_receipt")
    own = receipt_of(world, credential)
    grafted = {**others, "credentialHash": own["credentialHash"], "leaf": own["leaf"]}
    assert anchor_check(world, credential, grafted) == ("failed", "receipt_mismatch")


def receipt_of(world: World, credential: dict[str, Any]) -> dict[str, Any]:
    return world.anchor(credential)[0]


def test_every_fact_a_receipt_states_must_be_the_chains(world: World) -> None:
    credential, receipt = world.anchored()
    assert anchor_check(world, credential, receipt) == ("passed", "anchored")
    for field, forged in (
        ("issuer", "0x" + "12" * 20),
        ("count", 99),
        ("blockNumber", 1),
        ("blockTime", "2020-01-01T00:00:00Z"),
        ("transactionHash", "0x" + "cd" * 32),
        ("type", "SomethingElse"),
    ):
        assert anchor_check(world, credential, {**receipt, field: forged}) == (
            "failed",
            "receipt_mismatch",
        ), field
        missing = {k: v for k, v in receipt.items() if k != field}
        assert anchor_check(world, credential, missing)[0] == "failed", field


def test_a_root_that_is_not_on_chain_is_not_anchored(world: World) -> None:
    credential, receipt = world.anchored()
    world.chain.anchors.clear()
    assert anchor_check(world, credential, receipt) == ("failed", "not_anchored")


def test_a_root_anchored_only_by_someone_else_is_not_anchored_for_the_issuer(
    world: World,
) -> None:
    """Anchors are keyed by (issuer, root): another issuer's anchor of the same root (a
    front-run copy from the mempool) neither counts for nor blocks the credential's issuer."""
    credential, receipt = world.anchored()
    root = bytes.fromhex(receipt["root"][2:])
    record = world.chain.anchors.pop((ISSUER, root))
    world.chain.anchors["0x" + "ee" * 20, root] = record
    assert anchor_check(world, credential, receipt) == ("failed", "not_anchored")


@pytest.mark.parametrize(
    "change",
    [
        {"chainId": 1},
        {"chainId": "0x1"},
        {"contract": "0x" + "99" * 20},
    ],
)
def test_a_receipt_from_another_chain_or_registry_is_the_wrong_chain(
    world: World, change: dict[str, Any]
) -> None:
    credential, receipt = world.anchored()
    assert anchor_check(world, credential, {**receipt, **change}) == ("failed", "wrong_chain")


def test_a_credential_whose_issuer_did_names_another_chain_is_the_wrong_chain(
    world: World,
) -> None:
    mainnet_did = f"did:ethr:0x1:{ISSUER}"
    credential = world.sign(
        world.unsigned(issuer_did=mainnet_did), key_id=f"{mainnet_did}#delegate-1"
    )
    (receipt,) = world.anchor(credential)
    report = world.verify(credential, receipt)
    assert (report.check("anchor").status, report.check("anchor").code) == (
        "failed",
        "wrong_chain",
    )
    for name in ("issuer_key", "accreditation", "status"):
        assert (report.check(name).status, report.check(name).code) == ("unknown", "wrong_chain")
    assert report.verdict == "invalid"
    assert CHAIN_ID != 1


@pytest.mark.parametrize(
    "change",
    [
        {"proof": ["0x1234"]},
        {"proof": "0x" + "00" * 32},
        {"chainId": None},
        {"root": 5},
        {"credentialHash": "0xabc"},
    ],
)
def test_a_malformed_receipt_is_reported_as_such(world: World, change: dict[str, Any]) -> None:
    credential, receipt = world.anchored()
    assert anchor_check(world, credential, {**receipt, **change}) == ("failed", "invalid_receipt")
