"""A credential built to make canonicalization explode is refused within bounds.

RDFC-1.0 tells blank nodes apart by hashing their surroundings; when many blank nodes are all
alike and all linked to each other ("poison" datasets, RDFC-1.0 section 7) labelling explores
factorially many permutations, and a verifier that runs it unbounded hangs on one anonymous
request. The node caps that work (node/credentials/rdfc.py) and the proof check fails with
`canonicalization_too_complex`.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.verification.checks.proof import check_proof

ALIKE = 9


def poisoned_credential() -> dict[str, Any]:
    """Nine achievements, blank nodes each `related` to all the others, identical otherwise."""
    labels = [f"_:k{i}" for i in range(ALIKE)]
    achievements = [
        {
            "id": label,
            "type": ["Achievement"],
            "name": "Same",
            "related": [{"id": other} for other in labels if other != label],
        }
        for label in labels
    ]
    first = dict(achievements[0], related=achievements[1:])
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:5e0c5b1e-6f3c-4f0e-9d7a-000000000001",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "did:example:issuer", "type": ["Profile"]},
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"type": ["AchievementSubject"], "achievement": first},
        "proof": [
            {
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-rdfc-2022",
                "created": "2025-01-01T00:00:00Z",
                "verificationMethod": "did:example:issuer#key-1",
                "proofPurpose": "assertionMethod",
                "proofValue": "z" + "1" * 86,
            }
        ],
    }


def test_a_poison_credential_fails_its_proof_check_with_a_stable_code() -> None:
    check = check_proof(poisoned_credential(), Ed25519PrivateKey.generate().public_key())
    assert check.as_json()["status"] == "failed"
    assert check.as_json()["code"] == "canonicalization_too_complex"
