// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IIssuerRegistry} from "./interfaces/IIssuerRegistry.sol";

/// @title IssuerRegistry
/// @notice Consortium governance (M-of-N members) over which issuers are accredited to issue
/// which credential types, with a complete, timestamped history so that any verifier can ask
/// "was this issuer accredited for this type at time t?" for any past t; the issuers' public
/// profile documents and the DID aliases the consortium binds to them.
/// @dev Design decisions:
/// - Every change goes through a proposal that `threshold` *current* members approve; the
///   proposer's approval is implied. Execution is an explicit, separate call (`execute`) rather
///   than a side effect of the last approval: approving then never fails because the action
///   became invalid meanwhile, the approver pays a small predictable amount, and an indexer sees
///   one unambiguous "executed" transaction.
/// - Approvals belong to a membership, not to an address: each member has an epoch that grows
///   every time it is added, and an approval records the epoch it was given in. Approvals by
///   former members stop counting the moment they leave, and do not count again if they are
///   re-added (a re-added member approves afresh), so a removed member cannot help a pending
///   proposal over the threshold, before or after coming back.
/// - An issuer's grants are half-open intervals [grantedAt, grantedUntil); `grantedUntil` is
///   `type(uint64).max` while a grant is open. A new accreditation closes the issuer's open grants
///   and opens new ones, so the history is append-only.
/// - Removal closes all grants and is final for suspend/reinstate. A removed issuer can only come
///   back through a fresh `AccreditIssuer` proposal (a new, explicit consortium decision); its old
///   history stays. Accrediting a suspended issuer replaces its grants but keeps it suspended:
///   lifting a suspension is always an explicit `ReinstateIssuer` decision.
/// - The issuer's profile (a JSON document) is published in full in the accreditation's
///   `ProposalCreated` event and only its keccak256 is stored: every node can serve it from chain
///   data, and members review the exact bytes they vote on, at log rather than storage prices.
/// - Aliases (DIDs such as did:web) are bound by an executed accreditation and never move or
///   disappear: there is deliberately no unbind, not even on removal. A did:web is only as
///   durable as its domain, a binding on chain is permanent: whoever registers a lapsed domain
///   can publish a did.json there, but a verifier resolves the alias through `issuerOfAlias` to
///   the bound issuer and its ERC-1056 keys, and no proposal can move the binding to the new
///   holder's address (`AliasTaken`). Credentials issued under the alias keep verifying against
///   the same issuer's history. An institution rotates keys through the ERC-1056 ownership of
///   its address, so it never needs to move an alias.
/// - The hot path (`isAccredited` at the current block time, called by CredentialRegistry on
///   every anchor) reads one packed storage slot per (issuer, credential type).
contract IssuerRegistry is IIssuerRegistry {
    /// @dev Storage layout of a proposal (the view struct adds the live approval count).
    struct StoredProposal {
        Action action;
        address target;
        uint64 validFrom;
        uint64 validUntil;
        address proposer;
        uint64 createdAt;
        uint64 expiresAt;
        bool executed;
        bytes32 metadataHash;
        uint256 newThreshold;
        bytes32[] credentialTypes;
        address[] approvers;
        string[] aliases;
    }

    /// @dev A member's record, kept after it leaves so its epoch keeps growing.
    struct MemberRecord {
        /// Position in `_members` plus one (0 = not a member now).
        uint64 position;
        /// Incremented each time the account becomes a member.
        uint64 epoch;
    }

    /// @inheritdoc IIssuerRegistry
    /// @dev Bounds the calldata and log data of a proposal. A constant so that every member
    /// node enforces the same limit the contract does.
    uint256 public constant MAX_METADATA_LENGTH = 4096;
    /// @inheritdoc IIssuerRegistry
    /// @dev Bounds the storage an accreditation writes, so its execution cost stays bounded.
    uint256 public constant MAX_ALIASES = 8;
    /// @inheritdoc IIssuerRegistry
    /// @dev Room for a did:web with a host and a path; bounds storage like MAX_ALIASES.
    uint256 public constant MAX_ALIAS_LENGTH = 256;

    /// @dev `grantedUntil` of an open grant: no end yet.
    uint64 private constant OPEN = type(uint64).max;
    /// @dev The "usable" bit of a `_hot` slot.
    uint256 private constant HOT_USABLE = 1 << 128;

    address[] private _members;
    mapping(address => MemberRecord) private _memberRecord;
    uint256 private _threshold;
    uint64 private immutable _proposalLifetime;

    uint256 private _proposalCount;
    mapping(uint256 => StoredProposal) private _proposals;
    /// @dev proposal => member => membership epoch its approval was given in (0 = never).
    mapping(uint256 => mapping(address => uint64)) private _approvalEpoch;

    mapping(address => IssuerStatus) private _status;
    mapping(address => bytes32) private _metadataHash;
    mapping(address => uint256) private _accreditationProposal;
    mapping(address => Grant[]) private _grants;
    /// @dev Grants at positions >= this index are the issuer's open ones.
    mapping(address => uint256) private _firstOpenGrant;
    mapping(address => StatusChange[]) private _statusHistory;
    /// @dev issuer => type => validFrom | validUntil << 64 | usable << 128, where usable means
    /// "an open grant exists and the issuer is Active". Mirrors history for the current time.
    mapping(address => mapping(bytes32 => uint256)) private _hot;

    mapping(bytes32 aliasHash => address issuer) private _aliasIssuer;
    mapping(address issuer => string[]) private _aliases;

    modifier onlyMember() {
        if (_memberRecord[msg.sender].position == 0) revert NotMember(msg.sender);
        _;
    }

    /// @param initialMembers The founding consortium members (distinct, non-zero).
    /// @param initialThreshold Approvals needed to execute a proposal, 1 <= it <= members.
    /// @param lifetime Seconds a proposal stays approvable/executable.
    constructor(address[] memory initialMembers, uint256 initialThreshold, uint64 lifetime) {
        if (lifetime == 0) revert InvalidLifetime();
        for (uint256 i = 0; i < initialMembers.length; ++i) {
            _addMember(initialMembers[i], 0);
        }
        _checkThreshold(initialThreshold, initialMembers.length);
        _threshold = initialThreshold;
        _proposalLifetime = lifetime;
        emit ThresholdChanged(0, initialThreshold, 0);
    }

    // ---------------------------------------------------------------- membership views

    /// @inheritdoc IIssuerRegistry
    function members() external view returns (address[] memory) {
        return _members;
    }

    /// @inheritdoc IIssuerRegistry
    function isMember(address account) external view returns (bool) {
        return _memberRecord[account].position != 0;
    }

    /// @inheritdoc IIssuerRegistry
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @inheritdoc IIssuerRegistry
    function proposalLifetime() external view returns (uint64) {
        return _proposalLifetime;
    }

    // ---------------------------------------------------------------- proposing

    /// @inheritdoc IIssuerRegistry
    function proposeAccreditation(
        address issuer,
        bytes32[] calldata credentialTypes,
        uint64 validFrom,
        uint64 validUntil,
        string calldata metadata,
        string[] calldata aliases
    ) external onlyMember returns (uint256 id) {
        if (issuer == address(0)) revert ZeroAddress();
        if (credentialTypes.length == 0) revert NoCredentialTypes();
        if (validUntil != 0 && validUntil <= validFrom) {
            revert InvalidValidityWindow(validFrom, validUntil);
        }
        for (uint256 i = 1; i < credentialTypes.length; ++i) {
            for (uint256 j = 0; j < i; ++j) {
                if (credentialTypes[i] == credentialTypes[j]) {
                    revert DuplicateCredentialType(credentialTypes[i]);
                }
            }
        }
        if (bytes(metadata).length > MAX_METADATA_LENGTH) {
            revert MetadataTooLong(bytes(metadata).length, MAX_METADATA_LENGTH);
        }
        _checkAliases(issuer, aliases);

        id = _newProposal(Action.AccreditIssuer, issuer);
        StoredProposal storage p = _proposals[id];
        p.credentialTypes = credentialTypes;
        p.validFrom = validFrom;
        p.validUntil = validUntil;
        p.metadataHash = keccak256(bytes(metadata));
        for (uint256 i = 0; i < aliases.length; ++i) {
            p.aliases.push(aliases[i]);
        }
        _announce(id, metadata, aliases);
    }

    /// @inheritdoc IIssuerRegistry
    function proposeIssuerAction(Action action, address issuer)
        external
        onlyMember
        returns (uint256 id)
    {
        if (
            action != Action.SuspendIssuer && action != Action.ReinstateIssuer
                && action != Action.RemoveIssuer
        ) revert InvalidAction(action);
        if (issuer == address(0)) revert ZeroAddress();
        id = _newProposal(action, issuer);
        _announce(id, "", new string[](0));
    }

    /// @inheritdoc IIssuerRegistry
    function proposeMembership(Action action, address member)
        external
        onlyMember
        returns (uint256 id)
    {
        if (action != Action.AddMember && action != Action.RemoveMember) {
            revert InvalidAction(action);
        }
        _checkMembershipChange(action, member);
        id = _newProposal(action, member);
        _announce(id, "", new string[](0));
    }

    /// @inheritdoc IIssuerRegistry
    function proposeThreshold(uint256 newThreshold) external onlyMember returns (uint256 id) {
        _checkThreshold(newThreshold, _members.length);
        id = _newProposal(Action.ChangeThreshold, address(0));
        _proposals[id].newThreshold = newThreshold;
        _announce(id, "", new string[](0));
    }

    // ---------------------------------------------------------------- approving and executing

    /// @inheritdoc IIssuerRegistry
    function approve(uint256 id) external onlyMember {
        StoredProposal storage p = _openProposal(id);
        uint64 epoch = _memberRecord[msg.sender].epoch;
        uint64 previous = _approvalEpoch[id][msg.sender];
        if (previous == epoch) revert AlreadyApproved(id, msg.sender);
        _approvalEpoch[id][msg.sender] = epoch;
        // An approval from an earlier membership keeps its place in `approvers`; only its epoch
        // is renewed, so the member is never counted twice.
        if (previous == 0) p.approvers.push(msg.sender);
        emit ProposalApproved(id, msg.sender);
    }

    /// @inheritdoc IIssuerRegistry
    function execute(uint256 id) external onlyMember {
        StoredProposal storage p = _openProposal(id);
        uint256 approvals = _currentApprovals(id, p);
        if (approvals < _threshold) revert ThresholdNotReached(id, approvals, _threshold);
        p.executed = true;
        emit ProposalExecuted(id, msg.sender);

        Action action = p.action;
        if (action == Action.AccreditIssuer) {
            _accredit(id, p);
        } else if (action == Action.AddMember || action == Action.RemoveMember) {
            _checkMembershipChange(action, p.target);
            if (action == Action.AddMember) _addMember(p.target, id);
            else _removeMember(p.target, id);
        } else if (action == Action.ChangeThreshold) {
            _checkThreshold(p.newThreshold, _members.length);
            emit ThresholdChanged(_threshold, p.newThreshold, id);
            _threshold = p.newThreshold;
        } else {
            _changeIssuerStatus(id, action, p.target);
        }
    }

    // ---------------------------------------------------------------- proposal views

    /// @inheritdoc IIssuerRegistry
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc IIssuerRegistry
    function getProposal(uint256 id) external view returns (Proposal memory) {
        StoredProposal storage p = _existingProposal(id);
        return Proposal({
            action: p.action,
            target: p.target,
            credentialTypes: p.credentialTypes,
            validFrom: p.validFrom,
            validUntil: p.validUntil,
            metadataHash: p.metadataHash,
            newThreshold: p.newThreshold,
            proposer: p.proposer,
            createdAt: p.createdAt,
            expiresAt: p.expiresAt,
            executed: p.executed,
            approvals: _currentApprovals(id, p),
            aliases: p.aliases
        });
    }

    /// @inheritdoc IIssuerRegistry
    function hasApproved(uint256 id, address member) external view returns (bool) {
        return _approvalCounts(id, member);
    }

    // ---------------------------------------------------------------- issuer views

    /// @inheritdoc IIssuerRegistry
    function isAccredited(address issuer, bytes32 credentialType, uint64 timestamp)
        external
        view
        returns (bool)
    {
        if (timestamp == block.timestamp) {
            uint256 hot = _hot[issuer][credentialType];
            return hot & HOT_USABLE != 0 && _inWindow(uint64(hot), uint64(hot >> 64), timestamp);
        }
        if (_statusAt(issuer, timestamp) != IssuerStatus.Active) return false;
        Grant[] storage grants = _grants[issuer];
        for (uint256 i = grants.length; i > 0;) {
            --i;
            Grant storage g = grants[i];
            if (
                g.credentialType == credentialType && g.grantedAt <= timestamp
                    && timestamp < g.grantedUntil
            ) return _inWindow(g.validFrom, g.validUntil, timestamp);
        }
        return false;
    }

    /// @inheritdoc IIssuerRegistry
    function issuerStatus(address issuer) external view returns (IssuerStatus) {
        return _status[issuer];
    }

    /// @inheritdoc IIssuerRegistry
    function issuerMetadataHash(address issuer) external view returns (bytes32) {
        return _metadataHash[issuer];
    }

    /// @inheritdoc IIssuerRegistry
    function accreditationProposalOf(address issuer) external view returns (uint256 proposalId) {
        return _accreditationProposal[issuer];
    }

    /// @inheritdoc IIssuerRegistry
    function accreditationHistory(address issuer) external view returns (Grant[] memory) {
        return _grants[issuer];
    }

    /// @inheritdoc IIssuerRegistry
    function statusHistory(address issuer) external view returns (StatusChange[] memory) {
        return _statusHistory[issuer];
    }

    /// @inheritdoc IIssuerRegistry
    function issuerOfAlias(bytes32 aliasHash) external view returns (address) {
        return _aliasIssuer[aliasHash];
    }

    /// @inheritdoc IIssuerRegistry
    function aliasesOf(address issuer) external view returns (string[] memory) {
        return _aliases[issuer];
    }

    // ---------------------------------------------------------------- internals: proposals

    function _newProposal(Action action, address target) private returns (uint256 id) {
        id = ++_proposalCount;
        StoredProposal storage p = _proposals[id];
        p.action = action;
        p.target = target;
        p.proposer = msg.sender;
        p.createdAt = uint64(block.timestamp);
        p.expiresAt = uint64(block.timestamp) + _proposalLifetime;
        p.approvers.push(msg.sender);
        _approvalEpoch[id][msg.sender] = _memberRecord[msg.sender].epoch;
    }

    /// @dev Emitted after the typed fields are stored so the event carries all of them.
    function _announce(uint256 id, string memory metadata, string[] memory aliases) private {
        StoredProposal storage p = _proposals[id];
        emit ProposalCreated(
            id,
            msg.sender,
            p.action,
            p.target,
            p.credentialTypes,
            p.validFrom,
            p.validUntil,
            p.metadataHash,
            p.newThreshold,
            p.expiresAt,
            metadata,
            aliases
        );
        emit ProposalApproved(id, msg.sender);
    }

    function _existingProposal(uint256 id) private view returns (StoredProposal storage p) {
        if (id == 0 || id > _proposalCount) revert UnknownProposal(id);
        p = _proposals[id];
    }

    function _openProposal(uint256 id) private view returns (StoredProposal storage p) {
        p = _existingProposal(id);
        if (p.executed) revert ProposalAlreadyExecuted(id);
        if (block.timestamp >= p.expiresAt) revert ProposalExpired(id);
    }

    /// @dev Whether `member` is a member now and approved proposal `id` during this membership.
    function _approvalCounts(uint256 id, address member) private view returns (bool) {
        MemberRecord storage record = _memberRecord[member];
        return record.position != 0 && _approvalEpoch[id][member] == record.epoch;
    }

    function _currentApprovals(uint256 id, StoredProposal storage p)
        private
        view
        returns (uint256 count)
    {
        address[] storage approvers = p.approvers;
        for (uint256 i = 0; i < approvers.length; ++i) {
            if (_approvalCounts(id, approvers[i])) ++count;
        }
    }

    /// @dev Each alias a DID of bounded length, none repeated, none bound to another issuer.
    function _checkAliases(address issuer, string[] calldata aliases) private view {
        if (aliases.length > MAX_ALIASES) revert TooManyAliases(aliases.length, MAX_ALIASES);
        bytes32[] memory hashes = new bytes32[](aliases.length);
        for (uint256 i = 0; i < aliases.length; ++i) {
            bytes calldata did = bytes(aliases[i]);
            if (did.length < 7 || did.length > MAX_ALIAS_LENGTH || bytes4(did[:4]) != "did:") {
                revert InvalidAlias(aliases[i]);
            }
            bytes32 aliasHash = keccak256(did);
            for (uint256 j = 0; j < i; ++j) {
                if (hashes[j] == aliasHash) revert DuplicateAlias(aliasHash);
            }
            hashes[i] = aliasHash;
            address holder = _aliasIssuer[aliasHash];
            if (holder != address(0) && holder != issuer) revert AliasTaken(aliasHash, holder);
        }
    }

    // ---------------------------------------------------------------- internals: membership

    function _checkThreshold(uint256 newThreshold, uint256 memberCount) private pure {
        if (newThreshold == 0 || newThreshold > memberCount) {
            revert InvalidThreshold(newThreshold, memberCount);
        }
    }

    function _checkMembershipChange(Action action, address member) private view {
        if (member == address(0)) revert ZeroAddress();
        bool present = _memberRecord[member].position != 0;
        if (action == Action.AddMember) {
            if (present) revert AlreadyMember(member);
        } else {
            if (!present) revert NotMember(member);
            _checkThreshold(_threshold, _members.length - 1);
        }
    }

    function _addMember(address member, uint256 proposalId) private {
        if (member == address(0)) revert ZeroAddress();
        MemberRecord storage record = _memberRecord[member];
        if (record.position != 0) revert AlreadyMember(member);
        _members.push(member);
        record.position = uint64(_members.length);
        ++record.epoch;
        emit MemberAdded(member, proposalId);
    }

    /// @dev The record keeps its epoch, so the member's approvals stay void if it comes back.
    function _removeMember(address member, uint256 proposalId) private {
        uint64 position = _memberRecord[member].position;
        address last = _members[_members.length - 1];
        _members[position - 1] = last;
        _memberRecord[last].position = position;
        _members.pop();
        _memberRecord[member].position = 0;
        emit MemberRemoved(member, proposalId);
    }

    // ---------------------------------------------------------------- internals: issuers

    function _accredit(uint256 id, StoredProposal storage p) private {
        address issuer = p.target;
        IssuerStatus current = _status[issuer];
        _closeOpenGrants(issuer);
        if (current != IssuerStatus.Suspended && current != IssuerStatus.Active) {
            _setStatus(issuer, IssuerStatus.Active);
        }
        bool usable = _status[issuer] == IssuerStatus.Active;
        bytes32[] storage types = p.credentialTypes;
        uint64 validFrom = p.validFrom;
        uint64 validUntil = p.validUntil;
        Grant[] storage grants = _grants[issuer];
        for (uint256 i = 0; i < types.length; ++i) {
            grants.push(Grant(types[i], uint64(block.timestamp), OPEN, validFrom, validUntil));
            _hot[issuer][types[i]] = _packHot(validFrom, validUntil, usable);
        }
        _metadataHash[issuer] = p.metadataHash;
        _accreditationProposal[issuer] = id;
        emit IssuerAccredited(issuer, id, types, validFrom, validUntil, p.metadataHash);
        _bindAliases(issuer, p.aliases);
    }

    /// @dev Re-checked here: another accreditation may have bound an alias since the proposal.
    function _bindAliases(address issuer, string[] storage aliases) private {
        string[] storage bound = _aliases[issuer];
        for (uint256 i = 0; i < aliases.length; ++i) {
            string storage did = aliases[i];
            bytes32 aliasHash = keccak256(bytes(did));
            address holder = _aliasIssuer[aliasHash];
            if (holder == issuer) continue;
            if (holder != address(0)) revert AliasTaken(aliasHash, holder);
            _aliasIssuer[aliasHash] = issuer;
            bound.push(did);
            emit AliasBound(issuer, aliasHash, did);
        }
    }

    function _changeIssuerStatus(uint256 id, Action action, address issuer) private {
        IssuerStatus current = _status[issuer];
        if (action == Action.SuspendIssuer) {
            if (current != IssuerStatus.Active) revert InvalidIssuerTransition(issuer, current, action);
            _setStatus(issuer, IssuerStatus.Suspended);
            _setOpenGrantsUsable(issuer, false);
            emit IssuerSuspended(issuer, id);
        } else if (action == Action.ReinstateIssuer) {
            if (current != IssuerStatus.Suspended) {
                revert InvalidIssuerTransition(issuer, current, action);
            }
            _setStatus(issuer, IssuerStatus.Active);
            _setOpenGrantsUsable(issuer, true);
            emit IssuerReinstated(issuer, id);
        } else {
            if (current != IssuerStatus.Active && current != IssuerStatus.Suspended) {
                revert InvalidIssuerTransition(issuer, current, action);
            }
            _closeOpenGrants(issuer);
            _setStatus(issuer, IssuerStatus.Removed);
            emit IssuerRemoved(issuer, id);
        }
    }

    function _setStatus(address issuer, IssuerStatus status) private {
        _status[issuer] = status;
        _statusHistory[issuer].push(StatusChange(status, uint64(block.timestamp)));
    }

    function _closeOpenGrants(address issuer) private {
        Grant[] storage grants = _grants[issuer];
        for (uint256 i = _firstOpenGrant[issuer]; i < grants.length; ++i) {
            grants[i].grantedUntil = uint64(block.timestamp);
            delete _hot[issuer][grants[i].credentialType];
        }
        _firstOpenGrant[issuer] = grants.length;
    }

    function _setOpenGrantsUsable(address issuer, bool usable) private {
        Grant[] storage grants = _grants[issuer];
        for (uint256 i = _firstOpenGrant[issuer]; i < grants.length; ++i) {
            Grant storage g = grants[i];
            _hot[issuer][g.credentialType] = _packHot(g.validFrom, g.validUntil, usable);
        }
    }

    /// @dev Status in force at `timestamp`: the last change at or before it (None if none).
    function _statusAt(address issuer, uint64 timestamp) private view returns (IssuerStatus) {
        StatusChange[] storage changes = _statusHistory[issuer];
        uint256 low = 0;
        uint256 high = changes.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (changes[mid].at <= timestamp) low = mid + 1;
            else high = mid;
        }
        return low == 0 ? IssuerStatus.None : changes[low - 1].status;
    }

    function _packHot(uint64 validFrom, uint64 validUntil, bool usable)
        private
        pure
        returns (uint256)
    {
        return uint256(validFrom) | (uint256(validUntil) << 64) | (usable ? HOT_USABLE : 0);
    }

    function _inWindow(uint64 validFrom, uint64 validUntil, uint64 timestamp)
        private
        pure
        returns (bool)
    {
        return timestamp >= validFrom && (validUntil == 0 || timestamp < validUntil);
    }
}
