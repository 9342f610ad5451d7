"""Our database resolver gives the same DID documents and metadata as `ethr-did-resolver`.

The reference resolver (11.1.3, run by tests/interop/js/resolve_ethr.mjs) walks the registry on
the same anvil chain; ours replays the indexer's rows. The one legitimate difference removed
before comparing: our `didDocumentMetadata.created` (the reference has no such field).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from node.did.attributes import ED25519_ASSERTION_KEY, publish_service
from node.did.binding import linked_origins
from node.did.did_web import parse_web_did

if TYPE_CHECKING:
    from tests.support.chain import DevChain, DidRegistryDriver, DidResolution

pytestmark = [pytest.mark.anvil, pytest.mark.interop]

SCRIPT = Path(__file__).parent / "js" / "resolve_ethr.mjs"
REPO_ROOT = Path(__file__).resolve().parents[2]
YEAR = 365 * 86_400
ED25519_KEY = bytes(range(32))


def reference(chain: DevChain, registry: str, did: str, version_id: int | None = None) -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    request: dict[str, Any] = {
        "rpcUrl": chain.rpc_url,
        "chainId": chain.chain_id,
        "registry": registry,
        "did": did,
    }
    if version_id is not None:
        request["versionId"] = version_id
    completed = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO_ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def ours(resolution: DidResolution, did: str, version_id: int | None = None) -> dict[str, Any]:
    resolution.sync()
    result: dict[str, Any] = resolution.resolver.resolve(did, version_id=version_id).as_json()
    result["didDocumentMetadata"].pop("created", None)
    return result


def assert_same(
    resolution: DidResolution, registry: DidRegistryDriver, did: str, version_id: int | None = None
) -> dict[str, Any]:
    expected = reference(registry.chain, registry.address, did, version_id)
    assert "error" not in expected["didResolutionMetadata"], expected
    actual = ours(resolution, did, version_id)
    assert actual == expected
    return actual


def did_of(chain: DevChain, address: str) -> str:
    return f"did:ethr:{hex(chain.chain_id)}:{address.lower()}"


def test_a_did_that_never_changed_resolves_the_same(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    assert_same(did_resolution, did_registry, did_of(chain, chain.accounts[9].address))


def test_a_rich_history_resolves_the_same_at_every_version(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    issuer, delegate_a, delegate_b, new_owner = (a.address for a in chain.accounts[5:9])
    blocks = [
        did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, ED25519_KEY, YEAR),
        did_registry.set_attribute(issuer, "did/svc/LinkedDomains", b"https://uni.example", YEAR),
        did_registry.set_attribute(
            issuer, "did/svc/Status", json.dumps({"uri": "https://s.example"}).encode(), YEAR
        ),
        did_registry.add_delegate(issuer, "veriKey", delegate_a, YEAR),
        did_registry.add_delegate(issuer, "sigAuth", delegate_b, YEAR),
        did_registry.set_attribute(issuer, "did/pub/X25519/enc/base64", b"\x09" * 32, YEAR),
        did_registry.set_attribute(issuer, "did/pub/Secp256k1/veriKey/hex", b"\x02" * 33, YEAR),
    ]
    with did_registry.same_block():
        did_registry.revoke_delegate(issuer, "veriKey", delegate_a)
        did_registry.revoke_attribute(issuer, "did/pub/X25519/enc/base64", b"\x09" * 32)
        did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, ED25519_KEY, YEAR)
    blocks.append(did_registry.chain.client().latest_block())
    blocks.append(did_registry.advance(10))  # a block without changes of this DID
    blocks.append(did_registry.change_owner(issuer, new_owner))
    did = did_of(chain, issuer)

    latest = assert_same(did_resolution, did_registry, did)
    for block in blocks:
        assert block is not None
        assert_same(did_resolution, did_registry, did, version_id=block)
    methods = {m["type"] for m in latest["didDocument"]["verificationMethod"]}
    assert "Ed25519VerificationKey2018" in methods  # the published assertion key is visible


def test_an_expired_attribute_disappears_the_same_way(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    issuer = chain.accounts[6].address
    published = did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, ED25519_KEY, 100)
    later = did_registry.advance(1_000)
    did = did_of(chain, issuer)
    assert published is not None
    before = assert_same(did_resolution, did_registry, did, version_id=published)
    after = assert_same(did_resolution, did_registry, did, version_id=later)
    assert len(before["didDocument"]["verificationMethod"]) == 2
    assert len(after["didDocument"]["verificationMethod"]) == 1


def test_a_deactivated_did_resolves_the_same(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    issuer = chain.accounts[7].address
    did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, ED25519_KEY, YEAR)
    did_registry.change_owner(issuer, "0x" + "00" * 20)
    result = assert_same(did_resolution, did_registry, did_of(chain, issuer))
    assert result["didDocumentMetadata"]["deactivated"] is True


def test_public_key_and_checksummed_dids_resolve_the_same(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    account = chain.accounts[8]
    public_key = "0x" + account._key_obj.public_key.to_compressed_bytes().hex()
    key_did = f"did:ethr:{hex(chain.chain_id)}:{public_key}"
    assert_same(did_resolution, did_registry, key_did)
    did_registry.add_delegate(account.address, "sigAuth", chain.accounts[5].address, YEAR)
    assert_same(did_resolution, did_registry, key_did)
    assert_same(did_resolution, did_registry, f"did:ethr:{hex(chain.chain_id)}:{account.address}")
    did_registry.change_owner(account.address, chain.accounts[5].address)
    assert_same(did_resolution, did_registry, key_did)  # no #controllerKey once owned by another


def test_one_change_resolves_the_same_before_and_after(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    issuer = chain.accounts[8].address
    block = did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, ED25519_KEY, YEAR)
    assert block is not None
    did = did_of(chain, issuer)
    latest = assert_same(did_resolution, did_registry, did)
    assert_same(did_resolution, did_registry, did, version_id=block)
    assert_same(did_resolution, did_registry, did, version_id=block - 1)
    assert latest["didDocumentMetadata"]["versionId"] == str(block)


def test_fifty_changes_resolve_the_same_at_the_latest_and_historical_versions(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    issuer = chain.accounts[9].address
    blocks = []
    for i in range(50):
        name = ED25519_ASSERTION_KEY if i % 2 == 0 else f"did/svc/Profile{i}"
        value = bytes([i]) * 32 if i % 2 == 0 else f"https://uni.example/{i}".encode()
        blocks.append(did_registry.set_attribute(issuer, name, value, YEAR))
    did = did_of(chain, issuer)
    latest = assert_same(did_resolution, did_registry, did)
    assert len(latest["didDocument"]["verificationMethod"]) == 1 + 25
    for block in [*blocks[::7], blocks[-1]]:
        assert block is not None
        assert_same(did_resolution, did_registry, did, version_id=block)


def test_the_link_back_to_a_did_web_origin_resolves_the_same(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    """What onboarding publishes for a did:web institution (docs/did-web.md): the key, then
    `did/svc/LinkedDomains` -> the did:web's origin, read by `did_web_binding`."""
    chain = did_registry.chain
    issuer = chain.accounts[4].address
    origin = parse_web_did("did:web:college.example%3A8443:institutions:4").origin
    link = publish_service("LinkedDomains", origin)
    did_registry.set_attribute(issuer, ED25519_ASSERTION_KEY, ED25519_KEY, YEAR)
    did_registry.send("setAttribute", issuer, link.name, link.value, YEAR, sender=issuer)
    result = assert_same(did_resolution, did_registry, did_of(chain, issuer))
    services = result["didDocument"]["service"]
    assert {"type": "LinkedDomains", "serviceEndpoint": "https://college.example:8443"} in [
        {k: s[k] for k in ("type", "serviceEndpoint")} for s in services
    ]
    assert linked_origins(result["didDocument"]) == {origin}


