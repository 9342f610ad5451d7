"""The node's single connection to an EVM JSON-RPC endpoint.

Why a wrapper around `Web3` rather than `Web3` itself:
- every transport failure becomes one `ChainError` line naming the endpoint (without any API key
  that may sit in its path), instead of a urllib3 traceback;
- a node pointed at the wrong network (mainnet instead of the consortium chain) must refuse to
  start: `connect()` compares chain ids and raises `ConfigurationError(code="chain_id_mismatch")`;
- reads are retried with exponential backoff because repeating them is harmless; writes
  (`eth_sendRawTransaction`) are never retried here, the `TransactionSender` decides, because it
  alone knows whether a repeat could double-spend a nonce.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import requests
from eth_typing import BlockNumber, ChecksumAddress, Hash32, HexStr
from hexbytes import HexBytes
from requests.adapters import HTTPAdapter
from web3 import HTTPProvider, Web3
from web3.exceptions import BlockNotFound, TransactionNotFound
from web3.types import BlockData, BlockIdentifier, RPCEndpoint, TxData, TxReceipt

from node import metrics
from node.errors import ChainError, ConfigurationError, LernodeError

T = TypeVar("T")

#: Transport failures worth a retry for an idempotent read.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    ConnectionError,
)


class CountingHTTPProvider(HTTPProvider):
    """web3's HTTP provider, reporting each round trip and the calls in it to `node.metrics`
    (every read and write of the node, web3's own included, passes through here)."""

    def make_request(self, method: RPCEndpoint, params: Any) -> Any:
        metrics.rpc_calls((str(method),))
        return super().make_request(method, params)

    def make_batch_request(self, requests: Any) -> Any:
        metrics.rpc_calls(str(method) for method, _params in requests)
        return super().make_batch_request(requests)


class RpcError(ChainError):
    """The endpoint answered with a JSON-RPC error object (not a transport failure).

    Kept distinct so callers can tell "the node refused this request" (nonce too low, reverted,
    underpriced) from "the node is unreachable", and read the node's `rpc_code`/`rpc_message`/
    `data` (for reverts, the error selector and arguments).
    """

    code = "rpc_error"
    retryable = False

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.method = method
        self.rpc_code = int(error.get("code", 0))
        self.rpc_message = str(error.get("message", ""))
        self.data = error.get("data")
        super().__init__(f"{method} failed: {self.rpc_message} (JSON-RPC code {self.rpc_code})")


@dataclass
class NonceSlot:
    """Per-account nonce state: `next_nonce` is only read or written with `lock` held.

    `next_nonce` None means "ask the chain's pending count next time": the state at start, and
    after any failed broadcast, when the local count can no longer be trusted.
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    next_nonce: int | None = None


def redact_url(url: str) -> str:
    """`scheme://host:port` only: hosted RPC URLs often carry an API key in the path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}" if parts.netloc else url


