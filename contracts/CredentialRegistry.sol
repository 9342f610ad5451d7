// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ICredentialRegistry} from "./interfaces/ICredentialRegistry.sol";
import {IIssuerRegistry} from "./interfaces/IIssuerRegistry.sol";

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
///   another's list. Each list has LIST_SIZE entries = LIST_WORDS words of 256 bits; entry `i`
///   is bit `1 << (i % 256)` of word `i / 256`.
/// - Revocation is permanent: any attempt to clear a revocation bit reverts. Suspension can be
///   set and cleared.
/// - A status word that does not change is neither written nor announced, so every
///   `StatusWordChanged` event is a real change and carries the full new word (an indexer can
///   rebuild a list from events alone).
contract CredentialRegistry is ICredentialRegistry {
    /// @inheritdoc ICredentialRegistry
    /// @dev A constant on purpose: the list geometry is part of the status-list format the node
    /// publishes (W3C Bitstring Status List), fixed for every issuer and list; exposing it lets
    /// a client size a list from the chain instead of hard-coding it.
    uint256 public constant LIST_SIZE = 131072;
    /// @inheritdoc ICredentialRegistry
    /// @dev LIST_SIZE / 256; a constant for the same reason.
    uint256 public constant LIST_WORDS = 512;

    /// @inheritdoc ICredentialRegistry
    IIssuerRegistry public immutable registry;

    /// @inheritdoc ICredentialRegistry
    address public immutable didRegistry;

    /// @dev One anchor: timestamp | blockNumber << 64 | count << 128 (0 = not anchored). A
    /// one-field struct, not a bare uint256, so `anchor` takes a storage pointer and hashes the
    /// two mapping keys once for its read and its write.
    struct Anchor {
        uint256 packed;
    }

    /// @dev 256 entries of a status list; a struct for the same reason as `Anchor`.
    struct Word {
        uint256 bits;
    }

    mapping(address issuer => mapping(bytes32 root => Anchor)) private _anchors;
    mapping(
        address issuer
            => mapping(uint64 listId => mapping(StatusPurpose => mapping(uint256 => Word)))
    ) private _words;

    /// @param issuerRegistry The consortium's IssuerRegistry.
    /// @param didRegistry_ The EthereumDIDRegistry (ERC-1056) of the issuers' DIDs.
    constructor(IIssuerRegistry issuerRegistry, address didRegistry_) {
        registry = issuerRegistry;
        didRegistry = didRegistry_;
    }

    // ---------------------------------------------------------------- anchors

    /// @inheritdoc ICredentialRegistry
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

    /// @inheritdoc ICredentialRegistry
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

    /// @inheritdoc ICredentialRegistry
    function verifyInclusion(bytes32 root, bytes32[] calldata proof, bytes32 leaf)
        external
        pure
        returns (bool)
    {
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    // ---------------------------------------------------------------- status lists

    /// @inheritdoc ICredentialRegistry
    function setStatus(uint64 listId, StatusPurpose purpose, uint256 index, bool value)
        external
    {
        if (index >= LIST_SIZE) revert IndexOutOfRange(index);
        _checkWrite(purpose, value);
        uint256 wordIndex = index >> 8;
        _applyMask(
            _words[msg.sender][listId][purpose][wordIndex],
            listId,
            purpose,
            wordIndex,
            uint256(1) << (index & 0xff),
            value
        );
    }

    /// @inheritdoc ICredentialRegistry
    function updateStatusWords(
        uint64 listId,
        StatusPurpose purpose,
        uint256[] calldata wordIndexes,
        uint256[] calldata masks,
        bool value
    ) external {
        if (wordIndexes.length != masks.length) {
            revert LengthMismatch(wordIndexes.length, masks.length);
        }
        _checkWrite(purpose, value);
        mapping(uint256 => Word) storage list = _words[msg.sender][listId][purpose];
        for (uint256 k = 0; k < wordIndexes.length; ++k) {
            uint256 wordIndex = wordIndexes[k];
            if (wordIndex >= LIST_WORDS) revert WordOutOfRange(wordIndex);
            _applyMask(list[wordIndex], listId, purpose, wordIndex, masks[k], value);
        }
    }

    /// @inheritdoc ICredentialRegistry
    function isStatusSet(address issuer, uint64 listId, StatusPurpose purpose, uint256 index)
        external
        view
        returns (bool)
    {
        if (index >= LIST_SIZE) revert IndexOutOfRange(index);
        return _words[issuer][listId][purpose][index >> 8].bits & (uint256(1) << (index & 0xff)) != 0;
    }

    /// @inheritdoc ICredentialRegistry
    function statusWords(
        address issuer,
        uint64 listId,
        StatusPurpose purpose,
        uint256 fromWord,
        uint256 count
    ) external view returns (uint256[] memory words) {
        if (fromWord > LIST_WORDS || count > LIST_WORDS - fromWord) {
            revert WordOutOfRange(fromWord + count);
        }
        mapping(uint256 => Word) storage list = _words[issuer][listId][purpose];
        words = new uint256[](count);
        for (uint256 k = 0; k < count; ++k) {
            words[k] = list[fromWord + k].bits;
        }
    }

    // ---------------------------------------------------------------- internals

    /// @dev No revocation cleared, and the caller an Active issuer (a suspended or removed
    /// issuer can no longer change the status of what it issued).
    function _checkWrite(StatusPurpose purpose, bool value) private view {
        if (purpose == StatusPurpose.Revocation && !value) revert RevocationIsPermanent();
        if (registry.issuerStatus(msg.sender) != IIssuerRegistry.IssuerStatus.Active) {
            revert NotActiveIssuer(msg.sender);
        }
    }

    /// @dev Set (value true) or clear `mask` in `word`, which is word `wordIndex` of the
    /// caller's list `listId` for `purpose`; announce the word if it changed. The caller locates
    /// the word, so a batch computes its list's slot once.
    function _applyMask(
        Word storage word,
        uint64 listId,
        StatusPurpose purpose,
        uint256 wordIndex,
        uint256 mask,
        bool value
    ) private {
        uint256 old = word.bits;
        uint256 updated = value ? old | mask : old & ~mask;
        if (updated != old) {
            word.bits = updated;
            emit StatusWordChanged(msg.sender, listId, purpose, wordIndex, updated);
        }
    }
}
