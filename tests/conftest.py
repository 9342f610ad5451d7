"""Fixtures shared by the whole test suite, and the user-role markers.

Chain fixtures: one anvil per test session (`anvil`), started in ~50 ms but shared anyway so that
tests do not pay for redeploying contracts. A test that changes the chain and must not leak the
change into others asks for `clean_chain`, which reverts to an `evm_snapshot` afterwards.
A test that needs a chain of its own (restarts, crashes, other chain ids) starts an
`AnvilProcess` itself. The types these fixtures yield live in `tests.support.chain`, which test
modules import for their annotations (this module is never imported by a test).

Roles: every specification written for one user role carries that role's marker (`issuer`,
`verifier`, `operator`, `holder`), given here by where it lives (`ROLES`), so
`pytest -m verifier` runs what a verifier relies on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from node.chain.anvil import DEFAULT_CHAIN_ID, AnvilProcess, dev_accounts
from node.chain.bindings import Contracts, Deployment
from node.chain.deploy import deploy_all
from node.chain.sender import TransactionSender
from tests.support.chain import (
    DevChain,
    DidRegistryDriver,
    DidResolution,
    fresh_postgres_database,
)

# Property tests state what holds, never how fast: on a shared, loaded machine hypothesis's
# default 200 ms deadline per example turns a busy core into a failure.
settings.register_profile("lernode", deadline=None)
settings.load_profile("lernode")

TESTS = Path(__file__).parent

#: Whose specification a directory or file is (paths relative to tests/; the longest match
#: wins). A module may also set `pytestmark = pytest.mark.<role>` itself.
ROLES: dict[str, tuple[str, ...]] = {
    "e2e/issuer": ("issuer",),
    "e2e/did/test_did_web_issuer.py": ("issuer",),
    "e2e/holder": ("holder",),
    "interop/test_wallet_collection_interop.py": ("holder",),
    "interop/test_holders_and_older_badges.py": ("holder", "verifier"),
    "e2e/verification": ("verifier",),
    "unit/verification": ("verifier",),
    "e2e/browser/test_verify_page.py": ("verifier",),
    "interop/test_node_interop.py": ("verifier",),
    "interop/test_verifier_core_did_web.py": ("verifier",),
    "interop/test_registry_interop.py": ("verifier", "operator"),
    "e2e/operator": ("operator",),
    "e2e/node": ("operator",),
    "unit/registry": ("operator",),
    "reliability": ("operator",),
}


def roles_of(path: Path) -> tuple[str, ...]:
    """The roles `ROLES` gives a test file (the longest matching entry), or none."""
    relative = path.resolve().relative_to(TESTS.resolve()).as_posix()
    matches = [key for key in ROLES if relative == key or relative.startswith(key + "/")]
    return ROLES[max(matches, key=len)] if matches else ()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for role in roles_of(item.path):
            item.add_marker(getattr(pytest.mark, role))
    # Files holding a slow campaign go first, each kept whole (its module fixtures are built
    # once): run in two processes, the minutes-long campaigns then overlap the many short
    # tests instead of trailing them.
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


DEV_ACCOUNT_COUNT = 10


@pytest.fixture(scope="session")
def anvil() -> Iterator[DevChain]:
    with AnvilProcess(accounts=DEV_ACCOUNT_COUNT) as process:
        yield DevChain(
            process=process,
            rpc_url=process.rpc_url,
            chain_id=DEFAULT_CHAIN_ID,
            accounts=dev_accounts(DEV_ACCOUNT_COUNT),
        )


@pytest.fixture
def clean_chain(anvil: DevChain) -> Iterator[DevChain]:
    """The session chain, reverted after the test to what it was before (and automining)."""
    snapshot = anvil.rpc("evm_snapshot")
    try:
        yield anvil
    finally:
        anvil.rpc("evm_setAutomine", True)
        anvil.rpc("evm_revert", snapshot)


@pytest.fixture(scope="session")
def deployment(anvil: DevChain) -> Deployment:
    """Our three contracts on the session chain; accounts 0 and 1 are consortium members,
    threshold 1, proposals live one day. Deployed once, before any `clean_chain` snapshot."""
    members = [anvil.accounts[0].address, anvil.accounts[1].address]
    sender = TransactionSender(anvil.client(), anvil.accounts[0])
    return deploy_all(sender, members, threshold=1, proposal_lifetime=86_400)


@pytest.fixture
def contracts(anvil: DevChain, deployment: Deployment) -> Contracts:
    return Contracts(anvil.client(), deployment)


# -- DID registry (did:ethr resolution tests: tests/e2e/did, tests/interop) --------------------


@pytest.fixture
def did_registry(clean_chain: DevChain, deployment: Deployment) -> DidRegistryDriver:
    """The session DID registry, on a chain reverted after the test."""
    return DidRegistryDriver(clean_chain, deployment.did_registry)


@pytest.fixture
def did_resolution(
    did_registry: DidRegistryDriver, deployment: Deployment, tmp_path: Any
) -> Iterator[DidResolution]:
    """SQLite schema from the models, an indexer from the deployment block, a resolver."""
    from sqlmodel import SQLModel

    from node.did.projection import did_registry_subscription
    from node.did.resolution import Resolver
    from node.indexing.indexer import Indexer
    from node.store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'did.sqlite'}")
    SQLModel.metadata.create_all(db.engine)
    client = did_registry.chain.client()
    indexer = Indexer(
        db,
        client,
        [did_registry_subscription(deployment.did_registry, did_registry.abi)],
        start_block=deployment.block_number,
        chunk_size=50,
        reorg_depth=8,
    )
    resolver = Resolver(
        db, deployment.chain_id, deployment.did_registry, block_time=client.block_timestamp
    )
    yield DidResolution(db=db, indexer=indexer, resolver=resolver)
    db.dispose()


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="package")
def package_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database shared by the tests of one package (e.g. one ready node)."""
    with fresh_postgres_database() as url:
        yield url
