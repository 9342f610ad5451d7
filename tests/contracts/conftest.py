"""An in-process chain (py-evm through eth-tester) with the three contracts deployed once.

Why py-evm and not anvil: no child process, and each test runs on a snapshot that is reverted
afterwards, so tests are independent yet share one deployment. py-evm runs the Prague rules,
which include everything the contracts are compiled for (cancun).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from web3 import Web3
from web3.contract import Contract
from web3.providers.eth_tester import EthereumTesterProvider

from tests.support.contracts import PROPOSAL_LIFETIME, Chain, Consortium


@pytest.fixture(scope="session")
def _session_chain() -> Chain:
    backend = PyEVMBackend()
    tester = EthereumTester(backend)
    w3 = Web3(EthereumTesterProvider(tester))
    keys = [key.to_bytes() for key in backend.account_keys]
    return Chain(tester=tester, w3=w3, accounts=list(w3.eth.accounts), keys=keys)


@pytest.fixture(scope="session")
def _deployed(_session_chain: Chain) -> dict[str, Contract]:
    chain = _session_chain
    members = chain.accounts[:3]
    issuers = chain.deploy("IssuerRegistry", members, 2, PROPOSAL_LIFETIME)
    dids = chain.deploy("EthereumDIDRegistry")
    return {
        "IssuerRegistry": issuers,
        "CredentialRegistry": chain.deploy("CredentialRegistry", issuers.address, dids.address),
        "EthereumDIDRegistry": dids,
    }


@pytest.fixture
def chain(_session_chain: Chain, _deployed: dict[str, Contract]) -> Iterator[Chain]:
    """The shared chain, rolled back after the test."""
    snapshot = _session_chain.tester.take_snapshot()
    yield _session_chain
    _session_chain.tester.revert_to_snapshot(snapshot)


@pytest.fixture
def issuer_registry(chain: Chain, _deployed: dict[str, Contract]) -> Contract:
    return _deployed["IssuerRegistry"]


@pytest.fixture
def credential_registry(chain: Chain, _deployed: dict[str, Contract]) -> Contract:
    return _deployed["CredentialRegistry"]


@pytest.fixture
def did_registry(chain: Chain, _deployed: dict[str, Contract]) -> Contract:
    return _deployed["EthereumDIDRegistry"]


@pytest.fixture
def consortium(chain: Chain, issuer_registry: Contract) -> Consortium:
    return Consortium(chain=chain, registry=issuer_registry)
