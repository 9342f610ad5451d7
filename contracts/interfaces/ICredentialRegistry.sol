// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {IIssuerRegistry} from "./IIssuerRegistry.sol";

/// @title ICredentialRegistry
/// @notice Merkle-root anchors of credential batches and per-issuer status bitmaps (revocation
/// and suspension), written only by the issuers an IIssuerRegistry accredits.
/// @dev Anchors and status lists live in the writer's own namespace (msg.sender): no issuer can
/// anchor a root, or change a status, on another issuer's behalf or in its way. Every event has
/// the issuer's address as its first topic.
interface ICredentialRegistry {
    // ------------------------------------------------------------------ types

    /// @notice What a status list records. The ABI type is uint8; any other value is refused by
    /// the ABI decoder (a revert without data).
    /// @dev Revocation is permanent: its bits can be set, never cleared. Suspension bits can be
    /// set and cleared.
    enum StatusPurpose {
        Revocation,
        Suspension
    }

    // ------------------------------------------------------------------ events

    /// @notice `issuer` anchored the Merkle `root` of a batch of `count` credentials of
    /// `credentialType`.
    /// @param issuer The anchoring issuer (first topic, as in the DID and issuer registries).
    /// @param root The batch's Merkle root.
    /// @param credentialType keccak256 id of the batch's credential type.
    /// @param count Credentials in the batch.
    event Anchored(
        address indexed issuer, bytes32 indexed root, bytes32 indexed credentialType, uint32 count
    );

    /// @notice Word `wordIndex` of `issuer`'s list `listId` for `purpose` changed to `word`.
    /// @dev Emitted only for a real change, with the full new word, so an indexer can rebuild
    /// every list from events alone.
    /// @param issuer The list's owner.
    /// @param listId The list.
    /// @param purpose Revocation or suspension.
    /// @param wordIndex The word's index in the list (0 to `LIST_WORDS() - 1`).
    /// @param word The word's new value; entry `wordIndex * 256 + b` is bit `1 << b`.
    event StatusWordChanged(
        address indexed issuer,
        uint64 indexed listId,
        StatusPurpose indexed purpose,
        uint256 wordIndex,
        uint256 word
    );

    // ------------------------------------------------------------------ errors

    /// @notice `issuer` is not accredited for `credentialType` now (never accredited for it, a
    /// closed grant, outside the grant's validity window, or suspended or removed).
    /// @param issuer The caller.
    /// @param credentialType The credential type.
    error NotAccredited(address issuer, bytes32 credentialType);

    /// @notice `issuer` already anchored `root`. Another issuer anchoring the same root does
    /// not cause this error.
    /// @param issuer The caller.
    /// @param root The root.
    error AlreadyAnchored(address issuer, bytes32 root);

    /// @notice An anchor of a batch of 0 credentials.
    error EmptyBatch();

    /// @notice `issuer` is not an Active issuer, so it cannot change the status of what it issued.
    /// @param issuer The caller.
    error NotActiveIssuer(address issuer);

    /// @notice Entry `index` is outside a list (`LIST_SIZE()` entries).
    /// @param index The index given.
    error IndexOutOfRange(uint256 index);

    /// @notice Word `wordIndex` (or the end of a range of words) is outside a list
    /// (`LIST_WORDS()` words).
    /// @param wordIndex The word index, or the range's end.
    error WordOutOfRange(uint256 wordIndex);

    /// @notice An attempt to clear a revocation bit.
    error RevocationIsPermanent();

    /// @notice `updateStatusWords` got `wordIndexes` word indexes but `masks` masks.
    /// @param wordIndexes Number of word indexes.
    /// @param masks Number of masks.
    error LengthMismatch(uint256 wordIndexes, uint256 masks);

    // ------------------------------------------------------------------ wiring and geometry

    /// @notice The registry consulted for accreditation and issuer status.
    /// @return The IssuerRegistry.
    function registry() external view returns (IIssuerRegistry);

    /// @notice The ERC-1056 registry holding issuers' DID documents (keys), so that a verifier
    /// given only this contract's address finds everything it needs.
    /// @return The EthereumDIDRegistry's address.
    function didRegistry() external view returns (address);

