"""Accreditation is judged when the credential was anchored, and a failure says why: the issuer
was suspended, removed, never accredited, or not accredited for this kind of credential."""

from __future__ import annotations

from node.chain.contracts.types import Grant, IssuerStatus, credential_type_id
from tests.support.verification_fakes import ANCHOR_TIME, ISSUER, OPEN, World


def accreditation(world: World) -> tuple[str, str]:
    credential, receipt = world.anchored()
    check = world.verify(credential, receipt).check("accreditation")
    return check.status.value, check.code


def test_an_issuer_accredited_at_anchoring_time_passes(world: World) -> None:
    assert accreditation(world) == ("passed", "accredited")


def test_a_suspension_after_the_anchor_does_not_void_earlier_credentials(world: World) -> None:
    world.chain.set_issuer_status(ISSUER, IssuerStatus.SUSPENDED, ANCHOR_TIME + 60)
    assert accreditation(world) == ("passed", "accredited")


def test_an_issuer_suspended_when_it_anchored_fails_as_suspended(world: World) -> None:
    world.chain.set_issuer_status(ISSUER, IssuerStatus.SUSPENDED, ANCHOR_TIME - 60)
    assert accreditation(world) == ("failed", "issuer_suspended")


def test_an_issuer_removed_before_anchoring_fails_as_removed(world: World) -> None:
    world.chain.set_issuer_status(ISSUER, IssuerStatus.REMOVED, ANCHOR_TIME - 60)
    assert accreditation(world) == ("failed", "issuer_removed")


def test_an_issuer_never_accredited_fails_as_such(world: World) -> None:
    world.chain.statuses.clear()
    world.chain.grants.clear()
    assert accreditation(world) == ("failed", "never_accredited")


def test_accreditation_for_another_credential_type_does_not_count(world: World) -> None:
    world.chain.grants[ISSUER] = [
        g for g in world.chain.grants[ISSUER] if g.credential_type != credential_type_id(
            "OpenBadgeCredential"
        )
    ]  # fmt: skip
    assert accreditation(world) == ("failed", "not_accredited_for_type")


def test_a_grant_whose_validity_window_had_ended_does_not_count(world: World) -> None:
    world.chain.grants[ISSUER] = [
        Grant(credential_type_id("OpenBadgeCredential"), 0, OPEN, 0, ANCHOR_TIME - 1)
    ]
    assert accreditation(world) == ("failed", "accreditation_not_in_force")


def test_without_an_anchor_a_currently_unaccredited_issuer_fails(world: World) -> None:
    world.chain.set_issuer_status(ISSUER, IssuerStatus.SUSPENDED, world.chain.now - 1)
    check = world.verify(world.credential()).check("accreditation")
    assert (check.status, check.code) == ("failed", "issuer_suspended")
    assert "now" in check.detail
