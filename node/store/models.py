"""Every table the node keeps, in one place (as in FastAPI's full-stack template: one file of
models, longer than the ~400-line guide because it is the schema, not logic).

Three groups:
- what this node *owns*: its institutions, API keys, the credentials it issued, their anchor
  batches, status lists and the transactions it sent (the outbox that makes issuance crash-safe);
- what this node *learned from the chain*: the indexer's projection of contract events (DID
  changes, governance, anchors, status words), so that resolution and registry queries are
  database reads instead of chain walks;
- bookkeeping: the indexer's cursor.

Hex values (addresses, hashes, roots) are stored lowercase with their 0x prefix. Integers that can
exceed 64 bits on chain (ERC-1056 `validTo`, 256-bit status words) are stored as decimal/hex text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class CredentialState(StrEnum):
    """Where a credential is on its way to the chain."""

    PENDING = "pending"  # signed and stored; waiting in the outbox for a batch
    ANCHORED = "anchored"  # its root is in a mined block, not yet deep enough
    FINAL = "final"  # the block has the configured confirmations on top


class TxState(StrEnum):
    """Life of one transaction this node signed."""

    SIGNED = "signed"  # stored before broadcast, so a crash can re-broadcast it
    SENT = "sent"
    MINED = "mined"
    FINAL = "final"
    DROPPED = "dropped"  # lost to a reorg or replaced; its work goes back to the queue
    FAILED = "failed"  # reverted; its work is not retried as is


class BatchState(StrEnum):
    BUILT = "built"  # tree computed, transaction not yet signed
    SUBMITTED = "submitted"  # transaction signed/sent
    ANCHORED = "anchored"
    FINAL = "final"
    FAILED = "failed"


# --------------------------------------------------------------------------------------------
# What this node owns
# --------------------------------------------------------------------------------------------


class Institution(SQLModel, table=True):
    """An issuing institution hosted by this node (its keys live in the keystore)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    address: str = Field(unique=True, index=True)
    did: str = Field(unique=True)
    #: DID URL of the Ed25519 key that signs credentials now.
    verification_method: str | None = None
    #: Keystore file name of the Ed25519 signing key that goes with `verification_method`.
    signing_key_id: str | None = None
    profile_url: str | None = None
    #: URL (or data: URI) of the logo shown as the issuer profile's OB 3.0 `image`.
    image_url: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # -- did:web (docs/did-web.md) ------------------------------------------------------------
    #: The did:web this node serves for the institution (same keys as `did`), if it has one.
    did_web: str | None = Field(default=None, unique=True)
    #: Which DID signs its credentials and status lists: "ethr" (`did`) or "web" (`did_web`).
    signs_as: str = Field(default="ethr", sa_column_kwargs={"server_default": "ethr"})


class ApiKey(SQLModel, table=True):
    """An API key: only a hash of the secret is kept; scopes are space-separated."""

    id: str = Field(primary_key=True)  # public key id, shown as the key's prefix
    secret_hash: str
    scopes: str
    label: str = ""
    institution_id: int | None = Field(default=None, foreign_key="institution.id")
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


def _set_only_index(name: str, column: str) -> Index:
    """An index of a column's non-NULL values (PostgreSQL and SQLite alike)."""
    where = text(f"{column} IS NOT NULL")
    return Index(name, column, postgresql_where=where, sqlite_where=where)


class Credential(SQLModel, table=True):
    """A credential this node issued; its row is also its outbox entry while pending."""

    __table_args__ = (
        Index("ix_credential_queue", "state", "batch_id"),
        # Also what finds an institution's credentials (its first column): no index of its own.
        UniqueConstraint("institution_id", "status_list", "status_index"),
        # Only set values are ever looked up (`= x`, `IN (...)`): a credential is issued with
        # neither, so issuing writes no entry to these (migration 0010).
        _set_only_index("ix_credential_batch_id", "batch_id"),
        _set_only_index("ix_credential_bound_from", "bound_from"),
    )

    id: str = Field(primary_key=True)  # the credential's urn:uuid
    institution_id: int = Field(foreign_key="institution.id")
    kind: str  # OpenBadgeCredential | ClrCredential
    credential_type_id: str  # keccak256(kind), what the contract checks accreditation for
    #: The signed credential as JCS text, sealed under its `CredentialKey`; NULL once erased.
    document: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    credential_hash: str = Field(unique=True, index=True)
    status_list: int
    status_index: int
    state: CredentialState = Field(default=CredentialState.PENDING)
    batch_id: int | None = Field(default=None, foreign_key="anchorbatch.id")
    leaf_index: int | None = None
    merkle_proof: str | None = None  # JSON list of 0x-hex siblings
    revoked: bool = False
    suspended: bool = False
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    erased_at: datetime | None = None
    #: Set on a holder-bound copy made when a wallet collected an offer: the credential it was
    #: re-issued from. Status changes of the original follow to its copies (docs/design.md).
    bound_from: str | None = Field(default=None, foreign_key="credential.id")


