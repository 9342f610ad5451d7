// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title VerificationLens
/// @notice Never deployed. A verifier with nothing but an RPC URL sends this contract's creation
/// code, with its constructor arguments, as one `eth_call` without a `to` address: the
/// constructor reads everything one verification needs from a CredentialRegistry and from the
/// IssuerRegistry that registry names, all at the same (latest) block, and reverts with the
/// answers as `Readings`. So the state of one block arrives in one round trip, and only current
/// state is read: no archive node is needed.
/// @dev Why revert rather than return: code returned by a constructor is capped at 24,576 bytes
/// (EIP-170), revert data is not, and a transcript of 500 credentials needs more. The calls are
/// opaque ABI-encoded calldata, so the lens does not depend on the registries' ABI; a failed
/// call's result is empty (every function read here returns at least one word).
contract VerificationLens {
    /// @notice The answer, carried as revert data.
    /// @param chainId The chain's id (so the verifier needs no `eth_chainId`).
    /// @param blockNumber The block the readings reflect.
    /// @param blockTime That block's timestamp.
    /// @param registryCodeSize Size of the code at the CredentialRegistry address (0: none).
    /// @param issuerRegistry The CredentialRegistry's `registry()` (zero if it does not answer).
    /// @param didRegistry The CredentialRegistry's `didRegistry()` (zero if it does not answer).
    /// @param registryResults Return data of each call to the CredentialRegistry.
    /// @param issuerRegistryResults Return data of each call to the IssuerRegistry.
    error Readings(
        uint256 chainId,
        uint256 blockNumber,
        uint256 blockTime,
        uint256 registryCodeSize,
        address issuerRegistry,
        address didRegistry,
        bytes[] registryResults,
        bytes[] issuerRegistryResults
    );

    /// @param credentialRegistry The CredentialRegistry to read.
    /// @param registryCalls Calldata of each read of the CredentialRegistry.
    /// @param issuerRegistryCalls Calldata of each read of its IssuerRegistry.
    constructor(
        address credentialRegistry,
        bytes[] memory registryCalls,
        bytes[] memory issuerRegistryCalls
    ) {
        address issuerRegistry =
            _address(credentialRegistry, abi.encodeWithSignature("registry()"));
        address didRegistry =
            _address(credentialRegistry, abi.encodeWithSignature("didRegistry()"));
        revert Readings(
            block.chainid,
            block.number,
            block.timestamp,
            credentialRegistry.code.length,
            issuerRegistry,
            didRegistry,
            _run(credentialRegistry, registryCalls),
            _run(issuerRegistry, issuerRegistryCalls)
        );
    }

    /// @dev An address-returning getter's answer; zero when absent or not an address.
    function _address(address target, bytes memory data) private view returns (address found) {
        if (target.code.length == 0) return address(0);
        (bool ok, bytes memory result) = target.staticcall(data);
        if (ok && result.length == 32) {
            uint256 word = abi.decode(result, (uint256));
            if (word >> 160 == 0) found = address(uint160(word));
        }
    }

    function _run(address target, bytes[] memory calls)
        private
        view
        returns (bytes[] memory results)
    {
        results = new bytes[](calls.length);
        if (target.code.length == 0) return results;
        for (uint256 i = 0; i < calls.length; ++i) {
            (bool ok, bytes memory result) = target.staticcall(calls[i]);
            if (ok) results[i] = result;
        }
    }
}
