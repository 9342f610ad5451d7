"""deployment.json: what the node remembers about where its contracts are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.chain.bindings import CREDENTIAL_REGISTRY, DID_REGISTRY, ISSUER_REGISTRY, Deployment
from node.errors import ConfigurationError

DEPLOYMENT = Deployment(
    chain_id=31337,
    issuer_registry="0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",  # type: ignore[arg-type]
    credential_registry="0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",  # type: ignore[arg-type]
    did_registry="0x5fbdb2315678afecb367f032d93f642f64180aa3",  # type: ignore[arg-type]
    block_number=1,
    deployer="0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",  # type: ignore[arg-type]
)


def test_addresses_are_normalised_to_checksum_form() -> None:
    assert DEPLOYMENT.issuer_registry == "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
    assert DEPLOYMENT.addresses[ISSUER_REGISTRY] == DEPLOYMENT.issuer_registry
    assert set(DEPLOYMENT.addresses) == {ISSUER_REGISTRY, CREDENTIAL_REGISTRY, DID_REGISTRY}


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "data" / "deployment.json"
    DEPLOYMENT.save(path)
    assert Deployment.load(path) == DEPLOYMENT
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind


def test_missing_record_says_to_deploy_first(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Deployment.load(tmp_path / "deployment.json")
    assert caught.value.code == "not_deployed"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        json.dumps({"chain_id": 1}),
        json.dumps({**DEPLOYMENT.to_json(), "block_number": "x"}),
    ],
)
def test_corrupt_record_is_a_configuration_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "deployment.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError) as caught:
        Deployment.load(path)
    assert caught.value.code == "invalid_deployment"
