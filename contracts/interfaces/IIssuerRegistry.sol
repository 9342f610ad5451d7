// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title IIssuerRegistry
/// @notice Consortium governance (M-of-N members) over which issuers are accredited to issue
/// which credential types, with a complete, timestamped history, the issuers' public profile
/// documents and the DID aliases (e.g. did:web) the consortium binds to issuer addresses.
/// @dev Every state change goes through a proposal that `threshold()` current members approve
/// and that a member then executes. Every state change emits an event; every event that concerns
/// an issuer has the issuer's address as its first topic, like the ERC-1056 DID registry's
/// events, so one `eth_getLogs` filter on that topic finds an issuer's whole on-chain record.
interface IIssuerRegistry {
    // ------------------------------------------------------------------ types

    /// @notice What an executed proposal does.
    enum Action {
        AccreditIssuer,
        SuspendIssuer,
        ReinstateIssuer,
        RemoveIssuer,
        AddMember,
        RemoveMember,
        ChangeThreshold
    }

    /// @notice Lifecycle of an issuer.
    enum IssuerStatus {
        None,
        Active,
        Suspended,
        Removed
    }

    /// @notice A proposal as returned by `getProposal`.
    /// @dev `approvals` counts only approvals given by members during their current membership.
    /// `metadataHash` is keccak256 of the metadata document published in `ProposalCreated`.
    /// `aliases` are the DIDs an accreditation binds to its issuer when it executes.
    struct Proposal {
        Action action;
        address target;
        bytes32[] credentialTypes;
        uint64 validFrom;
        uint64 validUntil;
        bytes32 metadataHash;
        uint256 newThreshold;
        address proposer;
        uint64 createdAt;
        uint64 expiresAt;
        bool executed;
        uint256 approvals;
        string[] aliases;
    }

    /// @notice Permission for one credential type over [grantedAt, grantedUntil), usable only
    /// inside the validity window [validFrom, validUntil) (validUntil 0 = no end). An open grant
    /// has grantedUntil = 2^64-1.
    struct Grant {
        bytes32 credentialType;
        uint64 grantedAt;
        uint64 grantedUntil;
        uint64 validFrom;
        uint64 validUntil;
    }

    /// @notice The issuer's status became `status` at time `at`.
    struct StatusChange {
        IssuerStatus status;
        uint64 at;
    }

    // ------------------------------------------------------------------ events

    /// @notice Proposal `id` was created; the event carries every field of the proposal, so an
    /// indexer can rebuild it from this event alone.
    /// @param id The new proposal's id (ids run from 1).
    /// @param proposer The member who proposed it (its approval is implied).
    /// @param action What the proposal does when executed.
    /// @param target The issuer or member it acts on (zero for ChangeThreshold).
    /// @param credentialTypes AccreditIssuer: the credential types to grant.
    /// @param validFrom AccreditIssuer: start of the grants' validity window (0 = no start bound).
    /// @param validUntil AccreditIssuer: end of the validity window, exclusive (0 = no end).
    /// @param metadataHash AccreditIssuer: keccak256 of `metadata`.
    /// @param newThreshold ChangeThreshold: the proposed threshold.
    /// @param expiresAt Time from which the proposal can no longer be approved or executed.
    /// @param metadata AccreditIssuer: the issuer's public profile, a JSON document (legal name,
    /// homepage, logo, location, Credential Engine CTID, ROR id...) opaque to the contract. This
    /// event is where it is published; the contract stores only its hash.
    /// @param aliases AccreditIssuer: the DIDs to bind to the issuer on execution.
    event ProposalCreated(
        uint256 indexed id,
        address indexed proposer,
        Action indexed action,
        address target,
        bytes32[] credentialTypes,
        uint64 validFrom,
        uint64 validUntil,
        bytes32 metadataHash,
        uint256 newThreshold,
        uint64 expiresAt,
        string metadata,
        string[] aliases
    );

    /// @notice `member` approved proposal `id` (also emitted for the proposer on creation).
    /// @param id The proposal.
    /// @param member The approving member.
    event ProposalApproved(uint256 indexed id, address indexed member);

    /// @notice Proposal `id` was executed; the events of its effects follow in the same
    /// transaction.
    /// @param id The proposal.
    /// @param executor The member who executed it.
    event ProposalExecuted(uint256 indexed id, address indexed executor);

    /// @notice `member` joined the consortium (proposal 0: a founding member).
    /// @param member The new member.
    /// @param proposalId The proposal that added it (0 in the constructor).
    event MemberAdded(address indexed member, uint256 indexed proposalId);