    /// @notice Entries in one status list.
    /// @return 131072 (the W3C Bitstring Status List minimum size).
    function LIST_SIZE() external view returns (uint256);

    /// @notice 256-bit words in one status list.
    /// @return 512.
    function LIST_WORDS() external view returns (uint256);

    // ------------------------------------------------------------------ anchors

    /// @notice Anchor the Merkle `root` of a batch of `count` credentials of `credentialType`.
    /// @dev Reverts unless the caller is accredited for `credentialType` right now. Anchors are
    /// keyed by (caller, root): an issuer that anchors a root first does not stop another from
    /// anchoring the same root.
    /// @param root The batch's Merkle root (sorted-pair keccak256 tree).
    /// @param count Credentials in the batch (> 0).
    /// @param credentialType keccak256 id of the batch's credential type.
    function anchor(bytes32 root, uint32 count, bytes32 credentialType) external;

    /// @notice When `issuer` anchored `root` and how many credentials the batch holds.
    /// @dev Read from current state: no event logs or archive state needed.
    /// @param issuer The issuer.
    /// @param root The root.
    /// @return timestamp Time of the anchoring block (0 if `issuer` never anchored `root`).
    /// @return blockNumber Number of the anchoring block (0 if never anchored).
    /// @return count Credentials in the batch (0 if never anchored).
    function anchorOf(address issuer, bytes32 root)
        external
        view
        returns (uint64 timestamp, uint64 blockNumber, uint32 count);

    /// @notice Whether `leaf` is in the tree of `root` given its sibling path `proof`, where each
    /// inner node is keccak256 of the sorted pair of its children (OpenZeppelin MerkleProof).
    /// @param root The tree's root.
    /// @param proof Sibling hashes from the leaf up.
    /// @param leaf The leaf hash.
    /// @return True if the proof leads from `leaf` to `root`.
    function verifyInclusion(bytes32 root, bytes32[] calldata proof, bytes32 leaf)
        external
        pure
        returns (bool);

    // ------------------------------------------------------------------ status lists

    /// @notice Set or clear entry `index` of the caller's list `listId` for `purpose`.
    /// @dev Active issuers only; a revocation cannot be cleared.
    /// @param listId The list.
    /// @param purpose Revocation or suspension.
    /// @param index The entry (0 to `LIST_SIZE() - 1`).
    /// @param value True to set, false to clear.
    function setStatus(uint64 listId, StatusPurpose purpose, uint256 index, bool value) external;

    /// @notice Set (value true) or clear (value false) the bits `masks[k]` of word
    /// `wordIndexes[k]` of the caller's list `listId` for `purpose`, for every k.
    /// @dev Active issuers only; a revocation cannot be cleared. One `StatusWordChanged` event per
    /// word that actually changed.
    /// @param listId The list.
    /// @param purpose Revocation or suspension.
    /// @param wordIndexes Word indexes (each below `LIST_WORDS()`).
    /// @param masks The bits to change in each word.
    /// @param value True to set, false to clear.
    function updateStatusWords(
        uint64 listId,
        StatusPurpose purpose,
        uint256[] calldata wordIndexes,
        uint256[] calldata masks,
        bool value
    ) external;

    /// @notice Whether entry `index` of `issuer`'s list `listId` for `purpose` is set.
    /// @param issuer The list's owner.
    /// @param listId The list.
    /// @param purpose Revocation or suspension.
    /// @param index The entry.
    /// @return True if set.
    function isStatusSet(address issuer, uint64 listId, StatusPurpose purpose, uint256 index)
        external
        view
        returns (bool);

    /// @notice `count` consecutive words of `issuer`'s list `listId` for `purpose`, from word
    /// `fromWord` (the whole list is `statusWords(issuer, listId, purpose, 0, 512)`).
    /// @param issuer The list's owner.
    /// @param listId The list.
    /// @param purpose Revocation or suspension.
    /// @param fromWord First word.
    /// @param count Number of words.
    /// @return words The words.
    function statusWords(
        address issuer,
        uint64 listId,
        StatusPurpose purpose,
        uint256 fromWord,
        uint256 count
    ) external view returns (uint256[] memory words);
}
