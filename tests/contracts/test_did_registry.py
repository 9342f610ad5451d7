"""EthereumDIDRegistry: ERC-1056 behaviour, events and signed-message hashing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak
from web3.contract import Contract

from tests.support.contracts import Chain, events, reverts

DELEGATE_TYPE = b"veriKey".ljust(32, b"\x00")
ATTRIBUTE = b"did/pub/Ed25519/veriKey/base64".ljust(32, b"\x00")
VALUE = b"\x01\x02\x03"
DAY = 86_400


def signed_hash(registry: Contract, nonce: int, identity: str, tail: bytes) -> bytes:
    """ERC-1056: keccak256(0x19 0x00 registry nonce identity <method-specific bytes>)."""
    return keccak(
        b"\x19\x00"
        + bytes.fromhex(registry.address[2:])
        + nonce.to_bytes(32, "big")
        + bytes.fromhex(identity[2:])
        + tail
    )


def sign(hash_: bytes, key: bytes) -> tuple[int, bytes, bytes]:
    signature = Account.unsafe_sign_hash(hash_, key)
    return signature.v, signature.r.to_bytes(32, "big"), signature.s.to_bytes(32, "big")


def address_bytes(address: str) -> bytes:
    return bytes.fromhex(address[2:])


def test_an_identity_owns_itself_until_it_changes_owner(
    chain: Chain, did_registry: Contract
) -> None:
    identity, new_owner = chain.accounts[7], chain.accounts[8]
    functions = did_registry.functions
    assert functions.identityOwner(identity).call() == identity
    assert functions.changed(identity).call() == 0

    first = chain.send(functions.changeOwner(identity, new_owner), identity)
    (event,) = events(did_registry, "DIDOwnerChanged", first)
    assert event["args"] == {"identity": identity, "owner": new_owner, "previousChange": 0}
    assert functions.identityOwner(identity).call() == new_owner
    assert functions.owners(identity).call() == new_owner
    assert functions.changed(identity).call() == first["blockNumber"]

    with reverts(did_registry, "NotIdentityOwner", identity, identity):
        chain.send(functions.changeOwner(identity, identity), identity)
    second = chain.send(functions.changeOwner(identity, identity), new_owner)
    assert (
        events(did_registry, "DIDOwnerChanged", second)[0]["args"]["previousChange"]
        == (first["blockNumber"])
    )


def test_delegates_are_valid_until_their_validity_ends_or_revoked(
    chain: Chain, did_registry: Contract
) -> None:
    identity, delegate = chain.accounts[7], chain.accounts[8]
    functions = did_registry.functions
    receipt = chain.send(functions.addDelegate(identity, DELEGATE_TYPE, delegate, DAY), identity)
    valid_to = chain.block_time(receipt) + DAY
    (event,) = events(did_registry, "DIDDelegateChanged", receipt)
    assert event["args"] == {
        "identity": identity,
        "delegateType": DELEGATE_TYPE,
        "delegate": delegate,
        "validTo": valid_to,
        "previousChange": 0,
    }
    assert functions.delegates(identity, keccak(DELEGATE_TYPE), delegate).call() == valid_to
    assert functions.validDelegate(identity, DELEGATE_TYPE, delegate).call()
    assert not functions.validDelegate(identity, b"sigAuth".ljust(32, b"\x00"), delegate).call()

    chain.advance(DAY)
    chain.tester.mine_blocks(1)
    assert not functions.validDelegate(identity, DELEGATE_TYPE, delegate).call()

    chain.send(functions.addDelegate(identity, DELEGATE_TYPE, delegate, DAY), identity)
    revoked = chain.send(functions.revokeDelegate(identity, DELEGATE_TYPE, delegate), identity)
    assert events(did_registry, "DIDDelegateChanged", revoked)[0]["args"]["validTo"] == (
        chain.block_time(revoked)
    )
    assert not functions.validDelegate(identity, DELEGATE_TYPE, delegate).call()


def test_attributes_are_published_and_revoked_as_events(
    chain: Chain, did_registry: Contract
) -> None:
    identity = chain.accounts[7]
    functions = did_registry.functions
    receipt = chain.send(functions.setAttribute(identity, ATTRIBUTE, VALUE, DAY), identity)
    (event,) = events(did_registry, "DIDAttributeChanged", receipt)
    assert event["args"] == {
        "identity": identity,
        "name": ATTRIBUTE,
        "value": VALUE,
        "validTo": chain.block_time(receipt) + DAY,
        "previousChange": 0,
    }
    revoked = chain.send(functions.revokeAttribute(identity, ATTRIBUTE, VALUE), identity)
    (event,) = events(did_registry, "DIDAttributeChanged", revoked)
    assert (event["args"]["validTo"], event["args"]["previousChange"]) == (
        0,
        receipt["blockNumber"],
    )
    assert functions.changed(identity).call() == revoked["blockNumber"]


def test_nobody_else_changes_an_identity(chain: Chain, did_registry: Contract) -> None:
    identity, intruder = chain.accounts[7], chain.accounts[9]
    functions = did_registry.functions
    calls = [
        functions.changeOwner(identity, intruder),
        functions.addDelegate(identity, DELEGATE_TYPE, intruder, DAY),
        functions.revokeDelegate(identity, DELEGATE_TYPE, intruder),
        functions.setAttribute(identity, ATTRIBUTE, VALUE, DAY),
        functions.revokeAttribute(identity, ATTRIBUTE, VALUE),
    ]
    for call in calls:
        with reverts(did_registry, "NotIdentityOwner", identity, intruder):
            chain.send(call, intruder)


SignedCase = tuple[str, bytes, Callable[[Contract, str, tuple[int, bytes, bytes], str], Any]]


def _signed_cases(delegate: str) -> list[SignedCase]:
    """(event, method-specific signed bytes, call builder) for every *Signed function."""
    validity = DAY.to_bytes(32, "big")
    return [
        (
            "DIDOwnerChanged",
            b"changeOwner" + address_bytes(delegate),
            lambda r, i, s, d: r.functions.changeOwnerSigned(i, *s, d),
        ),
        (
            "DIDDelegateChanged",
            b"addDelegate" + DELEGATE_TYPE + address_bytes(delegate) + validity,
            lambda r, i, s, d: r.functions.addDelegateSigned(i, *s, DELEGATE_TYPE, d, DAY),
        ),
        (
            "DIDDelegateChanged",
            b"revokeDelegate" + DELEGATE_TYPE + address_bytes(delegate),
            lambda r, i, s, d: r.functions.revokeDelegateSigned(i, *s, DELEGATE_TYPE, d),
        ),
        (
            "DIDAttributeChanged",
            b"setAttribute" + ATTRIBUTE + VALUE + validity,
            lambda r, i, s, d: r.functions.setAttributeSigned(i, *s, ATTRIBUTE, VALUE, DAY),
        ),
        (
            "DIDAttributeChanged",
            b"revokeAttribute" + ATTRIBUTE + VALUE,
            lambda r, i, s, d: r.functions.revokeAttributeSigned(i, *s, ATTRIBUTE, VALUE),
        ),
    ]


SIGNED_NAMES = ["changeOwner", "addDelegate", "revokeDelegate", "setAttribute", "revokeAttribute"]


@pytest.mark.parametrize("case", range(5), ids=SIGNED_NAMES)
def test_signed_variants_accept_the_owners_signature_once(
    chain: Chain, did_registry: Contract, case: int
) -> None:
    identity, delegate, relayer = chain.accounts[7], chain.accounts[8], chain.accounts[9]
    identity_key = chain.keys[7]
    event_name, tail, build = _signed_cases(delegate)[case]

    signature = sign(signed_hash(did_registry, 0, identity, tail), identity_key)
    receipt = chain.send(build(did_registry, identity, signature, delegate), relayer)
    assert events(did_registry, event_name, receipt)[0]["args"]["identity"] == identity
    assert did_registry.functions.nonce(identity).call() == 1

    if case == 0:  # ownership moved: the identity's key no longer signs for it
        with reverts(did_registry, "InvalidSignature"):
            chain.send(build(did_registry, identity, signature, delegate), relayer)
        return
    with reverts(did_registry, "InvalidSignature"):  # replay: the nonce moved on
        chain.send(build(did_registry, identity, signature, delegate), relayer)
    fresh = sign(signed_hash(did_registry, 1, identity, tail), identity_key)
    chain.send(build(did_registry, identity, fresh, delegate), relayer)
    assert did_registry.functions.nonce(identity).call() == 2


@pytest.mark.parametrize("case", range(5), ids=SIGNED_NAMES)
def test_signed_variants_refuse_other_signers(
    chain: Chain, did_registry: Contract, case: int
) -> None:
    identity, delegate, relayer = chain.accounts[7], chain.accounts[8], chain.accounts[9]
    _, tail, build = _signed_cases(delegate)[case]
    forged = sign(signed_hash(did_registry, 0, identity, tail), chain.keys[9])
    with reverts(did_registry, "InvalidSignature", identity, relayer):
        chain.send(build(did_registry, identity, forged, delegate), relayer)
    garbage = (27, b"\x01" * 32, b"\x02" * 32)
    with reverts(did_registry, "InvalidSignature"):
        chain.send(build(did_registry, identity, garbage, delegate), relayer)
    assert did_registry.functions.nonce(identity).call() == 0


def test_signed_calls_use_the_current_owners_nonce(chain: Chain, did_registry: Contract) -> None:
    """After an owner change, the new owner signs with its own nonce (registry v1.0 rule)."""
    identity, owner, relayer = chain.accounts[7], chain.accounts[8], chain.accounts[9]
    chain.send(did_registry.functions.changeOwner(identity, owner), identity)
    tail = b"setAttribute" + ATTRIBUTE + VALUE + DAY.to_bytes(32, "big")

    signature = sign(signed_hash(did_registry, 0, identity, tail), chain.keys[8])
    chain.send(
        did_registry.functions.setAttributeSigned(identity, *signature, ATTRIBUTE, VALUE, DAY),
        relayer,
    )
    assert did_registry.functions.nonce(owner).call() == 1
    assert did_registry.functions.nonce(identity).call() == 0
