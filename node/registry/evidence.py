"""Chain evidence: the facts behind a registry answer, in a form any RPC endpoint can check.

`Evidence.as_json()` names the chain, the IssuerRegistry (and the DID registry where the
signing key is bound), the block the registry index reflects (number and hash: a verifier checks
it is canonical), the issuer, and the events behind the answer, each as block number + hash,
transaction hash and log index, so `eth_getTransactionReceipt` finds the log and the contract's
own views (`accreditationHistory`, `statusHistory`, `isAccredited`, `issuerOfAlias`,
`issuerMetadataHash`) confirm what it says. The interop test checks all of it with ethers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from node.governance.history import OPEN, EventRef, GrantEntry, StatusEntry
from node.store.models import IssuerAlias


@dataclass(frozen=True)
class IndexedBlock:
    number: int
    hash: str


@dataclass
class Evidence:
    """The chain facts behind an answer (JSON-ready via `as_json`)."""

    chain_id: int
    contract: str
    did_registry: str
    block: IndexedBlock
    issuer: str | None = None
    parts: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "LernodeRegistryEvidence",
            "chainId": self.chain_id,
            "contract": self.contract,
            "didRegistry": self.did_registry,
            "indexedBlock": {"number": self.block.number, "hash": self.block.hash},
            **({"issuer": self.issuer} if self.issuer else {}),
            **self.parts,
        }


def ref_json(ref: EventRef) -> dict[str, Any]:
    return {
        "event": ref.kind,
        "proposalId": ref.proposal_id,
        "blockNumber": ref.block_number,
        "blockHash": ref.block_hash,
        "blockTime": ref.block_time,
        "transactionHash": ref.transaction_hash,
        "logIndex": ref.log_index,
    }


def grant_json(grant: GrantEntry) -> dict[str, Any]:
    return {
        "index": grant.index,
        "credentialType": grant.credential_type,
        "grantedAt": grant.granted_at,
        "grantedUntil": grant.granted_until if grant.granted_until != OPEN else None,
        "validFrom": grant.valid_from,
        "validUntil": grant.valid_until,
        "grantedBy": ref_json(grant.granted_by),
    }


def status_json(entry: StatusEntry) -> dict[str, Any]:
    return {
        "index": entry.index,
        "status": entry.status.name.lower(),
        "at": entry.at,
        "changedBy": ref_json(entry.changed_by),
    }


def alias_json(binding: IssuerAlias) -> dict[str, Any]:
    return {
        "alias": binding.alias,
        "aliasHash": binding.alias_hash,
        "blockNumber": binding.block_number,
        "blockHash": binding.block_hash,
        "transactionHash": binding.tx_hash,
        "logIndex": binding.log_index,
    }
