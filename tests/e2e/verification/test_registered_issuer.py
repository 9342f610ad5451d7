"""Specifications for verifiers: a node's credentials point at the consortium decision that
accredited their issuer, and the node's verification report says, in verifier-core's shape,
which registries list the issuer: the node's own consortium, and the OpenID Federation
registries its operator trusts (here: another consortium's node, on another chain)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.chain.anvil import AnvilProcess
from node.registry.jose import decode_unverified
from tests.support.tls import reserve_port, serve
from tests.support.verification_nodes import IssuerSite

pytestmark = pytest.mark.anvil


@dataclass
class Sites:
    home: IssuerSite
    foreign: IssuerSite
    foreign_url: str


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    tmp = tmp_path_factory.mktemp("registered-issuer")
    sock = reserve_port()
    foreign_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with AnvilProcess() as home_chain, AnvilProcess(chain_id=31338) as foreign_chain:
        foreign = IssuerSite.open(
            tmp / "foreign",
            foreign_chain,
            public_url=foreign_url,
            registry_name="Another Consortium",
        )
        home = IssuerSite.open(
            tmp / "home",
            home_chain,
            trusted_registries=[f"{foreign_url}/.well-known/openid-federation"],
            trusted_registries_allow_private=True,
            trusted_registries_http_origins=[foreign_url],
        )
        try:
            for site in (home, foreign):
                site.node.registry_indexer.poll_once()
            with serve(create_app(foreign.node), sock):
                yield Sites(home, foreign, foreign_url)
        finally:
            home.node.close()
            foreign.node.close()


def test_an_issued_credential_points_at_the_decision_that_accredits_its_issuer(
    sites: Sites,
) -> None:
    home = sites.home
    bundle = home.issue()
    credential = bundle["credential"]
    [pointer] = credential["termsOfUse"]
    assert pointer["type"] == "https://lernode.dev/ns#IssuanceCertificate"
    base = home.settings.base_url
    prefix = f"{base}/trusted-issuers-registry/v5/issuers/{home.institution.did}/attributes/"
    assert pointer["id"].startswith(prefix)
    api = TestClient(create_app(home.node))
    attribute = api.get(pointer["id"].removeprefix(base)).json()["attribute"]
    assert attribute["issuerType"] == "TI"
    assert home.verify(bundle).verdict == "valid"  # the pointer is signed like the rest


def test_the_report_names_the_consortium_that_lists_the_issuer_in_verifier_cores_shape(
    sites: Sites,
) -> None:
    home = sites.home
    report = home.verify(home.issue()).as_json()
    registered = report["registeredIssuer"]
    assert registered["id"] == "registered_issuer"
    assert registered["valid"] is True
    assert registered["uncheckedRegistries"] == []
    [match] = registered["matchingIssuers"]
    assert match["issuer"] == {
        "federation_entity": {"organization_name": "Northwind Technical Institute"}
    }
    federation = match["registry"]["federation_entity"]
    assert federation["organization_name"] == "lernode consortium"
    assert federation["federation_fetch_endpoint"] == f"{home.settings.base_url}/federation/fetch"


def test_a_credential_from_outside_the_consortium_is_found_in_a_trusted_registry(
    sites: Sites,
) -> None:
    foreign = sites.foreign.issue()
    report = sites.home.verify(foreign)
    registered: dict[str, Any] = dict(report.registered_issuer or {})
    assert registered["valid"] is True, registered
    [match] = registered["matchingIssuers"]
    assert match["issuer"]["federation_entity"]["organization_name"] == (
        "Northwind Technical Institute"  # the other consortium's member institution
    )
    assert match["registry"]["federation_entity"]["organization_name"] == "Another Consortium"
    # Being listed somewhere informs; it does not make the home consortium vouch for it.
    assert report.verdict != "valid"


def test_a_registry_that_cannot_be_reached_is_reported_unchecked_not_failed(
    sites: Sites, tmp_path: Path
) -> None:
    from node.registry.foreign import FetchPolicy, GuardedFetch, OidfRegistries

    strict = OidfRegistries(
        [f"{sites.foreign_url}/.well-known/openid-federation"], GuardedFetch(FetchPolicy())
    )
    found = strict.lookup(sites.home.institution.did)
    assert found.matching == []
    assert found.unchecked == [
        {
            "type": "oidf",
            "trustAnchorEC": f"{sites.foreign_url}/.well-known/openid-federation",
            "error": "registry_unavailable",
        }
    ]


def test_the_foreign_registry_statement_is_signed_by_its_own_key(sites: Sites) -> None:
    import httpx

    token = httpx.get(f"{sites.foreign_url}/.well-known/openid-federation").text
    header, claims = decode_unverified(token)
    assert header["alg"] == "EdDSA"
    assert claims["iss"] == claims["sub"] == sites.foreign_url
