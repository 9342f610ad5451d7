"""The only way the node sends a transaction for a key.

Everything that can go wrong between "call anchor(root)" and "the anchor is final" is handled
here, once, so the services above can think in terms of `transact(fn) -> Receipt`:

- **Nonces.** Two threads signing with the same nonce means one anchor silently replaces the other.
  Each key has one lock and one counter per process (`ChainClient.nonce_slot`); allocation,
  signing and broadcasting happen under the lock so nonces reach the node in order and a failed
  broadcast never leaves a gap. The counter starts from the chain's `pending` count and is
  re-read after any broadcast error.
- **Fees.** EIP-1559: `maxFeePerGas = base fee * 2 + priority fee` survives several full blocks of
  base-fee growth; both are capped by configuration so a fee spike cannot drain the key.
- **Stuck transactions.** If no receipt comes within `stuck_after` seconds, the same nonce is
  re-signed with fees bumped by at least 12.5% (what geth-style mempools demand to accept a
  replacement). Every hash sent for the nonce is kept, and whichever is mined is reported.
- **Reverts.** Reverts are usually first seen by `eth_estimateGas`; they, and reverts of mined
  transactions (replayed with `eth_call`), become `ContractRevert` with the custom error decoded.
- **Finality.** `wait_final` waits for N blocks on top *and* checks the block is still canonical.

A persistent outbox (the anchoring worker) composes the lower-level pieces instead of `transact`:
`build_and_sign` (store raw + hash + nonce), `broadcast` (idempotent: re-broadcasting after a crash
is safe), `await_receipt` (with an `on_replacement` hook to store replacements before they are
sent), `wait_final`.

Longer than the ~400-line guide on purpose: nonce, fee, replacement and revert handling share one
per-key lock and one counter, and splitting them would spread that invariant over modules.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Protocol

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.types import Nonce, TxParams, TxReceipt, Wei

from node.chain.bindings import lernode_error_decoder
from node.chain.client import ChainClient, RpcError
from node.chain.revert import ErrorDecoder, revert_data_of
from node.errors import ChainError, ContractRevert

GWEI = 10**9

# -- fees (pure) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeePolicy:
    """How much the node is willing to pay, and how it sizes gas limits.

    `max_fee_cap` bounds `maxFeePerGas` (and so the worst-case cost of any transaction);
    None means no cap, which is right for the embedded anvil chain and wrong for a public one.
    """

    priority_fee: int = 1 * GWEI
    base_fee_multiplier: int = 2
    max_fee_cap: int | None = None
    gas_margin: Fraction = Fraction(6, 5)
    replacement_bump: Fraction = Fraction(9, 8)

    def __post_init__(self) -> None:
        if self.replacement_bump < Fraction(9, 8):
            raise ValueError("replacement_bump must be at least 9/8 (+12.5%) to be accepted")
        if self.gas_margin < 1:
            raise ValueError("gas_margin below 1 would make transactions run out of gas")


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


def market_fees(base_fee: int, policy: FeePolicy) -> Fees:
    """Fees for a new transaction given the latest block's base fee."""
    max_fee = base_fee * policy.base_fee_multiplier + policy.priority_fee
    if policy.max_fee_cap is not None:
        max_fee = min(max_fee, policy.max_fee_cap)
    return Fees(max_fee, min(policy.priority_fee, max_fee))


def replacement_fees(previous: Fees, market: Fees, policy: FeePolicy) -> Fees | None:
    """Fees for re-sending the same nonce: both fields bumped, never below today's market.

    Returns None when the cap forbids a bump large enough for the mempool to accept it: then the
    only option is to keep waiting for the transactions already sent.
    """

    def bump(value: int) -> int:
        return max(math.ceil(value * policy.replacement_bump), value + 1)

    fees = Fees(
        max(bump(previous.max_fee_per_gas), market.max_fee_per_gas),
        max(bump(previous.max_priority_fee_per_gas), market.max_priority_fee_per_gas),
    )
    if policy.max_fee_cap is not None and fees.max_fee_per_gas > policy.max_fee_cap:
        return None
    return fees


