"""The access log names the route, never what a request carried in its query string.

A verification link (`/verify?credential=…`) carries a whole credential, the learner's name
included; offer and wallet links carry capabilities. uvicorn's access line is
`client - "METHOD path?query HTTP/x" status`: the query is replaced by `?[redacted]` in every
line, before any handler formats it (docs/security.md, personal data).
"""

from __future__ import annotations

import logging

#: The logger uvicorn writes access lines to.
ACCESS_LOGGER = "uvicorn.access"
REDACTED = "?[redacted]"


class QueryStringRedaction(logging.Filter):
    """Cut the query string from the path argument of an access log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(_redacted(arg) if i == 2 else arg for i, arg in enumerate(args))
        else:  # a line that is not uvicorn's format: redact what is already text
            record.msg = _redacted(record.msg)
        return True


def _redacted(value: object) -> object:
    if isinstance(value, str) and "?" in value:
        return value.split("?", 1)[0] + REDACTED
    return value


def install_access_log_redaction() -> None:
    """Attach the filter once to the access logger (idempotent: apps are built per test)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, QueryStringRedaction) for existing in logger.filters):
        logger.addFilter(QueryStringRedaction())
