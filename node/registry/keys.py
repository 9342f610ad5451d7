"""The key that signs this node's registry statements, and its binding on chain.

Design (docs/design.md, "Registry"): every member node signs with an Ed25519 key of its own
(`EdDSA` JWS, which npm `jose` and every OpenID Federation library verify), published in the
entity configuration's `jwks`. The key is the consortium's because the chain says so twice:

1. the node's operator account publishes it on its own `did:ethr` as an ERC-1056 assertion key
   (`did/pub/Ed25519/veriKey/base58` = the raw public key, on the consortium's
   EthereumDIDRegistry), so only the holder of the operator key can bind it;
2. that operator address is a current member of the IssuerRegistry (`isMember`).

A verifier that trusts no node checks both on any RPC endpoint (the interop test does, with
ethers). A member that leaves the consortium stops being able to sign for it the moment
`MemberRemoved` executes, without any key list to update; a node rotates its key by
publishing a new one (the old one keeps verifying statements it signed until its attribute is
revoked).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from eth_account.signers.local import LocalAccount
from sqlalchemy.exc import IntegrityError

from node.chain.bindings import Contracts
from node.chain.client import ChainClient
from node.chain.sender import TransactionSender
from node.credentials.multikey import base58btc_multibase
from node.did.attributes import ED25519_ASSERTION_KEY, publish_ed25519_key
from node.did.chain_history import fetch_did_history
from node.did.document import build_document
from node.did.identifier import format_ethr_did, parse_ethr_did
from node.issuance.onboarding import ATTRIBUTE_VALIDITY
from node.keystore import Ed25519Key, KeyStore
from node.store.db import Database
from node.store.models import NodeSetting

log = logging.getLogger(__name__)

#: `NodeSetting` key naming the keystore file of the federation signing key.
FEDERATION_KEY_SETTING = "registry.federation_key_id"
#: The attribute that binds the key to the operator's DID (what a verifier looks for).
BINDING_ATTRIBUTE = ED25519_ASSERTION_KEY


def federation_key(db: Database, keystore: KeyStore) -> Ed25519Key:
    """This node's federation signing key, created on first use and kept in the keystore."""
    with db.session() as session:
        setting = session.get(NodeSetting, FEDERATION_KEY_SETTING)
        if setting is not None:
            return keystore.load_signing_key(setting.value)
    key = keystore.create_signing_key()
    try:
        with db.session() as session:
            session.add(NodeSetting(key=FEDERATION_KEY_SETTING, value=key.key_id))
    except IntegrityError:
        # Another process of this node created one first: use that one.
        keystore.signing_key_path(key.key_id).unlink(missing_ok=True)
        return federation_key(db, keystore)
    return key


def key_bound(chain: ChainClient, contracts: Contracts, member: str, public_key: bytes) -> bool:
    """Whether `public_key` is a current assertion key of the member's did:ethr on chain."""
    did = parse_ethr_did(format_ethr_did(chain.chain_id, member))
    history = fetch_did_history(chain, contracts.did_registry, did.address)
    latest = chain.block("latest")
    now = int(latest["timestamp"]) if latest else 0
    document = build_document(did, chain.chain_id, history, now=now).document
    wanted = base58btc_multibase(public_key)[1:]
    return any(
        method.get("publicKeyBase58") == wanted for method in document.get("verificationMethod", [])
    )


def ensure_key_bound(
    chain: ChainClient,
    contracts: Contracts,
    operator: LocalAccount,
    sender_for: Callable[[LocalAccount], TransactionSender],
    key: Ed25519Key,
) -> bool:
    """Publish the federation key on the operator's DID unless it is there; True if it sent."""
    if key_bound(chain, contracts, operator.address, key.public_bytes):
        return False
    attribute = publish_ed25519_key(key.public_bytes)
    call = contracts.did_registry.set_attribute(
        operator.address, attribute.name, attribute.value, ATTRIBUTE_VALIDITY
    )
    sender_for(operator).transact(call)
    log.info("registry signing key bound to %s on chain", operator.address)
    return True
