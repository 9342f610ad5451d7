"""A verifier given only the CredentialRegistry's address finds the other two contracts."""

from __future__ import annotations

from web3.contract import Contract


def test_the_credential_registry_names_the_issuer_and_did_registries(
    credential_registry: Contract, issuer_registry: Contract, did_registry: Contract
) -> None:
    assert credential_registry.functions.registry().call() == issuer_registry.address
    assert credential_registry.functions.didRegistry().call() == did_registry.address
