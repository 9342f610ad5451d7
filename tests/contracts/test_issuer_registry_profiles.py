"""IssuerRegistry issuer profiles: the metadata document the consortium votes on, published on
chain for every node, and the DID aliases (did:web) the consortium binds to issuer addresses."""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak
from web3.contract import Contract

from node.chain.contracts.types import IssuerStatus, ProposalAction
from tests.support.contracts import CLR, METADATA, OPEN_BADGE, Chain, Consortium, events, reverts

ALIAS = "did:web:registrar.example.edu"
OTHER_ALIAS = "did:web:example.edu:registrar"
ZERO = "0x" + "00" * 20


def alias_hash(alias: str) -> bytes:
    return keccak(alias.encode("utf-8"))


def propose_accreditation(
    chain: Chain,
    registry: Contract,
    issuer: str,
    metadata: str = METADATA,
    aliases: list[str] | None = None,
) -> None:
    call = registry.functions.proposeAccreditation(
        issuer, [OPEN_BADGE], 0, 0, metadata, aliases or []
    )
    chain.send(call, chain.accounts[0])


# ------------------------------------------------------------------------ metadata


def test_a_node_reads_an_issuers_metadata_document_from_chain_data_alone(
    chain: Chain, consortium: Consortium
) -> None:
    """State names the proposal, its ProposalCreated log holds the document, the stored hash
    proves it: no off-chain store is needed to serve the profile the consortium voted on."""
    registry, issuer = consortium.registry, chain.accounts[3]
    document = json.dumps(
        {
            "legalName": "Université d'Exemple",
            "homepage": "https://www.example.edu",
            "logo": "https://www.example.edu/logo.svg",
            "location": {"locality": "Montréal", "country": "CA"},
            "ctid": "ce-0f6a3b7e-8a53-4f4e-9c9d-6c3f1e2d4b5a",
            "ror": "https://ror.org/00example",
        },
        ensure_ascii=False,
    )
    consortium.accredit(chain.accounts[4], [OPEN_BADGE])
    consortium.accredit(issuer, [OPEN_BADGE], metadata=document)

    proposal_id = registry.functions.accreditationProposalOf(issuer).call()
    stored_hash = registry.functions.issuerMetadataHash(issuer).call()
    logs = registry.events.ProposalCreated().get_logs(
        from_block=0, argument_filters={"id": proposal_id}
    )
    (created,) = logs
    assert created["args"]["target"] == issuer
    assert created["args"]["metadata"] == document
    assert keccak(created["args"]["metadata"].encode("utf-8")) == stored_hash
    assert json.loads(created["args"]["metadata"])["location"]["locality"] == "Montréal"


def test_metadata_takes_effect_only_when_the_accreditation_executes(
    chain: Chain, consortium: Consortium
) -> None:
    registry, issuer = consortium.registry, chain.accounts[3]
    assert registry.functions.issuerMetadataHash(issuer).call() == b"\x00" * 32
    assert registry.functions.accreditationProposalOf(issuer).call() == 0

    proposal = consortium.propose(
        lambda r: r.functions.proposeAccreditation(issuer, [OPEN_BADGE], 0, 0, METADATA, [])
    )
    assert registry.functions.getProposal(proposal).call()[5] == keccak(text=METADATA)
    assert registry.functions.issuerMetadataHash(issuer).call() == b"\x00" * 32

    chain.send(registry.functions.approve(proposal), chain.accounts[1])
    chain.send(registry.functions.execute(proposal), chain.accounts[0])
    assert registry.functions.issuerMetadataHash(issuer).call() == keccak(text=METADATA)
    assert registry.functions.accreditationProposalOf(issuer).call() == proposal


