"""Verbs for contract tests: the chain handle, custom-error assertions, events, governance.

Roles used throughout: accounts 0-2 are the founding consortium members (threshold 2), 3 and 4
are issuers, 5 is an outsider with no role, 6 a prospective member, 7-9 DID identities/actors.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_tester import EthereumTester
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from node.chain.artifacts import load_artifact
from node.chain.contracts.types import credential_type_id

PROPOSAL_LIFETIME = 86_400
OPEN_BADGE = credential_type_id("OpenBadgeCredential")
CLR = credential_type_id("ClrCredential")
CONTRACT_NAMES = ("IssuerRegistry", "CredentialRegistry", "EthereumDIDRegistry")
#: An issuer profile document as a consortium publishes it (opaque JSON to the contract).
METADATA = (
    '{"legalName":"Example State University","homepage":"https://www.example.edu",'
    '"ctid":"ce-0f6a3b7e-8a53-4f4e-9c9d-6c3f1e2d4b5a","ror":"https://ror.org/00example"}'
)


@dataclass
class Chain:
    """The test chain plus the small verbs tests speak in."""

    tester: EthereumTester
    w3: Web3
    accounts: list[str]
    keys: list[bytes]

    def deploy(self, name: str, *args: Any) -> Contract:
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = factory.constructor(*args).transact({"from": self.accounts[0]})
        address = self.w3.eth.get_transaction_receipt(tx)["contractAddress"]
        assert address is not None
        return self.w3.eth.contract(address=address, abi=artifact.abi)

    def send(self, call: Any, sender: str) -> TxReceipt:
        """Send a contract call as a transaction from `sender`; return its receipt."""
        tx = call.transact({"from": sender})
        return self.w3.eth.get_transaction_receipt(tx)

    def block_time(self, receipt: TxReceipt) -> int:
        return int(self.w3.eth.get_block(receipt["blockNumber"])["timestamp"])

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance(self, seconds: int) -> int:
        """Make the next block `seconds` after the latest one; return that timestamp."""
        target = self.now() + seconds
        self.tester.time_travel(target)
        return target


def events(contract: Contract, name: str, receipt: TxReceipt) -> list[EventData]:
    """The `name` events `contract` emitted in the transaction of `receipt`."""
    return list(getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD))


def _revert_data(failure: BaseException) -> bytes:
    """The raw revert bytes behind web3's eth-tester wrapper (it stringifies them)."""
    current: BaseException | None = failure
    while current is not None:
        first = current.args[0] if current.args else None
        if isinstance(first, bytes):
            return first
        if isinstance(first, str) and first.startswith("execution reverted: b"):
            value = ast.literal_eval(first.removeprefix("execution reverted: "))
            assert isinstance(value, bytes)
            return value
        current = current.__context__
    raise AssertionError(f"no revert data in {failure!r}")


def _error_names() -> dict[bytes, str]:
    names: dict[bytes, str] = {}
    for contract in CONTRACT_NAMES:
        for entry in load_artifact(contract).abi:
            if entry["type"] == "error":
                names[_selector(entry)] = entry["name"]
    return names


def _selector(entry: Mapping[str, Any]) -> bytes:
    types = ",".join(item["type"] for item in entry["inputs"])
    return keccak(text=f"{entry['name']}({types})")[:4]


@contextmanager
def reverts(contract: Contract, error: str, *expected_args: Any) -> Iterator[None]:
    """Assert the block raises custom error `error` of `contract` (and its arguments, if given)."""
    with pytest.raises(TransactionFailed) as info:
        yield
    data = _revert_data(info.value)
    entry = next(e for e in contract.abi if e["type"] == "error" and e["name"] == error)
    actual = _error_names().get(data[:4], f"unknown selector 0x{data[:4].hex()}")
    assert data[:4] == _selector(entry), f"expected {error}, reverted with {actual}"
    if expected_args:
        types = [item["type"] for item in entry["inputs"]]
        decoded = tuple(
            to_checksum_address(value) if kind == "address" else value
            for kind, value in zip(types, abi_decode(types, data[4:]), strict=True)
        )
        assert decoded == expected_args, f"{error}{decoded} != {error}{expected_args}"


@contextmanager
def reverts_without_data() -> Iterator[None]:
    """Assert the block reverts with empty revert data, as solc's ABI decoder does when an
    argument is out of range for its type (e.g. an enum value that does not exist)."""
    with pytest.raises(TransactionFailed) as info:
        yield
    assert _revert_data(info.value) == b""


@dataclass
class Consortium:
    """Drives IssuerRegistry proposals through to execution with the founding members."""

    chain: Chain
    registry: Contract

    @property
    def members(self) -> list[str]:
        return self.chain.accounts[:3]

    def propose(self, propose_call: Callable[[Contract], Any], proposer: str | None = None) -> int:
        receipt = self.chain.send(propose_call(self.registry), proposer or self.members[0])
        (created,) = events(self.registry, "ProposalCreated", receipt)
        return int(created["args"]["id"])

    def enact(self, propose_call: Callable[[Contract], Any]) -> TxReceipt:
        """Propose (member 0), approve (member 1), execute (member 0): threshold 2 reached."""
        proposal = self.propose(propose_call)
        self.chain.send(self.registry.functions.approve(proposal), self.members[1])
        return self.chain.send(self.registry.functions.execute(proposal), self.members[0])

    def accredit(
        self,
        issuer: str,
        types: list[bytes],
        valid_from: int = 0,
        valid_until: int = 0,
        metadata: str = METADATA,
        aliases: Sequence[str] = (),
    ) -> TxReceipt:
        return self.enact(
            lambda r: r.functions.proposeAccreditation(
                issuer, types, valid_from, valid_until, metadata, list(aliases)
            )
        )

    def issuer_action(self, action: int, issuer: str) -> TxReceipt:
        return self.enact(lambda r: r.functions.proposeIssuerAction(action, issuer))
