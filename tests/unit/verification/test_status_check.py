"""Revocation and suspension come from the chain's bits; a status list credential at hand must
agree with them; and a URL in a credential is never fetched.

Current credentials carry one `message` entry (2 bits per entry, list `...-status`); credentials
issued before it carry a `revocation` + `suspension` pair and must keep verifying."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest

from node.credentials.status_list import (
    MIN_LIST_LENGTH,
    Bitstring,
    message_bitstring,
    status_list_credential,
)
from node.verification.report import Submission
from tests.support.verification_fakes import ISSUER, STATUS_INDEX, World, status_url

REVOCATION, SUSPENSION = 0, 1
#: The fake credentials use index 7, so a list of capacity 8 allocates [4, 8).
ALLOCATABLE = range(4, 8)


def status(world: World, **submission: Any) -> tuple[str, str]:
    legacy = submission.pop("legacy_status", False)
    credential, receipt = world.anchored(legacy_status=legacy)
    check = world.verify(credential, receipt, **submission).check("status")
    return check.status.value, check.code


def list_credential(purpose: str, *set_bits: int) -> dict[str, Any]:
    """A 1-bit list (revocation/suspension) with `set_bits` set."""
    return _signed_list(purpose, Bitstring.from_indices(set_bits))


def message_list(revoked: tuple[int, ...] = (), suspended: tuple[int, ...] = ()) -> dict[str, Any]:
    """The 2-bit list the node serves for these chain bits."""
    return _signed_list("message", message_bitstring(revoked, suspended, allocatable=ALLOCATABLE))


def _signed_list(purpose: str, bits: Bitstring) -> dict[str, Any]:
    return status_list_credential(
        status_url(purpose=purpose),
        "did:ethr:0x7a69:" + ISSUER,
        purpose,
        bits,
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
    )


# -- the one message entry of current credentials ---------------------------------------------


def test_clear_bits_mean_active(world: World) -> None:
    assert status(world) == ("passed", "active")


def test_a_revoked_credential_fails_as_revoked(world: World) -> None:
    world.chain.bits.add((ISSUER, 0, REVOCATION, STATUS_INDEX))
    assert status(world) == ("failed", "revoked")


def test_a_suspended_credential_fails_as_suspended(world: World) -> None:
    world.chain.bits.add((ISSUER, 0, SUSPENSION, STATUS_INDEX))
    assert status(world) == ("failed", "suspended")


def test_revocation_is_reported_over_suspension(world: World) -> None:
    world.chain.bits.add((ISSUER, 0, SUSPENSION, STATUS_INDEX))
    world.chain.bits.add((ISSUER, 0, REVOCATION, STATUS_INDEX))
    assert status(world) == ("failed", "revoked")


def test_a_supplied_message_list_that_agrees_with_the_chain_passes(world: World) -> None:
    lists = (message_list(revoked=(STATUS_INDEX - 1,), suspended=(STATUS_INDEX - 2,)),)
    assert status(world, status_lists=lists) == ("passed", "active")


@pytest.mark.parametrize(
    "listed",
    [
        {"revoked": (STATUS_INDEX,)},
        {"suspended": (STATUS_INDEX,)},
    ],
    ids=["says revoked", "says suspended"],
)
def test_a_supplied_message_list_whose_2_bit_value_disagrees_with_the_chain_fails(
    world: World, listed: dict[str, tuple[int, ...]]
) -> None:
    assert status(world, status_lists=(message_list(**listed),)) == (
        "failed",
        "status_list_mismatch",
    )


def test_a_message_list_whose_1_bit_compatibility_bit_disagrees_is_a_mismatch(
    world: World,
) -> None:
    """Bits [2i, 2i+1] say active like the chain, but bit `i` (what Digital Bazaar's and DCC's
    1-bit readers look at) says "set": the list would mislead those verifiers."""
    bits = message_bitstring((), (), allocatable=ALLOCATABLE)
    bits.set(STATUS_INDEX)
    listed = _signed_list("message", bits)
    assert status(world, status_lists=(listed,)) == ("failed", "status_list_mismatch")


def test_an_entry_without_the_registry_status_size_and_messages_is_invalid(world: World) -> None:
    credential = world.unsigned()
    credential["credentialStatus"] = {**credential["credentialStatus"], "statusSize": 1}
    credential = world.sign(credential)
    (receipt,) = world.anchor(credential)
    assert world.verify(credential, receipt).check("status").code == "invalid_status_entry"


def test_a_message_entry_pointing_at_a_1_bit_list_is_invalid(world: World) -> None:
    credential = world.unsigned()
    one_bit_list = status_url(purpose="revocation")
    entry = {**credential["credentialStatus"], "statusListCredential": one_bit_list}
    credential = world.sign({**credential, "credentialStatus": entry})
    (receipt,) = world.anchor(credential)
    assert world.verify(credential, receipt).check("status").code == "invalid_status_entry"


def test_an_undecodable_status_list_fails(world: World) -> None:
    broken = message_list()
    broken["credentialSubject"]["encodedList"] = "not-gzip"
    assert status(world, status_lists=(broken,)) == ("failed", "invalid_status_list")


def test_the_nodes_own_lists_are_compared_through_its_lookup(world: World) -> None:
    asked: list[str] = []

    def own_list(url: str) -> dict[str, Any] | None:
        asked.append(url)
        return message_list(suspended=(STATUS_INDEX,))

    credential, receipt = world.anchored()
    report = world.verifier(status_list_lookup=own_list).verify(Submission(credential, receipt))
    assert asked == [status_url()]
    assert report.check("status").code == "status_list_mismatch"


def test_a_status_entry_pointing_at_another_issuers_list_fails(world: World) -> None:
    credential = world.unsigned()
    credential["credentialStatus"]["statusListCredential"] = status_url(issuer="0x" + "ee" * 20)
    credential = world.sign(credential)
    (receipt,) = world.anchor(credential)
    assert world.verify(credential, receipt).check("status").code == "foreign_status_list"


def test_a_status_list_elsewhere_is_not_fetched_and_stays_undecided(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the verifier must not open connections to URLs in credentials")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    credential = world.unsigned()
    credential["credentialStatus"]["statusListCredential"] = "http://169.254.169.254/latest"
    credential = world.sign(credential)
    (receipt,) = world.anchor(credential)
    check = world.verify(credential, receipt).check("status")
    assert (check.status, check.code) == ("unknown", "unknown_status_list")


def test_a_credential_without_status_entries_cannot_be_revoked(world: World) -> None:
    credential = world.unsigned()
    del credential["credentialStatus"]
    credential = world.sign(credential)
    (receipt,) = world.anchor(credential)
    assert world.verify(credential, receipt).check("status").code == "no_status"


def test_an_index_beyond_the_list_is_invalid(world: World) -> None:
    credential = world.unsigned()
    credential["credentialStatus"]["statusListIndex"] = str(MIN_LIST_LENGTH)
    credential = world.sign(credential)
    (receipt,) = world.anchor(credential)
    assert world.verify(credential, receipt).check("status").code == "invalid_status_entry"


# -- credentials issued before: two 1-bit entries ---------------------------------------------


def test_an_older_credential_with_two_entries_is_active_when_both_bits_are_clear(
    world: World,
) -> None:
    assert status(world, legacy_status=True) == ("passed", "active")


@pytest.mark.parametrize(("purpose", "code"), [(REVOCATION, "revoked"), (SUSPENSION, "suspended")])
def test_an_older_credential_reads_each_purpose_from_its_bitmap(
    world: World, purpose: int, code: str
) -> None:
    world.chain.bits.add((ISSUER, 0, purpose, STATUS_INDEX))
    assert status(world, legacy_status=True) == ("failed", code)


def test_older_1_bit_lists_that_agree_with_the_chain_pass(world: World) -> None:
    lists = (list_credential("revocation", STATUS_INDEX + 1), list_credential("suspension"))
    assert status(world, legacy_status=True, status_lists=lists) == ("passed", "active")


def test_an_older_1_bit_list_that_disagrees_with_the_chain_fails(world: World) -> None:
    lists = (list_credential("revocation", STATUS_INDEX),)
    assert status(world, legacy_status=True, status_lists=lists) == (
        "failed",
        "status_list_mismatch",
    )
