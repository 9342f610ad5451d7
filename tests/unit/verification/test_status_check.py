"""Revocation and suspension come from the chain's bits; a status list credential at hand must
agree with them; and a URL in a credential is never fetched."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from verification_fakes import ISSUER, STATUS_INDEX, World, status_url

from node.credentials.status_list import Bitstring, status_list_credential
from node.verification.report import Submission

REVOCATION, SUSPENSION = 0, 1


def status(world: World, **submission: Any) -> tuple[str, str]:
    credential, receipt = world.anchored()
    check = world.verify(credential, receipt, **submission).check("status")
    return check.status.value, check.code


def list_credential(purpose: str, *set_bits: int) -> dict[str, Any]:
    return status_list_credential(
        status_url(purpose=purpose),
        "did:ethr:0x7a69:" + ISSUER,
        purpose,
        Bitstring.from_indices(set_bits),
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
    )


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


def test_a_supplied_status_list_that_agrees_with_the_chain_passes(world: World) -> None:
    lists = (list_credential("revocation", STATUS_INDEX + 1), list_credential("suspension"))
    assert status(world, status_lists=lists) == ("passed", "active")


def test_a_supplied_status_list_that_disagrees_with_the_chain_fails(world: World) -> None:
    lists = (list_credential("revocation", STATUS_INDEX),)
    assert status(world, status_lists=lists) == ("failed", "status_list_mismatch")


def test_an_undecodable_status_list_fails(world: World) -> None:
    broken = list_credential("suspension")
    broken["credentialSubject"]["encodedList"] = "not-gzip"
    assert status(world, status_lists=(broken,)) == ("failed", "invalid_status_list")


def test_the_nodes_own_lists_are_compared_through_its_lookup(world: World) -> None:
    asked: list[str] = []

    def own_list(url: str) -> dict[str, Any] | None:
        asked.append(url)
        return list_credential("suspension", STATUS_INDEX) if "suspension" in url else None

    credential, receipt = world.anchored()
    report = world.verifier(status_list_lookup=own_list).verify(Submission(credential, receipt))
    assert asked == [status_url(purpose="revocation"), status_url(purpose="suspension")]
    assert report.check("status").code == "status_list_mismatch"


def test_a_status_entry_pointing_at_another_issuers_list_fails(world: World) -> None:
    credential = world.unsigned()
    credential["credentialStatus"][0]["statusListCredential"] = status_url(issuer="0x" + "ee" * 20)
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
    credential["credentialStatus"][0]["statusListCredential"] = "http://169.254.169.254/latest"
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