#: Every plausible way to ask ethr-did-resolver 11.1.3 for a Multikey / JWK rendering. Its
#: `wrapDidDocument` derives the key property from the encoding word only (hex, base64, base58,
#: pem, else a bare `value`), so none of them yields `publicKeyMultibase` or `publicKeyJwk`
#: (docs/did-ethr.md): our replay must still match it byte for byte on each.
MULTIKEY = b"\xed\x01" + ED25519_KEY
KEY_FORMS = [
    ("did/pub/Multikey/veriKey/base58", MULTIKEY),
    ("did/pub/Multikey/veriKey/hex", MULTIKEY),
    ("did/pub/Multikey/veriKey", MULTIKEY),
    ("did/pub/Multikey/sigAuth/base64", MULTIKEY),
    ("did/pub/Ed25519/veriKey/base64", ED25519_KEY),
    ("did/pub/Ed25519/veriKey/multibase", ED25519_KEY),
    ("did/pub/JsonWebKey/veriKey/jwk", b'{"kty":"OKP","crv":"Ed25519"}'),
]


def test_multikey_and_jwk_attribute_forms_resolve_the_same_and_none_gives_multibase(
    did_registry: DidRegistryDriver, did_resolution: DidResolution
) -> None:
    chain = did_registry.chain
    issuer = chain.accounts[3].address
    for name, value in KEY_FORMS:
        if len(name.encode()) <= 32:  # `.../multibase` does not fit a bytes32 name at all
            did_registry.set_attribute(issuer, name, value, YEAR)
    result = assert_same(did_resolution, did_registry, did_of(chain, issuer))
    methods = result["didDocument"]["verificationMethod"]
    assert {m["type"] for m in methods[1:]} == {
        "Multikey",
        "Ed25519VerificationKey2018",
        "JsonWebKey",
    }
    assert not any("publicKeyMultibase" in m or "publicKeyJwk" in m for m in methods)
