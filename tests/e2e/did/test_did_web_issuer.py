"""An institution signs under a did:web its node serves (docs/did-web.md): the document at
`/.well-known/did.json` (or `/institutions/<id>/did.json`) carries the did:ethr's key as a
Multikey, the did:ethr links back to the origin on chain, credentials and status lists name the
did:web, and they verify with nothing but the served document — fetched over real HTTP by the
SSRF-guarded resolver (loopback and plain HTTP explicitly allowed for this one test origin)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.chain.anvil import free_port
from node.credentials.inputs import CredentialInput
from node.credentials.multikey import (
    encode_public_key,
    public_key_from_verification_method,
    raw_public_key,
)
from node.credentials.proofs import verify
from node.did.binding import DidWebChain, did_web_binding, linked_origins
from node.did.chain_resolver import ChainDidResolver
from node.did.did_web import ethr_method_id, parse_web_did
from node.store.models import Institution
from node.wiring.runtime import Node
from tests.support.nodes import ready_node
from tests.support.tls import serve

pytestmark = pytest.mark.anvil
HARNESS = Path(__file__).parents[2] / "interop" / "js" / "harness.mjs"

CREDENTIAL = {
    "learner": {"name": "Ada", "email": "ada@example.edu"},
    "achievement": {
        "name": "Forklift operation",
        "description": "Safe forklift operation",
        "criteria_narrative": "Passed the practical test",
    },
}


class Served:
    def __init__(self, node: Node, institution: Institution, admin_key: str, port: int) -> None:
        self.node = node
        self.institution = institution
        self.port = port
        self.api = TestClient(create_app(node), headers={"Authorization": f"Bearer {admin_key}"})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    origin = f"http://localhost:{port}"
    settings = {
        "port": port,
        "public_url": origin,
        "issuer_did_method": "web",
        "did_web_allow_private": True,
        "did_web_http_origins": [origin],
    }
    data_dir = tmp_path_factory.mktemp("did-web-node")
    with (
        ready_node(data_dir, background=False, **settings) as ready,
        serve(create_app(ready.node), port),
    ):
        yield Served(ready.node, ready.institution, ready.admin_key, port)


def ethr_document(node: Node, did: str) -> dict[str, Any]:
    return ChainDidResolver(node.chain, node.contracts.did_registry).document_at(did, None)


def fragment(method_id: str | None) -> str:
    assert method_id is not None
    return method_id.rsplit("#", 1)[1]


def test_the_nodes_institution_signs_as_the_did_web_served_at_well_known(served: Served) -> None:
    institution = served.node.own_institution()
    assert institution is not None
    did_web = f"did:web:localhost%3A{served.port}"
    assert (institution.did_web, institution.signs_as) == (did_web, "web")

    answer = served.api.get("/.well-known/did.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/did+ld+json")
    assert answer.headers["access-control-allow-origin"] == "*"
    key = served.node.signing_key(institution).private_key.public_key()
    method_id = f"{did_web}#{fragment(institution.verification_method)}"
    assert answer.json() == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did_web,
        "alsoKnownAs": [institution.did],
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": did_web,
                "publicKeyMultibase": encode_public_key(key),
            }
        ],
        "assertionMethod": [method_id],
    }
    # The same document over real HTTP, through the guarded resolver a verifier uses.
    assert served.node.web_dids.document_at(did_web, None) == answer.json()
    # The node's own verifier answers its did:web from its data, without a request to itself.
    assert served.node.did_documents.document_at(did_web, 7) == answer.json()


def test_the_did_web_is_bound_on_chain_by_the_consortium_and_by_the_institution(
    served: Served,
) -> None:
    institution = served.institution
    assert institution.did_web is not None
    document = ethr_document(served.node, institution.did)
    origin = parse_web_did(institution.did_web).origin
    assert origin == f"https://localhost:{served.port}"
    assert origin in linked_origins(document)

    # The accreditation proposal carried the did:web; executing it bound the alias.
    registry = served.node.contracts.issuer_registry
    assert registry.issuer_of_alias(institution.did_web) == institution.address
    assert did_web_binding(served.node.did_web_chain, institution.did_web) == institution.address
    # From the chain alone (what `lernode verify --rpc` has): same answer.
    dids = ChainDidResolver(served.node.chain, served.node.contracts.did_registry)
    chain_only = DidWebChain.from_registry(served.node.deployment.chain_id, registry, dids)
    assert did_web_binding(chain_only, institution.did_web) == institution.address
    # Either side alone binds nothing.
    no_alias = DidWebChain(served.node.deployment.chain_id, lambda alias: None, dids)
    assert did_web_binding(no_alias, institution.did_web) is None
    elsewhere = f"did:web:elsewhere.example:institutions:{institution.id}"
    lying = DidWebChain(chain_only.chain_id, lambda alias: institution.address, dids)
    assert did_web_binding(lying, elsewhere) is None  # the institution never linked that origin


def proof_of(document: dict[str, Any]) -> dict[str, Any]:
    proof = document["proof"]
    found: dict[str, Any] = proof[0] if isinstance(proof, list) else proof
    return found


def status_entries(credential: dict[str, Any]) -> list[dict[str, Any]]:
    status = credential["credentialStatus"]
    return status if isinstance(status, list) else [status]


def local_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_credentials_and_status_lists_name_the_did_web_and_verify_with_its_document(
    served: Served,
) -> None:
    node, institution = served.node, served.node.own_institution()
    assert institution is not None and institution.did_web is not None
    credential = node.issuance.issue(institution, [CredentialInput.model_validate(CREDENTIAL)])[0]
    method_id = f"{institution.did_web}#{fragment(institution.verification_method)}"
    assert credential["issuer"]["id"] == institution.did_web
    assert proof_of(credential)["verificationMethod"] == method_id
    # A chain-only verifier maps the proof's method to the did:ethr key it checks on chain.
    assert ethr_method_id(method_id, institution.did) == institution.verification_method

    document = node.web_dids.document_at(institution.did_web, None)
    method = next(m for m in document["verificationMethod"] if m["id"] == method_id)
    assert method_id in document["assertionMethod"]
    verify(credential, public_key_from_verification_method(method))

    for entry in status_entries(credential):
        listed = served.api.get(local_path(entry["statusListCredential"]))
        assert listed.status_code == 200
        status_list = listed.json()
        issuer = status_list["issuer"]
        assert (issuer if isinstance(issuer, str) else issuer["id"]) == institution.did_web
        assert proof_of(status_list)["verificationMethod"] == method_id
        verify(status_list, public_key_from_verification_method(method))


def test_another_institution_gets_the_path_form_and_may_switch_back_to_did_ethr(
    served: Served,
) -> None:
    created = served.api.post(
        "/v1/admin/institutions", json={"name": "Harbor Training", "did_method": "web"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    did_web = f"did:web:localhost%3A{served.port}:institutions:{body['id']}"
    assert (body["didWeb"], body["signsAs"]) == (did_web, "web")
    document = served.api.get(f"/institutions/{body['id']}/did.json").json()
    assert document["id"] == did_web
    assert document["alsoKnownAs"] == [body["did"]]
    assert served.node.web_dids.document_at(did_web, None) == document
    assert body["proposal"]["aliases"] == [did_web]  # the consortium votes on the did:web
    served.api.post(f"/v1/governance/proposals/{body['proposal']['id']}/execute")
    assert did_web_binding(served.node.did_web_chain, did_web) == body["address"]
    missing = served.api.get("/institutions/999/did.json")
    assert missing.status_code == 404
    assert missing.json()["code"] == "did_web_not_hosted"
    assert served.api.get("/nowhere/did.json").status_code == 404

    node = served.node
    harbor = node.onboarding.get(body["id"])
    under_web = node.issuance.issue(harbor, [CredentialInput.model_validate(CREDENTIAL)])[0]
    harbor = node.onboarding.sign_as(harbor, "ethr")
    under_ethr = node.issuance.issue(harbor, [CredentialInput.model_validate(CREDENTIAL)])[0]
    assert under_ethr["issuer"]["id"] == harbor.did
    assert proof_of(under_ethr)["verificationMethod"] == harbor.verification_method
    web_lists = {e["statusListCredential"] for e in status_entries(under_web)}
    ethr_lists = {e["statusListCredential"] for e in status_entries(under_ethr)}
    assert web_lists.isdisjoint(ethr_lists)  # a list is signed under one DID only
    for url in web_lists:
        issuer = served.api.get(local_path(url)).json()["issuer"]
        assert (issuer if isinstance(issuer, str) else issuer["id"]) == did_web
    for url in ethr_lists:
        issuer = served.api.get(local_path(url)).json()["issuer"]
        assert (issuer if isinstance(issuer, str) else issuer["id"]) == harbor.did


def test_the_universal_resolver_dereferences_the_key_under_both_dids(served: Served) -> None:
    institution = served.node.own_institution()
    assert institution is not None and institution.did_web is not None
    served.node.indexer.poll_once()  # the public resolver answers did:ethr from the index
    key = fragment(institution.verification_method)
    # A did:web with a port has a `%3A` in it, sent as is (or as %253A) next to `%23` for the `#`.
    web_path = institution.did_web
    resolved = served.api.get(f"/1.0/identifiers/{web_path}").json()
    assert resolved["didDocument"]["id"] == institution.did_web
    multikey = served.api.get(f"/1.0/identifiers/{web_path}%23{key}").json()
    ethr_key = served.api.get(f"/1.0/identifiers/{institution.did}%23{key}").json()
    assert multikey["type"] == "Multikey"
    assert ethr_key["type"] == "Ed25519VerificationKey2018"
    assert raw_public_key(public_key_from_verification_method(multikey)) == raw_public_key(
        public_key_from_verification_method(ethr_key)
    )
    foreign = served.api.get("/1.0/identifiers/did:web:elsewhere.example")
    assert (foreign.status_code, foreign.json()["error"]) == (501, "methodNotSupported")


@pytest.mark.interop
def test_digital_bazaars_verifier_accepts_them_with_only_the_did_web_document(
    served: Served,
) -> None:
    """An independent verifier (@digitalbazaar/vc) given nothing but the served did:web document:
    the credential and its status list credential both verify."""
    node_binary = shutil.which("node")
    if node_binary is None:
        pytest.skip("node is not installed")
    node, institution = served.node, served.node.own_institution()
    assert institution is not None and institution.did_web is not None
    credential = node.issuance.issue(institution, [CredentialInput.model_validate(CREDENTIAL)])[0]
    did_document = served.api.get("/.well-known/did.json").json()
    documents: dict[str, Any] = {institution.did_web: did_document}
    for method in did_document["verificationMethod"]:
        documents[method["id"]] = {"@context": did_document["@context"], **method}
    lists = [
        served.api.get(local_path(e["statusListCredential"])).json()
        for e in status_entries(credential)
    ]
    for signed in [credential, *lists]:
        completed = subprocess.run(
            [node_binary, str(HARNESS), "verify"],
            input=json.dumps({"credential": signed, "documents": documents}),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        verdict = json.loads(completed.stdout)
        assert verdict == {"verified": True, "errors": []}, signed["id"]