def test_metadata_is_bounded_to_4096_bytes(chain: Chain, issuer_registry: Contract) -> None:
    issuer = chain.accounts[3]
    assert issuer_registry.functions.MAX_METADATA_LENGTH().call() == 4096

    propose_accreditation(chain, issuer_registry, issuer, metadata="x" * 4096)
    with reverts(issuer_registry, "MetadataTooLong", 4097, 4096):
        propose_accreditation(chain, issuer_registry, issuer, metadata="x" * 4097)
    with reverts(issuer_registry, "MetadataTooLong", 4098, 4096):
        propose_accreditation(chain, issuer_registry, issuer, metadata="é" * 2049)
    assert issuer_registry.functions.proposalCount().call() == 1


# ------------------------------------------------------------------------ aliases


def test_aliases_are_bound_when_the_accreditation_executes(
    chain: Chain, consortium: Consortium
) -> None:
    registry, issuer = consortium.registry, chain.accounts[3]
    proposal = consortium.propose(
        lambda r: r.functions.proposeAccreditation(
            issuer, [OPEN_BADGE], 0, 0, METADATA, [ALIAS, OTHER_ALIAS]
        )
    )
    assert registry.functions.getProposal(proposal).call()[12] == [ALIAS, OTHER_ALIAS]
    assert registry.functions.issuerOfAlias(alias_hash(ALIAS)).call() == ZERO
    assert registry.functions.aliasesOf(issuer).call() == []

    chain.send(registry.functions.approve(proposal), chain.accounts[1])
    receipt = chain.send(registry.functions.execute(proposal), chain.accounts[0])
    assert [e["args"] for e in events(registry, "AliasBound", receipt)] == [
        {"issuer": issuer, "aliasHash": alias_hash(ALIAS), "did": ALIAS},
        {"issuer": issuer, "aliasHash": alias_hash(OTHER_ALIAS), "did": OTHER_ALIAS},
    ]
    assert registry.functions.issuerOfAlias(alias_hash(ALIAS)).call() == issuer
    assert registry.functions.issuerOfAlias(alias_hash(OTHER_ALIAS)).call() == issuer
    assert registry.functions.aliasesOf(issuer).call() == [ALIAS, OTHER_ALIAS]


def test_rebinding_an_alias_to_its_issuer_is_a_no_op(chain: Chain, consortium: Consortium) -> None:
    registry, issuer = consortium.registry, chain.accounts[3]
    consortium.accredit(issuer, [OPEN_BADGE], aliases=[ALIAS])
    receipt = consortium.accredit(issuer, [OPEN_BADGE, CLR], aliases=[OTHER_ALIAS, ALIAS])
    assert [e["args"]["did"] for e in events(registry, "AliasBound", receipt)] == [OTHER_ALIAS]
    assert registry.functions.aliasesOf(issuer).call() == [ALIAS, OTHER_ALIAS]

    receipt = consortium.accredit(issuer, [CLR])
    assert events(registry, "AliasBound", receipt) == []
    assert registry.functions.aliasesOf(issuer).call() == [ALIAS, OTHER_ALIAS]


def test_an_alias_bound_to_another_issuer_cannot_be_proposed(
    chain: Chain, consortium: Consortium
) -> None:
    registry, owner, other = consortium.registry, chain.accounts[3], chain.accounts[4]
    consortium.accredit(owner, [OPEN_BADGE], aliases=[ALIAS])
    with reverts(registry, "AliasTaken", alias_hash(ALIAS), owner):
        propose_accreditation(chain, registry, other, aliases=[OTHER_ALIAS, ALIAS])
    assert registry.functions.issuerOfAlias(alias_hash(ALIAS)).call() == owner


