"""The `status` check: revocation and suspension bits on chain.

Status bits are read from the CredentialRegistry (the chain is the truth). A status list
credential the caller supplies (or the node serves for its own lists) is only compared with the
chain: the verifier never fetches a URL found in a credential, which would let anyone make the
server request arbitrary addresses (SSRF).

Two entry shapes are read (docs/design.md, "Status lists"): the one `message` entry of current
credentials (`statusSize` 2, list `.../{issuer}-{n}-status`, both chain bitmaps at index `i`), and
the `revocation` + `suspension` pair of 1-bit entries of credentials issued before it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from node.chain.contracts.types import StatusPurpose
from node.credentials.status_list import (
    MIN_LIST_LENGTH,
    REVOKED,
    STATUS_MESSAGES,
    STATUS_SIZE,
    SUSPENDED,
    Bitstring,
    entry_index,
    entry_value,
)
from node.errors import InvalidInput
from node.verification.readers.facts import ChainFacts
from node.verification.report import Check, failed, passed, unknown

#: `.../v1/status-lists/{issuerAddress}-{listNumber}-{status|revocation|suspension}`.
STATUS_LIST_URL = re.compile(
    r"^https?://[^\s?#]+/v1/status-lists/(0x[0-9a-f]{40})-(\d{1,18})-"
    r"(status|revocation|suspension)$"
)
#: The entry's `statusPurpose` each kind of list goes with.
_LIST_PURPOSE = {"status": "message", "revocation": "revocation", "suspension": "suspension"}
#: Order in which several failing status entries are reported (the gravest first).
_SEVERITY = ("revoked", "suspended", "foreign_status_list", "status_list_mismatch")
#: The statusMessage a registry message entry carries.
_REGISTRY_MESSAGES = [dict(message) for message in STATUS_MESSAGES]

StatusLists = Callable[[str], Mapping[str, Any] | None]


def check_status(
    credential: Mapping[str, Any],
    issuer: str,
    chain: ChainFacts,
    status_list: StatusLists,
) -> Check:
    """`status`: every BitstringStatusListEntry's bits on chain are clear, and any status list
    credential at hand (`status_list(url)`) agrees with the chain."""
    name = "status"
    raw = credential.get("credentialStatus")
    entries = [] if raw is None else raw if isinstance(raw, list) else [raw]
    if not entries:
        return passed(
            name, "no_status", "The credential has no status entries: it cannot be revoked."
        )
    outcomes = [_entry_outcome(entry, issuer, chain, status_list) for entry in entries]
    problems = [check for check in outcomes if check is not None]
    for code in _SEVERITY:
        for problem in problems:
            if problem.code == code:
                return problem
    if problems:
        return problems[0]
    return passed(
        name,
        "active",
        "Neither revoked nor suspended: the issuer's status bits on chain are clear.",
    )


def _entry_outcome(
    entry: Any, issuer: str, chain: ChainFacts, status_list: StatusLists
) -> Check | None:
    """A failed/unknown check for one entry, or None when its bits are clear."""
    name = "status"
    types = entry.get("type") if isinstance(entry, Mapping) else None
    if not isinstance(entry, Mapping) or "BitstringStatusListEntry" not in _listed(types):
        return unknown(name, "unsupported_status_type", f"Status entry type {types!r} is unknown.")
    purpose = entry.get("statusPurpose")
    if purpose not in ("message", "revocation", "suspension"):
        return unknown(
            name, "unsupported_status_purpose", f"Status purpose {purpose!r} is not checked."
        )
    url = entry.get("statusListCredential")
    match = STATUS_LIST_URL.match(url) if isinstance(url, str) else None
    if match is None or not isinstance(url, str):
        return unknown(
            name,
            "unknown_status_list",
            f"{url!r} is not a status list of this registry, so its bits cannot be read on chain.",
        )
    address, list_number, list_kind = match[1], int(match[2]), match[3]
    try:
        index = entry_index(entry)
    except InvalidInput as error:
        return failed(name, error.code, f"{error.detail}.")
    if _LIST_PURPOSE[list_kind] != purpose or index >= MIN_LIST_LENGTH:
        return failed(
            name, "invalid_status_entry", f"The {purpose} entry does not match its list {url}."
        )
    if purpose == "message" and not _is_registry_message_entry(entry):
        return failed(
            name,
            "invalid_status_entry",
            f"The message entry must have statusSize {STATUS_SIZE} and the registry's "
            "statusMessage (0x0 active, 0x1 suspended, 0x2/0x3 revoked).",
        )
    if address != issuer:
        return failed(
            name,
            "foreign_status_list",
            f"The {purpose} entry points at the list of {address}, not the issuer's.",
        )
    if purpose == "message":
        return _message_outcome(issuer, list_number, index, url, chain, status_list)
    return _one_bit_outcome(issuer, list_number, index, purpose, url, chain, status_list)


def _is_registry_message_entry(entry: Mapping[str, Any]) -> bool:
    return (
        entry.get("statusSize") == STATUS_SIZE and entry.get("statusMessage") == _REGISTRY_MESSAGES
    )


def _message_outcome(
    issuer: str,
    list_number: int,
    index: int,
    url: str,
    chain: ChainFacts,
    status_list: StatusLists,
) -> Check | None:
    """Both chain bitmaps at `index`; a list at hand must carry the same 2-bit value at bits
    `[2i, 2i+1]` and the 1-bit compatibility bit `i` that verifiers ignoring statusSize read."""
    revoked = chain.is_status_set(issuer, list_number, int(StatusPurpose.REVOCATION), index)
    suspended = chain.is_status_set(issuer, list_number, int(StatusPurpose.SUSPENSION), index)
    if revoked:
        return failed("status", "revoked", f"The issuer has revoked this credential (list {url}).")
    if suspended:
        return failed(
            "status", "suspended", f"The issuer has suspended this credential (list {url})."
        )
    bits = _supplied_bits(status_list, url)
    if not isinstance(bits, Bitstring):
        return bits
    on_chain = (REVOKED if revoked else 0) | (SUSPENDED if suspended else 0)
    try:
        listed, compatibility = entry_value(bits, index), bits.get(index)
    except InvalidInput as error:
        return failed("status", "invalid_status_list", f"The status list {url}: {error.detail}.")
    if listed != on_chain or compatibility != (on_chain != 0):
        return failed(
            "status",
            "status_list_mismatch",
            f"The status list credential {url} says entry {index} is {listed:#x} (1-bit reading "
            f"{int(compatibility)}), the chain says {on_chain:#x}.",
        )
    return None


def _one_bit_outcome(
    issuer: str,
    list_number: int,
    index: int,
    purpose: str,
    url: str,
    chain: ChainFacts,
    status_list: StatusLists,
) -> Check | None:
    """A credential from before the message design: one bitmap per entry."""
    code = StatusPurpose.REVOCATION if purpose == "revocation" else StatusPurpose.SUSPENSION
    is_set = chain.is_status_set(issuer, list_number, int(code), index)
    if is_set:
        state = "revoked" if purpose == "revocation" else "suspended"
        return failed("status", state, f"The issuer has {state} this credential (list {url}).")
    bits = _supplied_bits(status_list, url)
    if not isinstance(bits, Bitstring):
        return bits
    try:
        listed = bits.get(index)
    except InvalidInput as error:
        return failed("status", "invalid_status_list", f"The status list {url}: {error.detail}.")
    if listed != is_set:
        return failed(
            "status",
            "status_list_mismatch",
            f"The status list credential {url} says bit {index} is {int(listed)}, the chain says "
            f"{int(is_set)}.",
        )
    return None


def _supplied_bits(status_list: StatusLists, url: str) -> Bitstring | Check | None:
    """The bits of the status list credential served at `url`, if the caller supplied it (a
    failed `invalid_status_list` check when it cannot be decoded)."""
    supplied = status_list(url)
    if supplied is None:
        return None
    subject = supplied.get("credentialSubject")
    encoded = subject.get("encodedList") if isinstance(subject, Mapping) else None
    try:
        return Bitstring.decode(encoded)  # type: ignore[arg-type]
    except InvalidInput as error:
        return failed("status", "invalid_status_list", f"The status list {url}: {error.detail}.")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
