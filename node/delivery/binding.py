"""Holder binding: the unsigned copy of a credential that names the wallet's DID as subject.

Design (docs/design.md, "Delivery"): an offer points at a credential the institution already
issued; collecting it re-issues that credential with `credentialSubject.id` = the holder's DID.
The copy is a credential of its own (new id, its own status entry, signed now, anchored in the
next batch) and keeps everything the original says, including its `validFrom` (when the
achievement was awarded) and salted identifiers. The original stays as it was: it is the
institution's record and may already be in a bundle elsewhere; the copy is linked to it
(`Credential.bound_from`) so status changes of the original follow to the copy.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from node.credentials.model import new_urn_uuid
from node.errors import InvalidInput


def subject_id(document: Mapping[str, Any]) -> str | None:
    """The credential subject's `id`, if it has one."""
    subject = document.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if len(subject) == 1 else None
    value = subject.get("id") if isinstance(subject, Mapping) else None
    return value if isinstance(value, str) else None


def bound_copy(document: Mapping[str, Any], holder: str) -> dict[str, Any]:
    """`document` without proof and status, with a new id and the holder as subject."""
    unsigned = {
        key: copy.deepcopy(value)
        for key, value in document.items()
        if key not in ("proof", "credentialStatus")
    }
    subject = unsigned.get("credentialSubject")
    if not isinstance(subject, dict):
        raise InvalidInput(
            "only a credential with one credentialSubject object can be bound to a holder",
            code="unbindable_credential",
        )
    unsigned["id"] = new_urn_uuid()
    unsigned["credentialSubject"] = {
        "id": holder,
        **{k: v for k, v in subject.items() if k != "id"},
    }
    return unsigned


def cryptosuite_of(document: Mapping[str, Any]) -> str | None:
    """The cryptosuite the original was signed with (the copy is signed the same way)."""
    proof = document.get("proof")
    if isinstance(proof, list):
        proof = proof[0] if proof else None
    suite = proof.get("cryptosuite") if isinstance(proof, Mapping) else None
    return suite if isinstance(suite, str) else None
