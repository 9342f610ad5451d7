"""TransactionSender against a real anvil: nonces, reverts, replacement, finality, reorgs."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
from eth_utils import keccak

from node.chain.bindings import Contracts
from node.chain.sender import Call, Receipt, SignedTx, TransactionSender
from node.errors import ChainError, ContractRevert

if TYPE_CHECKING:
    from tests.support.chain import DevChain

pytestmark = pytest.mark.anvil

CREDENTIAL_TYPE = keccak(text="OpenBadgeCredential")


def transfer(chain: DevChain, wei: int = 1) -> Call:
    return Call(to=chain.accounts[9].address, value=wei)


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_eight_threads_sending_concurrently_never_share_a_nonce(clean_chain: DevChain) -> None:
    client = clean_chain.client()
    sender = TransactionSender(client, clean_chain.accounts[2])
    first_nonce = client.nonce(sender.address)

    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(lambda _: sender.transact(transfer(clean_chain)), range(40)))

    nonces = sorted(int(client.transaction(r.tx_hash)["nonce"]) for r in receipts)  # type: ignore[index]
    assert nonces == list(range(first_nonce, first_nonce + 40))
    assert all(r.succeeded for r in receipts)


def test_two_senders_for_one_key_on_one_client_share_the_nonce_counter(
    clean_chain: DevChain,
) -> None:
    client = clean_chain.client()
    senders = [TransactionSender(client, clean_chain.accounts[3]) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        receipts = list(
            pool.map(lambda i: senders[i % 2].transact(transfer(clean_chain)), range(8))
        )
    assert len({r.tx_hash for r in receipts}) == 8


def test_revert_is_decoded_at_gas_estimation(clean_chain: DevChain, contracts: Contracts) -> None:
    outsider = clean_chain.accounts[5]
    sender = TransactionSender(
        clean_chain.client(), outsider, contract_names=contracts.names_by_address
    )
    nonce_before = clean_chain.client().nonce(outsider.address)

    with pytest.raises(ContractRevert) as caught:
        sender.transact(contracts.credential_registry.anchor(b"\x01" * 32, 1, CREDENTIAL_TYPE))

    assert caught.value.code == "not_accredited"
    assert caught.value.detail == (
        f"CredentialRegistry: NotAccredited(issuer={outsider.address.lower()}, "
        f"credentialType=0x{CREDENTIAL_TYPE.hex()})"
    )
    assert clean_chain.client().nonce(outsider.address) == nonce_before  # nothing was sent


def test_revert_of_a_mined_transaction_is_decoded(
    clean_chain: DevChain, contracts: Contracts
) -> None:
    outsider = clean_chain.accounts[5]
    sender = TransactionSender(
        clean_chain.client(), outsider, contract_names=contracts.names_by_address
    )
    # An explicit gas limit skips estimation, so the revert happens on chain.
    with pytest.raises(ContractRevert) as caught:
        sender.transact(contracts.issuer_registry.approve(7), gas=200_000)

    assert caught.value.code == "not_member"
    assert caught.value.detail == f"IssuerRegistry: NotMember(account={outsider.address.lower()})"
    mined = clean_chain.client().receipt(caught.value.extra["transaction_hash"])
    assert mined is not None and mined["status"] == 0


def test_constructor_revert_is_decoded(clean_chain: DevChain) -> None:
    from node.chain.deploy import deploy_all

    sender = TransactionSender(clean_chain.client(), clean_chain.accounts[0])
    with pytest.raises(ContractRevert) as caught:
        deploy_all(sender, [clean_chain.accounts[0].address], threshold=2, proposal_lifetime=60)
    assert caught.value.code == "invalid_threshold"
    assert "InvalidThreshold(threshold=2, memberCount=1)" in caught.value.detail


def test_insufficient_funds_is_a_clear_error(clean_chain: DevChain) -> None:
    sender = TransactionSender(clean_chain.client(), clean_chain.accounts[4])
    with pytest.raises(ChainError) as caught:
        sender.transact(transfer(clean_chain, wei=10**30))
    assert caught.value.code == "insufficient_funds"


def test_wait_final_returns_only_after_the_confirmations(clean_chain: DevChain) -> None:
    client = clean_chain.client()
    sender = TransactionSender(client, clean_chain.accounts[2], confirmations=3)
    receipt = sender.transact(transfer(clean_chain))
    result: list[Receipt] = []
    waiter = threading.Thread(target=lambda: result.append(sender.wait_final(receipt.tx_hash)))
    waiter.start()

    clean_chain.rpc("anvil_mine", "0x2")
    time.sleep(0.2)
    assert not result, "final after only 2 of 3 confirmations"

    clean_chain.rpc("anvil_mine", "0x1")
    waiter.join(timeout=5)
    assert result == [receipt]
    assert client.latest_block() >= receipt.block_number + 3


def test_wait_final_notices_a_reorg_that_drops_the_transaction(clean_chain: DevChain) -> None:
    sender = TransactionSender(clean_chain.client(), clean_chain.accounts[2], confirmations=2)
    receipt = sender.transact(transfer(clean_chain))
    errors: list[ChainError] = []

    def wait() -> None:
        try:
            sender.wait_final(receipt.tx_hash, timeout=5)
        except ChainError as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.1)  # the waiter has seen the receipt and waits for confirmations
    clean_chain.rpc("anvil_reorg", 1, [])  # replace the transaction's block by an empty one
    clean_chain.rpc("anvil_mine", "0x2")
    waiter.join(timeout=6)

    assert [e.code for e in errors] == ["transaction_dropped"]
    assert clean_chain.client().receipt(receipt.tx_hash) is None


def test_wait_final_follows_a_transaction_moved_to_another_block_by_a_reorg(
    clean_chain: DevChain,
) -> None:
    sender = TransactionSender(clean_chain.client(), clean_chain.accounts[2], confirmations=1)
    signed = sender.build_and_sign(transfer(clean_chain))
    sender.broadcast(signed.raw)
    before = sender.await_receipt(signed)

    # Replace the block by another one at the same height that includes the same transaction.
    clean_chain.rpc("anvil_reorg", 1, [["0x" + signed.raw.hex(), 0]])
    clean_chain.rpc("anvil_mine", "0x1")
    final = sender.wait_final(signed.hash, timeout=5)

    assert final.tx_hash == before.tx_hash
    assert final.block_hash != before.block_hash


def test_stuck_transaction_is_replaced_with_higher_fees(clean_chain: DevChain) -> None:
    client = clean_chain.client()
    sender = TransactionSender(client, clean_chain.accounts[6], stuck_after=0.2)
    clean_chain.rpc("evm_setAutomine", False)
    stored: list[SignedTx] = []
    original = sender.build_and_sign(transfer(clean_chain))
    sender.broadcast(original.raw)
    result: list[Receipt] = []
    waiter = threading.Thread(
        target=lambda: result.append(
            sender.await_receipt(original, timeout=5, on_replacement=stored.append)
        )
    )
    waiter.start()

    wait_until(lambda: bool(stored) and client.transaction(stored[0].hash) is not None)
    clean_chain.rpc("evm_mine")
    waiter.join(timeout=5)

    (receipt,) = result
    (replacement,) = stored[:1]
    assert receipt.tx_hash == replacement.hash != original.hash
    assert receipt.sent_hashes[:2] == (original.hash, replacement.hash)
    assert replacement.nonce == original.nonce
    assert replacement.fees.max_fee_per_gas * 8 >= original.fees.max_fee_per_gas * 9
    assert client.receipt(original.hash) is None


def test_dropped_transaction_is_sent_again(clean_chain: DevChain) -> None:
    client = clean_chain.client()
    sender = TransactionSender(client, clean_chain.accounts[7], stuck_after=0.2)
    clean_chain.rpc("evm_setAutomine", False)
    original = sender.build_and_sign(transfer(clean_chain))
    sender.broadcast(original.raw)
    clean_chain.rpc("anvil_dropTransaction", original.hash)
    assert client.transaction(original.hash) is None
    clean_chain.rpc("evm_setAutomine", True)

    receipt = sender.await_receipt(original, timeout=5)

    assert receipt.succeeded
    assert receipt.tx_hash != original.hash
    assert original.hash in receipt.sent_hashes


def test_broadcast_is_idempotent_for_an_outbox_resending_after_a_crash(
    clean_chain: DevChain,
) -> None:
    sender = TransactionSender(clean_chain.client(), clean_chain.accounts[2])
    signed = sender.build_and_sign(transfer(clean_chain))
    assert sender.broadcast(signed.raw) == signed.hash
    assert sender.await_receipt(signed).tx_hash == signed.hash
    assert sender.broadcast(signed.raw) == signed.hash  # already mined: not an error


def test_nonce_counter_resyncs_after_a_failed_broadcast(clean_chain: DevChain) -> None:
    client = clean_chain.client()
    sender = TransactionSender(client, clean_chain.accounts[8])
    sender.transact(transfer(clean_chain))
    other_process = TransactionSender(clean_chain.client(), clean_chain.accounts[8])
    other_process.transact(transfer(clean_chain))  # our local counter is now behind

    with pytest.raises(ChainError) as caught:
        sender.transact(transfer(clean_chain))
    assert caught.value.code == "nonce_too_low"
    assert sender.transact(transfer(clean_chain)).succeeded
