"""The one way the tests make a ready node: what `lernode up` makes on a fresh data directory
(`prepare`: an embedded anvil unless `rpc_url` says otherwise, the consortium deployed, an
accredited institution, an admin key), with settings that make anchoring quick.

Every suite that needs a whole node (issuer, holder, security, interop, DID, browser) builds it
here, so a change to how a node is made ready is made once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.chain.anvil import AnvilProcess, dev_accounts
from node.chain.client import ChainClient
from node.chain.deploy import deploy_all
from node.chain.sender import TransactionSender
from node.config import Settings
from node.store.models import Institution
from node.wiring.bootstrap import prepare
from node.wiring.runtime import Node

#: One confirmation and a batch every 0.1 s: a credential is final within a second or two.
QUICK = {"confirmations": 1, "anchor_interval": 0.1}


@dataclass(frozen=True)
class ReadyNode:
    node: Node
    institution: Institution
    accreditation: str
    admin_key: str
    settings: Settings

    def client(self, *, admin: bool = True, base_url: str | None = None) -> TestClient:
        """An in-process API client; with the admin key unless `admin` is False (a wallet, a
        verifier, anyone without the institution's key)."""
        headers = {"Authorization": f"Bearer {self.admin_key}"} if admin else {}
        return TestClient(
            create_app(self.node), base_url=base_url or "http://testserver", headers=headers
        )


def open_ready_node(data_dir: Path, **settings: Any) -> ReadyNode:
    """A ready node on `data_dir` (fresh), background work not started; the caller closes it."""
    config = Settings(data_dir=data_dir, **{**QUICK, **settings})
    node, institution, accreditation, admin_key = prepare(config)
    assert admin_key is not None, "a fresh data directory gets an admin key"
    return ReadyNode(node, institution, accreditation, admin_key, config)


@contextmanager
def ready_node(data_dir: Path, *, background: bool = True, **settings: Any) -> Iterator[ReadyNode]:
    """A ready node for the block, anchoring in the background unless `background` is False
    (then the test drives `node.worker.drain()` itself); closed afterwards."""
    ready = open_ready_node(data_dir, **settings)
    try:
        if background:
            ready.node.start_background()
        yield ready
    finally:
        ready.node.close()


def joining(
    chain: AnvilProcess,
    data_dir: Path,
    operator: LocalAccount | None = None,
    *,
    members: Sequence[str] | None = None,
    proposal_lifetime: int = 3600,
) -> dict[str, Any]:
    """Settings for a node on a chain the test started itself (so closing the node leaves the
    chain up): the consortium deployed by `operator` (dev account 0 unless named; the only
    member, threshold 1), who is also the node's account."""
    operator = operator or dev_accounts(1)[0]
    deployment_file = data_dir / "deployment.json"
    client = ChainClient(chain.rpc_url, expected_chain_id=chain.chain_id)
    deploy_all(
        TransactionSender(client, operator),
        members=list(members or [operator.address]),
        threshold=1,
        proposal_lifetime=proposal_lifetime,
    ).save(deployment_file)
    return {
        "rpc_url": chain.rpc_url,
        "chain_id": chain.chain_id,
        "deployment_file": deployment_file,
        "account_key": "0x" + operator.key.hex(),
    }
