"""`did:web` identifiers, pure: parsing, the document's URL, and the documents this node serves.

`did:web:<host>[%3A<port>][:<path>...]` names the JSON document at
`https://<host>[:<port>]/.well-known/did.json` (no path) or `https://<host>[:<port>]/<path>/did.json`.
The host must be a DNS name (the method forbids IP addresses); the port's colon is
percent-encoded.

An institution of this node may sign under a did:web that the node serves (docs/did-web.md): its
document carries the same Ed25519 key(s) as the institution's `did:ethr`, as `Multikey` methods
whose fragments are the did:ethr ones (`did:web:...#delegate-2` is `did:ethr:...#delegate-2`),
and names the did:ethr in `alsoKnownAs`. `web_method_id` / `ethr_method_id` map method ids
between the two; `did_web_document` builds the served document from the did:ethr document.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from node.credentials.multikey import encode_public_key, public_key_from_verification_method
from node.did.did_key import DID_CONTEXT_V1, MULTIKEY_CONTEXT
from node.did.errors import InvalidDid
from node.did.identifier import did_method
from node.errors import ConfigurationError, InvalidInput
from node.net.guarded import origin_of

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*", re.ASCII)
_PORT = re.compile(r"%3[Aa]([0-9]{1,5})", re.ASCII)
_SEGMENT = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+", re.ASCII)
#: Verification method types whose key may be republished as a Multikey.
ED25519_METHOD_TYPES = frozenset(
    {"Ed25519VerificationKey2018", "Ed25519VerificationKey2020", "Multikey"}
)
#: Relationships carried over from the did:ethr document (keyAgreement keys are not Ed25519).
CARRIED_RELATIONSHIPS = ("authentication", "assertionMethod")
WELL_KNOWN = (".well-known",)
DOCUMENT_NAME = "did.json"


@dataclass(frozen=True)
class WebDid:
    """A parsed `did:web`: `did` exactly as given, `host` lowercased, path segments as given."""

    did: str
    host: str
    port: int | None
    path: tuple[str, ...]

    @property
    def origin(self) -> str:
        """The HTTPS origin serving the document (`https://host[:port]`)."""
        return origin_of("https", self.host, self.port)

    def document_url(self, scheme: str = "https") -> str:
        """Where the DID document lives (`scheme` is `http` only for configured test origins)."""
        segments = self.path or WELL_KNOWN
        return f"{origin_of(scheme, self.host, self.port)}/{'/'.join(segments)}/{DOCUMENT_NAME}"


def parse_web_did(text: str) -> WebDid:
    """Parse a bare `did:web`; `invalid_did` (or `method_not_supported`) otherwise."""
    if did_method(text) != "web":
        raise InvalidDid(f"not a did:web: {text[:120]!r}")
    host_part, *path = text.removeprefix("did:web:").split(":")
    port: int | None = None
    port_match = _PORT.search(host_part)
    if port_match is not None and port_match.end() == len(host_part):
        port = int(port_match[1])
        host_part = host_part[: port_match.start()]
        if not 0 < port < 65536:
            raise InvalidDid(f"{text[:120]!r}: port {port} is out of range", code="invalid_did_web")
    if not _HOST.fullmatch(host_part) or len(host_part) > 253 or _is_ip_like(host_part):
        raise InvalidDid(
            f"{text[:120]!r}: a did:web names a DNS host (no IP address, no other "
            "percent-encoding than the port's colon)",
            code="invalid_did_web",
        )
    for segment in path:
        decoded = unquote(segment)
        if not _SEGMENT.fullmatch(segment) or decoded in (".", "..") or "/" in decoded:
            raise InvalidDid(
                f"{text[:120]!r}: path segment {segment[:40]!r} is not allowed",
                code="invalid_did_web",
            )
    return WebDid(did=text, host=host_part.lower(), port=port, path=tuple(path))


def _is_ip_like(host: str) -> bool:
    """IP literals and what resolvers read as one (`127.1`, `0x7f.1`, `2130706433`)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        last = host.rsplit(".", 1)[-1].lower()
        return last.isdigit() or bool(re.fullmatch(r"0x[0-9a-f]*", last))


# -- minting and serving ------------------------------------------------------------------------


