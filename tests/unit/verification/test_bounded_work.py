"""One verification request costs bounded work: a CLR of up to 500 achievements (the largest
transcript the node issues) verifies, more credentials are refused before any of them is
checked, and a verification that needs more CPU time than its budget is refused with a problem
rather than answered partially."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from node.credentials.inputs import IssuerProfile, LearnerInput
from node.credentials.model import build_clr
from node.errors import InvalidInput
from node.verification.engine import Budget, VerificationBudgetExceeded, VerificationLimits
from node.verification.report import Submission
from tests.support.verification_fakes import ISSUER_DID, World


def transcript(world: World, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return world.sign(
        build_clr(
            parts,
            IssuerProfile(id=ISSUER_DID, name="Example Technical College"),
            LearnerInput(name="Ada Lovelace", email="ada@example.edu"),
            name="Transcript",
        )
    )


def test_a_clr_beyond_the_largest_transcript_is_refused_before_any_check(world: World) -> None:
    part = world.credential()
    minimal = [copy.deepcopy(part) for _ in range(1612)]  # the audit's ~1 MB CLR
    signed = transcript(world, [part])
    clr = copy.deepcopy(signed)  # its proof no longer fits: nothing gets that far
    clr["credentialSubject"]["verifiableCredential"] = minimal
    with pytest.raises(InvalidInput) as refused:
        world.verify(clr)
    assert refused.value.code == "too_many_credentials"
    assert refused.value.status == 422
    assert world.chain.plans == []  # refused before reading the chain or checking a proof


def test_the_cap_counts_the_clr_and_each_achievement(world: World) -> None:
    parts = [world.credential() for _ in range(4)]
    clr = transcript(world, parts)
    receipts = world.anchor(clr, *parts)
    submission = Submission(clr, receipts[0], embedded_receipts=tuple(receipts[1:]))
    assert world.verifier(limits=VerificationLimits(max_credentials=5)).verify(submission)
    with pytest.raises(InvalidInput) as refused:
        world.verifier(limits=VerificationLimits(max_credentials=4)).verify(submission)
    assert refused.value.code == "too_many_credentials"


def test_the_default_cap_admits_a_transcript_of_500_achievements() -> None:
    assert VerificationLimits().max_credentials == 501


def test_a_verification_over_its_cpu_budget_is_refused_not_half_answered(world: World) -> None:
    parts = [world.credential() for _ in range(3)]
    clr = transcript(world, parts)
    receipts = world.anchor(clr, *parts)
    tight = world.verifier(limits=VerificationLimits(cpu_seconds=1e-9))
    with pytest.raises(VerificationBudgetExceeded) as refused:
        tight.verify(Submission(clr, receipts[0], embedded_receipts=tuple(receipts[1:])))
    assert refused.value.code == "verification_budget_exceeded"
    assert refused.value.status == 422


def test_the_budget_is_checked_between_units_of_work() -> None:
    now = [0.0]
    budget = Budget(2.0, clock=lambda: now[0])
    budget.check()
    now[0] = 1.9
    budget.check()
    now[0] = 2.1
    with pytest.raises(VerificationBudgetExceeded):
        budget.check()
    Budget(None, clock=lambda: 1e9).check()  # unbounded: the CLI
