"""The verifier's view of the chain: CredentialRegistry and IssuerRegistry reads, nothing else.

A verifier trusts the chain and not the issuer's node, so this is the only source of anchors,
accreditation and status bits. It is built either from a node's deployment (`from_contracts`)
or, for a verifier with nothing but an RPC URL, from the CredentialRegistry address alone
(`from_registry_address`): that contract names its IssuerRegistry (`registry()`) and its DID
registry (`didRegistry()`), so one address is enough to find everything.

Every read goes through `chain_read`, which turns a dropped connection into one `ChainError` line
(`chain_unavailable`) instead of a requests traceback.
"""

from __future__ import annotations

from eth_utils import to_checksum_address
from web3.contract import Contract
from web3.exceptions import Web3Exception

from node.chain.artifacts import load_artifact
from node.chain.bindings import CREDENTIAL_REGISTRY, DID_REGISTRY, ISSUER_REGISTRY, Contracts
from node.chain.client import ChainClient, chain_read, redact_url
from node.chain.contracts.credential_registry import CredentialRegistry
from node.chain.contracts.did_registry import DidRegistry
from node.chain.contracts.issuer_registry import IssuerRegistry
from node.chain.contracts.types import AnchorRecord, Grant, StatusChange, StatusPurpose
from node.errors import ConfigurationError
from node.verification.report import AnchorEvent


class RegistryReader:
    """`ChainReader` over one deployment's CredentialRegistry and IssuerRegistry faces."""

    def __init__(
        self,
        client: ChainClient,
        credential_registry: CredentialRegistry,
        issuer_registry: IssuerRegistry,
        did_registry: DidRegistry,
    ) -> None:
        self.client = client
        self.credential_registry = credential_registry
        self.issuer_registry = issuer_registry
        self.did_registry = did_registry

    @classmethod
    def from_contracts(cls, contracts: Contracts) -> RegistryReader:
        return cls(
            contracts.client,
            contracts.credential_registry,
            contracts.issuer_registry,
            contracts.did_registry,
        )

    @classmethod
    def from_registry_address(
        cls, client: ChainClient, registry_address: str, did_registry: str | None = None
    ) -> RegistryReader:
        """Find the IssuerRegistry and DID registry from the CredentialRegistry's getters.

        `did_registry` overrides `didRegistry()` (for a CredentialRegistry deployed before it
        named its DID registry).
        """
        try:
            address = to_checksum_address(registry_address)
        except ValueError:
            raise ConfigurationError(
                f"not a contract address: {registry_address!r}", code="invalid_registry_address"
            ) from None
        credential_registry = CredentialRegistry(_bind(client, CREDENTIAL_REGISTRY, address))
        if not chain_read(lambda: client.get_code(address)):
            raise ConfigurationError(
                f"no contract at {address} on {redact_url(client.rpc_url)}",
                code="registry_not_found",
            )
        try:
            issuer_address = credential_registry.issuer_registry_address()
            if did_registry is None:
                did_registry = credential_registry.did_registry_address()
        except Web3Exception:
            raise ConfigurationError(
                f"{address} is not a lernode CredentialRegistry (its registry()/didRegistry() "
                "getters do not answer)",
                code="registry_not_found",
            ) from None
        return cls(
            client,
            credential_registry,
            IssuerRegistry(_bind(client, ISSUER_REGISTRY, issuer_address)),
            DidRegistry(_bind(client, DID_REGISTRY, to_checksum_address(did_registry))),
        )

    # -- ChainReader ------------------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        return self.client.chain_id

    @property
    def registry_address(self) -> str:
        return self.credential_registry.address.lower()

    def anchor_of(self, issuer: str, root: bytes) -> AnchorRecord | None:
        return self.credential_registry.anchor_of(issuer, root)

    def anchor_event(self, issuer: str, root: bytes, hint: int | None) -> AnchorEvent | None:
        """Look in the hinted block first (one cheap query), then over the whole chain: issuer
        and root are indexed topics, so even the full range is a single index lookup."""
        starts = [hint] if hint is not None and hint >= 0 else []
        for first in [*starts, 0]:
            logs = self.credential_registry.anchored_events(issuer, root, first)
            if logs:
                return AnchorEvent(logs[0].block_number, logs[0].transaction_hash)
        return None

    def is_accredited(self, issuer: str, credential_type: bytes, timestamp: int) -> bool:
        return self.issuer_registry.is_accredited(issuer, credential_type, timestamp)

    def status_history(self, issuer: str) -> list[StatusChange]:
        return self.issuer_registry.status_history(issuer)

    def accreditation_history(self, issuer: str) -> list[Grant]:
        return self.issuer_registry.accreditation_history(issuer)

    def is_status_set(self, issuer: str, list_number: int, purpose: int, index: int) -> bool:
        return self.credential_registry.is_status_set(
            issuer, list_number, StatusPurpose(purpose), index
        )

    def latest_time(self) -> int:
        latest = self.client.block("latest")
        return int(latest["timestamp"]) if latest else 0


def _bind(client: ChainClient, name: str, address: str) -> Contract:
    return client.w3.eth.contract(
        address=to_checksum_address(address), abi=list(load_artifact(name).abi)
    )
