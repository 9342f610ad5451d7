// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";

/// @title CredentialRegistry
/// @notice Merkle-root anchors of credential batches and per-issuer status bitmaps
/// (revocation and suspension), written only by the issuers the IssuerRegistry accredits.
/// @dev Design decisions:
/// - Anchors are keyed by (issuer, root). Keyed by root alone, any accredited issuer watching
///   the mempool could anchor a victim's root first and make the victim's anchor fail ("root
///   squatting"); now a root anchored by someone else is simply someone else's anchor.
/// - An anchor is one slot: timestamp | blockNumber << 64 | count << 128 (both block values fit
///   64 bits for the life of any chain), so a verifier learns the anchoring block from current
///   state, without event logs or archive state.
/// - Status lists live in the writer's own namespace (msg.sender), so no issuer can touch
///   another's list. Each list has 131072 entries = 512 words of 256 bits; entry `i` is bit
///   `1 << (i % 256)` of word `i / 256`.
/// - Revocation (purpose 0) is permanent: any attempt to clear a revocation bit reverts.
///   Suspension (purpose 1) can be set and cleared.
/// - A status word that does not change is neither written nor announced, so every
///   `StatusWordChanged` event is a real change and carries the full new word (an indexer can
///   rebuild a list from events alone).
contract CredentialRegistry {
    /// @notice Entries in one status list.
    uint256 public constant LIST_SIZE = 131072;
    /// @notice 256-bit words in one status list.
    uint256 public constant LIST_WORDS = 512;
    /// @notice Purpose of a revocation list (permanent).
    uint8 public constant REVOCATION = 0;
    /// @notice Purpose of a suspension list (reversible).
    uint8 public constant SUSPENSION = 1;

    /// @notice The registry consulted for accreditation and issuer status.
    IssuerRegistry public immutable registry;

    /// @notice The ERC-1056 registry holding issuers' DID documents (keys), so that a verifier
    /// given only this contract's address finds everything it needs.
    address public immutable didRegistry;

    /// @dev One anchor: timestamp | blockNumber << 64 | count << 128 (0 = not anchored). A
    /// one-field struct, not a bare uint256, so `anchor` takes a storage pointer and hashes the
    /// two mapping keys once for its read and its write.
    struct Anchor {
        uint256 packed;
    }

    mapping(address issuer => mapping(bytes32 root => Anchor)) private _anchors;
    mapping(address => mapping(uint64 => mapping(uint8 => mapping(uint256 => uint256)))) private
        _words;

    /// @dev The issuer is the first topic, as in the ERC-1056 registry's and the IssuerRegistry's
    /// events: one topic filter finds an issuer's whole record.
    event Anchored(
        address indexed issuer, bytes32 indexed root, bytes32 indexed credentialType, uint32 count
    );
    event StatusWordChanged(
        address indexed issuer,
        uint64 indexed listId,
        uint8 indexed purpose,
        uint256 wordIndex,
        uint256 word
    );

    error NotAccredited(address issuer, bytes32 credentialType);
    error AlreadyAnchored(address issuer, bytes32 root);
    error EmptyBatch();
    error NotActiveIssuer(address issuer);
    error UnknownPurpose(uint8 purpose);
    error IndexOutOfRange(uint256 index);
    error WordOutOfRange(uint256 wordIndex);
    error RevocationIsPermanent();
    error LengthMismatch(uint256 wordIndexes, uint256 masks);

    /// @param issuerRegistry The consortium's IssuerRegistry.
    /// @param didRegistry_ The EthereumDIDRegistry (ERC-1056) of the issuers' DIDs.
    constructor(IssuerRegistry issuerRegistry, address didRegistry_) {
        registry = issuerRegistry;
        didRegistry = didRegistry_;
    }

    // ---------------------------------------------------------------- anchors

    /// @notice Anchor the Merkle `root` of a batch of `count` credentials of `credentialType`.
    /// @dev Reverts unless the caller is accredited for `credentialType` right now. Anchors are
    /// keyed by (caller, root): an issuer that anchors a root first does not stop another from
    /// anchoring the same root.
    function anchor(bytes32 root, uint32 count, bytes32 credentialType) external {
        if (count == 0) revert EmptyBatch();
        Anchor storage a = _anchors[msg.sender][root];
        if (a.packed != 0) revert AlreadyAnchored(msg.sender, root);
        if (!registry.isAccredited(msg.sender, credentialType, uint64(block.timestamp))) {
            revert NotAccredited(msg.sender, credentialType);
        }
        a.packed = block.timestamp | (block.number << 64) | (uint256(count) << 128);
        emit Anchored(msg.sender, root, credentialType, count);
    }

    /// @notice When `issuer` anchored `root` (block time and block number) and how many
    /// credentials the batch holds; all zero when `issuer` never anchored `root`.
    /// @dev Read from current state: no event logs or archive state needed.
    function anchorOf(address issuer, bytes32 root)
        external
        view
        returns (uint64 timestamp, uint64 blockNumber, uint32 count)
    {
        uint256 packed = _anchors[issuer][root].packed;
        timestamp = uint64(packed);
        blockNumber = uint64(packed >> 64);
        count = uint32(packed >> 128);
    }

    /// @notice Whether `leaf` is in the tree of `root` given its sibling path `proof`, where each
    /// inner node hashes the sorted pair of its children (OpenZeppelin MerkleProof semantics).
    function verifyInclusion(bytes32 root, bytes32[] calldata proof, bytes32 leaf)
        external
        pure
        returns (bool)
    {
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    // ---------------------------------------------------------------- status lists

    /// @notice Set or clear entry `index` of the caller's list `listId` for `purpose`.
    function setStatus(uint64 listId, uint8 purpose, uint256 index, bool value) external {
        if (index >= LIST_SIZE) revert IndexOutOfRange(index);
        _checkWrite(purpose, value);
        _applyMask(listId, purpose, index >> 8, uint256(1) << (index & 0xff), value);
    }

    /// @notice Set (value true) or clear (value false) the bits `masks[k]` of word
    /// `wordIndexes[k]` of the caller's list `listId` for `purpose`, for every k.
    /// @dev One `StatusWordChanged` event per word that actually changed.
    function updateStatusWords(
        uint64 listId,
        uint8 purpose,
        uint256[] calldata wordIndexes,
        uint256[] calldata masks,
        bool value
    ) external {
        if (wordIndexes.length != masks.length) {
            revert LengthMismatch(wordIndexes.length, masks.length);
        }
        _checkWrite(purpose, value);
        for (uint256 k = 0; k < wordIndexes.length; ++k) {
            uint256 wordIndex = wordIndexes[k];
            if (wordIndex >= LIST_WORDS) revert WordOutOfRange(wordIndex);
            _applyMask(listId, purpose, wordIndex, masks[k], value);
        }
    }

    /// @notice Whether entry `index` of `issuer`'s list `listId` for `purpose` is set.
    function isStatusSet(address issuer, uint64 listId, uint8 purpose, uint256 index)
        external
        view
        returns (bool)
    {
        _checkPurpose(purpose);
        if (index >= LIST_SIZE) revert IndexOutOfRange(index);
        return _words[issuer][listId][purpose][index >> 8] & (uint256(1) << (index & 0xff)) != 0;
    }

    /// @notice `count` consecutive words of `issuer`'s list `listId` for `purpose`, starting at
    /// word `fromWord` (the whole list is `statusWords(issuer, listId, purpose, 0, 512)`).
    function statusWords(
        address issuer,
        uint64 listId,
        uint8 purpose,
        uint256 fromWord,
        uint256 count
    ) external view returns (uint256[] memory words) {
        _checkPurpose(purpose);
        if (fromWord > LIST_WORDS || count > LIST_WORDS - fromWord) {
            revert WordOutOfRange(fromWord + count);
        }
        mapping(uint256 => uint256) storage list = _words[issuer][listId][purpose];
        words = new uint256[](count);
        for (uint256 k = 0; k < count; ++k) {
            words[k] = list[fromWord + k];
        }
    }

    // ---------------------------------------------------------------- internals

    /// @dev Purpose known, no revocation cleared, and the caller an Active issuer (a suspended
    /// or removed issuer can no longer change the status of what it issued).
    function _checkWrite(uint8 purpose, bool value) private view {
        _checkPurpose(purpose);
        if (purpose == REVOCATION && !value) revert RevocationIsPermanent();
        if (registry.issuerStatus(msg.sender) != IssuerRegistry.IssuerStatus.Active) {
            revert NotActiveIssuer(msg.sender);
        }
    }

    function _checkPurpose(uint8 purpose) private pure {
        if (purpose > SUSPENSION) revert UnknownPurpose(purpose);
    }

    function _applyMask(uint64 listId, uint8 purpose, uint256 wordIndex, uint256 mask, bool value)
        private
    {
        mapping(uint256 => uint256) storage list = _words[msg.sender][listId][purpose];
        uint256 old = list[wordIndex];
        uint256 updated = value ? old | mask : old & ~mask;
        if (updated != old) {
            list[wordIndex] = updated;
            emit StatusWordChanged(msg.sender, listId, purpose, wordIndex, updated);
        }
    }
}