class CredentialKey(SQLModel, table=True):
    """The data key that seals a credential's document and reasons (node/store/sealing.py);
    deleting it is what makes an erasure final. Kept apart so that only this small table has to
    be rewritten to drop old row versions (PostgreSQL)."""

    credential_id: str = Field(primary_key=True, foreign_key="credential.id")
    key: str  # 256-bit AES key, hex


class CredentialPart(SQLModel, table=True):
    """A credential this node issued embedded in another (an achievement in a CLR): erasing
    the part erases every container that carries a copy of it."""

    __table_args__ = (Index("ix_credentialpart_part", "part_id"),)

    container_id: str = Field(primary_key=True, foreign_key="credential.id")
    part_id: str = Field(primary_key=True, foreign_key="credential.id")


class CredentialEvent(SQLModel, table=True):
    """The lifecycle log of a credential (issued, anchored, final, revoked, ...)."""

    id: int | None = Field(default=None, primary_key=True)
    credential_id: str = Field(foreign_key="credential.id", index=True)
    event: str
    #: Free text about the event; what a caller wrote (a revocation reason) is sealed.
    detail: str = ""
    at: datetime = Field(default_factory=utcnow)


class AnchorBatch(SQLModel, table=True):
    """One Merkle root this node anchors (or anchored) for one institution and credential type."""

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    credential_type_id: str
    root: str = Field(unique=True)
    count: int
    state: BatchState = Field(default=BatchState.BUILT, index=True)
    tx_id: int | None = Field(default=None, foreign_key="chaintx.id")
    block_number: int | None = None
    block_time: datetime | None = None
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class AnchorRefusal(SQLModel, table=True):
    """The chain refused one institution's work ("anchor" or "status"): why, how often, and
    when to try again. One row per (institution, work) while the refusal lasts, so the backoff
    survives restarts and `/health` and `lernode status` can say what is wrong."""

    institution_id: int = Field(foreign_key="institution.id", primary_key=True)
    work: str = Field(primary_key=True)  # "anchor" | "status"
    code: str
    detail: str = Field(sa_column=Column(Text, nullable=False))
    count: int = 1
    first_at: datetime = Field(default_factory=utcnow)
    last_at: datetime = Field(default_factory=utcnow)
    next_attempt_at: datetime = Field(default_factory=utcnow)


class ChainTx(SQLModel, table=True):
    """A transaction this node signed, stored before broadcast (the transaction outbox)."""

    __table_args__ = (Index("ix_chaintx_sender_nonce", "sender", "nonce"),)

    id: int | None = Field(default=None, primary_key=True)
    sender: str = Field(index=True)
    nonce: int
    tx_hash: str = Field(unique=True)
    raw: str = Field(sa_column=Column(Text, nullable=False))
    purpose: str  # "anchor", "status", "governance", "did", "deploy"
    state: TxState = Field(default=TxState.SIGNED, index=True)
    max_fee_per_gas: int = 0
    block_number: int | None = None
    block_hash: str | None = None
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class StatusList(SQLModel, table=True):
    """A numbered status list of one institution; `next_index` allocates entries.

    `status_size` 2: one `message` list (2 bits per entry), entries allocated from
    `capacity // 2` up; 1: a list from before that design (two 1-bit lists, revocation and
    suspension, entries from 0), still served but never allocated from again.
    """

    __table_args__ = (UniqueConstraint("institution_id", "list_number"),)

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    list_number: int
    capacity: int
    next_index: int = 0
    status_size: int = 2
    created_at: datetime = Field(default_factory=utcnow)
    #: The DID its status list credential is signed under (NULL: the institution's did:ethr).
    #: Entries go only into lists of the DID the credential names (docs/did-web.md).
    issuer: str | None = None


