"""Failures of DID resolution, each tied to its DID Resolution error name.

The DID Resolution specification names resolution failures (`invalidDid`, `notFound`,
`methodNotSupported`, ...) and HTTP clients of a Universal Resolver switch on those names, while
the rest of lernode switches on snake_case `code`s. Each class carries both, so the API's one
problem renderer produces a document that satisfies either kind of client.
"""

from __future__ import annotations

from typing import Any, ClassVar

from node.errors import LernodeError


class DidResolutionError(LernodeError):
    """A resolution failure; `did_error` is its DID Resolution error name.

    The name travels in `extra["error"]`, so the problem document carries it next to `code`,
    where a DID Resolution client looks for it (`didResolutionMetadata.error`).
    """

    did_error: ClassVar[str] = "internalError"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, code=code, error=self.did_error, **extra)


class InvalidDid(DidResolutionError):
    """The text is not a DID (or DID URL) this resolver can parse."""

    code = "invalid_did"
    title = "Invalid DID"
    status = 400
    did_error = "invalidDid"


class MethodNotSupported(DidResolutionError):
    """A well-formed DID of a method other than `did:ethr`."""

    code = "method_not_supported"
    title = "DID method not supported"
    status = 501
    did_error = "methodNotSupported"


class DidNotFound(DidResolutionError):
    """A `did:ethr` this node cannot answer for (another network, or a key absent at that time)."""

    code = "did_not_found"
    title = "DID not found"
    status = 404
    did_error = "notFound"


class RepresentationNotSupported(DidResolutionError):
    """The client asked for a media type the resolver cannot produce."""

    code = "representation_not_supported"
    title = "Representation not supported"
    status = 406
    did_error = "representationNotSupported"


class InvalidResolutionOptions(DidResolutionError):
    """`versionId` / `versionTime` that cannot be understood."""

    code = "invalid_resolution_options"
    title = "Invalid resolution options"
    status = 400
    did_error = "invalidOptions"


class InvalidPublicKey(DidResolutionError):
    """A `did:key` whose key bytes are not a key of the type its multicodec header names."""

    code = "invalid_public_key"
    title = "Invalid public key in did:key"
    status = 400
    did_error = "invalidPublicKey"


class UnsupportedPublicKeyType(DidResolutionError):
    """A well-formed `did:key` of a key type this resolver does not handle (only Ed25519)."""

    code = "unsupported_public_key_type"
    title = "did:key type not supported"
    status = 501
    did_error = "unsupportedPublicKeyType"


class DidWebUnavailable(DidResolutionError):
    """A `did:web` document that could not be fetched safely: refused address or scheme,
    redirect, timeout, size limit, HTTP error, or a body that is not this DID's document.
    `code` says which; to a DID Resolution client it is `notFound`."""

    code = "did_web_unavailable"
    title = "did:web document unavailable"
    status = 404
    did_error = "notFound"