def did_web_for(base_url: str, path: Sequence[str] = ()) -> str:
    """The did:web of the document this node serves at `base_url` + `path` (+ `/did.json`).

    `base_url` is the node's public URL; its own path (behind a reverse proxy) becomes the first
    segments. Refuses a base URL whose host is an IP address: no resolver accepts such a did:web.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if not host or _is_ip_like(host) or not _HOST.fullmatch(host):
        raise ConfigurationError(
            f"a did:web needs LERNODE_PUBLIC_URL with a DNS host name, not {base_url!r}",
            code="did_web_needs_public_host",
        )
    did = f"did:web:{host.lower()}"
    if parts.port is not None and parts.port != {"https": 443, "http": 80}.get(parts.scheme):
        did += f"%3A{parts.port}"
    segments = [s for s in parts.path.split("/") if s] + list(path)
    if segments:
        did += ":" + ":".join(segments)
    return parse_web_did(did).did


def did_web_at_path(base_url: str, request_path: str) -> str | None:
    """The did:web whose document URL is `base_url` + `request_path`, or None when that path is
    not a did:web document path (`/.well-known/did.json`, `/<segments>/did.json`)."""
    segments = [s for s in request_path.split("/") if s]
    if not segments or segments[-1] != DOCUMENT_NAME:
        return None
    prefix = [s for s in urlsplit(base_url).path.split("/") if s]
    segments = segments[:-1]
    if tuple(segments) == WELL_KNOWN:
        segments = []
        if prefix:
            return None
    elif not segments or ".well-known" in segments:
        return None
    try:
        return did_web_for(base_url, segments)
    except (InvalidDid, ConfigurationError):
        return None


def web_method_id(ethr_method_id: str, did_web: str) -> str:
    """The did:web method id carrying the same key as a did:ethr method (same fragment)."""
    _, has_fragment, fragment = ethr_method_id.partition("#")
    if not has_fragment or not fragment:
        raise InvalidDid(f"{ethr_method_id[:120]!r} names no verification method")
    return f"{did_web}#{fragment}"


def ethr_method_id(web_method_id: str, did_ethr: str) -> str:
    """The did:ethr method id of a did:web method id of an institution bound to `did_ethr`.

    Pure: which did:ethr a did:web stands for is the chain's answer (`did_web_binding`).
    """
    did, has_fragment, fragment = web_method_id.partition("#")
    parse_web_did(did)
    if not has_fragment or not fragment:
        raise InvalidDid(f"{web_method_id[:120]!r} names no verification method")
    if did_method(did_ethr) != "ethr":
        raise InvalidDid(f"not a did:ethr: {did_ethr[:120]!r}")
    return f"{did_ethr}#{fragment}"


def did_web_document(
    did_web: str, did_ethr: str, ethr_document: Mapping[str, Any]
) -> dict[str, Any]:
    """The did:web document of an institution: its did:ethr's Ed25519 signing keys as
    `Multikey` methods (same fragments, same relationships) and `alsoKnownAs` the did:ethr.

    The did:ethr's `#controller` (an Ethereum account, not a key a web verifier can use) and
    keys of other types stay on the did:ethr only.
    """
    methods: list[dict[str, Any]] = []
    carried: dict[str, str] = {}
    for method in ethr_document.get("verificationMethod", []):
        if method.get("type") not in ED25519_METHOD_TYPES:
            continue
        try:
            key = public_key_from_verification_method(method)
        except InvalidInput:
            continue
        method_id = web_method_id(str(method["id"]), did_web)
        carried[str(method["id"])] = method_id
        methods.append(
            {
                "id": method_id,
                "type": "Multikey",
                "controller": did_web,
                "publicKeyMultibase": encode_public_key(key),
            }
        )
    document: dict[str, Any] = {
        "@context": [DID_CONTEXT_V1, MULTIKEY_CONTEXT],
        "id": did_web,
        "alsoKnownAs": [did_ethr],
        "verificationMethod": methods,
    }
    for relationship in CARRIED_RELATIONSHIPS:
        references = [carried[r] for r in ethr_document.get(relationship, []) if r in carried]
        if references:
            document[relationship] = references
    return document
