"""Parsing `did:ethr` identifiers and DID URLs.

A `did:ethr` names an Ethereum account on one network: `did:ethr:<network>:<address>` (the
network omitted means mainnet), or the public-key form `did:ethr:<network>:<compressed key>`
whose account is derived from the key and whose document also lists that key.

The network segment is matched the way `ethr-did-resolver` matches it: a configured network is
known by its name (`mainnet`) or by `0x` + its chain id in lowercase hex without leading zeros.
Any other spelling of the same number (`0x7A69`, `0x07a69`) is a *different* DID string, so it
is not silently treated as ours; the resolver reports it as an unknown network instead.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from coincurve import PublicKey
from eth_utils import keccak

from node.did.errors import InvalidDid, MethodNotSupported

#: DID Core's generic syntax: `did:` method-name `:` method-specific-id.
_GENERIC_DID = re.compile(
    r"did:(?P<method>[a-z0-9]+):(?P<msid>(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*"
    r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}))",
    re.ASCII,
)
_ETHR_MSID = re.compile(
    r"(?:(?P<network>.+):)?(?P<id>0x[0-9a-fA-F]{40}|0x[0-9a-fA-F]{66})", re.ASCII | re.DOTALL
)
_HEX_CHAIN_ID = re.compile(r"0x[1-9a-f][0-9a-f]*", re.ASCII)
#: Network names understood without configuration.
NAMED_NETWORKS: dict[str, int] = {"mainnet": 1}
MAINNET_CHAIN_ID = 1


@dataclass(frozen=True)
class EthrDid:
    """A parsed `did:ethr`.

    `did` is the identifier exactly as given (its case is kept: the document's `id` echoes it);
    `address` is the account, lowercase; `chain_id` is None for a network name we do not know.
    """

    did: str
    network: str | None
    chain_id: int | None
    address: str
    public_key: str | None = None


@dataclass(frozen=True)
class DidUrl:
    """A DID URL split into its DID, query parameters and fragment (no path: did:ethr has none)."""

    did: EthrDid
    query: dict[str, str] = field(default_factory=dict)
    fragment: str | None = None

    @property
    def base(self) -> str:
        """The DID URL without its query: what a verification method `id` looks like."""
        return self.did.did if self.fragment is None else f"{self.did.did}#{self.fragment}"


def format_ethr_did(chain_id: int, address: str) -> str:
    """The canonical DID of `address` on chain `chain_id` (the form the node issues with)."""
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
        raise InvalidDid(f"not an Ethereum address: {address!r}")
    if chain_id < 1:
        raise InvalidDid(f"chain id must be positive, got {chain_id}")
    return f"did:ethr:{hex(chain_id)}:{address.lower()}"


def did_method(text: str) -> str:
    """The method name of a bare DID (`ethr`, `key`, `web`, ...); `invalid_did` when it is none.

    Only DID Core's generic syntax is checked: each method's parser judges the rest.
    """
    if not isinstance(text, str):
        raise InvalidDid("a DID must be a string")
    match = _GENERIC_DID.fullmatch(text)
    if match is None:
        raise InvalidDid(f"not a DID: {_quote(text)} (expected did:<method>:<identifier>)")
    return match["method"]


def split_did_url(text: str) -> tuple[str, str | None]:
    """(DID, fragment or None) of a DID URL without path or query, for any method."""
    if not isinstance(text, str):
        raise InvalidDid("a DID URL must be a string")
    did, has_fragment, fragment = text.partition("#")
    if "?" in did or "/" in did:
        raise InvalidDid(
            f"only DID URLs of the form did[#fragment] are understood here: {_quote(text)}",
            code="invalid_did_url",
        )
    did_method(did)
    return did, fragment if has_fragment else None


def parse_ethr_did(text: str) -> EthrDid:
    """Parse a bare DID (no query, fragment or path); `invalid_did` / `method_not_supported`."""
    if not isinstance(text, str):
        raise InvalidDid("a DID must be a string")
    return _parse_ethr_did(text)


@functools.lru_cache(maxsize=1024)
def _parse_ethr_did(text: str) -> EthrDid:
    """Kept per text (an `EthrDid` is immutable; errors are not kept): every verification
    parses its issuer's DID, and a did:ethr with a public key costs an EC decompression."""
    match = _GENERIC_DID.fullmatch(text)
    if match is None:
        raise InvalidDid(f"not a DID: {_quote(text)} (expected did:<method>:<identifier>)")
    if match["method"] != "ethr":
        raise MethodNotSupported(
            f"DID method {match['method']!r} is not supported; this resolver serves did:ethr only",
            method=match["method"],
        )
    msid = _ETHR_MSID.fullmatch(match["msid"])
    if msid is None:
        raise InvalidDid(
            f"not a did:ethr: {_quote(text)} (expected did:ethr:[<network>:]<0x address or "
            "0x compressed public key>)"
        )
    network, identifier = msid["network"], msid["id"]
    public_key = identifier if len(identifier) == 68 else None
    address = _address_of_key(identifier, text) if public_key else identifier.lower()
    return EthrDid(
        did=text,
        network=network,
        chain_id=_chain_id(network),
        address=address,
        public_key=public_key,
    )


def parse_did_url(text: str) -> DidUrl:
    """Parse a DID URL `did[?query][#fragment]` whose DID is a `did:ethr`."""
    if not isinstance(text, str):
        raise InvalidDid("a DID URL must be a string")
    rest, _, fragment = text.partition("#")
    did_text, has_query, query_text = rest.partition("?")
    if "/" in did_text:
        raise InvalidDid(f"did:ethr DID URLs have no path: {_quote(text)}", code="invalid_did_url")
    query = dict(parse_qsl(query_text, keep_blank_values=True)) if has_query else {}
    return DidUrl(
        did=parse_ethr_did(did_text),
        query=query,
        fragment=fragment if "#" in text else None,
    )


def _chain_id(network: str | None) -> int | None:
    if network is None:
        return MAINNET_CHAIN_ID
    if network in NAMED_NETWORKS:
        return NAMED_NETWORKS[network]
    if _HEX_CHAIN_ID.fullmatch(network):
        return int(network, 16)
    return None


def _address_of_key(public_key_hex: str, did: str) -> str:
    """The account of a compressed secp256k1 key (what `computeAddress` derives in ethers)."""
    raw = bytes.fromhex(public_key_hex[2:])
    try:
        uncompressed = PublicKey(raw).format(compressed=False)
    except ValueError:
        raise InvalidDid(
            f"{_quote(did)} does not end in a valid compressed secp256k1 public key"
        ) from None
    return "0x" + keccak(uncompressed[1:])[-20:].hex()


def _quote(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