    /// @notice `member` left the consortium. Its approvals of proposals stop counting and do
    /// not count again should it be re-added.
    /// @param member The former member.
    /// @param proposalId The proposal that removed it.
    event MemberRemoved(address indexed member, uint256 indexed proposalId);

    /// @notice The approval threshold changed.
    /// @param previousThreshold The threshold before (0 in the constructor).
    /// @param newThreshold The threshold now.
    /// @param proposalId The proposal that changed it (0 in the constructor).
    event ThresholdChanged(
        uint256 previousThreshold, uint256 newThreshold, uint256 indexed proposalId
    );

    /// @notice `issuer` was accredited: its open grants were closed and these opened.
    /// @param issuer The issuer.
    /// @param proposalId The executed proposal; its `ProposalCreated` event holds the metadata
    /// document whose hash is `metadataHash`.
    /// @param credentialTypes The credential types now granted.
    /// @param validFrom Start of the grants' validity window (0 = no start bound).
    /// @param validUntil End of the validity window, exclusive (0 = no end).
    /// @param metadataHash keccak256 of the issuer's metadata document.
    event IssuerAccredited(
        address indexed issuer,
        uint256 indexed proposalId,
        bytes32[] credentialTypes,
        uint64 validFrom,
        uint64 validUntil,
        bytes32 metadataHash
    );

    /// @notice `issuer` was suspended: it can neither anchor nor write status until reinstated.
    /// @param issuer The issuer.
    /// @param proposalId The executed proposal.
    event IssuerSuspended(address indexed issuer, uint256 indexed proposalId);

    /// @notice `issuer`'s suspension was lifted.
    /// @param issuer The issuer.
    /// @param proposalId The executed proposal.
    event IssuerReinstated(address indexed issuer, uint256 indexed proposalId);

    /// @notice `issuer` was removed: its grants are closed; only a new accreditation restores it.
    /// @param issuer The issuer.
    /// @param proposalId The executed proposal.
    event IssuerRemoved(address indexed issuer, uint256 indexed proposalId);

    /// @notice The consortium bound the DID `did` to `issuer` (an accreditation executed; its
    /// `ProposalExecuted` precedes this event in the transaction). A binding is never moved or
    /// removed.
    /// @param issuer The issuer the alias now names.
    /// @param aliasHash keccak256 of the alias's UTF-8 bytes (the key of `issuerOfAlias`).
    /// @param did The alias, e.g. "did:web:registrar.example.edu".
    event AliasBound(address indexed issuer, bytes32 indexed aliasHash, string did);

    // ------------------------------------------------------------------ errors

    /// @notice `account` is not a consortium member (caller of a member-only function, or the
    /// member a removal names).
    /// @param account The account.
    error NotMember(address account);

    /// @notice `account` is already a member.
    /// @param account The account.
    error AlreadyMember(address account);

    /// @notice The zero address was given as an issuer or member.
    error ZeroAddress();

    /// @notice `threshold` is 0 or more than `memberCount`.
    /// @param threshold The threshold that would result.
    /// @param memberCount The member count it would apply to.
    error InvalidThreshold(uint256 threshold, uint256 memberCount);

    /// @notice A proposal lifetime of 0 seconds.
    error InvalidLifetime();

    /// @notice `action` cannot be proposed through the function called.
    /// @param action The action given.
    error InvalidAction(Action action);

    /// @notice An accreditation proposal named no credential type.
    error NoCredentialTypes();

    /// @notice An accreditation proposal named `credentialType` twice.
    /// @param credentialType The repeated type.
    error DuplicateCredentialType(bytes32 credentialType);

    /// @notice validUntil is set and not after validFrom.
    /// @param validFrom The window's start.
    /// @param validUntil The window's end.
    error InvalidValidityWindow(uint64 validFrom, uint64 validUntil);

    /// @notice The metadata document is longer than `MAX_METADATA_LENGTH()` bytes.
    /// @param length The document's length in bytes.
    /// @param maxLength The limit.
    error MetadataTooLong(uint256 length, uint256 maxLength);

    /// @notice An accreditation proposal named more than `MAX_ALIASES()` aliases.
    /// @param count The number given.
    /// @param maxCount The limit.
    error TooManyAliases(uint256 count, uint256 maxCount);

    /// @notice The alias `did` is not a DID of at most `MAX_ALIAS_LENGTH()` bytes: an alias must
    /// start with "did:" and be at least 7 bytes long ("did:" method ":" method-specific-id).
    /// @param did The alias given.
    error InvalidAlias(string did);