class ChainClient:
    """Reads from one chain; the `TransactionSender` writes through it.

    One instance is meant to be shared by the whole process: it owns the HTTP connection pool and
    the per-account nonce locks and counters (`nonce_slot`), which only protect anything if
    every sender for a key uses the same client.
    """

    def __init__(
        self,
        rpc_url: str,
        expected_chain_id: int | None = None,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 15.0,
        read_attempts: int = 3,
        retry_backoff: float = 0.1,
    ) -> None:
        self.rpc_url = rpc_url
        self.expected_chain_id = expected_chain_id
        self.read_attempts = max(1, read_attempts)
        self.retry_backoff = retry_backoff
        session = requests.Session()
        # Enough pooled connections for the anchoring worker, the API threads and the indexer.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        provider = CountingHTTPProvider(
            rpc_url,
            request_kwargs={"timeout": (connect_timeout, read_timeout)},
            session=session,
            # Retries are decided here (reads only), not by web3 for every allow-listed method.
            exception_retry_configuration=None,
        )
        self.w3 = Web3(provider)
        self._chain_id: int | None = None
        self._locks_guard = threading.Lock()
        self._nonce_slots: dict[str, NonceSlot] = {}
        #: Called with a receipt's block number before the receipt is returned: on a chain that
        #: can lose recent blocks in a crash (the embedded one), no caller ever acts on a
        #: transaction the chain could still forget (node/chain/embedded.py).
        self.on_receipt: Callable[[int], None] | None = None

    def __repr__(self) -> str:
        return f"ChainClient({redact_url(self.rpc_url)!r})"

    # -- connection ---------------------------------------------------------------------------

    def connect(self) -> int:
        """Check the endpoint answers and is the expected chain; return its chain id."""
        chain_id = self._read(lambda: self.w3.eth.chain_id)
        if self.expected_chain_id is not None and chain_id != self.expected_chain_id:
            raise ConfigurationError(
                f"chain at {redact_url(self.rpc_url)} has chain id {chain_id}, "
                f"expected {self.expected_chain_id}",
                code="chain_id_mismatch",
                actual=chain_id,
                expected=self.expected_chain_id,
            )
        self._chain_id = chain_id
        return chain_id

    @property
    def chain_id(self) -> int:
        """The chain id, asked once (and checked against the expected one) then cached."""
        if self._chain_id is None:
            return self.connect()
        return self._chain_id

    # -- reads (retried) ----------------------------------------------------------------------

    def latest_block(self) -> int:
        return int(self._read(lambda: self.w3.eth.block_number))

    def block(self, identifier: BlockIdentifier) -> BlockData | None:
        """The block, or None if the chain does not (or no longer) have it."""

        def fetch() -> BlockData | None:
            try:
                return self.w3.eth.get_block(identifier)
            except BlockNotFound:
                return None

        return self._read(fetch)

    def block_timestamp(self, number: int) -> int:
        found = self.block(BlockNumber(number))
        if found is None:
            raise ChainError(f"block {number} does not exist", code="block_not_found")
        return int(found["timestamp"])

    def block_hash(self, number: int) -> HexBytes | None:
        """Hash of the canonical block at `number` now (it changes when a reorg replaces it)."""
        found = self.block(BlockNumber(number))
        return None if found is None else HexBytes(found["hash"])

    def base_fee(self) -> int:
        latest = self.block("latest")
        if latest is None:
            raise ChainError("the chain has no latest block")
        return int(latest.get("baseFeePerGas", 0))

    def get_code(self, address: str) -> bytes:
        checksum = Web3.to_checksum_address(address)
        return bytes(self._read(lambda: self.w3.eth.get_code(checksum)))

    def nonce(self, address: str, block: BlockIdentifier = "pending") -> int:
        """Transactions sent by `address`, counting the mempool when `block` is `pending`."""
        checksum = Web3.to_checksum_address(address)
        return int(self._read(lambda: self.w3.eth.get_transaction_count(checksum, block)))

    def balance(self, address: str) -> int:
        checksum = Web3.to_checksum_address(address)
        return int(self._read(lambda: self.w3.eth.get_balance(checksum)))

    def receipt(self, tx_hash: bytes | str) -> TxReceipt | None:
        """The receipt if the transaction is mined in the canonical chain, else None."""
        tx_hash_bytes = cast(Hash32, bytes(HexBytes(tx_hash)))

        def fetch() -> TxReceipt | None:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash_bytes)
            except TransactionNotFound:
                return None

        found = self._read(fetch)
        if found is not None and self.on_receipt is not None:
            self.on_receipt(int(found["blockNumber"]))
        return found

    def transaction(self, tx_hash: bytes | str) -> TxData | None:
        """The transaction if the node knows it (mined or still in its mempool), else None."""
        tx_hash_bytes = cast(Hash32, bytes(HexBytes(tx_hash)))

        def fetch() -> TxData | None:
            try:
                return self.w3.eth.get_transaction(tx_hash_bytes)
            except TransactionNotFound:
                return None

        return self._read(fetch)

    def read_request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """A raw JSON-RPC call that is safe to repeat (eth_call, eth_estimateGas, anvil_*...)."""
        return self._read(lambda: self._call(method, params))

    def read_batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several reads in one JSON-RPC batch (one HTTP round trip), results in call order; the
        first error answer raises `RpcError`."""
        results = []
        for answer in self.read_batch_answers(calls):
            if isinstance(answer, RpcError):
                raise answer
            results.append(answer)
        return results

    def read_batch_answers(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Like `read_batch`, but each error answer is returned (as an `RpcError`) in its place
        instead of raised: for calls that answer by reverting."""
        if not calls:
            return []

        def send() -> list[Any]:
            batch = [(RPCEndpoint(method), list(params)) for method, params in calls]
            responses = self.w3.provider.make_batch_request(batch)  # type: ignore[attr-defined]
            if not isinstance(responses, list):  # the endpoint refused the batch as a whole
                responses = [responses] * len(calls)
            answers: list[Any] = []
            for (method, _), response in zip(calls, responses, strict=True):
                error = response.get("error")
                if error is not None:
                    detail = dict(error) if isinstance(error, dict) else {"message": error}
                    answers.append(RpcError(method, detail))
                else:
                    answers.append(response.get("result"))
            return answers

        return self._read(send)

    # -- raw requests (not retried) -------------------------------------------------------------

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One raw JSON-RPC request: the result, or `RpcError`/`ChainError`. Never retried."""
        try:
            return self._call(method, params)
        except TRANSIENT_ERRORS as exc:
            raise self._unreachable(exc) from exc

    def _call(self, method: str, params: Sequence[Any]) -> Any:
        """The request itself; transport errors pass through so `_read` can retry them."""
        response = self.w3.provider.make_request(RPCEndpoint(method), list(params))
        error = response.get("error")
        if error is not None:
            raise RpcError(method, dict(error) if isinstance(error, dict) else {"message": error})
        return response.get("result")

    def send_raw_transaction(self, raw: bytes) -> HexStr:
        return cast(HexStr, self.request("eth_sendRawTransaction", ["0x" + bytes(raw).hex()]))

    # -- nonce locks ----------------------------------------------------------------------------

    def nonce_slot(self, address: ChecksumAddress | str) -> NonceSlot:
        """The one nonce lock and counter for `address` in this process."""
        key = str(address).lower()
        with self._locks_guard:
            return self._nonce_slots.setdefault(key, NonceSlot())

    # -- helpers ----------------------------------------------------------------------------------

    def _read(self, call: Callable[[], T]) -> T:
        """Run an idempotent read, retrying transport failures with exponential backoff."""
        for attempt in range(self.read_attempts):
            try:
                return call()
            except TRANSIENT_ERRORS as exc:
                if attempt == self.read_attempts - 1:
                    raise self._unreachable(exc) from exc
                time.sleep(self.retry_backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns/raises

    def _unreachable(self, exc: BaseException) -> ChainError:
        kind = "timed out" if isinstance(exc, requests.Timeout) else "refused or unreachable"
        return ChainError(
            f"chain RPC at {redact_url(self.rpc_url)} {kind} ({type(exc).__name__})",
            endpoint=redact_url(self.rpc_url),
        )


def chain_read(call: Callable[[], T]) -> T:
    """Run one chain read (e.g. a web3 contract call); a transport failure becomes one
    `ChainError` line (`chain_unavailable`) instead of a requests traceback."""
    try:
        return call()
    except LernodeError:
        raise
    except (requests.RequestException, ConnectionError) as exc:
        raise ChainError(f"the chain did not answer: {type(exc).__name__}") from exc
