"""A hand-made world for the verifier: one issuer, an in-memory chain, DID document versions.

`World` issues real signed Open Badges (the crypto and Merkle code are the real ones); only the
chain and the DID registry are dictionaries, so a specification can put the world in exactly the
state it talks about (a key published late, an issuer suspended at anchoring time...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.chain.contracts.types import (
    AnchorRecord,
    Grant,
    IssuerStatus,
    StatusChange,
    accredited_at,
    credential_type_id,
)
from node.credentials.inputs import CredentialInput, IssuerProfile
from node.credentials.merkle import MerkleTree, credential_hash, leaf
from node.credentials.model import build_open_badge
from node.credentials.multikey import raw_public_key
from node.credentials.proofs import Cryptosuite, sign
from node.credentials.status_list import status_list_entry
from node.did.document import DidEvent
from node.verification.engine import Verifier
from node.verification.readers.facts import AnchorFact, ChainState, HistoryFacts, ReadPlan
from node.verification.report import Submission, VerificationReport

CHAIN_ID = 31337
REGISTRY = "0x" + "c0" * 20
ISSUER = "0x" + "1a" * 20
ISSUER_DID = f"did:ethr:0x7a69:{ISSUER}"
KEY_ID = f"{ISSUER_DID}#delegate-1"
LATE_KEY_ID = f"{ISSUER_DID}#delegate-2"
BASE_URL = "https://node.example"
ACCREDITED_AT = 1_748_000_000
ANCHOR_BLOCK = 50
ANCHOR_TIME = 1_750_000_000  # 2025-06-15
ANCHOR_TX = "0x" + "ab" * 32
NOW = datetime(2026, 1, 1, tzinfo=UTC)
STATUS_INDEX = 7
OPEN = 2**64 - 1

ACHIEVEMENT = {
    "name": "Structural Welding",
    "description": "Welds structural steel to code",
    "criteria_narrative": "Passed the practical exam",
    "achievement_type": "Certificate",
    "alignments": [
        {
            "target_name": "Welding",
            "target_url": "https://example.org/competencies/welding",
            "target_framework": "ESCO",
        }
    ],
}


def status_url(issuer: str = ISSUER, purpose: str = "message", number: int = 0) -> str:
    """A node list URL: `-status` for the 2-bit message list, `-{purpose}` for older lists."""
    suffix = "status" if purpose == "message" else purpose
    return f"{BASE_URL}/v1/status-lists/{issuer}-{number}-{suffix}"


def key_method(key_id: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    raw = raw_public_key(key.public_key())
    return {
        "id": key_id,
        "type": "Ed25519VerificationKey2018",
        "controller": ISSUER_DID,
        "publicKeyBase58": base58.b58encode(raw).decode(),
    }


class EmptyChain(HistoryFacts):
    """Chain facts in which nobody has anything: no anchor, grant, status bit, DID change or
    alias. Subclass it to give one kind of fact."""

    def __init__(self, state: ChainState | None = None) -> None:
        super().__init__(CHAIN_ID, REGISTRY, state or ChainState(1, 1_750_000_000, "chain"))

    def facts_for(self, plan: ReadPlan) -> EmptyChain:
        return self

    def anchor(self, issuer: str, root: bytes) -> AnchorFact | None:
        return None

    def _read_grants(self, issuer: str) -> list[Grant]:
        return []

    def _read_statuses(self, issuer: str) -> list[StatusChange]:
        return []

    def status_word(self, issuer: str, list_number: int, purpose: int, word: int) -> int:
        return 0

    def did_history(self, address: str) -> list[DidEvent]:
        return []

    def issuer_of_alias(self, did: str) -> str | None:
        return None


@dataclass
class FakeChain:
    """`ChainSource` and `ChainFacts` over dictionaries, answering like the contracts would."""

    chain_id: int = CHAIN_ID
    registry_address: str = REGISTRY
    #: (issuer, root) -> the contract's record of the anchor
    anchors: dict[tuple[str, bytes], AnchorRecord] = field(default_factory=dict)
    statuses: dict[str, list[StatusChange]] = field(default_factory=dict)
    grants: dict[str, list[Grant]] = field(default_factory=dict)
    bits: set[tuple[str, int, int, int]] = field(default_factory=set)
    #: DID alias (e.g. a did:web) -> the issuer address the consortium bound it to
    aliases: dict[str, str] = field(default_factory=dict)
    now: int = ANCHOR_TIME + 10_000
    dids: FakeDids | None = None
    plans: list[ReadPlan] = field(default_factory=list)

    @property
    def state(self) -> ChainState:
        return ChainState(block=ANCHOR_BLOCK + 100, time=self.now, source="fake")

    def facts_for(self, plan: ReadPlan) -> FakeChain:
        self.plans.append(plan)
        return self

    def anchor(self, issuer: str, root: bytes) -> AnchorFact | None:
        found = self.anchors.get((issuer, root))
        if found is None:
            return None
        return AnchorFact(issuer, found.timestamp, found.block_number, found.count, ANCHOR_TX)

    def did_document(self, did: str, block: int | None, time: int | None) -> dict[str, Any]:
        assert self.dids is not None
        return self.dids.document_at(did, block)

    def issuer_of_alias(self, did: str) -> str | None:
        return self.aliases.get(did)

    def is_accredited(self, issuer: str, credential_type: bytes, timestamp: int) -> bool:
        return accredited_at(
            self.grants.get(issuer, []), self.statuses.get(issuer, []), credential_type, timestamp
        )

    def status_history(self, issuer: str) -> list[StatusChange]:
        return list(self.statuses.get(issuer, []))

    def accreditation_history(self, issuer: str) -> list[Grant]:
        return list(self.grants.get(issuer, []))

    def is_status_set(self, issuer: str, list_number: int, purpose: int, index: int) -> bool:
        return (issuer, list_number, purpose, index) in self.bits

    def latest_time(self) -> int:
        return self.now

    # -- arranging ------------------------------------------------------------------------------

    def accredit(self, issuer: str, kind: str, at: int, *, valid_until: int = 0) -> None:
        self.set_issuer_status(issuer, IssuerStatus.ACTIVE, at)
        self.grants.setdefault(issuer, []).append(
            Grant(credential_type_id(kind), at, OPEN, 0, valid_until)
        )

    def set_issuer_status(self, issuer: str, status: IssuerStatus, at: int) -> None:
        self.statuses.setdefault(issuer, []).append(StatusChange(status, at))


@dataclass
class FakeDids:
    """`DidDocumentSource` from document versions: (first block, document) per DID."""

    versions: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    asked: list[tuple[str, int | None]] = field(default_factory=list)

    def document_at(self, did: str, block: int | None) -> dict[str, Any]:
        self.asked.append((did, block))
        found: dict[str, Any] = {"id": did, "verificationMethod": [], "assertionMethod": []}
        for first, document in self.versions.get(did, []):
            if block is None or first <= block:
                found = document
        return found

    def publish(self, did: str, block: int, methods: list[dict[str, Any]]) -> None:
        """A new version from `block` on with exactly these (assertion) keys."""
        document = {
            "id": did,
            "verificationMethod": methods,
            "assertionMethod": [m["id"] for m in methods],
        }
        self.versions.setdefault(did, []).append((block, document))


class World:
    """One accredited issuer whose key is on its DID from block 10."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.from_private_bytes(b"\x11" * 32)
        self.dids = FakeDids()
        self.chain = FakeChain(dids=self.dids)
        self.dids.publish(ISSUER_DID, 10, [key_method(KEY_ID, self.key)])
        self.chain.accredit(ISSUER, "OpenBadgeCredential", ACCREDITED_AT)
        self.chain.accredit(ISSUER, "ClrCredential", ACCREDITED_AT)

    def unsigned(
        self, *, issuer_did: str = ISSUER_DID, legacy_status: bool = False, **fields: Any
    ) -> dict[str, Any]:
        """An OpenBadgeCredential with the one `message` status entry the node issues, or
        (`legacy_status`) the revocation + suspension pair of credentials issued before it."""
        data = CredentialInput.model_validate(
            {
                "learner": {"name": "Ada Lovelace", "email": "ada@example.edu"},
                "achievement": ACHIEVEMENT,
                "valid_from": datetime(2025, 6, 1, tzinfo=UTC),
                **fields,
            }
        )
        purposes = ("revocation", "suspension") if legacy_status else ("message",)
        entries = [
            status_list_entry(status_url(purpose=purpose), STATUS_INDEX, purpose)
            for purpose in purposes
        ]
        profile = IssuerProfile(id=issuer_did, name="Example Technical College")
        return build_open_badge(data, profile, credential_status=entries)

    def sign(
        self,
        document: dict[str, Any],
        *,
        key: Ed25519PrivateKey | None = None,
        key_id: str = KEY_ID,
        suite: Cryptosuite = Cryptosuite.EDDSA_RDFC_2022,
    ) -> dict[str, Any]:
        return sign(
            document, key or self.key, key_id, suite, created=datetime(2025, 6, 14, tzinfo=UTC)
        )

    def credential(self, **fields: Any) -> dict[str, Any]:
        return self.sign(self.unsigned(**fields))

    def anchor(
        self,
        *credentials: dict[str, Any],
        issuer: str = ISSUER,
        time: int = ANCHOR_TIME,
        block: int = ANCHOR_BLOCK,
    ) -> list[dict[str, Any]]:
        """Anchor the credentials as one Merkle batch; their receipts, in order."""
        hashes = [credential_hash(c) for c in credentials]
        tree = MerkleTree([leaf(h) for h in hashes])
        self.chain.anchors[issuer, tree.root] = AnchorRecord(time, block, len(hashes))
        return [
            {
                "type": "LernodeAnchorReceipt",
                "chainId": CHAIN_ID,
                "contract": REGISTRY,
                "issuer": issuer,
                "credentialHash": "0x" + digest.hex(),
                "leaf": "0x" + leaf(digest).hex(),
                "root": "0x" + tree.root.hex(),
                "proof": ["0x" + p.hex() for p in tree.proof(i)],
                "transactionHash": ANCHOR_TX,
                "blockNumber": block,
                "blockTime": "2025-06-15T15:06:40Z",
                "count": len(hashes),
            }
            for i, digest in enumerate(hashes)
        ]

    def verifier(self, **options: Any) -> Verifier:
        return Verifier(self.chain, self.dids, clock=lambda: NOW, **options)

    def verifier_with(self, off_chain: Any, **options: Any) -> WorldVerifier:
        """A verifier resolving off-chain DIDs with `off_chain` (the chain's stay fakes)."""
        return WorldVerifier(Verifier(self.chain, off_chain, clock=lambda: NOW, **options))

    def verify(
        self,
        credential: dict[str, Any],
        receipt: dict[str, Any] | None = None,
        **submission: Any,
    ) -> VerificationReport:
        return self.verifier().verify(Submission(credential, receipt, **submission))

    def anchored(self, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """A credential anchored in a batch of three, and its receipt."""
        credential = self.credential(**fields)
        receipts = self.anchor(self.credential(), credential, self.credential())
        return credential, receipts[1]


@dataclass
class WorldVerifier:
    verifier: Verifier

    def verify_credential(
        self, credential: dict[str, Any], receipt: dict[str, Any] | None = None
    ) -> VerificationReport:
        return self.verifier.verify(Submission(credential, receipt))
