"""IssuerRegistry consortium governance: who may propose, approve and execute, and when."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from web3.contract import Contract

from node.chain.contracts.types import ProposalAction
from tests.support.contracts import (
    METADATA,
    OPEN_BADGE,
    PROPOSAL_LIFETIME,
    Chain,
    Consortium,
    events,
    reverts,
)


def test_constructor_sets_members_threshold_and_lifetime(
    issuer_registry: Contract, chain: Chain
) -> None:
    assert issuer_registry.functions.members().call() == chain.accounts[:3]
    assert issuer_registry.functions.threshold().call() == 2
    assert issuer_registry.functions.proposalLifetime().call() == PROPOSAL_LIFETIME
    assert issuer_registry.functions.isMember(chain.accounts[2]).call()
    assert not issuer_registry.functions.isMember(chain.accounts[5]).call()
    assert issuer_registry.functions.proposalCount().call() == 0


@pytest.mark.parametrize(
    ("members", "threshold", "lifetime", "error"),
    [
        ([], 1, 60, "InvalidThreshold"),
        ([0, 1], 0, 60, "InvalidThreshold"),
        ([0, 1], 3, 60, "InvalidThreshold"),
        ([0, 0], 1, 60, "AlreadyMember"),
        ([0, 1], 1, 0, "InvalidLifetime"),
    ],
)
def test_constructor_refuses_an_unworkable_consortium(
    chain: Chain,
    issuer_registry: Contract,
    *,
    members: list[int],
    threshold: int,
    lifetime: int,
    error: str,
) -> None:
    with reverts(issuer_registry, error):
        chain.deploy("IssuerRegistry", [chain.accounts[i] for i in members], threshold, lifetime)


def test_constructor_refuses_the_zero_address_as_member(
    chain: Chain, issuer_registry: Contract
) -> None:
    with reverts(issuer_registry, "ZeroAddress"):
        chain.deploy("IssuerRegistry", ["0x" + "00" * 20], 1, 60)


def test_proposing_records_the_proposal_and_the_proposers_approval(
    chain: Chain, issuer_registry: Contract
) -> None:
    proposer, issuer = chain.accounts[1], chain.accounts[3]
    aliases = ["did:web:registrar.example.edu"]
    receipt = chain.send(
        issuer_registry.functions.proposeAccreditation(
            issuer, [OPEN_BADGE], 10, 20, METADATA, aliases
        ),
        proposer,
    )
    created_at = chain.block_time(receipt)
    (created,) = events(issuer_registry, "ProposalCreated", receipt)
    assert created["args"] == {
        "id": 1,
        "proposer": proposer,
        "action": ProposalAction.ACCREDIT_ISSUER,
        "target": issuer,
        "credentialTypes": [OPEN_BADGE],
        "validFrom": 10,
        "validUntil": 20,
        "metadataHash": keccak(text=METADATA),
        "newThreshold": 0,
        "expiresAt": created_at + PROPOSAL_LIFETIME,
        "metadata": METADATA,
        "aliases": aliases,
    }
    assert [e["args"]["member"] for e in events(issuer_registry, "ProposalApproved", receipt)] == [
        proposer
    ]

    proposal = issuer_registry.functions.getProposal(1).call()
    assert proposal == (
        ProposalAction.ACCREDIT_ISSUER,
        issuer,
        [OPEN_BADGE],
        10,
        20,
        keccak(text=METADATA),
        0,
        proposer,
        created_at,
        created_at + PROPOSAL_LIFETIME,
        False,
        1,
        aliases,
    )
    assert issuer_registry.functions.hasApproved(1, proposer).call()
    assert not issuer_registry.functions.hasApproved(1, chain.accounts[0]).call()
    assert issuer_registry.functions.proposalCount().call() == 1


def test_other_proposals_publish_no_metadata_or_aliases(
    chain: Chain, issuer_registry: Contract
) -> None:
    receipt = chain.send(issuer_registry.functions.proposeThreshold(3), chain.accounts[0])
    (created,) = events(issuer_registry, "ProposalCreated", receipt)
    assert created["args"]["newThreshold"] == 3
    assert created["args"]["target"] == "0x" + "00" * 20
    assert (created["args"]["metadata"], created["args"]["aliases"]) == ("", [])
    assert created["args"]["metadataHash"] == b"\x00" * 32


def test_outsiders_cannot_propose_approve_or_execute(
    chain: Chain, issuer_registry: Contract, consortium: Consortium
) -> None:
    outsider = chain.accounts[5]
    functions = issuer_registry.functions
    proposal = consortium.propose(lambda r: r.functions.proposeThreshold(1))
    calls = [
        functions.proposeAccreditation(outsider, [OPEN_BADGE], 0, 0, METADATA, []),
        functions.proposeIssuerAction(ProposalAction.SUSPEND_ISSUER, chain.accounts[3]),
        functions.proposeMembership(ProposalAction.ADD_MEMBER, outsider),
        functions.proposeThreshold(1),
        functions.approve(proposal),
        functions.execute(proposal),
    ]
    for call in calls:
        with reverts(issuer_registry, "NotMember", outsider):
            chain.send(call, outsider)


def test_a_member_cannot_approve_twice(chain: Chain, consortium: Consortium) -> None:
    proposal = consortium.propose(lambda r: r.functions.proposeThreshold(1))
    with reverts(consortium.registry, "AlreadyApproved", proposal, chain.accounts[0]):
        chain.send(consortium.registry.functions.approve(proposal), chain.accounts[0])


def test_execution_below_threshold_is_refused(chain: Chain, consortium: Consortium) -> None:
    proposal = consortium.propose(lambda r: r.functions.proposeThreshold(1))
    with reverts(consortium.registry, "ThresholdNotReached", proposal, 1, 2):
        chain.send(consortium.registry.functions.execute(proposal), chain.accounts[0])


def test_approval_does_not_execute_and_any_member_may_execute(
    chain: Chain, consortium: Consortium
) -> None:
    registry = consortium.registry
    proposal = consortium.propose(lambda r: r.functions.proposeThreshold(3))
    chain.send(registry.functions.approve(proposal), chain.accounts[1])
    assert registry.functions.threshold().call() == 2
    assert registry.functions.getProposal(proposal).call()[11] == 2

    receipt = chain.send(registry.functions.execute(proposal), chain.accounts[2])
    (executed,) = events(registry, "ProposalExecuted", receipt)
    assert executed["args"]["executor"] == chain.accounts[2]
    (changed,) = events(registry, "ThresholdChanged", receipt)
    assert (changed["args"]["previousThreshold"], changed["args"]["newThreshold"]) == (2, 3)
    assert registry.functions.threshold().call() == 3
    assert registry.functions.getProposal(proposal).call()[10] is True


def test_an_executed_proposal_cannot_be_replayed_or_approved(
    chain: Chain, consortium: Consortium
) -> None:
    registry = consortium.registry
    consortium.enact(lambda r: r.functions.proposeThreshold(1))
    with reverts(registry, "ProposalAlreadyExecuted", 1):
        chain.send(registry.functions.execute(1), chain.accounts[1])
    with reverts(registry, "ProposalAlreadyExecuted", 1):
        chain.send(registry.functions.approve(1), chain.accounts[2])


def test_a_proposal_expires_after_its_lifetime(chain: Chain, consortium: Consortium) -> None:
    registry = consortium.registry
    proposal = consortium.propose(lambda r: r.functions.proposeThreshold(1))
    chain.advance(PROPOSAL_LIFETIME)
    with reverts(registry, "ProposalExpired", proposal):
        chain.send(registry.functions.approve(proposal), chain.accounts[1])

    fresh = consortium.propose(lambda r: r.functions.proposeThreshold(1))
    chain.send(registry.functions.approve(fresh), chain.accounts[1])
    chain.advance(PROPOSAL_LIFETIME)
    with reverts(registry, "ProposalExpired", fresh):
        chain.send(registry.functions.execute(fresh), chain.accounts[0])


def test_unknown_proposals_are_refused(chain: Chain, issuer_registry: Contract) -> None:
    for proposal in (0, 1):
        with reverts(issuer_registry, "UnknownProposal", proposal):
            chain.send(issuer_registry.functions.approve(proposal), chain.accounts[0])
        with reverts(issuer_registry, "UnknownProposal", proposal):
            issuer_registry.functions.getProposal(proposal).call()


def test_adding_a_member_lets_it_govern(chain: Chain, consortium: Consortium) -> None:
    registry, newcomer = consortium.registry, chain.accounts[6]
    receipt = consortium.enact(
        lambda r: r.functions.proposeMembership(ProposalAction.ADD_MEMBER, newcomer)
    )
    (added,) = events(registry, "MemberAdded", receipt)
    assert added["args"]["member"] == newcomer
    assert added["args"]["proposalId"] == 1
    assert registry.functions.members().call() == [*chain.accounts[:3], newcomer]
    consortium.propose(lambda r: r.functions.proposeThreshold(1), proposer=newcomer)


def test_removing_a_member_drops_its_pending_approvals(
    chain: Chain, consortium: Consortium
) -> None:
    registry = consortium.registry
    leaving = chain.accounts[2]
    pending = consortium.propose(lambda r: r.functions.proposeThreshold(1), proposer=leaving)
    receipt = consortium.enact(
        lambda r: r.functions.proposeMembership(ProposalAction.REMOVE_MEMBER, leaving)
    )
    assert events(registry, "MemberRemoved", receipt)[0]["args"]["member"] == leaving
    assert registry.functions.members().call() == chain.accounts[:2]
    assert registry.functions.getProposal(pending).call()[11] == 0
    assert not registry.functions.hasApproved(pending, leaving).call()
    with reverts(registry, "NotMember", leaving):
        chain.send(registry.functions.approve(pending), leaving)

    chain.send(registry.functions.approve(pending), chain.accounts[0])
    with reverts(registry, "ThresholdNotReached", pending, 1, 2):
        chain.send(registry.functions.execute(pending), chain.accounts[0])


def test_membership_proposals_are_validated_when_made(chain: Chain, consortium: Consortium) -> None:
    registry, proposer = consortium.registry, chain.accounts[0]
    functions = registry.functions
    with reverts(registry, "AlreadyMember", chain.accounts[1]):
        chain.send(
            functions.proposeMembership(ProposalAction.ADD_MEMBER, chain.accounts[1]), proposer
        )
    with reverts(registry, "NotMember", chain.accounts[5]):
        chain.send(
            functions.proposeMembership(ProposalAction.REMOVE_MEMBER, chain.accounts[5]), proposer
        )
    with reverts(registry, "ZeroAddress"):
        chain.send(
            functions.proposeMembership(ProposalAction.ADD_MEMBER, "0x" + "00" * 20), proposer
        )
    with reverts(registry, "InvalidAction", ProposalAction.CHANGE_THRESHOLD):
        chain.send(
            functions.proposeMembership(ProposalAction.CHANGE_THRESHOLD, chain.accounts[6]),
            proposer,
        )
    for threshold in (0, 4):
        with reverts(registry, "InvalidThreshold", threshold, 3):
            chain.send(functions.proposeThreshold(threshold), proposer)


def test_removal_that_makes_the_threshold_unreachable_is_refused(
    chain: Chain, consortium: Consortium
) -> None:
    registry = consortium.registry
    consortium.enact(lambda r: r.functions.proposeThreshold(3))
    with reverts(registry, "InvalidThreshold", 3, 2):
        chain.send(
            registry.functions.proposeMembership(ProposalAction.REMOVE_MEMBER, chain.accounts[2]),
            chain.accounts[0],
        )


def test_removal_and_threshold_are_revalidated_at_execution(
    chain: Chain, consortium: Consortium
) -> None:
    """Two proposals valid alone, fatal together: the second one to execute must fail."""
    registry = consortium.registry
    members = chain.accounts[:3]
    removal = consortium.propose(
        lambda r: r.functions.proposeMembership(ProposalAction.REMOVE_MEMBER, members[2])
    )
    raise_threshold = consortium.propose(lambda r: r.functions.proposeThreshold(3))
    for proposal in (removal, raise_threshold):
        chain.send(registry.functions.approve(proposal), members[1])

    chain.send(registry.functions.execute(raise_threshold), members[0])
    chain.send(registry.functions.approve(removal), members[2])
    with reverts(registry, "InvalidThreshold", 3, 2):
        chain.send(registry.functions.execute(removal), members[0])
    assert registry.functions.threshold().call() == 3
    assert registry.functions.members().call() == members


def test_threshold_change_is_revalidated_at_execution(chain: Chain, consortium: Consortium) -> None:
    registry = consortium.registry
    members = chain.accounts[:3]
    raise_threshold = consortium.propose(lambda r: r.functions.proposeThreshold(3))
    chain.send(registry.functions.approve(raise_threshold), members[1])
    consortium.enact(
        lambda r: r.functions.proposeMembership(ProposalAction.REMOVE_MEMBER, members[2])
    )
    with reverts(registry, "InvalidThreshold", 3, 2):
        chain.send(registry.functions.execute(raise_threshold), members[0])


def test_the_last_member_cannot_be_removed(chain: Chain, consortium: Consortium) -> None:
    registry = consortium.registry
    members = chain.accounts[:3]
    consortium.enact(lambda r: r.functions.proposeThreshold(1))
    for leaving in members[1:]:
        propose = registry.functions.proposeMembership(ProposalAction.REMOVE_MEMBER, leaving)
        chain.send(propose, members[0])
        proposal = registry.functions.proposalCount().call()
        chain.send(registry.functions.execute(proposal), members[0])
    assert registry.functions.members().call() == [members[0]]
    with reverts(registry, "InvalidThreshold", 1, 0):
        chain.send(
            registry.functions.proposeMembership(ProposalAction.REMOVE_MEMBER, members[0]),
            members[0],
        )


def test_adding_the_same_member_twice_fails_at_the_second_execution(
    chain: Chain, consortium: Consortium
) -> None:
    registry, newcomer = consortium.registry, chain.accounts[6]
    first = consortium.propose(
        lambda r: r.functions.proposeMembership(ProposalAction.ADD_MEMBER, newcomer)
    )
    second = consortium.propose(
        lambda r: r.functions.proposeMembership(ProposalAction.ADD_MEMBER, newcomer)
    )
    for proposal in (first, second):
        chain.send(registry.functions.approve(proposal), chain.accounts[1])
    chain.send(registry.functions.execute(first), chain.accounts[0])
    with reverts(registry, "AlreadyMember", newcomer):
        chain.send(registry.functions.execute(second), chain.accounts[0])


def _remove_and_readd(consortium: Consortium, member: str) -> None:
    consortium.enact(lambda r: r.functions.proposeMembership(ProposalAction.REMOVE_MEMBER, member))
    consortium.enact(lambda r: r.functions.proposeMembership(ProposalAction.ADD_MEMBER, member))


def test_a_readded_members_old_approval_does_not_count_again(
    chain: Chain, consortium: Consortium
) -> None:
    """Approve, be removed, be re-added: the approval from the first membership stays void, so
    it cannot help the proposal over the threshold; the member must approve afresh."""
    registry = consortium.registry
    founder, returning = chain.accounts[0], chain.accounts[2]
    pending = consortium.propose(lambda r: r.functions.proposeThreshold(1))
    chain.send(registry.functions.approve(pending), returning)
    assert registry.functions.getProposal(pending).call()[11] == 2

    _remove_and_readd(consortium, returning)
    assert registry.functions.isMember(returning).call()
    assert not registry.functions.hasApproved(pending, returning).call()
    assert registry.functions.getProposal(pending).call()[11] == 1
    with reverts(registry, "ThresholdNotReached", pending, 1, 2):
        chain.send(registry.functions.execute(pending), founder)

    receipt = chain.send(registry.functions.approve(pending), returning)
    assert events(registry, "ProposalApproved", receipt)[0]["args"]["member"] == returning
    assert registry.functions.hasApproved(pending, returning).call()
    assert registry.functions.getProposal(pending).call()[11] == 2
    with reverts(registry, "AlreadyApproved", pending, returning):
        chain.send(registry.functions.approve(pending), returning)
    chain.send(registry.functions.execute(pending), founder)
    assert registry.functions.threshold().call() == 1


def test_a_readded_proposers_implied_approval_does_not_count_again(
    chain: Chain, consortium: Consortium
) -> None:
    registry = consortium.registry
    returning = chain.accounts[2]
    pending = consortium.propose(lambda r: r.functions.proposeThreshold(1), proposer=returning)
    _remove_and_readd(consortium, returning)
    assert not registry.functions.hasApproved(pending, returning).call()
    chain.send(registry.functions.approve(pending), chain.accounts[0])
    with reverts(registry, "ThresholdNotReached", pending, 1, 2):
        chain.send(registry.functions.execute(pending), chain.accounts[0])
    chain.send(registry.functions.approve(pending), returning)
    assert registry.functions.getProposal(pending).call()[11] == 2


def test_approvals_survive_other_members_comings_and_goings(
    chain: Chain, consortium: Consortium
) -> None:
    """Voiding is per member: removing and re-adding one member leaves the others' approvals."""
    registry = consortium.registry
    staying, returning = chain.accounts[1], chain.accounts[2]
    pending = consortium.propose(lambda r: r.functions.proposeThreshold(1), proposer=staying)
    _remove_and_readd(consortium, returning)
    assert registry.functions.hasApproved(pending, staying).call()
    chain.send(registry.functions.approve(pending), returning)
    chain.send(registry.functions.execute(pending), chain.accounts[0])
    assert registry.functions.threshold().call() == 1
