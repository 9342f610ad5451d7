"""IssuerRegistry issuer lifecycle and the accreditation history behind `isAccredited`."""

from __future__ import annotations

from eth_utils import keccak
from web3.contract import Contract

from node.chain.contracts.types import IssuerStatus, ProposalAction
from tests.support.contracts import CLR, METADATA, OPEN_BADGE, Chain, Consortium, events, reverts

OPEN = 2**64 - 1


def accredited(registry: Contract, issuer: str, type_id: bytes, at: int) -> bool:
    return bool(registry.functions.isAccredited(issuer, type_id, at).call())


def test_accreditation_grants_the_types_from_execution_on(
    chain: Chain, consortium: Consortium
) -> None:
    registry, issuer = consortium.registry, chain.accounts[3]
    receipt = consortium.accredit(issuer, [OPEN_BADGE, CLR], metadata='{"legalName":"A"}')
    at = chain.block_time(receipt)

    (event,) = events(registry, "IssuerAccredited", receipt)
    assert event["args"] == {
        "issuer": issuer,
        "proposalId": 1,
        "credentialTypes": [OPEN_BADGE, CLR],
        "validFrom": 0,
        "validUntil": 0,
        "metadataHash": keccak(text='{"legalName":"A"}'),
    }
    assert registry.functions.issuerStatus(issuer).call() == IssuerStatus.ACTIVE
    assert registry.functions.issuerMetadataHash(issuer).call() == keccak(text='{"legalName":"A"}')
    assert registry.functions.accreditationHistory(issuer).call() == [
        (OPEN_BADGE, at, OPEN, 0, 0),
        (CLR, at, OPEN, 0, 0),
    ]
    assert registry.functions.statusHistory(issuer).call() == [(IssuerStatus.ACTIVE, at)]
    assert accredited(registry, issuer, OPEN_BADGE, at)
    assert accredited(registry, issuer, CLR, at + 10_000)
    assert not accredited(registry, issuer, OPEN_BADGE, at - 1)
    assert not accredited(registry, chain.accounts[4], OPEN_BADGE, at)
    assert not accredited(registry, issuer, b"\x01" * 32, at)


def test_accreditation_proposals_are_validated(chain: Chain, issuer_registry: Contract) -> None:
    member, issuer = chain.accounts[0], chain.accounts[3]
    propose = issuer_registry.functions.proposeAccreditation
    zero = "0x" + "00" * 20
    with reverts(issuer_registry, "ZeroAddress"):
        chain.send(propose(zero, [OPEN_BADGE], 0, 0, METADATA, []), member)
    with reverts(issuer_registry, "NoCredentialTypes"):
        chain.send(propose(issuer, [], 0, 0, METADATA, []), member)
    with reverts(issuer_registry, "DuplicateCredentialType", CLR):
        chain.send(propose(issuer, [CLR, OPEN_BADGE, CLR], 0, 0, METADATA, []), member)
    with reverts(issuer_registry, "InvalidValidityWindow", 20, 20):
        chain.send(propose(issuer, [CLR], 20, 20, METADATA, []), member)
    assert issuer_registry.functions.proposalCount().call() == 0


def test_validity_window_bounds_accreditation(chain: Chain, consortium: Consortium) -> None:
    registry, issuer = consortium.registry, chain.accounts[3]
    start = chain.now() + 1_000
    end = start + 5_000
    consortium.accredit(issuer, [OPEN_BADGE], valid_from=start, valid_until=end)
    assert not accredited(registry, issuer, OPEN_BADGE, start - 1)
    assert accredited(registry, issuer, OPEN_BADGE, start)
    assert accredited(registry, issuer, OPEN_BADGE, end - 1)
    assert not accredited(registry, issuer, OPEN_BADGE, end)

    chain.advance(1_000)
    chain.tester.mine_blocks(1)
    assert accredited(registry, issuer, OPEN_BADGE, chain.now())


