"""The IssuerRegistry's Python face: typed reads, bound calls to sign, decoded events.

Services never touch web3's `.functions` / `.events`: they call this class, which speaks the
contract-shaped types of `types.py`. Reads go through `chain_read`, so a dropped connection is one
`chain_unavailable` error; writes return bound calls for a `TransactionSender` (the contract,
not this class, decides who may do what).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD
from web3.types import TxReceipt

from node.chain.client import chain_read
from node.chain.contracts.types import (
    Grant,
    IssuerStatus,
    ProposalAction,
    ProposalRecord,
    StatusChange,
)

#: The events the consortium registry's projection follows (node/registry/projection.py).
GOVERNANCE_EVENTS: tuple[str, ...] = (
    "ProposalCreated",
    "IssuerAccredited",
    "IssuerSuspended",
    "IssuerReinstated",
    "IssuerRemoved",
    "AliasBound",
    "MemberAdded",
    "MemberRemoved",
)


class IssuerRegistry:
    """Typed access to one deployed IssuerRegistry."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract

    @property
    def address(self) -> str:
        return str(self.contract.address)

    # -- membership ----------------------------------------------------------------------------

    def members(self) -> list[str]:
        return [str(m) for m in chain_read(self.contract.functions.members().call)]

    def threshold(self) -> int:
        return int(chain_read(self.contract.functions.threshold().call))

    # -- proposals -----------------------------------------------------------------------------

    def proposal_count(self) -> int:
        return int(chain_read(self.contract.functions.proposalCount().call))

    def proposal(self, proposal_id: int) -> ProposalRecord:
        raw = chain_read(self.contract.functions.getProposal(proposal_id).call)
        (action, target, types, valid_from, valid_until, metadata_hash, new_threshold, proposer,
         created, expires, executed, approvals, aliases) = raw  # fmt: skip
        return ProposalRecord(
            id=proposal_id,
            action=ProposalAction(action),
            target=str(target),
            credential_types=tuple(bytes(t) for t in types),
            valid_from=int(valid_from),
            valid_until=int(valid_until),
            metadata_hash=bytes(metadata_hash),
            new_threshold=int(new_threshold),
            proposer=str(proposer),
            created_at=int(created),
            expires_at=int(expires),
            executed=bool(executed),
            approvals=int(approvals),
            aliases=tuple(str(a) for a in aliases),
        )

    def propose_accreditation(
        self,
        issuer: str,
        credential_types: Sequence[bytes],
        valid_from: int,
        valid_until: int,
        metadata: str,
        aliases: Sequence[str],
    ) -> ContractFunction:
        return self.contract.functions.proposeAccreditation(
            to_checksum_address(issuer),
            list(credential_types),
            valid_from,
            valid_until,
            metadata,
            list(aliases),
        )

    def propose_issuer_action(self, action: ProposalAction, issuer: str) -> ContractFunction:
        return self.contract.functions.proposeIssuerAction(int(action), to_checksum_address(issuer))

    def propose_membership(self, action: ProposalAction, member: str) -> ContractFunction:
        return self.contract.functions.proposeMembership(int(action), to_checksum_address(member))

    def propose_threshold(self, new_threshold: int) -> ContractFunction:
        return self.contract.functions.proposeThreshold(new_threshold)

    def approve(self, proposal_id: int) -> ContractFunction:
        return self.contract.functions.approve(proposal_id)

    def execute(self, proposal_id: int) -> ContractFunction:
        return self.contract.functions.execute(proposal_id)

    def created_proposal_id(self, receipt: TxReceipt) -> int:
        """The id of the proposal a `propose*` transaction created."""
        events = self.contract.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
        return int(events[0]["args"]["id"])

    # -- issuers -------------------------------------------------------------------------------

    def is_accredited(self, issuer: str, credential_type: bytes, timestamp: int) -> bool:
        call = self.contract.functions.isAccredited(
            to_checksum_address(issuer), credential_type, timestamp
        )
        return bool(chain_read(call.call))

    def issuer_status(self, issuer: str) -> IssuerStatus:
        call = self.contract.functions.issuerStatus(to_checksum_address(issuer))
        return IssuerStatus(chain_read(call.call))

    def metadata_hash(self, issuer: str) -> bytes:
        call = self.contract.functions.issuerMetadataHash(to_checksum_address(issuer))
        return bytes(chain_read(call.call))

    def accreditation_history(self, issuer: str) -> list[Grant]:
        call = self.contract.functions.accreditationHistory(to_checksum_address(issuer))
        return [
            Grant(bytes(t), int(at), int(until), int(vf), int(vu))
            for t, at, until, vf, vu in chain_read(call.call)
        ]

    def status_history(self, issuer: str) -> list[StatusChange]:
        call = self.contract.functions.statusHistory(to_checksum_address(issuer))
        return [StatusChange(IssuerStatus(s), int(at)) for s, at in chain_read(call.call)]

    def accreditation_proposal_of(self, issuer: str) -> int:
        """The proposal whose execution set the issuer's current grants and metadata (0: none)."""
        call = self.contract.functions.accreditationProposalOf(to_checksum_address(issuer))
        return int(chain_read(call.call))

    def issuer_of_alias(self, alias: str) -> str | None:
        """The issuer address the consortium bound DID `alias` (e.g. a did:web) to, if any."""
        call = self.contract.functions.issuerOfAlias(keccak(alias.encode("utf-8")))
        found = str(chain_read(call.call)).lower()
        return None if int(found, 16) == 0 else found

    def aliases_of(self, issuer: str) -> list[str]:
        call = self.contract.functions.aliasesOf(to_checksum_address(issuer))
        return [str(a) for a in chain_read(call.call)]

    def accredited_issuers(self, from_block: int) -> list[str]:
        """Every address the consortium ever accredited, in order of first accreditation."""
        logs = chain_read(
            lambda: self.contract.events.IssuerAccredited().get_logs(from_block=from_block)
        )
        return list(dict.fromkeys(str(log["args"]["issuer"]) for log in logs))

    def published_metadata(self, from_block: int, proposal_id: int | None = None) -> dict[int, str]:
        """proposal id -> the metadata document its `ProposalCreated` published, for the
        accreditation proposals since `from_block` (one `eth_getLogs`)."""
        filters: dict[str, Any] = {"action": int(ProposalAction.ACCREDIT_ISSUER)}
        if proposal_id is not None:
            filters["id"] = proposal_id
        logs = chain_read(
            lambda: self.contract.events.ProposalCreated().get_logs(
                from_block=from_block, argument_filters=filters
            )
        )
        return {int(log["args"]["id"]): str(log["args"]["metadata"]) for log in logs}

    def event_abi(self) -> list[dict[str, Any]]:
        """The contract's event ABI entries (for indexer subscriptions)."""
        return [dict(item) for item in self.contract.abi if item.get("type") == "event"]
