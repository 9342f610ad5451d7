"""ChainClient and anvil discovery behaviour that needs no running chain."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from node.chain.anvil import find_anvil_binary
from node.chain.client import ChainClient, redact_url
from node.errors import ChainError, ConfigurationError


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_endpoint_is_one_clear_chain_error_after_bounded_retries() -> None:
    client = ChainClient(f"http://127.0.0.1:{closed_port()}", read_attempts=3, retry_backoff=0.01)
    started = time.monotonic()
    with pytest.raises(ChainError) as caught:
        client.connect()
    assert time.monotonic() - started < 2
    assert caught.value.code == "chain_unavailable"
    assert caught.value.retryable
    assert "\n" not in str(caught.value)
    assert "refused or unreachable" in str(caught.value)


def test_error_messages_never_show_the_api_key_in_an_rpc_url() -> None:
    assert redact_url("https://user:secret@rpc.example.org/v3/KEY?x=1") == "https://rpc.example.org"
    assert "KEY" not in repr(ChainClient("https://rpc.example.org/v3/KEY"))


def test_configured_anvil_binary_must_exist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LERNODE_ANVIL_BIN", str(tmp_path / "nope"))
    with pytest.raises(ConfigurationError) as caught:
        find_anvil_binary()
    assert caught.value.code == "anvil_not_found"


def test_bundled_anvil_is_found_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LERNODE_ANVIL_BIN", raising=False)
    assert find_anvil_binary().name == "anvil"
