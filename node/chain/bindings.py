"""Where our contracts live on a chain, and web3 objects to talk to them.

`Deployment` is the node's memory of `deploy_all`: written once to `<data_dir>/deployment.json`,
read at every start, checked against the chain by `verify_deployment`. `Contracts` turns it into
web3 `Contract` objects built from the committed artifacts, and into an `ErrorDecoder` that
knows every custom error of the three contracts.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Self

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from node.chain.artifacts import load_artifact
from node.chain.client import ChainClient
from node.chain.contracts.credential_registry import CredentialRegistry
from node.chain.contracts.did_registry import DidRegistry
from node.chain.contracts.issuer_registry import IssuerRegistry
from node.chain.revert import ErrorDecoder
from node.errors import ConfigurationError

ISSUER_REGISTRY = "IssuerRegistry"
CREDENTIAL_REGISTRY = "CredentialRegistry"
DID_REGISTRY = "EthereumDIDRegistry"
#: Every contract the node deploys, in deployment order.
CONTRACT_NAMES: tuple[str, ...] = (DID_REGISTRY, ISSUER_REGISTRY, CREDENTIAL_REGISTRY)


def lernode_error_decoder() -> ErrorDecoder:
    """A decoder for the custom errors of all our contracts (artifacts are cached)."""
    return ErrorDecoder({name: load_artifact(name).abi for name in CONTRACT_NAMES})


@dataclass(frozen=True)
class Deployment:
    """The addresses of one deployment of our contracts and where it starts on the chain.

    `block_number` is the first block the event indexer must scan; `deployer` is the key that
    paid for it (informative: the contracts give it no special rights).
    """

    chain_id: int
    issuer_registry: ChecksumAddress
    credential_registry: ChecksumAddress
    did_registry: ChecksumAddress
    block_number: int
    deployer: ChecksumAddress

    def __post_init__(self) -> None:
        for name in ("issuer_registry", "credential_registry", "did_registry", "deployer"):
            object.__setattr__(self, name, Web3.to_checksum_address(getattr(self, name)))

    @property
    def addresses(self) -> dict[str, ChecksumAddress]:
        """Contract name -> address."""
        return {
            DID_REGISTRY: self.did_registry,
            ISSUER_REGISTRY: self.issuer_registry,
            CREDENTIAL_REGISTRY: self.credential_registry,
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        try:
            return cls(
                chain_id=int(data["chain_id"]),
                issuer_registry=data["issuer_registry"],
                credential_registry=data["credential_registry"],
                did_registry=data["did_registry"],
                block_number=int(data["block_number"]),
                deployer=data["deployer"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"invalid deployment record: {exc}", code="invalid_deployment"
            ) from exc

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename): a crash never leaves half a deployment.json."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".deployment-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(self.to_json(), out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(temp_name, path)

    @classmethod
    def load(cls, path: Path) -> Self:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigurationError(
                f"no deployment record at {path}: deploy the contracts first",
                code="not_deployed",
            ) from exc
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"unreadable deployment record {path}: {exc}", code="invalid_deployment"
            ) from exc
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"deployment record {path} is not a JSON object", code="invalid_deployment"
            )
        return cls.from_json(data)


class Contracts:
    """The typed faces (`node.chain.contracts`) of one deployment's three contracts, built from
    the committed artifacts."""

    def __init__(self, client: ChainClient, deployment: Deployment) -> None:
        self.client = client
        self.deployment = deployment

    def _bind(self, name: str) -> Contract:
        return self.client.w3.eth.contract(
            address=self.deployment.addresses[name], abi=list(load_artifact(name).abi)
        )

    @cached_property
    def issuer_registry(self) -> IssuerRegistry:
        return IssuerRegistry(self._bind(ISSUER_REGISTRY))

    @cached_property
    def credential_registry(self) -> CredentialRegistry:
        return CredentialRegistry(self._bind(CREDENTIAL_REGISTRY))

    @cached_property
    def did_registry(self) -> DidRegistry:
        return DidRegistry(self._bind(DID_REGISTRY))

    @property
    def names_by_address(self) -> dict[str, str]:
        """Address -> contract name: lets a `TransactionSender` name the contract that refused."""
        return {address: name for name, address in self.deployment.addresses.items()}

    @cached_property
    def error_decoder(self) -> ErrorDecoder:
        return lernode_error_decoder()