def test_reaccreditation_replaces_grants_and_keeps_history(
    chain: Chain, consortium: Consortium
) -> None:
    registry, issuer = consortium.registry, chain.accounts[3]
    first = chain.block_time(consortium.accredit(issuer, [OPEN_BADGE, CLR]))
    chain.advance(100)
    second = chain.block_time(consortium.accredit(issuer, [CLR], metadata='{"legalName":"B"}'))

    assert registry.functions.accreditationHistory(issuer).call() == [
        (OPEN_BADGE, first, second, 0, 0),
        (CLR, first, second, 0, 0),
        (CLR, second, OPEN, 0, 0),
    ]
    assert registry.functions.statusHistory(issuer).call() == [(IssuerStatus.ACTIVE, first)]
    assert accredited(registry, issuer, OPEN_BADGE, second - 1)
    assert not accredited(registry, issuer, OPEN_BADGE, second)
    assert not accredited(registry, issuer, OPEN_BADGE, second + 50)
    assert accredited(registry, issuer, CLR, second - 1)
    assert accredited(registry, issuer, CLR, second)
    assert registry.functions.issuerMetadataHash(issuer).call() == keccak(text='{"legalName":"B"}')
    assert registry.functions.accreditationProposalOf(issuer).call() == 2


def test_suspension_and_reinstatement_are_answered_at_every_past_time(
    chain: Chain, consortium: Consortium
) -> None:
    registry, issuer = consortium.registry, chain.accounts[3]
    accredited_at = chain.block_time(consortium.accredit(issuer, [OPEN_BADGE]))
    chain.advance(100)
    receipt = consortium.issuer_action(ProposalAction.SUSPEND_ISSUER, issuer)
    suspended_at = chain.block_time(receipt)
    assert events(registry, "IssuerSuspended", receipt)[0]["args"]["issuer"] == issuer
    assert registry.functions.issuerStatus(issuer).call() == IssuerStatus.SUSPENDED
    assert not accredited(registry, issuer, OPEN_BADGE, chain.now())

    chain.advance(100)
    receipt = consortium.issuer_action(ProposalAction.REINSTATE_ISSUER, issuer)
    reinstated_at = chain.block_time(receipt)
    assert events(registry, "IssuerReinstated", receipt)[0]["args"]["issuer"] == issuer
    assert registry.functions.issuerStatus(issuer).call() == IssuerStatus.ACTIVE

    assert registry.functions.statusHistory(issuer).call() == [
        (IssuerStatus.ACTIVE, accredited_at),
        (IssuerStatus.SUSPENDED, suspended_at),
        (IssuerStatus.ACTIVE, reinstated_at),
    ]
    assert accredited(registry, issuer, OPEN_BADGE, suspended_at - 1)
    assert not accredited(registry, issuer, OPEN_BADGE, suspended_at)
    assert not accredited(registry, issuer, OPEN_BADGE, reinstated_at - 1)
    assert accredited(registry, issuer, OPEN_BADGE, reinstated_at)
    assert accredited(registry, issuer, OPEN_BADGE, chain.now())


def test_removal_closes_grants_and_only_a_new_accreditation_restores(
    chain: Chain, consortium: Consortium
) -> None:
    registry, issuer = consortium.registry, chain.accounts[3]
    accredited_at = chain.block_time(consortium.accredit(issuer, [OPEN_BADGE]))
    chain.advance(100)
    consortium.issuer_action(ProposalAction.SUSPEND_ISSUER, issuer)
    chain.advance(100)
    receipt = consortium.issuer_action(ProposalAction.REMOVE_ISSUER, issuer)
    removed_at = chain.block_time(receipt)
    assert events(registry, "IssuerRemoved", receipt)[0]["args"]["issuer"] == issuer
    assert registry.functions.issuerStatus(issuer).call() == IssuerStatus.REMOVED
    assert registry.functions.accreditationHistory(issuer).call() == [
        (OPEN_BADGE, accredited_at, removed_at, 0, 0)
    ]
    assert accredited(registry, issuer, OPEN_BADGE, accredited_at + 50)
    assert not accredited(registry, issuer, OPEN_BADGE, removed_at + 1)

    for action in (ProposalAction.REINSTATE_ISSUER, ProposalAction.SUSPEND_ISSUER):
        with reverts(registry, "InvalidIssuerTransition", issuer, IssuerStatus.REMOVED, action):
            consortium.issuer_action(action, issuer)

    chain.advance(100)
    again_at = chain.block_time(consortium.accredit(issuer, [CLR]))
    assert registry.functions.issuerStatus(issuer).call() == IssuerStatus.ACTIVE
    assert accredited(registry, issuer, CLR, again_at)
    assert not accredited(registry, issuer, OPEN_BADGE, again_at)
    assert accredited(registry, issuer, OPEN_BADGE, accredited_at + 50)


