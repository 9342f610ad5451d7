"""A verifier given only the CredentialRegistry's address finds the other two contracts."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak
from web3.contract import Contract

from node.chain.contracts.types import StatusPurpose
from tests.support.contracts import OPEN_BADGE, Chain, Consortium


def test_the_credential_registry_names_the_issuer_and_did_registries(
    credential_registry: Contract, issuer_registry: Contract, did_registry: Contract
) -> None:
    assert credential_registry.functions.registry().call() == issuer_registry.address
    assert credential_registry.functions.didRegistry().call() == did_registry.address


def test_one_topic_filter_finds_an_issuers_whole_record(
    chain: Chain,
    consortium: Consortium,
    credential_registry: Contract,
    issuer_registry: Contract,
    did_registry: Contract,
) -> None:
    """A verifier fetches an issuer's DID changes, accreditation, aliases, anchors and status
    changes with a single eth_getLogs: the three contracts, topic1 = the issuer's address."""
    issuer, other = chain.accounts[3], chain.accounts[4]
    consortium.accredit(issuer, [OPEN_BADGE], aliases=["did:web:registrar.example.edu"])
    consortium.accredit(other, [OPEN_BADGE])
    chain.send(
        did_registry.functions.setAttribute(issuer, b"did/svc/Profile".ljust(32, b"\0"), b"x", 60),
        issuer,
    )
    chain.send(credential_registry.functions.anchor(b"\x01" * 32, 2, OPEN_BADGE), issuer)
    chain.send(credential_registry.functions.anchor(b"\x01" * 32, 2, OPEN_BADGE), other)
    revoke = credential_registry.functions.setStatus(0, StatusPurpose.REVOCATION, 1, True)
    chain.send(revoke, issuer)

    topic = "0x" + "00" * 12 + issuer[2:].lower()
    found = chain.w3.eth.get_logs(
        {
            "fromBlock": 0,
            "address": [did_registry.address, issuer_registry.address, credential_registry.address],
            "topics": [None, topic],
        }
    )
    names = {
        contract.address: {
            "0x" + keccak(text=_signature(entry)).hex(): entry["name"]
            for entry in contract.abi
            if entry["type"] == "event"
        }
        for contract in (did_registry, issuer_registry, credential_registry)
    }
    assert [names[log["address"]]["0x" + log["topics"][0].hex()] for log in found] == [
        "IssuerAccredited",
        "AliasBound",
        "DIDAttributeChanged",
        "Anchored",
        "StatusWordChanged",
    ]


def _signature(entry: Any) -> str:
    return f"{entry['name']}({','.join(item['type'] for item in entry['inputs'])})"