    /// @notice An accreditation proposal named the alias with hash `aliasHash` twice.
    /// @param aliasHash keccak256 of the repeated alias.
    error DuplicateAlias(bytes32 aliasHash);

    /// @notice The alias with hash `aliasHash` is already bound to another issuer, `issuer`.
    /// Checked when proposing and again when executing.
    /// @param aliasHash keccak256 of the alias.
    /// @param issuer The issuer it is bound to.
    error AliasTaken(bytes32 aliasHash, address issuer);

    /// @notice No proposal has id `id`.
    /// @param id The id given.
    error UnknownProposal(uint256 id);

    /// @notice `member` already approved proposal `id` during its current membership.
    /// @param id The proposal.
    /// @param member The member.
    error AlreadyApproved(uint256 id, address member);

    /// @notice Proposal `id` expired: it can no longer be approved or executed.
    /// @param id The proposal.
    error ProposalExpired(uint256 id);

    /// @notice Proposal `id` was already executed.
    /// @param id The proposal.
    error ProposalAlreadyExecuted(uint256 id);

    /// @notice Proposal `id` has `approvals` valid approvals, fewer than `threshold`.
    /// @param id The proposal.
    /// @param approvals Approvals that count now.
    /// @param threshold Approvals needed.
    error ThresholdNotReached(uint256 id, uint256 approvals, uint256 threshold);

    /// @notice `action` cannot be applied to `issuer` in status `current`.
    /// @param issuer The issuer.
    /// @param current Its status when the proposal was executed.
    /// @param action The proposal's action.
    error InvalidIssuerTransition(address issuer, IssuerStatus current, Action action);

    // ------------------------------------------------------------------ limits

    /// @notice Largest metadata document, in bytes, an accreditation proposal may publish.
    /// @return The limit (4096).
    function MAX_METADATA_LENGTH() external view returns (uint256);

    /// @notice Most aliases one accreditation proposal may bind.
    /// @return The limit.
    function MAX_ALIASES() external view returns (uint256);

    /// @notice Longest alias, in bytes.
    /// @return The limit.
    function MAX_ALIAS_LENGTH() external view returns (uint256);

    // ------------------------------------------------------------------ membership

    /// @notice The current consortium members (order not meaningful).
    /// @return The members.
    function members() external view returns (address[] memory);

    /// @notice Whether `account` is a current member.
    /// @param account The account.
    /// @return True for a current member.
    function isMember(address account) external view returns (bool);

    /// @notice Approvals (by current members) a proposal needs before it can be executed.
    /// @return The threshold.
    function threshold() external view returns (uint256);

    /// @notice Seconds between a proposal's creation and its expiry.
    /// @return The lifetime.
    function proposalLifetime() external view returns (uint64);

    // ------------------------------------------------------------------ proposing

    /// @notice Propose to accredit `issuer` for `credentialTypes` (replacing its current grants),
    /// publish its profile document `metadata`, and bind `aliases` to it.
    /// @dev Member only. `metadata` is published in full in `ProposalCreated`; its keccak256
    /// becomes the issuer's `issuerMetadataHash` on execution. Aliases are compared byte for
    /// byte: normalise them (e.g. lower-case a did:web host) before proposing. An alias bound to
    /// another issuer reverts `AliasTaken`, now and at execution; one bound to `issuer` already
    /// is left as it is.
    /// @param issuer The issuer's address (its did:ethr identity).
    /// @param credentialTypes keccak256 ids of the credential types to grant (distinct, >= 1).
    /// @param validFrom Start of the validity window (0 = no start bound).
    /// @param validUntil End of the validity window, exclusive (0 = no end).
    /// @param metadata The issuer's public profile, a JSON document of at most
    /// `MAX_METADATA_LENGTH()` bytes, opaque to the contract.
    /// @param aliases At most `MAX_ALIASES()` distinct DIDs (e.g. "did:web:registrar.example.edu")
    /// to bind to `issuer`.
    /// @return id The new proposal's id; the caller's approval is recorded.
    function proposeAccreditation(
        address issuer,
        bytes32[] calldata credentialTypes,
        uint64 validFrom,
        uint64 validUntil,
        string calldata metadata,
        string[] calldata aliases
    ) external returns (uint256 id);

    /// @notice Propose to suspend, reinstate or remove `issuer`.
    /// @dev Member only. Whether the transition is allowed is checked at execution, against the
    /// state then.
    /// @param action SuspendIssuer, ReinstateIssuer or RemoveIssuer.
    /// @param issuer The issuer.
    /// @return id The new proposal's id; the caller's approval is recorded.
    function proposeIssuerAction(Action action, address issuer) external returns (uint256 id);

