"""The `status` check: revocation and suspension bits on chain.

Status bits are read from the CredentialRegistry (the chain is the truth). A status list
credential the caller supplies (or the node serves for its own lists) is only compared with the
chain: the verifier never fetches a URL found in a credential, which would let anyone make the
server request arbitrary addresses (SSRF).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from node.chain.contracts.types import StatusPurpose
from node.credentials.status_list import MIN_LIST_LENGTH, Bitstring, entry_index
from node.errors import InvalidInput
from node.verification.readers.facts import ChainFacts
from node.verification.report import Check, failed, passed, unknown

#: `.../v1/status-lists/{issuerAddress}-{listNumber}-{purpose}` (docs/design.md).
STATUS_LIST_URL = re.compile(
    r"^https?://[^\s?#]+/v1/status-lists/(0x[0-9a-f]{40})-(\d{1,18})-(revocation|suspension)$"
)
#: Order in which several failing status entries are reported (the gravest first).
_SEVERITY = ("revoked", "suspended", "foreign_status_list", "status_list_mismatch")


def check_status(
    credential: Mapping[str, Any],
    issuer: str,
    chain: ChainFacts,
    status_list: Callable[[str], Mapping[str, Any] | None],
) -> Check:
    """`status`: every BitstringStatusListEntry's bit on chain is clear, and any status list
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
    entry: Any,
    issuer: str,
    chain: ChainFacts,
    status_list: Callable[[str], Mapping[str, Any] | None],
) -> Check | None:
    """A failed/unknown check for one entry, or None when its bit is clear."""
    name = "status"
    types = entry.get("type") if isinstance(entry, Mapping) else None
    if not isinstance(entry, Mapping) or "BitstringStatusListEntry" not in _listed(types):
        return unknown(name, "unsupported_status_type", f"Status entry type {types!r} is unknown.")
    purpose = entry.get("statusPurpose")
    if purpose not in ("revocation", "suspension"):
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
    address, list_number, url_purpose = match[1], int(match[2]), match[3]
    try:
        index = entry_index(entry)
    except InvalidInput as error:
        return failed(name, error.code, f"{error.detail}.")
    if url_purpose != purpose or index >= MIN_LIST_LENGTH:
        return failed(
            name, "invalid_status_entry", f"The {purpose} entry does not match its list {url}."
        )
    if address != issuer:
        return failed(
            name,
            "foreign_status_list",
            f"The {purpose} entry points at the list of {address}, not the issuer's.",
        )
    code = StatusPurpose.REVOCATION if purpose == "revocation" else StatusPurpose.SUSPENSION
    is_set = chain.is_status_set(issuer, list_number, int(code), index)
    if is_set:
        state = "revoked" if purpose == "revocation" else "suspended"
        return failed(name, state, f"The issuer has {state} this credential (list {url}).")
    supplied = status_list(url)
    if supplied is not None:
        return _compare_list(supplied, index, is_set, url)
    return None


def _compare_list(
    supplied: Mapping[str, Any], index: int, on_chain: bool, url: str
) -> Check | None:
    subject = supplied.get("credentialSubject")
    encoded = subject.get("encodedList") if isinstance(subject, Mapping) else None
    try:
        listed = Bitstring.decode(encoded).get(index)  # type: ignore[arg-type]
    except InvalidInput as error:
        return failed("status", "invalid_status_list", f"The status list {url}: {error.detail}.")
    if listed != on_chain:
        return failed(
            "status",
            "status_list_mismatch",
            f"The status list credential {url} says bit {index} is {int(listed)}, the chain says "
            f"{int(on_chain)}.",
        )
    return None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
