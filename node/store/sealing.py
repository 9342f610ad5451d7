"""Personal data at rest: sealed with a per-credential data key, erased by destroying the key.

A credential's document and the free text written about it (revocation reasons) are stored as
AES-256-GCM ciphertext under a random 256-bit key of its own, kept in the small `credentialkey`
table. Erasure deletes the key (and the ciphertext). What matters on PostgreSQL: an UPDATE or
DELETE there leaves the old row version in the table's pages and in the WAL until they are
reused, so a plaintext document would outlive its erasure; sealed, only ciphertext does, and
the one table whose old rows must really go (the keys) is small enough to rewrite at once
(`Database.purge_erased`). docs/security.md states what is and is not guaranteed.

Values stored before sealing existed (migration 0007) are plaintext and read as they are.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session

from node.store.models import CredentialKey

#: Marks a sealed value; anything else is legacy plaintext.
PREFIX = "sealed:v1:"
KEY_BYTES = 32
NONCE_BYTES = 12


def new_key() -> str:
    """A fresh data key, hex (what `credentialkey.key` holds)."""
    return os.urandom(KEY_BYTES).hex()


def seal(key: str, plaintext: str | bytes, context: str) -> str:
    """`plaintext` (text, or its UTF-8 bytes) encrypted under `key`, bound to `context` (the
    credential id and the field), so a sealed value copied to another row or column does not
    open there."""
    data = plaintext.encode() if isinstance(plaintext, str) else plaintext
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(bytes.fromhex(key)).encrypt(nonce, data, context.encode())
    return PREFIX + binascii.b2a_base64(nonce + ciphertext, newline=False).decode("ascii")


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def unseal(key: str | None, value: str, context: str) -> str | None:
    """The plaintext of a stored value; None when it is sealed and its key is gone (erased)."""
    if not is_sealed(value):
        return value
    if key is None:
        return None
    raw = base64.b64decode(value.removeprefix(PREFIX))
    try:
        plaintext = AESGCM(bytes.fromhex(key)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()
        )
    except InvalidTag:
        raise ValueError(f"sealed value of {context} does not open with its key") from None
    return plaintext.decode()


def document_context(credential_id: str) -> str:
    return f"{credential_id}#document"


def detail_context(credential_id: str) -> str:
    return f"{credential_id}#detail"


def holder_context(credential_id: str) -> str:
    return f"{credential_id}#holder"


def seal_for(session: Session, credential_id: str, text: str, context: str) -> str:
    """`text` sealed under the credential's key; empty if it has none (erased: kept nothing)."""
    key = session.get(CredentialKey, credential_id)
    return "" if not text or key is None else seal(key.key, text, context)


def unseal_for(session: Session, credential_id: str, value: str, context: str) -> str | None:
    """`value` opened with the credential's key (None once erased)."""
    key = session.get(CredentialKey, credential_id)
    return unseal(key.key if key else None, value, context)
