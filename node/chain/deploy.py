"""Deploy our three contracts, and check at every start that they are still there.

`verify_deployment` exists because the node's record of a deployment can outlive the chain it
describes: an embedded anvil restarted without its state file, a config pointing at another
network. Either would make every anchor fail with an obscure error; failing at start with a
`ConfigurationError` that says what is wrong is kinder.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_typing import ChecksumAddress
from web3 import Web3

from node.chain.artifacts import load_artifact
from node.chain.bindings import (
    CREDENTIAL_REGISTRY,
    DID_REGISTRY,
    ISSUER_REGISTRY,
    Deployment,
)
from node.chain.client import ChainClient
from node.chain.sender import Receipt, TransactionSender
from node.errors import ChainError, ConfigurationError


def deploy_contract(sender: TransactionSender, name: str, *args: object) -> Receipt:
    """Deploy the artifact `name` with constructor `args`; the receipt has the address."""
    artifact = load_artifact(name)
    factory = sender.client.w3.eth.contract(abi=list(artifact.abi), bytecode=artifact.bytecode)
    return sender.transact(factory.constructor(*args))


def deploy_all(
    sender: TransactionSender,
    members: Sequence[str],
    threshold: int,
    proposal_lifetime: int,
) -> Deployment:
    """Deploy EthereumDIDRegistry, IssuerRegistry(members, threshold, lifetime) and
    CredentialRegistry(issuerRegistry, didRegistry), one after the other (each waits for its
    receipt).

    Constructor checks (threshold <= members, lifetime > 0...) surface as decoded
    `ContractRevert`s from gas estimation, before anything is spent.
    """
    member_addresses = [Web3.to_checksum_address(m) for m in members]
    did = deploy_contract(sender, DID_REGISTRY)
    issuers = deploy_contract(
        sender, ISSUER_REGISTRY, member_addresses, threshold, proposal_lifetime
    )
    credentials = deploy_contract(sender, CREDENTIAL_REGISTRY, _address(issuers), _address(did))
    return Deployment(
        chain_id=sender.client.chain_id,
        issuer_registry=_address(issuers),
        credential_registry=_address(credentials),
        did_registry=_address(did),
        block_number=min(did.block_number, issuers.block_number, credentials.block_number),
        deployer=sender.address,
    )


def verify_deployment(client: ChainClient, deployment: Deployment) -> None:
    """Raise `ConfigurationError` unless the chain is the deployment's and has code at each
    address."""
    chain_id = client.chain_id
    if chain_id != deployment.chain_id:
        raise ConfigurationError(
            f"deployment is for chain id {deployment.chain_id} but the chain at the configured "
            f"RPC URL has chain id {chain_id}",
            code="chain_id_mismatch",
            actual=chain_id,
            expected=deployment.chain_id,
        )
    missing = [
        f"{name} at {address}"
        for name, address in deployment.addresses.items()
        if not client.get_code(address)
    ]
    if missing:
        raise ConfigurationError(
            f"no contract code for {', '.join(missing)} on chain {chain_id}: the chain was reset "
            "(embedded chain restarted without its state file?) or this is another network; "
            "redeploy or fix the RPC URL",
            code="contracts_missing",
            missing=missing,
        )


def _address(receipt: Receipt) -> ChecksumAddress:
    if receipt.contract_address is None:
        raise ChainError(f"transaction {receipt.tx_hash} created no contract", code="deploy_failed")
    return receipt.contract_address
