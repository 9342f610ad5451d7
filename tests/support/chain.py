"""The suite's chain, DID registry and PostgreSQL helpers; the fixtures that make them live in
tests/conftest.py, and test modules import these types for their annotations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from node.chain.anvil import AnvilProcess
from node.chain.client import ChainClient


@dataclass(frozen=True)
class DevChain:
    """A running anvil and its funded accounts (10,000 ETH each)."""

    process: AnvilProcess
    rpc_url: str
    chain_id: int
    accounts: tuple[LocalAccount, ...]

    def client(self) -> ChainClient:
        """A new client: its nonce counters start fresh from the chain."""
        return ChainClient(self.rpc_url, expected_chain_id=self.chain_id)

    def rpc(self, method: str, *params: Any) -> Any:
        """A raw JSON-RPC call, e.g. `rpc("anvil_mine", "0x3")`."""
        return self.client().request(method, params)


# -- DID registry (did:ethr resolution tests: tests/e2e/did, tests/interop) --------------------


class DidRegistryDriver:
    """Writes to the session deployment's EthereumDIDRegistry as anvil's unlocked dev accounts.

    Every write passes an explicit gas limit, so it can be queued while automining is off
    (`same_block`) without an estimate against a state that does not exist yet.
    """

    GAS = 300_000

    def __init__(self, chain: DevChain, address: str) -> None:
        from web3 import HTTPProvider, Web3

        from node.chain.artifacts import load_artifact

        self.chain = chain
        self.w3 = Web3(HTTPProvider(chain.rpc_url))
        self.address = Web3.to_checksum_address(address)
        self.abi = load_artifact("EthereumDIDRegistry").abi
        self.registry = self.w3.eth.contract(address=self.address, abi=self.abi)
        self._queued: list[Any] = []
        self._automine = True

    def send(self, function: str, *args: Any, sender: str) -> int | None:
        """Send `function(*args)` from `sender`; the block number when mined at once."""
        call = getattr(self.registry.functions, function)(*args)
        tx_hash = call.transact({"from": sender, "gas": self.GAS})
        if not self._automine:
            self._queued.append(tx_hash)
            return None
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
        assert receipt["status"] == 1, f"{function} reverted"
        return int(receipt["blockNumber"])

    def set_attribute(
        self, identity: str, name: str, value: bytes, validity: int, sender: str | None = None
    ) -> int | None:
        from node.did.attributes import encode_bytes32

        return self.send(
            "setAttribute", identity, encode_bytes32(name), value, validity,
            sender=sender or identity,
        )  # fmt: skip

    def revoke_attribute(self, identity: str, name: str, value: bytes) -> int | None:
        from node.did.attributes import encode_bytes32

        return self.send("revokeAttribute", identity, encode_bytes32(name), value, sender=identity)

    def add_delegate(
        self, identity: str, delegate_type: str, delegate: str, validity: int
    ) -> int | None:
        from node.did.attributes import encode_bytes32

        args = (identity, encode_bytes32(delegate_type), delegate, validity)
        return self.send("addDelegate", *args, sender=identity)

    def revoke_delegate(self, identity: str, delegate_type: str, delegate: str) -> int | None:
        from node.did.attributes import encode_bytes32

        args = (identity, encode_bytes32(delegate_type), delegate)
        return self.send("revokeDelegate", *args, sender=identity)

    def change_owner(self, identity: str, new_owner: str, sender: str | None = None) -> int | None:
        return self.send("changeOwner", identity, new_owner, sender=sender or identity)

    def same_block(self) -> Any:
        """Context manager: the writes inside it are mined together in one block."""
        from contextlib import contextmanager

        @contextmanager
        def batch() -> Iterator[None]:
            self.chain.rpc("evm_setAutomine", False)
            self._automine = False
            try:
                yield
                self.chain.rpc("anvil_mine", "0x1")
                for tx_hash in self._queued:
                    receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
                    assert receipt["status"] == 1, "a batched write reverted"
            finally:
                self._queued.clear()
                self._automine = True
                self.chain.rpc("evm_setAutomine", True)

        return batch()

    def advance(self, seconds: int) -> int:
        """Mine an empty block `seconds` after the latest one; return its number."""
        self.chain.rpc("evm_increaseTime", hex(seconds))
        self.chain.rpc("evm_mine")
        return int(self.w3.eth.block_number)

    def block_time(self, number: int) -> int:
        return int(self.w3.eth.get_block(number)["timestamp"])


@dataclass
class DidResolution:
    """A database fed by the indexer from the DID registry, and the resolver reading it."""

    db: Any
    indexer: Any
    resolver: Any

    def sync(self) -> int:
        """Index everything mined so far; the number of events applied."""
        applied: int = self.indexer.poll_once()
        return applied


# -- PostgreSQL ---------------------------------------------------------------------------------

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new database on the PostgreSQL server at 127.0.0.1:5432, dropped (connections and all)
    on exit."""
    import uuid

    import psycopg

    name = f"lernode_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