class StatusUpdate(SQLModel, table=True):
    """A status bit change waiting for (or carried by) a transaction: the revocation outbox."""

    id: int | None = Field(default=None, primary_key=True)
    credential_id: str = Field(foreign_key="credential.id", index=True)
    institution_id: int = Field(foreign_key="institution.id")
    list_number: int
    status_index: int
    purpose: str  # "revocation" | "suspension"
    value: bool
    tx_id: int | None = Field(default=None, foreign_key="chaintx.id", index=True)
    done: bool = Field(default=False, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class NodeSetting(SQLModel, table=True):
    """Small key/value facts about this node (e.g. bootstrap done) that must survive restarts."""

    key: str = Field(primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))


# --------------------------------------------------------------------------------------------
# Wallet delivery: offers of issued credentials to learners' wallets
# --------------------------------------------------------------------------------------------


class OfferState(StrEnum):
    """Where an offer is; `open` offers past `expires_at` read as expired."""

    OPEN = "open"
    COLLECTED = "collected"  # a wallet collected it: `holder` and `collected_credential_id` set
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Offer(SQLModel, table=True):
    """A single-use, expiring offer of one issued credential to its learner's wallet.

    The id is the capability: whoever holds the offer link may collect it (once). The secrets of
    the three wallet protocols (challenge, pre-authorized code) are random too; an OpenID4VCI
    access token is kept only as a hash.
    """

    id: str = Field(primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    credential_id: str = Field(foreign_key="credential.id", index=True)
    cohort: str | None = Field(default=None, index=True)
    state: OfferState = Field(default=OfferState.OPEN, index=True)
    challenge: str = Field(unique=True)
    pre_authorized_code: str = Field(unique=True)
    tx_code: str | None = None
    tx_code_failures: int = 0
    access_token_hash: str | None = Field(default=None, unique=True)
    token_expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    collected_at: datetime | None = None
    protocol: str | None = None  # dcc | vcapi | oid4vci
    holder: str | None = None
    collected_credential_id: str | None = Field(default=None, foreign_key="credential.id")


# --------------------------------------------------------------------------------------------
# What this node learned from the chain (the indexer's projection)
# --------------------------------------------------------------------------------------------


class IndexerCursor(SQLModel, table=True):
    """How far the indexer got, with the block hash to notice a reorg below it.

    `block_time` is that block's timestamp and `checked_at` when the indexer last confirmed it
    was at the chain head: a reader answering from the index (the verifier) knows the block its
    answer reflects and whether the index is current, without asking the chain.
    """

    name: str = Field(primary_key=True)
    block_number: int
    block_hash: str
    block_time: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    checked_at: datetime | None = None


# --------------------------------------------------------------------------------------------
# DID registry projection (ERC-1056 change events, written by the indexer, read by resolution)
# --------------------------------------------------------------------------------------------


class DidChangeKind(StrEnum):
    """Which ERC-1056 event a `DidChange` row records."""

    OWNER = "owner"  # DIDOwnerChanged
    DELEGATE = "delegate"  # DIDDelegateChanged
    ATTRIBUTE = "attribute"  # DIDAttributeChanged


class DidChange(SQLModel, table=True):
    """One ERC-1056 event of one identity: a DID document is the replay of its identity's rows.

    Rows are ordered by (block_number, log_index), the order the chain applied them. bytes32
    fields are kept as raw hex, not decoded text, because resolvers skip events whose bytes are
    not UTF-8 and must be able to tell. Rows at or above a re-read block are deleted and rewritten
    when the indexer handles a reorg.
    """

    __table_args__ = (
        UniqueConstraint("block_number", "log_index"),
        Index("ix_didchange_history", "contract", "identity", "block_number", "log_index"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract: str  # the EthereumDIDRegistry that emitted the event
    identity: str
    block_number: int = Field(index=True)
    log_index: int
    block_hash: str
    #: Block timestamp, unix seconds (BIGINT: survives 2038 on PostgreSQL).
    block_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    tx_hash: str
    kind: DidChangeKind
    owner: str | None = None
    delegate_type: str | None = None  # bytes32, hex
    delegate: str | None = None
    name: str | None = None  # bytes32, hex
    value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # bytes, hex
    valid_to: str | None = None  # uint256 as decimal text
    previous_change: int = 0


# --------------------------------------------------------------------------------------------
# Consortium registry projection (IssuerRegistry events, written by the registry's subscription,
# read by the registry protocols: OpenID Federation, TRQP, EBSI TIR, the DCC list)
# --------------------------------------------------------------------------------------------


class GovernanceEventKind(StrEnum):
    """Which IssuerRegistry event a `GovernanceEvent` row records."""

    ACCREDITED = "accredited"  # IssuerAccredited
    SUSPENDED = "suspended"  # IssuerSuspended
    REINSTATED = "reinstated"  # IssuerReinstated
    REMOVED = "removed"  # IssuerRemoved
    MEMBER_ADDED = "member_added"  # MemberAdded
    MEMBER_REMOVED = "member_removed"  # MemberRemoved


class GovernanceEvent(SQLModel, table=True):
    """One executed decision about an issuer or a member: the registry's history is the replay
    of a subject's rows in (block_number, log_index) order, by the contract's own rules.

    `subject` is the issuer (or member) address; for `accredited`, `credential_types` is a JSON
    list of 0x type ids and the validity window and metadata hash are those of the event.
    """

    __table_args__ = (
        UniqueConstraint("contract", "block_number", "log_index"),
        Index("ix_governanceevent_subject", "contract", "subject", "block_number", "log_index"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract: str
    subject: str
    kind: GovernanceEventKind
    proposal_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    credential_types: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    valid_from: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    valid_until: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    metadata_hash: str | None = None
    block_number: int = Field(index=True)
    log_index: int
    block_hash: str
    block_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    tx_hash: str


class AccreditationDocument(SQLModel, table=True):
    """What an accreditation proposal published in `ProposalCreated`: the issuer's metadata
    document (exact text; its keccak256 is the proposal's metadata hash) and its aliases."""

    __table_args__ = (UniqueConstraint("contract", "proposal_id"),)

    id: int | None = Field(default=None, primary_key=True)
    contract: str
    proposal_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    issuer: str = Field(index=True)
    proposer: str
    metadata_text: str = Field(sa_column=Column(Text, nullable=False))
    metadata_hash: str
    aliases: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    block_number: int = Field(index=True)
    log_index: int
    block_hash: str
    tx_hash: str


class IssuerAlias(SQLModel, table=True):
    """A DID the consortium bound to an issuer address (`AliasBound`); bindings never move."""

    __table_args__ = (UniqueConstraint("contract", "alias"),)

    id: int | None = Field(default=None, primary_key=True)
    contract: str
    alias: str = Field(sa_column=Column(Text, nullable=False))
    alias_hash: str
    issuer: str = Field(index=True)
    block_number: int = Field(index=True)
    log_index: int
    block_hash: str
    block_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    tx_hash: str


# --------------------------------------------------------------------------------------------
# CredentialRegistry projection for verification (anchors and status words, written by the
# indexer, read by `node.verification.readers.indexed`; the IssuerRegistry's events are the
# registry projection's above)
# --------------------------------------------------------------------------------------------


class AnchorEvent(SQLModel, table=True):
    """One `Anchored` event: `issuer` anchored `root` (a batch of `count` credentials)."""

    __table_args__ = (
        UniqueConstraint("block_number", "log_index"),
        Index("ix_anchorevent_root", "contract", "root", "issuer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract: str
    issuer: str
    root: str
    credential_type: str
    count: int
    block_number: int = Field(index=True)
    log_index: int
    block_time: int = Field(sa_column=Column(BigInteger, nullable=False))
    tx_hash: str


class StatusWordEvent(SQLModel, table=True):
    """One `StatusWordChanged` event: the full new value of one 256-bit status word."""

    __table_args__ = (
        UniqueConstraint("block_number", "log_index"),
        Index(
            "ix_statuswordevent_word",
            "contract",
            "issuer",
            "list_id",
            "purpose",
            "word_index",
            "block_number",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract: str
    issuer: str
    list_id: str  # uint64 as decimal text
    purpose: int
    word_index: int
    word: str  # uint256 as 0x hex
    block_number: int = Field(index=True)
    log_index: int