def test_of_two_proposals_binding_one_alias_only_the_first_executed_binds_it(
    chain: Chain, consortium: Consortium
) -> None:
    """Both are valid when made; the second to execute reverts whole (no grant, no alias)."""
    registry, first, second = consortium.registry, chain.accounts[3], chain.accounts[4]
    proposals = [
        consortium.propose(
            lambda r, issuer=issuer: r.functions.proposeAccreditation(  # type: ignore[misc]
                issuer, [OPEN_BADGE], 0, 0, METADATA, [ALIAS]
            )
        )
        for issuer in (first, second)
    ]
    for proposal in proposals:
        chain.send(registry.functions.approve(proposal), chain.accounts[1])
    chain.send(registry.functions.execute(proposals[0]), chain.accounts[0])
    with reverts(registry, "AliasTaken", alias_hash(ALIAS), first):
        chain.send(registry.functions.execute(proposals[1]), chain.accounts[0])

    assert registry.functions.issuerOfAlias(alias_hash(ALIAS)).call() == first
    assert registry.functions.issuerStatus(second).call() == IssuerStatus.NONE
    assert registry.functions.aliasesOf(second).call() == []
    assert not registry.functions.getProposal(proposals[1]).call()[10]


def test_an_alias_stays_with_a_suspended_or_removed_issuer(
    chain: Chain, consortium: Consortium
) -> None:
    """A binding is never silently moved: not by suspension, not by removal. Whoever holds the
    did:web domain later cannot take the alias over without a new consortium decision, and
    there is none that moves an alias."""
    registry, owner, newcomer = consortium.registry, chain.accounts[3], chain.accounts[4]
    consortium.accredit(owner, [OPEN_BADGE], aliases=[ALIAS])
    consortium.issuer_action(ProposalAction.SUSPEND_ISSUER, owner)
    consortium.issuer_action(ProposalAction.REMOVE_ISSUER, owner)
    assert registry.functions.issuerOfAlias(alias_hash(ALIAS)).call() == owner
    assert registry.functions.aliasesOf(owner).call() == [ALIAS]
    with reverts(registry, "AliasTaken", alias_hash(ALIAS), owner):
        propose_accreditation(chain, registry, newcomer, aliases=[ALIAS])

    receipt = consortium.accredit(owner, [OPEN_BADGE], aliases=[ALIAS])
    assert events(registry, "AliasBound", receipt) == []
    assert registry.functions.issuerOfAlias(alias_hash(ALIAS)).call() == owner


@pytest.mark.parametrize(
    "alias",
    [
        "",
        "did:",
        "did:w:",
        "web:registrar.example.edu",
        "DID:web:registrar.example.edu",
        " did:web:registrar.example.edu",
        "did:web:" + "a" * 249,
    ],
    ids=["empty", "prefix-only", "too-short", "no-did-prefix", "upper-case", "space", "257-bytes"],
)
def test_an_alias_must_be_a_did_of_bounded_length(
    chain: Chain, issuer_registry: Contract, alias: str
) -> None:
    with reverts(issuer_registry, "InvalidAlias", alias):
        propose_accreditation(chain, issuer_registry, chain.accounts[3], aliases=[ALIAS, alias])


def test_alias_length_limits(chain: Chain, issuer_registry: Contract) -> None:
    functions = issuer_registry.functions
    assert functions.MAX_ALIAS_LENGTH().call() == 256
    assert functions.MAX_ALIASES().call() == 8
    longest = "did:web:" + "a" * 248
    shortest = "did:a:b"
    propose_accreditation(chain, issuer_registry, chain.accounts[3], aliases=[longest, shortest])
    assert functions.getProposal(1).call()[12] == [longest, shortest]


def test_a_proposal_binds_at_most_eight_distinct_aliases(
    chain: Chain, issuer_registry: Contract
) -> None:
    issuer = chain.accounts[3]
    aliases = [f"did:web:campus{i}.example.edu" for i in range(9)]
    with reverts(issuer_registry, "TooManyAliases", 9, 8):
        propose_accreditation(chain, issuer_registry, issuer, aliases=aliases)
    with reverts(issuer_registry, "DuplicateAlias", alias_hash(aliases[1])):
        propose_accreditation(
            chain, issuer_registry, issuer, aliases=[aliases[0], aliases[1], aliases[1]]
        )
    propose_accreditation(chain, issuer_registry, issuer, aliases=aliases[:8])
    assert issuer_registry.functions.getProposal(1).call()[12] == aliases[:8]
