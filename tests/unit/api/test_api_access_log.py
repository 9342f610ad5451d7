"""The access log keeps the route and never the query string (verification links carry whole
credentials, names included; offer links carry capabilities)."""

from __future__ import annotations

import logging

from node.api.access_log import ACCESS_LOGGER, QueryStringRedaction, install_access_log_redaction


def access_record(path: str) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it."""
    return logging.LogRecord(
        ACCESS_LOGGER, logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip


def test_a_verification_link_is_logged_as_its_path_only() -> None:
    record = access_record("/verify?credential=eyJuYW1lIjogIkFkYSBMb3ZlbGFjZSJ9")
    assert QueryStringRedaction().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /verify?[redacted] HTTP/1.1" 200'


def test_a_path_without_query_is_logged_unchanged() -> None:
    record = access_record("/v1/credentials/urn:uuid:1")
    QueryStringRedaction().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /v1/credentials/urn:uuid:1 HTTP/1.1" 200'


def test_the_filter_is_installed_once_however_many_apps_are_built() -> None:
    install_access_log_redaction()
    install_access_log_redaction()
    filters = logging.getLogger(ACCESS_LOGGER).filters
    assert sum(isinstance(f, QueryStringRedaction) for f in filters) == 1