def gas_limit(estimate: int, policy: FeePolicy) -> int:
    """The estimate plus a margin: the state can change between estimate and inclusion."""
    return math.ceil(estimate * policy.gas_margin)


# -- what gets sent ----------------------------------------------------------------------------


class Transactable(Protocol):
    """A web3 `ContractFunction` or `ContractConstructor` with its arguments bound."""

    def build_transaction(self, transaction: TxParams | None = None) -> TxParams: ...


@dataclass(frozen=True)
class Call:
    """The part of a transaction chosen by the caller: target (None = create), data, value."""

    to: ChecksumAddress | None
    data: bytes = b""
    value: int = 0

    def as_json(self, sender: str) -> dict[str, str]:
        """The JSON-RPC call object for eth_call / eth_estimateGas."""
        params = {"from": sender, "data": "0x" + self.data.hex(), "value": hex(self.value)}
        if self.to is not None:
            params["to"] = self.to
        return params


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction, everything an outbox needs to store before broadcasting it."""

    raw: bytes
    hash: str  # 0x-prefixed lowercase hex
    nonce: int
    fees: Fees
    gas: int
    call: Call


@dataclass(frozen=True)
class Receipt:
    """A mined transaction, with every hash that was sent for its nonce."""

    tx_hash: str
    block_number: int
    block_hash: str
    status: int
    gas_used: int
    contract_address: ChecksumAddress | None
    raw: TxReceipt = field(repr=False)
    sent_hashes: tuple[str, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status == 1

    @classmethod
    def from_web3(cls, receipt: TxReceipt, sent_hashes: tuple[str, ...] = ()) -> Receipt:
        return cls(
            tx_hash=_hex(receipt["transactionHash"]),
            block_number=int(receipt["blockNumber"]),
            block_hash=_hex(receipt["blockHash"]),
            status=int(receipt["status"]),
            gas_used=int(receipt["gasUsed"]),
            contract_address=receipt.get("contractAddress"),
            raw=receipt,
            sent_hashes=sent_hashes or (_hex(receipt["transactionHash"]),),
        )


def _hex(value: bytes | str) -> str:
    return "0x" + HexBytes(value).hex().removeprefix("0x").lower()


def to_call(target: Transactable | Call, sender: str, value: int = 0) -> Call:
    """Encode a bound contract function/constructor without any RPC round trip.

    web3's `build_transaction` fills missing fields by asking the node (estimate, fees, chain id);
    passing placeholders for all of them keeps encoding offline, so that the sender alone decides
    how gas and fees are obtained and how failures are reported.
    """
    if isinstance(target, Call):
        return replace(target, value=value or target.value)
    placeholders: TxParams = {
        "from": Web3.to_checksum_address(sender),
        "value": Wei(value),
        "gas": 1,
        "maxFeePerGas": Wei(1),
        "maxPriorityFeePerGas": Wei(1),
        "chainId": 1,
        "nonce": Nonce(0),
    }
    built = target.build_transaction(placeholders)
    to = built.get("to")
    return Call(
        to=Web3.to_checksum_address(str(to)) if to else None,
        data=bytes(HexBytes(built.get("data", b""))),
        value=value,
    )


# -- the sender --------------------------------------------------------------------------------

#: Node error messages (lowercase fragments) and what they mean, across anvil, geth and reth.
_ALREADY_KNOWN = ("already known", "already imported", "known transaction")
_NONCE_TOO_LOW = ("nonce too low", "nonce has already been used")
_UNDERPRICED = ("underpriced", "fee too low", "replacement transaction")
_INSUFFICIENT_FUNDS = ("insufficient funds", "insufficient balance")


def _matches(message: str, fragments: tuple[str, ...]) -> bool:
    lowered = message.lower()
    return any(f in lowered for f in fragments)


class TransactionSender:
    """Signs locally with `account` and sends through `client`; see the module docstring."""

    def __init__(
        self,
        client: ChainClient,
        account: LocalAccount,
        confirmations: int = 0,
        *,
        fee_policy: FeePolicy | None = None,
        error_decoder: ErrorDecoder | None = None,
        contract_names: Mapping[str, str] | None = None,
        stuck_after: float = 30.0,
        receipt_timeout: float = 300.0,
        poll_interval: float = 0.01,
        max_poll_interval: float = 1.0,
    ) -> None:
        self.client = client
        self.account = account
        self.address: ChecksumAddress = account.address
        self.confirmations = confirmations
        self.fee_policy = fee_policy or FeePolicy()
        self._error_decoder = error_decoder
        #: address (any case) -> contract name, to prefix decoded errors with the callee's name.
        self.contract_names = {k.lower(): v for k, v in (contract_names or {}).items()}
        self.stuck_after = stuck_after
        self.receipt_timeout = receipt_timeout
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self._slot = client.nonce_slot(self.address)

    @property
    def error_decoder(self) -> ErrorDecoder:
        """The given decoder, else one for all lernode contracts (loaded on first revert)."""
        if self._error_decoder is None:
            self._error_decoder = lernode_error_decoder()
        return self._error_decoder

    # -- nonces --------------------------------------------------------------------------------

    def resync_nonce(self) -> int:
        """Forget the local count and take the chain's pending count (after errors or restarts)."""
        with self._slot.lock:
            self._slot.next_nonce = self.client.nonce(self.address, "pending")
            return self._slot.next_nonce

    def _allocate_nonce(self) -> int:
        """Next nonce; the caller holds `self._slot.lock`."""
        if self._slot.next_nonce is None:
            self._slot.next_nonce = self.client.nonce(self.address, "pending")
        nonce = self._slot.next_nonce
        self._slot.next_nonce = nonce + 1
        return nonce

    # -- building ------------------------------------------------------------------------------

    def estimate_gas(self, call: Call) -> int:
        """Gas limit for `call` with the policy's margin; a revert raises `ContractRevert`."""
        try:
            estimate = self.client.read_request("eth_estimateGas", [call.as_json(self.address)])
        except RpcError as exc:
            raise self._explain_rpc_failure(exc, call) from exc
        return gas_limit(int(estimate, 16), self.fee_policy)

    def current_fees(self) -> Fees:
        return market_fees(self.client.base_fee(), self.fee_policy)

    def build_and_sign(
        self,
        target: Transactable | Call,
        nonce: int | None = None,
        *,
        value: int = 0,
        gas: int | None = None,
        fees: Fees | None = None,
    ) -> SignedTx:
        """Estimate, price and sign; allocate the next nonce unless one is given.

        The allocated nonce is consumed: the caller must broadcast this transaction (or another
        one with the same nonce) or later transactions of this key will wait behind the gap.
        """
        call = to_call(target, self.address, value)
        gas = gas if gas is not None else self.estimate_gas(call)
        fees = fees or self.current_fees()
        if nonce is None:
            with self._slot.lock:
                nonce = self._allocate_nonce()
        return self.sign(call, nonce, gas, fees)

    def sign(self, call: Call, nonce: int, gas: int, fees: Fees) -> SignedTx:
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.client.chain_id,
            "nonce": nonce,
            "gas": gas,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
            "value": call.value,
            "data": call.data,
        }
        if call.to is not None:
            tx["to"] = call.to
        signed = self.account.sign_transaction(tx)
        return SignedTx(
            raw=bytes(signed.raw_transaction),
            hash=_hex(signed.hash),
            nonce=nonce,
            fees=fees,
            gas=gas,
            call=call,
        )

    # -- sending -------------------------------------------------------------------------------

    def broadcast(self, raw: bytes) -> str:
        """Hand a signed transaction to the node; safe to repeat for the same bytes.

        "Already known" and "nonce too low because this very transaction is mined" both count as
        success, which is what lets an outbox re-broadcast everything it holds after a crash.
        """
        tx_hash = _hex(Web3.keccak(raw))
        try:
            self.client.send_raw_transaction(raw)
        except RpcError as exc:
            if _matches(exc.rpc_message, _ALREADY_KNOWN):
                return tx_hash
            if _matches(exc.rpc_message, _NONCE_TOO_LOW):
                if self.client.receipt(tx_hash) is not None:
                    return tx_hash
                raise ChainError(
                    f"nonce already used by another transaction of {self.address}",
                    code="nonce_too_low",
                ) from exc
            if _matches(exc.rpc_message, _UNDERPRICED):
                raise ChainError(exc.rpc_message, code="transaction_underpriced") from exc
            if _matches(exc.rpc_message, _INSUFFICIENT_FUNDS):
                raise self._insufficient_funds() from exc
            raise
        return tx_hash

    def transact(
        self,
        target: Transactable | Call,
        *,
        value: int = 0,
        gas: int | None = None,
        timeout: float | None = None,
    ) -> Receipt:
        """Send and wait until mined; raise `ContractRevert` if it reverts (before or after)."""
        call = to_call(target, self.address, value)
        gas = gas if gas is not None else self.estimate_gas(call)
        fees = self.current_fees()
        with self._slot.lock:
            signed = self.sign(call, self._allocate_nonce(), gas, fees)
            try:
                self.broadcast(signed.raw)
            except BaseException:
                self._slot.next_nonce = None  # the nonce was not used: ask the chain again
                raise
        receipt = self.await_receipt(signed, timeout=timeout)
        if not receipt.succeeded:
            raise self._explain_mined_revert(signed.call, receipt)
        return receipt

    def await_receipt(
        self,
        signed: SignedTx,
        *,
        timeout: float | None = None,
        on_replacement: Callable[[SignedTx], None] | None = None,
    ) -> Receipt:
        """Poll for a receipt of `signed` or of any replacement sent for its nonce.

        After each `stuck_after` seconds without one, a replacement with bumped fees is signed,
        passed to `on_replacement` (an outbox stores it there) and broadcast.
        """
        sent = [signed]
        latest_fees = signed.fees
        start = time.monotonic()
        deadline = start + (self.receipt_timeout if timeout is None else timeout)
        replace_at = start + self.stuck_after
        interval = self.poll_interval
        while True:
            for attempt in sent:
                found = self.client.receipt(attempt.hash)
                if found is not None:
                    return Receipt.from_web3(found, tuple(s.hash for s in sent))
            now = time.monotonic()
            if now >= deadline:
                raise ChainError(
                    f"no receipt for nonce {signed.nonce} of {self.address} after "
                    f"{now - start:.1f}s (sent {', '.join(s.hash for s in sent)})",
                    code="transaction_timeout",
                    hashes=[s.hash for s in sent],
                )
            if now >= replace_at:
                self._check_nonce_still_open(signed.nonce, sent)
                replacement = self._replacement(sent[-1], latest_fees)
                if replacement is not None:
                    latest_fees = replacement.fees
                    if on_replacement is not None:
                        on_replacement(replacement)
                    if self._broadcast_replacement(replacement):
                        sent.append(replacement)
                replace_at = time.monotonic() + self.stuck_after
            time.sleep(interval)
            interval = min(interval * 1.5, self.max_poll_interval)

    def wait_final(self, tx_hash: str, *, timeout: float | None = None) -> Receipt:
        """Return once the transaction has `confirmations` blocks on top of it and its block is
        still the canonical one at that height.

        A reorg that moves the transaction to another block restarts the count from the new
        block; one that drops it (the node no longer knows it) raises `ChainError` with code
        `transaction_dropped`, so the caller can re-broadcast.
        """
        start = time.monotonic()
        deadline = start + (self.receipt_timeout if timeout is None else timeout)
        interval = self.poll_interval
        while True:
            found = self.client.receipt(tx_hash)
            if found is None:
                if self.client.transaction(tx_hash) is None:
                    raise ChainError(
                        f"transaction {tx_hash} is no longer known to the chain "
                        "(dropped by a reorg or evicted from the mempool)",
                        code="transaction_dropped",
                    )
            else:
                receipt = Receipt.from_web3(found)
                head = self.client.latest_block()
                if head >= receipt.block_number + self.confirmations:
                    canonical = self.client.block_hash(receipt.block_number)
                    if canonical is not None and _hex(canonical) == receipt.block_hash:
                        return receipt
            if time.monotonic() >= deadline:
                raise ChainError(
                    f"transaction {tx_hash} not final ({self.confirmations} confirmations) "
                    f"after {time.monotonic() - start:.1f}s",
                    code="finality_timeout",
                )
            time.sleep(interval)
            interval = min(interval * 1.5, self.max_poll_interval)

    # -- helpers -------------------------------------------------------------------------------

    def _replacement(self, previous: SignedTx, latest_fees: Fees) -> SignedTx | None:
        fees = replacement_fees(latest_fees, self.current_fees(), self.fee_policy)
        if fees is None:
            return None
        return self.sign(previous.call, previous.nonce, previous.gas, fees)

    def _broadcast_replacement(self, replacement: SignedTx) -> bool:
        """Send a replacement; False if the node refused it in a way waiting can still fix."""
        try:
            self.broadcast(replacement.raw)
        except ChainError as exc:
            # Underpriced: the next round bumps again. Nonce too low: one of the transactions
            # already sent was just mined, the next poll finds its receipt.
            if exc.code in ("transaction_underpriced", "nonce_too_low"):
                return False
            raise
        return True

    def _check_nonce_still_open(self, nonce: int, sent: list[SignedTx]) -> None:
        """Before replacing, make sure replacing can help.

        If the chain's mined count passed our nonce yet none of our hashes has a receipt, another
        transaction (same key, other process) took the nonce. If the pending count is below our
        nonce, an earlier nonce is missing and no fee will get ours mined.
        """
        mined = self.client.nonce(self.address, "latest")
        if mined > nonce:
            if any(self.client.receipt(s.hash) is not None for s in sent):
                return
            with self._slot.lock:
                self._slot.next_nonce = None
            raise ChainError(
                f"nonce {nonce} of {self.address} was used by a transaction this node did not "
                "send (is another process signing with the same key?)",
                code="nonce_taken",
            )
        pending = self.client.nonce(self.address, "pending")
        if pending < nonce:
            with self._slot.lock:
                self._slot.next_nonce = None
            raise ChainError(
                f"nonce {nonce} of {self.address} cannot be mined: nonces {pending}..{nonce - 1} "
                "are missing from the mempool",
                code="nonce_gap",
            )

    def _contract_name(self, call: Call) -> str | None:
        return None if call.to is None else self.contract_names.get(call.to.lower())

    def _explain_rpc_failure(self, exc: RpcError, call: Call) -> Exception:
        """Turn an eth_estimateGas/eth_call error into a decoded revert or a clear ChainError."""
        data = revert_data_of(exc.data)
        if data is not None or "revert" in exc.rpc_message.lower():
            return self.error_decoder.decode(data, contract=self._contract_name(call))
        if _matches(exc.rpc_message, _INSUFFICIENT_FUNDS):
            return self._insufficient_funds()
        return exc

    def _explain_mined_revert(self, call: Call, receipt: Receipt) -> ContractRevert:
        """Replay a reverted transaction with eth_call on the parent block to get its reason.

        The replay misses the effects of transactions earlier in the same block; when it does not
        revert, the revert is reported without a reason rather than guessed.
        """
        params = call.as_json(self.address)
        params["gas"] = hex(receipt.gas_used * 2)
        try:
            self.client.read_request("eth_call", [params, hex(max(receipt.block_number - 1, 0))])
            error = self.error_decoder.decode(None, contract=self._contract_name(call))
        except RpcError as exc:
            explained = self._explain_rpc_failure(exc, call)
            if not isinstance(explained, ContractRevert):
                raise explained from exc
            error = explained
        error.extra["transaction_hash"] = receipt.tx_hash
        return error

    def _insufficient_funds(self) -> ChainError:
        return ChainError(
            f"account {self.address} cannot pay for the transaction: fund it with ETH",
            code="insufficient_funds",
        )
