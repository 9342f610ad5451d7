"""GET /1.0/identifiers/{did}: the Universal Resolver HTTP binding over the indexed tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import SQLModel

from node.api.problems import install_problem_handlers
from node.api.routes.resolver import router
from node.did.attributes import publish_ed25519_key
from node.did.resolution import Resolver
from node.store.db import Database
from node.store.models import DidChange, DidChangeKind

CHAIN = 31337
REGISTRY = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
ADDRESS = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
DID = f"did:ethr:0x7a69:{ADDRESS}"
T0 = 1_750_000_000
YEAR = 365 * 86_400
BAD_OPTIONS = "invalid_resolution_options"
UNSUPPORTED = "representation_not_supported"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    db = Database(f"sqlite:///{tmp_path / 'api.sqlite'}")
    SQLModel.metadata.create_all(db.engine)
    key = publish_ed25519_key(bytes(range(32)))
    with db.session() as session:
        for block, offset in ((10, 0), (20, 100)):
            session.add(
                DidChange(
                    contract=REGISTRY,
                    identity=ADDRESS,
                    block_number=block,
                    log_index=0,
                    block_hash="0x" + f"{block:064x}",
                    block_time=T0 + offset,
                    tx_hash="0x" + f"{block + 1:064x}",
                    kind=DidChangeKind.ATTRIBUTE,
                    name="0x" + key.name.hex(),
                    value="0x" + bytes([block]).hex() * 32,
                    valid_to=str(T0 + YEAR),
                )
            )
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    resolver = Resolver(db, CHAIN, REGISTRY, clock=lambda: T0 + 200)
    app.state.node = SimpleNamespace(resolver=resolver)
    yield TestClient(app)
    db.dispose()


def test_the_default_answer_is_the_resolution_result(client: TestClient) -> None:
    answer = client.get(f"/1.0/identifiers/{DID}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/did-resolution")
    body = answer.json()
    assert set(body) == {"didDocument", "didResolutionMetadata", "didDocumentMetadata"}
    assert len(body["didDocument"]["verificationMethod"]) == 3
    assert body["didDocumentMetadata"] == {
        "created": "2025-06-15T15:06:40Z",
        "versionId": "20",
        "updated": "2025-06-15T15:08:20Z",
    }


def test_the_legacy_profile_media_type_is_understood(client: TestClient) -> None:
    accept = 'application/ld+json;profile="https://w3id.org/did-resolution"'
    answer = client.get(f"/1.0/identifiers/{DID}", headers={"Accept": accept})
    assert answer.status_code == 200
    assert "didDocumentMetadata" in answer.json()


@pytest.mark.parametrize(
    ("accept", "has_context"),
    [("application/did", True), ("application/did+ld+json", True), ("application/did+json", False)],
)
def test_document_media_types_return_the_bare_document(
    client: TestClient, accept: str, has_context: bool
) -> None:
    answer = client.get(f"/1.0/identifiers/{DID}", headers={"Accept": accept})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(accept)
    document = answer.json()
    assert document["id"] == DID
    assert ("@context" in document) is has_context


def test_version_id_and_version_time_select_the_earlier_document(client: TestClient) -> None:
    by_block = client.get(f"/1.0/identifiers/{DID}", params={"versionId": "10"}).json()
    assert len(by_block["didDocument"]["verificationMethod"]) == 2
    assert by_block["didDocumentMetadata"]["versionId"] == "10"
    assert by_block["didDocumentMetadata"]["nextVersionId"] == "20"
    by_time = client.get(
        f"/1.0/identifiers/{DID}", params={"versionTime": "2025-06-15T15:07:00Z"}
    ).json()
    assert by_time["didDocument"] == by_block["didDocument"]


@pytest.mark.parametrize(
    ("path", "params", "headers", "expected"),
    [
        ("did:ethr:0x7a69:0x12", {}, {}, (400, "invalid_did", "invalidDid")),
        ("did:web:example.com", {}, {}, (501, "method_not_supported", "methodNotSupported")),
        (f"did:ethr:0x1:{ADDRESS}", {}, {}, (404, "unknown_network", "notFound")),
        (DID, {"versionId": "ten"}, {}, (400, BAD_OPTIONS, "invalidOptions")),
        (DID, {"versionTime": "yesterday"}, {}, (400, BAD_OPTIONS, "invalidOptions")),
        (DID, {"versionId": "15"}, {}, (404, "version_not_found", "notFound")),
        (DID, {}, {"Accept": "text/html"}, (406, UNSUPPORTED, "representationNotSupported")),
    ],
)
def test_failures_are_problems_with_code_and_did_resolution_error(
    client: TestClient,
    path: str,
    params: dict[str, str],
    headers: dict[str, str],
    expected: tuple[int, str, str],
) -> None:
    status, code, error = expected
    answer = client.get(f"/1.0/identifiers/{path}", params=params, headers=headers)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["detail"]
    assert problem["error"] == error


# -- DID URL dereferencing (a 1EdTech validator asks for `did:...#key` at a Universal Resolver) ---

DELEGATE = f"{DID}#delegate-2"
DEREF = "application/did-url-dereferencing"


def encoded(did_url: str) -> str:
    """The path clients send: `#` percent-encoded (a bare one never leaves the client)."""
    return f"/1.0/identifiers/{did_url.replace('#', '%23')}"


def test_a_verification_method_url_dereferences_to_the_method(client: TestClient) -> None:
    answer = client.get(encoded(DELEGATE))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/did+ld+json")
    document = client.get(f"/1.0/identifiers/{DID}").json()["didDocument"]
    method = next(m for m in document["verificationMethod"] if m["id"] == DELEGATE)
    assert answer.json() == {"@context": document["@context"], **method}


def test_the_dereferencing_result_has_the_did_resolution_shape(client: TestClient) -> None:
    answer = client.get(encoded(DELEGATE), headers={"Accept": DEREF})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(DEREF)
    body = answer.json()
    assert set(body) == {"@context", "dereferencingMetadata", "contentStream", "contentMetadata"}
    assert body["dereferencingMetadata"] == {"contentType": "application/did+ld+json"}
    assert body["contentStream"]["id"] == DELEGATE
    assert body["contentStream"]["type"] == "Ed25519VerificationKey2018"
    assert body["contentMetadata"] == {}
    legacy = 'application/ld+json;profile="https://w3id.org/did-url-dereferencing"'
    again = client.get(encoded(DELEGATE), headers={"Accept": legacy})
    assert again.json() == body


def test_plain_json_asks_for_the_method_without_context(client: TestClient) -> None:
    answer = client.get(
        f"/1.0/identifiers/{DID}%23controller", headers={"Accept": "application/did+json"}
    )
    assert answer.status_code == 200
    assert answer.json()["type"] == "EcdsaSecp256k1RecoveryMethod2020"
    assert "@context" not in answer.json()


def test_a_fragment_dereferences_in_the_version_asked_for(client: TestClient) -> None:
    url = encoded(DELEGATE)
    assert client.get(url, params={"versionId": "20"}).status_code == 200
    earlier = client.get(url, params={"versionId": "10"})  # delegate-2 came at block 20
    assert earlier.status_code == 404
    assert earlier.json()["error"] == "notFound"


@pytest.mark.parametrize(
    ("path", "accept", "expected"),
    [
        (f"{DID}%23delegate-9", None, (404, "verification_method_not_found", "notFound")),
        (f"{DID}%23", None, (404, "verification_method_not_found", "notFound")),
        (f"{DID}/path%23x", None, (400, "invalid_did_url", "invalidDid")),
        ("did:web:example.com%23key-1", None, (501, "method_not_supported", "methodNotSupported")),
        (f"{DID}%23delegate-2", "text/html", (406, UNSUPPORTED, "representationNotSupported")),
    ],
)
def test_dereferencing_failures_are_problems(
    client: TestClient, path: str, accept: str | None, expected: tuple[int, str, str]
) -> None:
    status, code, error = expected
    headers = {"Accept": accept} if accept else {}
    answer = client.get(f"/1.0/identifiers/{path}", headers=headers)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (answer.json()["code"], answer.json()["error"]) == (code, error)


def test_did_key_resolves_and_dereferences_without_any_chain(client: TestClient) -> None:
    did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    result = client.get(f"/1.0/identifiers/{did}").json()
    assert result["didDocument"]["id"] == did
    assert result["didDocumentMetadata"] == {}
    method = client.get(f"/1.0/identifiers/{did}%23{did.removeprefix('did:key:')}").json()
    assert method["type"] == "Multikey"
    assert method["publicKeyMultibase"] == did.removeprefix("did:key:")
    secp256k1 = "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"
    refused = client.get(f"/1.0/identifiers/{secp256k1}")
    assert (refused.status_code, refused.json()["error"]) == (501, "unsupportedPublicKeyType")


def test_a_fully_percent_encoded_did_url_is_decoded_once(client: TestClient) -> None:
    fully = DELEGATE.replace(":", "%3A").replace("#", "%23")
    answer = client.get(f"/1.0/identifiers/{fully}")
    assert answer.status_code == 200
    assert answer.json()["id"] == DELEGATE
