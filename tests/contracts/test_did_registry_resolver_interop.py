"""ethr-did tooling's signed-call hashes are exactly what our EthereumDIDRegistry verifies.

Why: our registry is our own implementation of ERC-1056. Resolution against it is compared with
the reference resolver in tests/interop; this module proves the other half of compatibility:
the hashes `EthrDidController` (ethr-did-resolver) asks an owner to sign for every `*Signed`
call, read through its own `nonce` lookups on a live chain, equal the ERC-1056 hashes and are
accepted by the contract.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import HTTPProvider, Web3
from web3.contract import Contract

from node.chain.artifacts import load_artifact
from node.chain.bindings import Deployment


class DevChain(Protocol):
    """What this module uses of the suite's session anvil (tests/conftest.py `DevChain`);
    spelled out here because `conftest` names two modules when mypy checks tests/contracts."""

    rpc_url: str
    chain_id: int
    accounts: Sequence[LocalAccount]


pytestmark = [pytest.mark.anvil, pytest.mark.interop]

TOOL = Path(__file__).resolve().parent / "js" / "ethr_did_tool.cjs"
DELEGATE_TYPE = b"sigAuth".ljust(32, b"\x00")
ATTRIBUTE = b"did/svc/LernodeTest".ljust(32, b"\x00")
VALUE = bytes.fromhex("010203")
VALIDITY = (86_400).to_bytes(32, "big")


@pytest.fixture
def registry(clean_chain: DevChain, deployment: Deployment) -> Contract:
    w3 = Web3(HTTPProvider(clean_chain.rpc_url))
    abi = load_artifact("EthereumDIDRegistry").abi
    return w3.eth.contract(address=deployment.did_registry, abi=abi)


def controller_hashes(chain: DevChain, registry: Contract, identity: str, other: str) -> Any:
    completed = subprocess.run(
        ["node", str(TOOL), "signed-hashes", chain.rpc_url, str(chain.chain_id),
         registry.address, identity, other],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def erc1056_hashes(registry: Contract, identity: str, other: str) -> dict[str, str]:
    """keccak256(0x19 0x00 registry nonce identity <call>) for each signed call, from the spec."""
    nonce = registry.functions.nonce(registry.functions.identityOwner(identity).call()).call()
    prefix = (
        b"\x19\x00"
        + bytes.fromhex(registry.address[2:])
        + nonce.to_bytes(32, "big")
        + bytes.fromhex(identity[2:])
    )
    address = bytes.fromhex(other[2:])
    calls = {
        "changeOwner": b"changeOwner" + address,
        "addDelegate": b"addDelegate" + DELEGATE_TYPE + address + VALIDITY,
        "revokeDelegate": b"revokeDelegate" + DELEGATE_TYPE + address,
        "setAttribute": b"setAttribute" + ATTRIBUTE + VALUE + VALIDITY,
        "revokeAttribute": b"revokeAttribute" + ATTRIBUTE + VALUE,
    }
    return {name: "0x" + keccak(prefix + tail).hex() for name, tail in calls.items()}


def signature_args(hash_hex: str, signer: LocalAccount) -> tuple[int, bytes, bytes]:
    signature = Account.unsafe_sign_hash(bytes.fromhex(hash_hex[2:]), signer.key)
    return signature.v, signature.r.to_bytes(32, "big"), signature.s.to_bytes(32, "big")


def relay(registry: Contract, call: Any, relayer: str) -> None:
    receipt = registry.w3.eth.wait_for_transaction_receipt(call.transact({"from": relayer}))
    assert receipt["status"] == 1


def test_controller_hashes_equal_the_erc1056_hashes_and_are_accepted(
    clean_chain: DevChain, registry: Contract
) -> None:
    identity: LocalAccount = Account.create()
    new_owner, relayer = clean_chain.accounts[5].address, clean_chain.accounts[0].address

    hashes = controller_hashes(clean_chain, registry, identity.address, new_owner)
    assert hashes == erc1056_hashes(registry, identity.address, new_owner)

    v, r, s = signature_args(hashes["setAttribute"], identity)
    relay(
        registry,
        registry.functions.setAttributeSigned(identity.address, v, r, s, ATTRIBUTE, VALUE, 86_400),
        relayer,
    )
    assert registry.functions.nonce(identity.address).call() == 1

    hashes = controller_hashes(clean_chain, registry, identity.address, new_owner)
    assert hashes == erc1056_hashes(registry, identity.address, new_owner)
    v, r, s = signature_args(hashes["changeOwner"], identity)
    relay(
        registry,
        registry.functions.changeOwnerSigned(identity.address, v, r, s, new_owner),
        relayer,
    )
    assert registry.functions.identityOwner(identity.address).call() == new_owner