def test_accrediting_a_suspended_issuer_keeps_it_suspended(
    chain: Chain, consortium: Consortium
) -> None:
    registry, issuer = consortium.registry, chain.accounts[3]
    consortium.accredit(issuer, [OPEN_BADGE])
    consortium.issuer_action(ProposalAction.SUSPEND_ISSUER, issuer)
    consortium.accredit(issuer, [CLR])
    assert registry.functions.issuerStatus(issuer).call() == IssuerStatus.SUSPENDED
    assert not accredited(registry, issuer, CLR, chain.now())

    consortium.issuer_action(ProposalAction.REINSTATE_ISSUER, issuer)
    assert accredited(registry, issuer, CLR, chain.now())
    assert not accredited(registry, issuer, OPEN_BADGE, chain.now())


def test_issuer_transitions_are_checked_at_execution(chain: Chain, consortium: Consortium) -> None:
    registry, issuer = consortium.registry, chain.accounts[4]
    for action in (
        ProposalAction.SUSPEND_ISSUER,
        ProposalAction.REINSTATE_ISSUER,
        ProposalAction.REMOVE_ISSUER,
    ):
        with reverts(registry, "InvalidIssuerTransition", issuer, IssuerStatus.NONE, action):
            consortium.issuer_action(action, issuer)
    consortium.accredit(issuer, [OPEN_BADGE])
    with reverts(
        registry,
        "InvalidIssuerTransition",
        issuer,
        IssuerStatus.ACTIVE,
        ProposalAction.REINSTATE_ISSUER,
    ):
        consortium.issuer_action(ProposalAction.REINSTATE_ISSUER, issuer)


def test_issuer_action_proposals_are_validated(chain: Chain, issuer_registry: Contract) -> None:
    member = chain.accounts[0]
    with reverts(issuer_registry, "InvalidAction", ProposalAction.ADD_MEMBER):
        chain.send(
            issuer_registry.functions.proposeIssuerAction(
                ProposalAction.ADD_MEMBER, chain.accounts[3]
            ),
            member,
        )
    with reverts(issuer_registry, "ZeroAddress"):
        chain.send(
            issuer_registry.functions.proposeIssuerAction(
                ProposalAction.SUSPEND_ISSUER, "0x" + "00" * 20
            ),
            member,
        )


def test_history_agrees_with_the_current_time_answer(chain: Chain, consortium: Consortium) -> None:
    """The one-slot fast path (t == now) and the history search must never disagree."""
    registry, issuer = consortium.registry, chain.accounts[3]
    checkpoints: list[tuple[int, bool]] = []

    def record() -> None:
        chain.tester.mine_blocks(1)
        now = chain.now()
        checkpoints.append((now, accredited(registry, issuer, OPEN_BADGE, now)))
        chain.advance(10)

    record()
    consortium.accredit(issuer, [OPEN_BADGE])
    record()
    consortium.issuer_action(ProposalAction.SUSPEND_ISSUER, issuer)
    record()
    consortium.issuer_action(ProposalAction.REINSTATE_ISSUER, issuer)
    record()
    consortium.accredit(issuer, [CLR])
    record()
    consortium.accredit(issuer, [OPEN_BADGE, CLR])
    record()
    consortium.issuer_action(ProposalAction.REMOVE_ISSUER, issuer)
    record()

    assert [answer for _, answer in checkpoints] == [False, True, False, True, False, True, False]
    chain.tester.mine_blocks(1)
    for at, answer in checkpoints:
        assert accredited(registry, issuer, OPEN_BADGE, at) is answer
