"""Consortium governance: operators propose, approve and execute changes to the issuer registry.

Each call is signed by the operator's own key; the IssuerRegistry contract decides who may do
what (members only, threshold, expiry, no double approval), so a refused call comes back as a
`ContractRevert` carrying the contract's own error name as its code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from node.chain.contracts.issuer_registry import IssuerRegistry
from node.chain.contracts.types import (
    ISSUER_ACTIONS,
    MEMBERSHIP_ACTIONS,
    ProposalAction,
    credential_type_id,
    credential_type_name,
)
from node.chain.sender import Receipt, TransactionSender
from node.errors import InvalidInput, NotFound
from node.governance.metadata import IssuerMetadata, normalize_aliases

#: `grantedUntil` of a grant that is still open.
OPEN_GRANT = 2**64 - 1


def _time(seconds: int) -> str | None:
    if seconds in (0, OPEN_GRANT):
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _type_name(type_id: bytes) -> str:
    return credential_type_name(type_id) or "0x" + bytes(type_id).hex()


@dataclass(frozen=True)
class Proposal:
    id: int
    action: ProposalAction
    target: str
    credential_types: list[str]
    valid_from: str | None
    valid_until: str | None
    metadata_hash: str
    aliases: list[str]
    new_threshold: int
    proposer: str
    created_at: str | None
    expires_at: str | None
    executed: bool
    approvals: int
    threshold: int
    expired: bool
    #: The metadata document an accreditation proposal published (exact text; "" if none).
    metadata_document: str = ""

    @property
    def state(self) -> str:
        if self.executed:
            return "executed"
        if self.expired:
            return "expired"
        return "ready" if self.approvals >= self.threshold else "open"

    def as_json(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["action"] = self.action.name.lower()
        data["state"] = self.state
        profile = IssuerMetadata.from_chain(self.metadata_document)
        data["metadata"] = profile.model_dump(exclude_none=True) if profile else None
        return data


@dataclass(frozen=True)
class GrantView:
    """A `Grant` as people and the API read it: type name and ISO times."""

    credential_type: str
    granted_at: str | None
    granted_until: str | None
    valid_from: str | None
    valid_until: str | None


@dataclass(frozen=True)
class IssuerRecord:
    address: str
    status: str
    metadata_hash: str
    accreditations: list[GrantView]
    status_history: list[dict[str, Any]]


class GovernanceService:
    """Reads the consortium's state from the IssuerRegistry and sends operators' decisions."""

    def __init__(
        self,
        registry: IssuerRegistry,
        sender_for: Callable[[LocalAccount], TransactionSender],
        now: Callable[[], int],
        from_block: int = 0,
    ) -> None:
        self.registry = registry
        self._sender_for = sender_for
        self._now = now
        #: First block of the deployment: where the published metadata documents start.
        self._from_block = from_block

    # -- reading ------------------------------------------------------------------------------

    def members(self) -> list[str]:
        return self.registry.members()

    def threshold(self) -> int:
        return self.registry.threshold()

    def proposal(self, proposal_id: int) -> Proposal:
        self._require_proposal(proposal_id)
        published = self.registry.published_metadata(self._from_block, proposal_id)
        return self._read_proposal(proposal_id, self.threshold(), self._now(), published)

    def _read_proposal(
        self, proposal_id: int, threshold: int, now: int, published: dict[int, str]
    ) -> Proposal:
        """The proposal with the metadata document it published, so members see the exact
        text they vote on (the contract itself keeps only its hash)."""
        raw = self.registry.proposal(proposal_id)
        return Proposal(
            id=proposal_id,
            action=raw.action,
            target=raw.target,
            credential_types=[_type_name(t) for t in raw.credential_types],
            valid_from=_time(raw.valid_from),
            valid_until=_time(raw.valid_until),
            metadata_hash="0x" + raw.metadata_hash.hex(),
            aliases=list(raw.aliases),
            new_threshold=raw.new_threshold,
            proposer=raw.proposer,
            created_at=_time(raw.created_at),
            expires_at=_time(raw.expires_at),
            executed=raw.executed,
            approvals=raw.approvals,
            threshold=threshold,
            expired=now >= raw.expires_at,
            metadata_document=published.get(proposal_id, ""),
        )

    def _require_proposal(self, proposal_id: int) -> None:
        count = self.registry.proposal_count()
        if not 1 <= proposal_id <= count:
            raise NotFound(f"no proposal {proposal_id}", code="proposal_not_found")

    def proposals(self) -> list[Proposal]:
        """Newest first; the count, threshold and clock are read once for the whole list."""
        count = self.registry.proposal_count()
        threshold, now = self.threshold(), self._now()
        published = self.registry.published_metadata(self._from_block)
        return [self._read_proposal(i, threshold, now, published) for i in range(count, 0, -1)]

    def issuer(self, address: str) -> IssuerRecord:
        issuer = _address(address)
        return IssuerRecord(
            address=issuer,
            status=self.registry.issuer_status(issuer).name.lower(),
            metadata_hash="0x" + self.registry.metadata_hash(issuer).hex(),
            accreditations=[
                GrantView(
                    _type_name(g.credential_type),
                    _time(g.granted_at),
                    _time(g.granted_until),
                    _time(g.valid_from),
                    _time(g.valid_until),
                )
                for g in self.registry.accreditation_history(issuer)
            ],
            status_history=[
                {"status": c.status.name.lower(), "at": _time(c.at)}
                for c in self.registry.status_history(issuer)
            ],
        )

    def issuers(self, from_block: int = 0) -> list[IssuerRecord]:
        """Every issuer the consortium ever accredited, with status and history."""
        return [self.issuer(address) for address in self.registry.accredited_issuers(from_block)]

    def is_accredited(self, issuer: str, credential_type: str, at: int) -> bool:
        type_id = credential_type_id(credential_type)
        return self.registry.is_accredited(_address(issuer), type_id, at)

    # -- deciding -----------------------------------------------------------------------------

    def propose_accreditation(
        self,
        operator: LocalAccount,
        issuer: str,
        credential_types: Sequence[str],
        *,
        valid_from: int = 0,
        valid_until: int = 0,
        metadata: IssuerMetadata | None = None,
        aliases: Sequence[str] = (),
    ) -> int:
        """Propose accrediting `issuer`, publishing `metadata` (its public profile; the
        contract stores the document's keccak256 and emits the text) and the DID `aliases` (e.g.
        its did:web) to bind to its address: the consortium votes on both (docs/design.md,
        "Registry")."""
        call = self.registry.propose_accreditation(
            _address(issuer),
            [credential_type_id(name) for name in credential_types],
            valid_from,
            valid_until,
            metadata.to_chain() if metadata is not None else "",
            normalize_aliases(list(aliases)),
        )
        return self._proposal_id(self._send(operator, call))

    def propose_issuer_action(
        self, operator: LocalAccount, action: ProposalAction, issuer: str
    ) -> int:
        if action not in ISSUER_ACTIONS:
            raise InvalidInput(f"{action.name.lower()} is not an issuer action", code="bad_action")
        call = self.registry.propose_issuer_action(action, _address(issuer))
        return self._proposal_id(self._send(operator, call))

    def propose_membership(
        self, operator: LocalAccount, action: ProposalAction, member: str
    ) -> int:
        if action not in MEMBERSHIP_ACTIONS:
            raise InvalidInput(
                f"{action.name.lower()} is not a membership action", code="bad_action"
            )
        call = self.registry.propose_membership(action, _address(member))
        return self._proposal_id(self._send(operator, call))

    def propose_threshold(self, operator: LocalAccount, new_threshold: int) -> int:
        call = self.registry.propose_threshold(new_threshold)
        return self._proposal_id(self._send(operator, call))

    def approve(self, operator: LocalAccount, proposal_id: int) -> None:
        self._require_proposal(proposal_id)
        self._send(operator, self.registry.approve(proposal_id))

    def execute(self, operator: LocalAccount, proposal_id: int) -> None:
        self._require_proposal(proposal_id)
        self._send(operator, self.registry.execute(proposal_id))

    def _send(self, operator: LocalAccount, call: Any) -> Receipt:
        return self._sender_for(operator).transact(call)

    def _proposal_id(self, receipt: Receipt) -> int:
        return self.registry.created_proposal_id(receipt.raw)


def _address(value: str) -> str:
    try:
        return to_checksum_address(value)
    except ValueError:
        raise InvalidInput(f"not an Ethereum address: {value!r}", code="invalid_address") from None
