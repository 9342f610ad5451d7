"""The embedded chain's life: connect, deploy, restart with state, crash, wrong chain."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from node.chain.anvil import AnvilProcess, dev_accounts
from node.chain.bindings import Contracts, Deployment
from node.chain.client import ChainClient
from node.chain.deploy import deploy_all, verify_deployment
from node.chain.sender import TransactionSender
from node.errors import ChainError, ConfigurationError

if TYPE_CHECKING:
    from tests.support.chain import DevChain

pytestmark = pytest.mark.anvil


def test_connect_reports_the_chain_id(anvil: DevChain) -> None:
    client = ChainClient(anvil.rpc_url, expected_chain_id=31337)
    assert client.connect() == 31337
    assert client.block_timestamp(client.latest_block()) > 1_600_000_000


def test_wrong_chain_id_refuses_to_connect(anvil: DevChain) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ChainClient(anvil.rpc_url, expected_chain_id=1).connect()
    assert caught.value.code == "chain_id_mismatch"
    assert "chain id 31337, expected 1" in str(caught.value)


def test_deployment_is_verified_on_its_chain(anvil: DevChain, deployment: Deployment) -> None:
    verify_deployment(anvil.client(), deployment)
    contracts = Contracts(anvil.client(), deployment)
    assert contracts.issuer_registry.threshold() == 1
    assert contracts.credential_registry.issuer_registry_address() == deployment.issuer_registry


def test_deployment_for_another_chain_is_refused(anvil: DevChain, deployment: Deployment) -> None:
    elsewhere = Deployment(**{**deployment.to_json(), "chain_id": 11155111})
    with pytest.raises(ConfigurationError) as caught:
        verify_deployment(anvil.client(), elsewhere)
    assert caught.value.code == "chain_id_mismatch"


def test_restart_with_state_file_keeps_contracts_blocks_and_time(tmp_path: Path) -> None:
    state = tmp_path / "chain" / "state.json"
    accounts = dev_accounts()
    with AnvilProcess(state_file=state) as chain:
        client = ChainClient(chain.rpc_url)
        deployment = deploy_all(
            TransactionSender(client, accounts[0]), [accounts[0].address], 1, 3600
        )
        head = client.latest_block()
        head_hash = client.block_hash(head)
        head_time = client.block_timestamp(head)
        chain.restart()

        verify_deployment(client, deployment)
        assert client.latest_block() == head
        assert client.block_hash(head) == head_hash
        assert client.block_timestamp(head) == head_time
        sender = TransactionSender(client, accounts[0])
        issuers = Contracts(client, deployment).issuer_registry
        assert sender.transact(issuers.propose_threshold(1)).block_number == head + 1


def test_chain_restarted_without_its_state_has_no_contracts(
    anvil: DevChain, deployment: Deployment
) -> None:
    with AnvilProcess() as fresh, pytest.raises(ConfigurationError) as caught:
        verify_deployment(ChainClient(fresh.rpc_url), deployment)
    assert caught.value.code == "contracts_missing"


def test_anvil_that_cannot_start_is_reported_with_its_output() -> None:
    with pytest.raises(ChainError) as caught:
        AnvilProcess(extra_args=["--no-such-flag"]).start()
    assert caught.value.code == "anvil_exited"
    assert "no-such-flag" in str(caught.value)


def test_anvil_crash_is_noticed(tmp_path: Path) -> None:
    chain = AnvilProcess(log_file=tmp_path / "anvil.log").start()
    try:
        assert chain.pid is not None
        os.kill(chain.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        with pytest.raises(ChainError) as caught:
            while time.monotonic() < deadline:  # the kernel reaps the process asynchronously
                chain.check_alive()
                time.sleep(0.01)
        assert caught.value.code == "anvil_exited"
        with pytest.raises(ChainError) as unreachable:
            ChainClient(chain.rpc_url, read_attempts=1).latest_block()
        assert unreachable.value.code == "chain_unavailable"
    finally:
        chain.stop()
