"""A varied corpus of what issuers submit: every result kind, alignment target type, identifier
type (hashed and plain, plus the legacy `studentId` spelling), achievement type, images, evidence,
validity and activity dates, and text in many scripts (RTL, CJK, combining marks, emoji).

Shared by the conformance tests: `test_ob3_schema.py` issues it through the issuance service and
validates every credential against 1EdTech's schemas; `test_node_interop.py` hands a part of it to
Digital Bazaar's verifier.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from node.credentials.inputs import (
    AchievementType,
    AlignmentTargetType,
    CredentialInput,
    IdentityType,
    LearnerInput,
    ResultStatus,
)

#: Text that exercises JSON, JCS and N-Quads escaping and non-Latin scripts.
TEXTS = (
    "Álgebra lineal — 线性代数",
    "شهادة إتمام الدورة",  # Arabic (RTL)
    "תעודת סיום",  # Hebrew (RTL)
    "Zoë Çelik-Øster 🎓✨",
    'e\u0301cole (combining accent), tab\tand\nnewline, "quotes" and \\ backslash',
    "日本語のバッジ · 한국어 배지",
    "\u202eright-to-left override and zero\u200bwidth space",
)
DATA_IMAGE = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
VALID_FROM = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _achievement(n: int, achievement_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "achievement_type": achievement_type,
        "name": TEXTS[n % len(TEXTS)],
        "description": f"{TEXTS[(n + 1) % len(TEXTS)]} — achievement {n}",
        "criteria_narrative": "Pass the **final** exam",
        **extra,
    }


def _results() -> list[list[dict[str, Any]]]:
    """One list per result kind: a value, each status, a rubric level, a result description."""
    kinds: list[list[dict[str, Any]]] = [
        [{"value": "9.5"}],
        [{"value": "A+", "status": "Completed"}],
    ]
    kinds += [[{"status": status.value}] for status in ResultStatus]
    kinds.append([{"status": "Withdrawn"}])  # the spelling older clients send
    kinds.append(
        [
            {"achieved_level": "urn:uuid:d05a0867-d0ad-4b03-bdb5-28fb5d2aab7a"},
            {"result_description": "urn:uuid:f6ab24cd-86e8-4eaf-b8c6-ded74e8fd41c", "value": "B"},
        ]
    )
    return kinds


def _identifiers() -> list[list[dict[str, Any]]]:
    """Every OB 3.0 identifier type, hashed and plain, an extension and `studentId`."""
    types = [t.value for t in IdentityType] + ["ext:MatriculationNumber", "studentId"]
    return [
        [{"identity_type": t, "value": f"{t}-00{n}", "hashed": n % 2 == 0}]
        for n, t in enumerate(types)
    ]


def single_inputs() -> list[CredentialInput]:
    """Credentials issued one request at a time: one per variation, varied together."""
    achievement_types = [t.value for t in AchievementType] + ["ext:Apprenticeship"]
    target_types = [t.value for t in AlignmentTargetType] + [None]
    results, identifiers = _results(), _identifiers()
    count = 3 * max(len(achievement_types), len(results), len(identifiers))
    inputs: list[CredentialInput] = []
    for n in range(count):
        achievement = _achievement(
            n,
            achievement_types[n % len(achievement_types)],
            alignments=[
                {
                    "target_name": TEXTS[n % len(TEXTS)],
                    "target_url": f"https://credentialengineregistry.org/resources/ce-{n}",
                    "target_type": target_types[n % len(target_types)],
                    "target_code": f"C{n}",
                    "target_framework": "ESCO",
                    "target_description": TEXTS[(n + 2) % len(TEXTS)],
                }
            ]
            if n % 3
            else [],
            credits_available=(7.5, 0, 120, 0.25, None)[n % 5],
            field_of_study="Mathematics" if n % 2 else None,
            tags=["math", TEXTS[n % len(TEXTS)][:12]] if n % 4 == 0 else [],
            image=(
                None,
                {"id": f"https://uni.example/badges/{n}.png"},
                {"id": DATA_IMAGE, "caption": TEXTS[n % len(TEXTS)]},
            )[n % 3],
            criteria_id=f"https://uni.example/criteria/{n}" if n % 5 == 0 else None,
        )
        learner: dict[str, Any] = {
            "identifiers": identifiers[n % len(identifiers)],
            "name": TEXTS[(n + 3) % len(TEXTS)] if n % 2 else None,
        }
        if n % 3 == 0:
            learner["id"] = f"did:key:z6MkLearner{n}"
        if n % 4 != 1:
            learner["email"] = f"learner{n}@example.org"
            learner["hash_email"] = n % 2 == 0
        fields: dict[str, Any] = {
            "learner": learner,
            "achievement": achievement,
            "results": results[n % len(results)],
            "valid_from": VALID_FROM,
        }
        if n % 2:
            fields["valid_until"] = datetime(2030, 1, 1, tzinfo=UTC)
            fields["evidence"] = [
                {"id": f"https://uni.example/evidence/{n}", "name": TEXTS[n % len(TEXTS)]},
                {"narrative": "Portfolio reviewed", "genre": "Portfolio", "description": "x"},
            ]
        if n % 3 == 1:
            fields["activity_start_date"] = "2024-09-01"
            fields["activity_end_date"] = "2025-02-28T17:00:00+01:00"
            fields["role"] = "Teaching assistant"
        if n % 5 == 2:
            fields["name"] = f"{TEXTS[n % len(TEXTS)]} (credential name)"
            fields["description"] = TEXTS[(n + 4) % len(TEXTS)]
        inputs.append(CredentialInput.model_validate(fields))
    return inputs


COHORT_TEMPLATE: dict[str, Any] = {
    "achievement": _achievement(
        1,
        "Certificate",
        image={"id": "https://uni.example/welding.svg", "caption": "Welding"},
        alignments=[{"target_name": "Welding", "target_url": "https://esco.example/s/1"}],
    ),
    "valid_from": VALID_FROM.isoformat(),
}
COHORT_CSV = (
    "name,email,student_id,result,result_status,activity_start_date,activity_end_date\n"
    "Ada Lovelace,ada@example.edu,S-001,9.5,Completed,2024-09-01,2025-01-31\n"
    "محمد علي,mohammed@example.edu,S-002,7,Completed,,\n"
    "Zoë 🎓,,S-003,,InProgress,2024-09-01,\n"
    "李雷,lei@example.edu,,,Withdrew,,\n"
)


def clr_parts() -> tuple[LearnerInput, list[CredentialInput]]:
    """A transcript: three courses of one learner (each issued as its own credential)."""
    learner = LearnerInput.model_validate(
        {
            "id": "did:key:z6MkTranscriptLearner",
            "email": "learner@example.edu",
            "identifiers": [{"identity_type": "sisSourcedId", "value": "S-42", "hashed": False}],
        }
    )
    courses = [
        CredentialInput.model_validate(
            {
                "learner": learner.model_dump(),
                "achievement": _achievement(n, "Course", credits_available=(6, 7.5, 3)[n]),
                "results": [{"value": ("A", "B+", "9.0")[n], "status": "Completed"}],
                "activity_start_date": "2024-09-01",
                "activity_end_date": "2025-01-31",
                "valid_from": VALID_FROM,
            }
        )
        for n in range(3)
    ]
    return learner, courses


VC2 = "https://www.w3.org/ns/credentials/v2"
#: Documents whose canonical form splits careless implementations (controls, languages,
#: directions, duplicates): every processor must write them byte for byte alike.
TRICKY_DOCUMENTS: list[dict[str, Any]] = [
    {
        "@context": [VC2],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000001",
        "name": 'controls: \b \f \x00 \x01 \x1f \x7f tab\t nl\n cr\r quote" bs\\ é 😀 \u2028',
        "description": {"@value": "مرحبا", "@language": "AR", "@direction": "rtl"},
    },
    {
        "@context": [VC2],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000002",
        "description": [
            {"@value": "no language, direction only", "@direction": "ltr"},
            {"@value": "English", "@language": "en-GB"},
        ],
    },
    {
        "@context": [
            VC2,
            {
                "ex": "https://example.org/vocab#",
                "n": {"@id": "ex:n"},
                "f": {"@id": "ex:f", "@type": "http://www.w3.org/2001/XMLSchema#double"},
                "blob": {"@id": "ex:blob", "@type": "@json"},
            },
        ],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000003",
        "n": [0, -7, 5.0, 1.5, 1e21, 2.5e-7, 123456789012, True, False],
        "f": [1, 0.1, 100.0],
        "blob": {"b": [1, 2.0, "x"], "a": None, "é": "\u0001"},
    },
    {
        # isomorphic blank nodes: labelling must agree on the hard part of RDFC-1.0
        "@context": [VC2],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000004",
        "type": ["VerifiableCredential"],
        "credentialSubject": [
            {"name": "twin", "description": "x"},
            {"name": "twin", "description": "x"},
            {"name": "other"},
        ],
    },
]