    /// @notice Propose to add or remove consortium member `member`.
    /// @dev Member only. Checked now and again at execution: adding a member twice, removing a
    /// non-member, or a removal that would leave fewer members than the threshold all revert.
    /// @param action AddMember or RemoveMember.
    /// @param member The member to add or remove.
    /// @return id The new proposal's id; the caller's approval is recorded.
    function proposeMembership(Action action, address member) external returns (uint256 id);

    /// @notice Propose a new approval threshold.
    /// @dev Member only. 1 <= newThreshold <= member count, checked now and at execution.
    /// @param newThreshold The proposed threshold.
    /// @return id The new proposal's id; the caller's approval is recorded.
    function proposeThreshold(uint256 newThreshold) external returns (uint256 id);

    // ------------------------------------------------------------------ approving, executing

    /// @notice Record the caller's approval of proposal `id`. Does not execute it.
    /// @dev Member only. A member re-added after a removal may approve again: its approvals
    /// from before the removal no longer count.
    /// @param id The proposal.
    function approve(uint256 id) external;

    /// @notice Execute proposal `id` once enough current members approved it.
    /// @dev Member only (any member). A proposal executes at most once and never after it
    /// expired.
    /// @param id The proposal.
    function execute(uint256 id) external;

    // ------------------------------------------------------------------ proposal views

    /// @notice Number of proposals ever created; ids run from 1 to this value.
    /// @return The count.
    function proposalCount() external view returns (uint256);

    /// @notice Proposal `id` with the number of approvals that count now.
    /// @param id The proposal.
    /// @return The proposal.
    function getProposal(uint256 id) external view returns (Proposal memory);

    /// @notice Whether `member`'s approval of proposal `id` counts now: it approved during its
    /// current membership. False for a former member, and for a re-added member's approval
    /// from before its removal.
    /// @param id The proposal.
    /// @param member The member.
    /// @return True if the approval counts.
    function hasApproved(uint256 id, address member) external view returns (bool);

    // ------------------------------------------------------------------ issuer views

    /// @notice Whether `issuer` was (or, for the current block time, is) accredited for
    /// `credentialType` at `timestamp`: an accreditation grant covered it, the grant's validity
    /// window covered it and the issuer's status at that time was Active.
    /// @dev For `timestamp == block.timestamp` one storage read; otherwise a history search.
    /// For a future timestamp it answers as if nothing changes until then.
    /// @param issuer The issuer.
    /// @param credentialType keccak256 id of the credential type.
    /// @param timestamp The instant asked about (unix seconds).
    /// @return True if accredited then.
    function isAccredited(address issuer, bytes32 credentialType, uint64 timestamp)
        external
        view
        returns (bool);

    /// @notice The issuer's current status.
    /// @param issuer The issuer.
    /// @return The status.
    function issuerStatus(address issuer) external view returns (IssuerStatus);

    /// @notice keccak256 of the issuer's metadata document, as set by its latest accreditation.
    /// @param issuer The issuer.
    /// @return The hash (zero if never accredited).
    function issuerMetadataHash(address issuer) external view returns (bytes32);

    /// @notice The proposal of the issuer's latest accreditation, whose `ProposalCreated` event
    /// publishes the metadata document: with it a node fetches the document with one
    /// `eth_getLogs` filter on the proposal id.
    /// @param issuer The issuer.
    /// @return proposalId The proposal id (0 if never accredited).
    function accreditationProposalOf(address issuer) external view returns (uint256 proposalId);

    /// @notice Every grant the issuer ever received, oldest first (open ones end at 2^64-1).
    /// @param issuer The issuer.
    /// @return The grants.
    function accreditationHistory(address issuer) external view returns (Grant[] memory);

    /// @notice Every status change of the issuer, oldest first.
    /// @param issuer The issuer.
    /// @return The changes.
    function statusHistory(address issuer) external view returns (StatusChange[] memory);

    /// @notice The issuer the consortium bound the alias with hash `aliasHash` to.
    /// @param aliasHash keccak256 of the alias's UTF-8 bytes, e.g.
    /// keccak256("did:web:registrar.example.edu").
    /// @return The issuer (zero if the alias is not bound).
    function issuerOfAlias(bytes32 aliasHash) external view returns (address);

    /// @notice Every alias bound to `issuer`, in binding order.
    /// @param issuer The issuer.
    /// @return The aliases.
    function aliasesOf(address issuer) external view returns (string[] memory);
}
