// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title EthereumDIDRegistry
/// @notice An ERC-1056 identity registry: the same external ABI, events and signed-message
/// hashing as the reference registry, so `ethr-did-resolver` and ethr-did tooling resolve and
/// manage `did:ethr` identifiers against it unchanged.
/// @dev Written from the ERC-1056 specification. Differences that clients cannot observe:
/// failures are custom errors instead of require strings (the resolver only reads storage and
/// events). Nonces follow registry v1.0 semantics: every signed call hashes
/// `nonce[identityOwner(identity)]` and increments the signer's nonce, so ethr-did controllers
/// must use `legacyNonce = false` when identity and owner differ.
/// Each change emits its event with `previousChange` (the block of the identity's previous
/// change), letting resolvers walk the history backwards without an index.
contract EthereumDIDRegistry {
    /// @notice Explicit owner of an identity (zero means the identity owns itself).
    mapping(address => address) public owners;
    /// @notice identity => keccak256(delegateType) => delegate => validity end (unix seconds).
    mapping(address => mapping(bytes32 => mapping(address => uint256))) public delegates;
    /// @notice Block number of the identity's latest change (0 = never changed).
    mapping(address => uint256) public changed;
    /// @notice Signed-message nonce, per signer (the identity's owner).
    mapping(address => uint256) public nonce;

    event DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange);
    event DIDDelegateChanged(
        address indexed identity,
        bytes32 delegateType,
        address delegate,
        uint256 validTo,
        uint256 previousChange
    );
    event DIDAttributeChanged(
        address indexed identity, bytes32 name, bytes value, uint256 validTo, uint256 previousChange
    );

    error NotIdentityOwner(address identity, address actor);
    error InvalidSignature(address identity, address signer);

    modifier onlyOwner(address identity, address actor) {
        if (actor != identityOwner(identity)) revert NotIdentityOwner(identity, actor);
        _;
    }

    /// @notice The address that controls `identity`: its explicit owner, or itself.
    function identityOwner(address identity) public view returns (address) {
        address owner = owners[identity];
        return owner == address(0) ? identity : owner;
    }

    /// @notice Whether `delegate` is a currently valid delegate of `delegateType` for `identity`.
    function validDelegate(address identity, bytes32 delegateType, address delegate)
        external
        view
        returns (bool)
    {
        return delegates[identity][keccak256(abi.encode(delegateType))][delegate] > block.timestamp;
    }

    /// @notice Transfer control of `identity` to `newOwner` (caller must be its owner).
    function changeOwner(address identity, address newOwner) external {
        _changeOwner(identity, msg.sender, newOwner);
    }

    /// @notice `changeOwner` authorised by the owner's signature over
    /// keccak256(0x19 0x00 registry nonce identity "changeOwner" newOwner).
    function changeOwnerSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        address newOwner
    ) external {
        bytes32 hash = keccak256(
            abi.encodePacked(_prefix(identity), identity, "changeOwner", newOwner)
        );
        _changeOwner(identity, _checkSignature(identity, sigV, sigR, sigS, hash), newOwner);
    }

    /// @notice Make `delegate` a `delegateType` delegate of `identity` for `validity` seconds.
    function addDelegate(address identity, bytes32 delegateType, address delegate, uint256 validity)
        external
    {
        _addDelegate(identity, msg.sender, delegateType, delegate, validity);
    }

    /// @notice `addDelegate` authorised by the owner's signature over
    /// keccak256(0x19 0x00 registry nonce identity "addDelegate" delegateType delegate validity).
    function addDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) external {
        bytes32 hash = keccak256(
            abi.encodePacked(
                _prefix(identity), identity, "addDelegate", delegateType, delegate, validity
            )
        );
        _addDelegate(
            identity, _checkSignature(identity, sigV, sigR, sigS, hash), delegateType, delegate, validity
        );
    }

    /// @notice End `delegate`'s `delegateType` delegation for `identity` now.
    function revokeDelegate(address identity, bytes32 delegateType, address delegate) external {
        _revokeDelegate(identity, msg.sender, delegateType, delegate);
    }

    /// @notice `revokeDelegate` authorised by the owner's signature over
    /// keccak256(0x19 0x00 registry nonce identity "revokeDelegate" delegateType delegate).
    function revokeDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate
    ) external {
        bytes32 hash = keccak256(
            abi.encodePacked(_prefix(identity), identity, "revokeDelegate", delegateType, delegate)
        );
        _revokeDelegate(
            identity, _checkSignature(identity, sigV, sigR, sigS, hash), delegateType, delegate
        );
    }

    /// @notice Publish attribute `name` = `value` of `identity`, valid for `validity` seconds.
    /// @dev Attributes live only in events; resolvers replay them.
    function setAttribute(address identity, bytes32 name, bytes calldata value, uint256 validity)
        external
    {
        _setAttribute(identity, msg.sender, name, value, validity);
    }

    /// @notice `setAttribute` authorised by the owner's signature over
    /// keccak256(0x19 0x00 registry nonce identity "setAttribute" name value validity).
    function setAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) external {
        bytes32 hash = keccak256(
            abi.encodePacked(_prefix(identity), identity, "setAttribute", name, value, validity)
        );
        _setAttribute(identity, _checkSignature(identity, sigV, sigR, sigS, hash), name, value, validity);
    }

    /// @notice Withdraw attribute `name` = `value` of `identity` (announced with validTo 0).
    function revokeAttribute(address identity, bytes32 name, bytes calldata value) external {
        _revokeAttribute(identity, msg.sender, name, value);
    }

    /// @notice `revokeAttribute` authorised by the owner's signature over
    /// keccak256(0x19 0x00 registry nonce identity "revokeAttribute" name value).
    function revokeAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value
    ) external {
        bytes32 hash = keccak256(
            abi.encodePacked(_prefix(identity), identity, "revokeAttribute", name, value)
        );
        _revokeAttribute(identity, _checkSignature(identity, sigV, sigR, sigS, hash), name, value);
    }

    // ---------------------------------------------------------------- internals

    /// @dev The ERC-191 version-0 prefix: 0x19 0x00, this registry, the owner's nonce.
    function _prefix(address identity) private view returns (bytes memory) {
        return abi.encodePacked(
            bytes1(0x19), bytes1(0), address(this), nonce[identityOwner(identity)]
        );
    }

    function _checkSignature(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 hash
    ) private returns (address signer) {
        signer = ecrecover(hash, sigV, sigR, sigS);
        if (signer == address(0) || signer != identityOwner(identity)) {
            revert InvalidSignature(identity, signer);
        }
        ++nonce[signer];
    }

    function _changeOwner(address identity, address actor, address newOwner)
        private
        onlyOwner(identity, actor)
    {
        owners[identity] = newOwner;
        emit DIDOwnerChanged(identity, newOwner, changed[identity]);
        changed[identity] = block.number;
    }

    function _addDelegate(
        address identity,
        address actor,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) private onlyOwner(identity, actor) {
        uint256 validTo = block.timestamp + validity;
        delegates[identity][keccak256(abi.encode(delegateType))][delegate] = validTo;
        emit DIDDelegateChanged(identity, delegateType, delegate, validTo, changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeDelegate(
        address identity,
        address actor,
        bytes32 delegateType,
        address delegate
    ) private onlyOwner(identity, actor) {
        delegates[identity][keccak256(abi.encode(delegateType))][delegate] = block.timestamp;
        emit DIDDelegateChanged(identity, delegateType, delegate, block.timestamp, changed[identity]);
        changed[identity] = block.number;
    }

    function _setAttribute(
        address identity,
        address actor,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) private onlyOwner(identity, actor) {
        emit DIDAttributeChanged(identity, name, value, block.timestamp + validity, changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeAttribute(address identity, address actor, bytes32 name, bytes calldata value)
        private
        onlyOwner(identity, actor)
    {
        emit DIDAttributeChanged(identity, name, value, 0, changed[identity]);
        changed[identity] = block.number;
    }
}
