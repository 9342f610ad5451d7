"""A did:key holder in Python: signs DIDAuth presentations (Data Integrity, eddsa-rdfc-2022)
and OpenID4VCI proof JWTs, and issues credentials to offer. Used for the refusal cases; the
interop tests play the wallets with their own JavaScript libraries."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from node.credentials.multikey import encode_public_key

VP_CONTEXT = ["https://www.w3.org/ns/credentials/v2"]


@dataclass
class Holder:
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def did(self) -> str:
        return "did:key:" + encode_public_key(self.key.public_key())

    @property
    def key_id(self) -> str:
        return f"{self.did}#{self.did.removeprefix('did:key:')}"

    def did_auth(
        self, challenge: str, domain: str | None = None, *, signer: Holder | None = None
    ) -> dict[str, Any]:
        """An empty VP for DID authentication; `signer` signs it while claiming this holder."""
        presentation = {
            "@context": VP_CONTEXT,
            "type": ["VerifiablePresentation"],
            "holder": self.did,
        }
        by = signer or self
        return _sign_auth(presentation, by.key, self.key_id, challenge, domain)

    def proof_jwt(
        self,
        *,
        audience: str,
        nonce: str | None,
        iat: float | None = None,
        signer: Holder | None = None,
    ) -> str:
        header = {"typ": "openid4vci-proof+jwt", "alg": "EdDSA", "kid": self.key_id}
        payload: dict[str, Any] = {"aud": audience, "iat": int(iat or time.time())}
        if nonce is not None:
            payload["nonce"] = nonce
        signing_input = f"{_b64(header)}.{_b64(payload)}"
        signature = (signer or self).key.sign(signing_input.encode())
        return signing_input + "." + base64.urlsafe_b64encode(signature).decode().rstrip("=")


def _sign_auth(
    presentation: dict[str, Any],
    key: Ed25519PrivateKey,
    key_id: str,
    challenge: str,
    domain: str | None,
) -> dict[str, Any]:
    """A Data Integrity proof with challenge/domain: they are proof options, so they are part
    of the signed proof configuration."""
    from datetime import UTC, datetime

    from node.credentials import proofs

    proof: dict[str, Any] = {
        "type": proofs.PROOF_TYPE,
        "cryptosuite": "eddsa-rdfc-2022",
        "created": proofs.xsd_datetime(datetime.now(UTC)),
        "verificationMethod": key_id,
        "proofPurpose": "authentication",
        "challenge": challenge,
    }
    if domain is not None:
        proof["domain"] = domain
    config = {"@context": presentation["@context"], **proof}
    hash_data = proofs._hash_data(
        proofs.Cryptosuite.EDDSA_RDFC_2022, presentation, config, proofs.offline_document_loader
    )
    from node.credentials.multikey import base58btc_multibase

    return {
        **presentation,
        "proof": {**proof, "proofValue": base58btc_multibase(key.sign(hash_data))},
    }


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def issue(api: TestClient, name: str = "Ada Lovelace", **learner: Any) -> str:
    """Issue one credential through the institution's API; its id."""
    body = {
        "credential": {
            "learner": {"name": name, "email": "ada@example.edu", **learner},
            "achievement": {
                "name": "Analytical Engines 101",
                "description": "Programs for the Analytical Engine",
                "criteria_narrative": "Wrote the first program",
                "achievement_type": "Course",
            },
        },
        "anchor_now": True,
    }
    response = api.post("/v1/credentials", json=body)
    assert response.status_code == 201, response.text
    credential_id: str = response.json()["credentials"][0]["id"]
    return credential_id


def offer(api: TestClient, credential_id: str, **options: Any) -> dict[str, Any]:
    response = api.post("/v1/offers", json={"credential_ids": [credential_id], **options})
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()["offers"][0]
    return made
