"""The consortium's registry as implementations we did not write read it:

- `@digitalcredentials/verifier-core` (LCW, VerifierPlus), configured with the node's registry
  as a known OpenID Federation registry (and as a DCC legacy list), reports `registered_issuer`
  valid with the issuer's metadata for a credential signed under the did:web the consortium
  bound to an accredited issuer, and not listed once the consortium removed it;
- npm `jose` verifies the entity configuration and the subordinate statements against the
  published `jwks`, and ethers, talking JSON-RPC to the chain and trusting no node, finds the
  signing key bound to a current member and every piece of evidence where the statement says.

The node is served over HTTPS on loopback with a test CA that node trusts via
NODE_EXTRA_CA_CERTS. One chain story per module: accredited, then removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.api.app import create_app
from node.chain.anvil import DEFAULT_CHAIN_ID, AnvilProcess, dev_accounts
from node.chain.artifacts import load_artifact
from node.chain.contracts.types import ProposalAction
from node.config import Settings
from node.credentials.inputs import AchievementInput, CredentialInput, IssuerProfile, LearnerInput
from node.credentials.model import build_open_badge
from node.credentials.multikey import multikey_verification_method
from node.credentials.proofs import sign
from node.did.identifier import format_ethr_did
from node.governance.metadata import IssuerMetadata
from node.registry.foreign import FetchPolicy, GuardedFetch, RegistryUnavailable
from node.wiring.bootstrap import ensure_registry_key
from node.wiring.runtime import Node
from tests.support.interop import JS, node_binary, run_node_script
from tests.support.nodes import joining
from tests.support.tls import make_test_tls, reserve_port, serve

pytestmark = [pytest.mark.interop, pytest.mark.anvil]

METADATA = IssuerMetadata(
    organization_name="Harbor Technical College",
    legal_name="Harbor Technical College District",
    homepage_uri="https://harbor-tech.example",
    location="Portland, ME, USA",
    ctid="ce-0f5b2a2e-8c8e-4d5c-9f3e-2b7a1c9d4e6f",
)


@dataclass
class Registry:
    base: str
    did_web: str
    did_ethr: str
    rpc_url: str
    ca: Path
    credential: dict[str, Any]
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)

    def known_registries(self) -> list[dict[str, str]]:
        """As LCW's knownDIDRegistries configures them."""
        return [
            {
                "name": "Example Credentials Consortium",
                "type": "oidf",
                "trustAnchorEC": f"{self.base}/.well-known/openid-federation",
            },
            {
                "name": "Example Credentials Consortium (legacy list)",
                "type": "dcc-legacy",
                "url": f"{self.base}/federation/registry.json",
            },
        ]


def run_js(registry: Registry, script: str, request: dict[str, Any]) -> dict[str, Any]:
    return run_node_script(node_binary(), JS / script, request, ca=registry.ca)


def observe(registry: Registry, stage: str) -> None:
    """What verifier-core and the independent checker see now (the did:ethr once, listed)."""
    abi = list(load_artifact("IssuerRegistry").abi)

    def check(sub: str) -> dict[str, Any]:
        return run_js(
            registry,
            "registry_check.mjs",
            {
                "entityConfiguration": f"{registry.base}/.well-known/openid-federation",
                "sub": sub,
                "rpcUrl": registry.rpc_url,
                "issuerRegistryAbi": abi,
            },
        )

    registry.seen[stage] = {
        "verifier_core": run_js(
            registry,
            "registry_verifier_core.mjs",
            {"credential": registry.credential, "knownDIDRegistries": registry.known_registries()},
        ),
        "check_web": check(registry.did_web),
    }
    if stage == "accredited":
        registry.seen[stage]["check_ethr"] = check(registry.did_ethr)


