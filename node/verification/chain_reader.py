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

from eth_typing import BlockNumber
from eth_utils import event_abi_to_log_topic, to_checksum_address
from hexbytes import HexBytes
from web3.contract import Contract
from web3.exceptions import Web3Exception
from web3.types import BlockIdentifier, FilterParams, LogReceipt

from node.chain.artifacts import load_artifact
from node.chain.bindings import CREDENTIAL_REGISTRY, DID_REGISTRY, ISSUER_REGISTRY, Contracts
from node.chain.client import ChainClient, chain_read, redact_url
from node.errors import ConfigurationError
from node.verification.report import Anchor, AnchorEvent, Grant, IssuerStatusChange

ZERO_ADDRESS = "0x" + "00" * 20


class RegistryReader:
    """`ChainReader` over one deployment's CredentialRegistry and IssuerRegistry."""

    def __init__(
        self,
        client: ChainClient,
        credential_registry: Contract,
        issuer_registry: Contract,
        did_registry: Contract,
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
        credential_registry = _bind(client, CREDENTIAL_REGISTRY, address)
        if not chain_read(lambda: client.get_code(address)):
            raise ConfigurationError(
                f"no contract at {address} on {redact_url(client.rpc_url)}",
                code="registry_not_found",
            )
        try:
            issuer_address = chain_read(lambda: credential_registry.functions.registry().call())
            if did_registry is None:
                did_registry = chain_read(
                    lambda: credential_registry.functions.didRegistry().call()
                )
        except Web3Exception:
            raise ConfigurationError(
                f"{address} is not a lernode CredentialRegistry (its registry()/didRegistry() "
                "getters do not answer)",
                code="registry_not_found",
            ) from None
        assert did_registry is not None
        return cls(
            client,
            credential_registry,
            _bind(client, ISSUER_REGISTRY, issuer_address),
            _bind(client, DID_REGISTRY, to_checksum_address(did_registry)),
        )

    # -- ChainReader ------------------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        return self.client.chain_id

    @property
    def registry_address(self) -> str:
        return str(self.credential_registry.address).lower()

    def anchor_of(self, root: bytes) -> Anchor | None:
        issuer, timestamp, count = chain_read(
            lambda: self.credential_registry.functions.anchorOf(root).call()
        )
        if str(issuer).lower() == ZERO_ADDRESS:
            return None
        return Anchor(issuer=str(issuer).lower(), timestamp=int(timestamp), count=int(count))

    def anchor_event(self, root: bytes, hint: int | None) -> AnchorEvent | None:
        """Look in the hinted block first (one cheap query), then over the whole chain: the
        root is an indexed topic, so even the full range is a single index lookup."""
        ranges: list[tuple[BlockIdentifier, BlockIdentifier]] = []
        if hint is not None and hint >= 0:
            ranges.append((BlockNumber(hint), BlockNumber(hint)))
        ranges.append((BlockNumber(0), "latest"))
        for first, last in ranges:
            logs = self._anchored_logs(root, first, last)
            if logs:
                tx = "0x" + bytes(logs[0]["transactionHash"]).hex()
                return AnchorEvent(int(logs[0]["blockNumber"]), tx)
        return None

    def _anchored_logs(
        self, root: bytes, first: BlockIdentifier, last: BlockIdentifier
    ) -> list[LogReceipt]:
        query: FilterParams = {
            "address": self.credential_registry.address,
            "fromBlock": first,
            "toBlock": last,
            "topics": ["0x" + self._anchored_topic.hex(), "0x" + root.hex()],
        }
        return list(chain_read(lambda: self.client.w3.eth.get_logs(query)))

    def is_accredited(self, issuer: str, credential_type: bytes, timestamp: int) -> bool:
        return bool(
            chain_read(
                lambda: self.issuer_registry.functions.isAccredited(
                    to_checksum_address(issuer), credential_type, timestamp
                ).call()
            )
        )

    def status_history(self, issuer: str) -> list[IssuerStatusChange]:
        rows = chain_read(
            lambda: self.issuer_registry.functions.statusHistory(to_checksum_address(issuer)).call()
        )
        return [IssuerStatusChange(status=int(row[0]), at=int(row[1])) for row in rows]

    def accreditation_history(self, issuer: str) -> list[Grant]:
        rows = chain_read(
            lambda: self.issuer_registry.functions.accreditationHistory(
                to_checksum_address(issuer)
            ).call()
        )
        return [
            Grant(bytes(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in rows
        ]

    def is_status_set(self, issuer: str, list_number: int, purpose: int, index: int) -> bool:
        return bool(
            chain_read(
                lambda: self.credential_registry.functions.isStatusSet(
                    to_checksum_address(issuer), list_number, purpose, index
                ).call()
            )
        )

    def latest_time(self) -> int:
        latest = self.client.block("latest")
        return int(latest["timestamp"]) if latest else 0

    @property
    def _anchored_topic(self) -> bytes:
        abi = next(
            item
            for item in self.credential_registry.abi
            if item.get("type") == "event" and item.get("name") == "Anchored"
        )
        return bytes(HexBytes(event_abi_to_log_topic(abi)))  # type: ignore[arg-type]


def _bind(client: ChainClient, name: str, address: str) -> Contract:
    return client.w3.eth.contract(
        address=to_checksum_address(address), abi=list(load_artifact(name).abi)
    )
