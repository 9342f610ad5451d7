"""Specifications for running a node: `lernode up` from nothing, Ctrl-C, restart with the same
chain and data, and one clear line for every bad configuration."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.chain.anvil import AnvilProcess, free_port
from tests.support.up import ANVIL_KEY_0, LERNODE, node_env, start, wait_health


def interrupt(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    return output


def test_up_starts_a_complete_node_and_a_restart_keeps_chain_and_data(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first = start(tmp_path, port)
    try:
        health = wait_health(url, first)
    finally:
        output = interrupt(first)
    assert first.returncode == 0, output
    assert health["chain_id"] == 31337
    assert set(health["contracts"]) == {
        "EthereumDIDRegistry",
        "IssuerRegistry",
        "CredentialRegistry",
    }
    assert health["issuer_did"].startswith("did:ethr:0x7a69:0x")
    assert health["database"] == "ok"
    assert "admin API key" in output and "lk_" in output
    assert "(accredited)" in output
    assert "lernode stopped" in output
    key_files = list((tmp_path / "keys").iterdir())
    assert key_files and all(f.stat().st_mode & 0o077 == 0 for f in key_files)

    second = start(tmp_path, port)
    try:
        again = wait_health(url, second)
    finally:
        output = interrupt(second)
    assert again["contracts"] == health["contracts"]
    assert again["issuer_did"] == health["issuer_did"]
    assert again["latest_block"] >= health["latest_block"]
    assert "lk_" not in output  # the admin key is shown only once


@pytest.fixture
def external_chain(tmp_path: Path) -> Iterator[AnvilProcess]:
    with AnvilProcess(chain_id=4242) as chain:
        yield chain


def run_up(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LERNODE, "up"], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_an_unreachable_rpc_url_is_one_clear_line(tmp_path: Path) -> None:
    result = run_up(node_env(tmp_path, LERNODE_RPC_URL=f"http://127.0.0.1:{free_port()}"))
    assert_one_clear_line(result, "unreachable")


def test_a_chain_with_another_id_than_the_deployment_is_refused(
    tmp_path: Path, external_chain: AnvilProcess
) -> None:
    deployed = subprocess.run(
        [*LERNODE, "deploy"],
        env=node_env(
            tmp_path, LERNODE_RPC_URL=external_chain.rpc_url, LERNODE_ACCOUNT_KEY=ANVIL_KEY_0
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert deployed.returncode == 0, deployed.stderr
    result = run_up(
        node_env(tmp_path, LERNODE_RPC_URL=external_chain.rpc_url, LERNODE_CHAIN_ID="31337")
    )
    assert_one_clear_line(result, "chain id 4242", "expected 31337")


def test_an_unwritable_data_directory_is_one_clear_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "file").write_text("x")
    result = run_up(node_env(locked / "file" / "data"))
    assert_one_clear_line(result, "not writable")


def test_a_malformed_database_url_is_one_clear_line(tmp_path: Path) -> None:
    result = run_up(node_env(tmp_path, LERNODE_DATABASE_URL="postgresql://:bad:"))
    assert_one_clear_line(result, "LERNODE_DATABASE_URL")
