"""Expected failures, each with a stable code.

Every failure a user can cause or meet (bad input, missing record, chain unreachable, refused by a
contract) is a `LernodeError`. The API renders it as an RFC 9457 problem whose `code` clients can
switch on; the CLI prints it as one line and exits non-zero. Anything else is a bug.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LernodeError(Exception):
    """Base of every expected failure.

    Subclasses set `code`, `title` and `status` as class attributes; an instance may override the
    code for a more specific reason and carry extra JSON-safe fields for the problem document.
    """

    code: ClassVar[str] = "error"
    title: ClassVar[str] = "Request failed"
    status: ClassVar[int] = 400
    #: Whether repeating the same request later may succeed (chain or database outage).
    retryable: ClassVar[bool] = False

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.extra = extra

    def __str__(self) -> str:
        return self.detail


class InvalidInput(LernodeError):
    code = "invalid_input"
    title = "Invalid input"
    status = 422


class NotFound(LernodeError):
    code = "not_found"
    title = "Not found"
    status = 404


class Conflict(LernodeError):
    code = "conflict"
    title = "Conflict with the current state"
    status = 409


class Unauthorized(LernodeError):
    code = "unauthorized"
    title = "Authentication required"
    status = 401


class Forbidden(LernodeError):
    code = "forbidden"
    title = "Not allowed"
    status = 403


class ConfigurationError(LernodeError):
    code = "configuration_error"
    title = "Invalid configuration"
    status = 500


class ChainError(LernodeError):
    """The chain could not be reached or did not answer as expected."""

    code = "chain_unavailable"
    title = "Blockchain unavailable"
    status = 503
    retryable = True


class ContractRevert(LernodeError):
    """A contract refused a call; `code` is derived from the custom error's name."""

    code = "contract_revert"
    title = "Refused by the contract"
    status = 409


class StorageError(LernodeError):
    code = "storage_unavailable"
    title = "Database unavailable"
    status = 503
    retryable = True
