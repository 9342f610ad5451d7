// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IssuerRegistry
/// @notice Consortium governance (M-of-N members) over which issuers are accredited to issue
/// which credential types, with a complete, timestamped history so that any verifier can ask
/// "was this issuer accredited for this type at time t?" for any past t.
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
/// - The hot path (`isAccredited` at the current block time, called by CredentialRegistry on
///   every anchor) reads one packed storage slot per (issuer, credential type).
contract IssuerRegistry {
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
    /// @dev `approvals` counts only approvers who are members now.
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
    }

    /// @notice Permission for one credential type over [grantedAt, grantedUntil), usable only
    /// inside the validity window [validFrom, validUntil) (validUntil 0 = no end).
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
    }

    /// @dev A member's record, kept after it leaves so its epoch keeps growing.
    struct MemberRecord {
        /// Position in `_members` plus one (0 = not a member now).
        uint64 position;
        /// Incremented each time the account becomes a member.
        uint64 epoch;
    }

    uint64 private constant OPEN = type(uint64).max;
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
    mapping(address => Grant[]) private _grants;
    /// @dev Grants at positions >= this index are the issuer's open ones.
    mapping(address => uint256) private _firstOpenGrant;
    mapping(address => StatusChange[]) private _statusHistory;
    /// @dev issuer => type => validFrom | validUntil << 64 | usable << 128, where usable means
    /// "an open grant exists and the issuer is Active". Mirrors history for the current time.
    mapping(address => mapping(bytes32 => uint256)) private _hot;

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
        uint64 expiresAt
    );
    event ProposalApproved(uint256 indexed id, address indexed member);
    event ProposalExecuted(uint256 indexed id, address indexed executor);
    event MemberAdded(address indexed member, uint256 indexed proposalId);
    /// @dev The member's approvals stop counting and do not count again should it be re-added.
    event MemberRemoved(address indexed member, uint256 indexed proposalId);
    event ThresholdChanged(uint256 previousThreshold, uint256 newThreshold, uint256 indexed proposalId);
    event IssuerAccredited(
        address indexed issuer,
        uint256 indexed proposalId,
        bytes32[] credentialTypes,
        uint64 validFrom,
        uint64 validUntil,
        bytes32 metadataHash
    );
    event IssuerSuspended(address indexed issuer, uint256 indexed proposalId);
    event IssuerReinstated(address indexed issuer, uint256 indexed proposalId);
    event IssuerRemoved(address indexed issuer, uint256 indexed proposalId);

    error NotMember(address account);
    error AlreadyMember(address account);
    error ZeroAddress();
    error InvalidThreshold(uint256 threshold, uint256 memberCount);
    error InvalidLifetime();
    error InvalidAction(Action action);
    error NoCredentialTypes();
    error DuplicateCredentialType(bytes32 credentialType);
    error InvalidValidityWindow(uint64 validFrom, uint64 validUntil);
    error UnknownProposal(uint256 id);
    error AlreadyApproved(uint256 id, address member);
    error ProposalExpired(uint256 id);
    error ProposalAlreadyExecuted(uint256 id);
    error ThresholdNotReached(uint256 id, uint256 approvals, uint256 threshold);
    error InvalidIssuerTransition(address issuer, IssuerStatus current, Action action);

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

    /// @notice The current consortium members (order not meaningful).
    function members() external view returns (address[] memory) {
        return _members;
    }

    /// @notice Whether `account` is a current member.
    function isMember(address account) external view returns (bool) {
        return _memberRecord[account].position != 0;
    }

    /// @notice Approvals (by current members) a proposal needs before it can be executed.
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @notice Seconds between a proposal's creation and its expiry.
    function proposalLifetime() external view returns (uint64) {
        return _proposalLifetime;
    }

    // ---------------------------------------------------------------- proposing

    /// @notice Propose to accredit `issuer` for `credentialTypes` (replacing its current grants).
    /// @param validFrom Start of the validity window (0 = no start bound).
    /// @param validUntil End of the validity window, exclusive (0 = no end).
    /// @param metadataHash Hash of the issuer's public profile document.
    /// @return id The new proposal's id; the caller's approval is recorded.
    function proposeAccreditation(
        address issuer,
        bytes32[] calldata credentialTypes,
        uint64 validFrom,
        uint64 validUntil,
        bytes32 metadataHash
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
        id = _newProposal(Action.AccreditIssuer, issuer);
        StoredProposal storage p = _proposals[id];
        p.credentialTypes = credentialTypes;
        p.validFrom = validFrom;
        p.validUntil = validUntil;
        p.metadataHash = metadataHash;
        _announce(id);
    }

    /// @notice Propose to suspend, reinstate or remove `issuer`.
    /// @dev Whether the transition is allowed is checked at execution, against the state then.
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
        _announce(id);
    }

    /// @notice Propose to add or remove consortium member `member`.
    /// @dev Checked now and again at execution: adding a member twice, removing a non-member, or
    /// a removal that would leave fewer members than the threshold all revert.
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
        _announce(id);
    }

    /// @notice Propose a new approval threshold (1 <= newThreshold <= member count, checked now
    /// and at execution).
    function proposeThreshold(uint256 newThreshold) external onlyMember returns (uint256 id) {
        _checkThreshold(newThreshold, _members.length);
        id = _newProposal(Action.ChangeThreshold, address(0));
        _proposals[id].newThreshold = newThreshold;
        _announce(id);
    }

    // ---------------------------------------------------------------- approving and executing

    /// @notice Record the caller's approval of proposal `id`. Does not execute it.
    /// @dev A member re-added after a removal may approve again: its approvals from before the
    /// removal no longer count.
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

    /// @notice Execute proposal `id` once enough current members approved it; any member may
    /// call. A proposal executes at most once and never after it expired.
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

    /// @notice Number of proposals ever created; ids run from 1 to this value.
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @notice Proposal `id` with its approvals by current members.
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
            approvals: _currentApprovals(id, p)
        });
    }

    /// @notice Whether `member`'s approval of proposal `id` counts now: it approved during its
    /// current membership. False for a former member, and for a re-added member's approval
    /// from before its removal.
    function hasApproved(uint256 id, address member) external view returns (bool) {
        return _approvalCounts(id, member);
    }

    // ---------------------------------------------------------------- issuer views

    /// @notice Whether `issuer` was (or, for the current block time, is) accredited for
    /// `credentialType` at `timestamp`: an accreditation grant covered it, the grant's validity
    /// window covered it and the issuer's status at that time was Active.
    /// @dev For `timestamp == block.timestamp` one storage read; otherwise a history search.
    /// For a future timestamp it answers as if nothing changes until then.
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

    /// @notice The issuer's current status.
    function issuerStatus(address issuer) external view returns (IssuerStatus) {
        return _status[issuer];
    }

    /// @notice Hash of the issuer's public profile, as set by its latest accreditation.
    function issuerMetadataHash(address issuer) external view returns (bytes32) {
        return _metadataHash[issuer];
    }

    /// @notice Every grant the issuer ever received, oldest first (open ones end at 2^64-1).
    function accreditationHistory(address issuer) external view returns (Grant[] memory) {
        return _grants[issuer];
    }

    /// @notice Every status change of the issuer, oldest first.
    function statusHistory(address issuer) external view returns (StatusChange[] memory) {
        return _statusHistory[issuer];
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
    function _announce(uint256 id) private {
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
            p.expiresAt
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
        emit IssuerAccredited(issuer, id, types, validFrom, validUntil, p.metadataHash);
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
