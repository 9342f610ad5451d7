"""Specifications for the embedded chain's persistence (issue 10, item 1): an anchor the node
called `final` survives a crash of the chain process, because the node writes the chain's
state itself (atomically, coalesced) before it records anything `final`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from node.chain.anvil import free_port
from node.chain.bindings import Contracts, Deployment
from node.chain.client import ChainClient
from node.chain.embedded import EmbeddedChain
from tests.support.up import LERNODE, anvil_child, node_env, wait_health

pytestmark = [pytest.mark.anvil, pytest.mark.timeout(400)]


def test_the_node_is_the_only_writer_of_the_state_file(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path / "chain")
    chain.port = free_port()
    (tmp_path / "chain").mkdir()
    (tmp_path / "chain" / "anvil-state.json").write_text("{}")
    command = chain.command()
    assert "--state" not in command and "--dump-state" not in command
    assert "--state-interval" not in command
    assert command[command.index("--load-state") + 1] == str(tmp_path / "chain/anvil-state.json")


def test_concurrent_durability_requests_share_one_dump_and_the_file_survives_kill9(
    tmp_path: Path,
) -> None:
    chain = EmbeddedChain(tmp_path / "chain").start()
    try:
        chain.rpc("anvil_mine", ["0x5"])
        chain.rpc("anvil_setBalance", ["0x" + "11" * 20, hex(12345)])
        head = int(chain.rpc("eth_blockNumber"), 16)
        dumps = 0
        rpc = chain.rpc

        def counting(method: str, params: list[object] | tuple[()] = ()) -> object:
            nonlocal dumps
            dumps += method == "anvil_dumpState"
            return rpc(method, params)

        chain.rpc = counting  # type: ignore[method-assign]
        callers = [threading.Thread(target=chain.make_durable, args=(head,)) for _ in range(16)]
        for thread in callers:
            thread.start()
        for thread in callers:
            thread.join(30)
        assert dumps == 1, f"{dumps} dumps for 16 requests covering the same block"
        state_file = tmp_path / "chain" / "anvil-state.json"
        assert state_file.stat().st_mode & 0o777 == 0o600
        assert int(json.loads(state_file.read_text())["block"]["number"], 16) >= head
        assert chain.pid is not None
        os.kill(chain.pid, signal.SIGKILL)
    finally:
        chain.stop()
    again = EmbeddedChain(tmp_path / "chain").start()
    try:
        assert int(again.rpc("eth_blockNumber"), 16) >= head
        assert int(again.rpc("eth_getBalance", ["0x" + "11" * 20, "latest"]), 16) == 12345
    finally:
        again.stop()


def _start_up(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [*LERNODE, "up"],
            # One API process: this is about the chain's state file, which the supervisor
            # alone writes whatever the number of workers (tests/support/processes.py says why
            # the campaigns run one).
            env=node_env(
                data_dir, LERNODE_PORT=str(port), LERNODE_CONFIRMATIONS="1", LERNODE_WORKERS="1"
            ),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def test_a_final_anchor_survives_a_kill9_of_the_chain_right_after(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    finals: list[tuple[str, str]] = []  # (issuer, root) the node called final
    for _ in range(3):
        node = _start_up(tmp_path, port, tmp_path / "up.log")
        try:
            wait_health(url, node, timeout=120)  # type: ignore[arg-type]
            key = (tmp_path / "secrets" / "admin-api-key").read_text().strip()
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
            ) as client:
                body = {
                    "credentials": [
                        {
                            "learner": {"email": "a@example.edu"},
                            "achievement": {
                                "name": "Durability",
                                "description": "Survives crashes",
                                "criteria_narrative": "Kept",
                            },
                        }
                    ],
                    "anchor_now": True,
                }
                response = client.post("/v1/credentials", json=body)
                assert response.status_code == 201, response.text
                credential_id = response.json()["credentials"][0]["id"]
                deadline = time.monotonic() + 120  # a deadline, not a count of requests
                while (state := client.get(f"/v1/credentials/{credential_id}").json())[
                    "state"
                ] != "final":
                    assert time.monotonic() < deadline, f"never final: {state['state']}"
                    time.sleep(0.02)
            os.kill(anvil_child(node), signal.SIGKILL)  # at once after the node said `final`
            finals.append((state["receipt"]["issuer"], state["receipt"]["root"]))
        finally:
            if node.poll() is None:
                node.kill()
            node.wait(60)

    node = _start_up(tmp_path, port, tmp_path / "up.log")
    try:
        health = wait_health(url, node, timeout=120)  # type: ignore[arg-type]
        deployment = Deployment.load(tmp_path / "deployment.json")
        contracts = Contracts(ChainClient(health["rpc_url"], expected_chain_id=31337), deployment)
        missing = [
            (issuer, root)
            for issuer, root in finals
            if contracts.credential_registry.anchor_of(issuer, bytes.fromhex(root[2:])) is None
        ]
        assert missing == [], f"final on the node, absent from the chain: {missing}"
    finally:
        node.send_signal(signal.SIGINT)
        node.wait(60)