def guarded_fetches(base: str, ca: Path) -> dict[str, Any]:
    """The registry client's guarded fetch against a real TLS server: trusted CA, then not."""
    import ssl

    def lookup(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    url = f"{base}/.well-known/openid-federation"
    policy = FetchPolicy(allow_private=True)
    trusted = GuardedFetch(policy, lookup=lookup, verify=ssl.create_default_context(cafile=ca))
    status, media_type, _ = trusted(url)
    try:
        GuardedFetch(policy, lookup=lookup)(url)
        untrusted = "fetched"
    except RegistryUnavailable as error:
        untrusted = error.code
    return {"status": status, "media_type": media_type, "untrusted": untrusted}


def did_web_credential(
    did: str, key: Ed25519PrivateKey, pointer: dict[str, str] | None
) -> dict[str, Any]:
    data = CredentialInput(
        learner=LearnerInput(id="did:key:z6MkLearner", name="Sam"),
        achievement=AchievementInput(
            name="Marine diesel systems",
            description="Diagnose and repair marine diesel engines",
            criteria_narrative="Passed the practical assessment",
            achievement_type="Certificate",
        ),
    )
    profile = IssuerProfile(id=did, name=METADATA.organization_name)
    terms = [pointer] if pointer else []
    return sign(build_open_badge(data, profile, terms_of_use=terms), key, f"{did}#key-1")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    tmp = tmp_path_factory.mktemp("registry-interop")
    tls = make_test_tls(tmp)
    sock = reserve_port()
    port = sock.getsockname()[1]
    base = f"https://localhost:{port}"
    did_web = f"did:web:localhost%3A{port}:issuers:harbor"
    issuer_key = Ed25519PrivateKey.generate()
    accounts = dev_accounts(8)
    operator, issuer = accounts[2], accounts[6]
    with AnvilProcess(accounts=8) as process:
        chain = joining(process, tmp, operator)
        node = Node.open(Settings(data_dir=tmp / "node", **chain, confirmations=0, public_url=base))
        try:
            assert ensure_registry_key(node)
            app = create_app(node)
            method = multikey_verification_method(
                f"{did_web}#key-1", did_web, issuer_key.public_key()
            )
            method.pop("@context", None)
            document = {
                "@context": [
                    "https://www.w3.org/ns/did/v1",
                    "https://w3id.org/security/multikey/v1",
                ],
                "id": did_web,
                "verificationMethod": [method],
                "assertionMethod": [method["id"]],
            }
            # The institution's did:web document (served by the same origin, path form).
            app.add_api_route("/issuers/harbor/did.json", lambda: document, methods=["GET"])
            governance = node.governance
            proposal = governance.propose_accreditation(
                node.operator,
                issuer.address,
                ["OpenBadgeCredential"],
                metadata=METADATA,
                aliases=[did_web],
            )
            governance.execute(node.operator, proposal)
            node.registry_indexer.poll_once()
            state = Registry(
                base=base,
                did_web=did_web,
                did_ethr=format_ethr_did(DEFAULT_CHAIN_ID, issuer.address),
                rpc_url=process.rpc_url,
                ca=tls.ca,
                credential=did_web_credential(
                    did_web, issuer_key, node.registry.tir.issuance_certificate(did_web)
                ),
            )
            with serve(app, sock, tls):
                observe(state, "accredited")
                state.seen["guarded"] = guarded_fetches(base, tls.ca)
                removal = governance.propose_issuer_action(
                    node.operator, ProposalAction.REMOVE_ISSUER, issuer.address
                )
                governance.execute(node.operator, removal)
                node.registry_indexer.poll_once()
                observe(state, "removed")
            yield state
        finally:
            node.close()


def test_verifier_core_finds_the_accredited_issuer_with_the_metadata_the_consortium_voted_on(
    registry: Registry,
) -> None:
    result = registry.seen["accredited"]["verifier_core"]
    assert result["errors"] == [], result
    # The credential points at its accreditation (termsOfUse) and still verifies.
    [pointer] = registry.credential["termsOfUse"]
    assert pointer["type"] == "https://lernode.dev/ns#IssuanceCertificate"
    assert pointer["id"].startswith(f"{registry.base}/trusted-issuers-registry/v5/issuers/")
    signature = next(e for e in result["log"] if e["id"] == "valid_signature")
    assert signature["valid"] is True
    registered = result["registered"]
    assert registered["valid"] is True
    assert registered["uncheckedRegistries"] == []
    oidf, legacy = registered["matchingIssuers"]
    assert oidf["issuer"] == {
        "federation_entity": {
            "organization_name": "Harbor Technical College",
            "homepage_uri": "https://harbor-tech.example",
            "location": "Portland, ME, USA",
        },
        "institution_additional_information": {"legal_name": "Harbor Technical College District"},
        "credential_registry_entity": {
            "ctid": "ce-0f5b2a2e-8c8e-4d5c-9f3e-2b7a1c9d4e6f",
            "ce_url": "https://credentialengineregistry.org/resources/"
            "ce-0f5b2a2e-8c8e-4d5c-9f3e-2b7a1c9d4e6f",
        },
    }
    fetch = oidf["registry"]["federation_entity"]["federation_fetch_endpoint"]
    assert fetch == f"{registry.base}/federation/fetch"
    assert legacy["issuer"]["federation_entity"]["organization_name"] == "Harbor Technical College"
    assert legacy["registry"]["type"] == "dcc-legacy"


def test_verifier_core_no_longer_finds_the_issuer_once_the_consortium_removed_it(
    registry: Registry,
) -> None:
    result = registry.seen["removed"]["verifier_core"]
    registered = result["registered"]
    assert registered["valid"] is False
    assert registered["matchingIssuers"] == []
    assert registered["uncheckedRegistries"] == []  # both registries answered: not listed


@pytest.mark.parametrize("name", ["check_web", "check_ethr"])
def test_statements_verify_with_jose_and_their_evidence_holds_on_any_rpc_endpoint(
    registry: Registry, name: str
) -> None:
    report = registry.seen["accredited"][name]
    failed = {k: v for k, v in report["checks"].items() if not v["ok"]}
    assert failed == {}
    assert report["alg"] == "EdDSA"
    expected = {
        "entity_configuration",
        "statement",
        "signer_is_member",
        "key_bound_to_member",
        "indexed_block_is_canonical",
        "accreditation_events",
        "metadata_is_current",
        "metadata_is_what_was_voted",
        "accredited_now",
    }
    if name == "check_web":
        expected.add("alias_bound_to_issuer")
    assert set(report["checks"]) == expected


def test_after_removal_the_fetch_endpoint_no_longer_vouches_for_the_issuer(
    registry: Registry,
) -> None:
    report = registry.seen["removed"]["check_web"]
    assert report["checks"]["entity_configuration"]["ok"] is True
    assert report["checks"]["statement"] == {"ok": False, "detail": "HTTP 404"}


def test_the_guarded_fetch_connects_to_the_checked_address_and_verifies_tls_for_the_host(
    registry: Registry,
) -> None:
    guarded = registry.seen["guarded"]
    assert guarded["status"] == 200
    assert guarded["media_type"] == "application/entity-statement+jwt"
    assert guarded["untrusted"] == "registry_unavailable"  # a certificate nobody vouches for
