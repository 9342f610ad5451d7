"""Specifications for the consortium's registry in the ecosystem's protocols: two member nodes,
threshold two, govern one issuer through accreditation (with metadata and a did:web alias),
suspension, reinstatement and removal; every member node serves OpenID Federation, TRQP, the
EBSI TIR API and the DCC list from the chain alone, and TRQP answers for any past instant.

One chain story per module (the `story` fixture); each stage's answers are recorded after the
members' registry indexes caught up, and the tests below read them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest
from eth_hash.auto import keccak
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.chain.anvil import DEFAULT_CHAIN_ID, AnvilProcess, dev_accounts
from node.chain.client import ChainClient
from node.chain.contracts.types import credential_type_id
from node.chain.deploy import deploy_all
from node.chain.sender import TransactionSender
from node.config import Settings
from node.did.identifier import format_ethr_did
from node.registry.jose import decode_unverified, verify_jws
from node.wiring.bootstrap import ensure_admin_key, ensure_registry_key
from node.wiring.runtime import Node
from tests.support.trqp_schemas import (
    AUTHORIZATION_REQUEST,
    AUTHORIZATION_RESPONSE,
    RECOGNITION_RESPONSE,
)

pytestmark = pytest.mark.anvil

ALIAS = "did:web:registrar.tech-college.example"
METADATA = {
    "organization_name": "Tech College",
    "legal_name": "Board of Trustees of Tech College",
    "homepage_uri": "https://tech-college.example",
    "logo_uri": "https://tech-college.example/logo.png",
    "location": "Boston, MA, USA",
    "ctid": "ce-e8a41a52-6ff6-48f0-9872-889c87b093b7",
    "rorid": "https://ror.org/042nb2s44",
}
OB, CLR = "OpenBadgeCredential", "ClrCredential"
STAGES = ("before", "accredited", "suspended", "reinstated", "removed")


class Member:
    """A member's node and an API client with its admin key."""

    def __init__(self, node: Node) -> None:
        self.node = node
        key = ensure_admin_key(node)
        self.api = TestClient(create_app(node), headers={"Authorization": f"Bearer {key}"})

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.api.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result


@dataclass
class Story:
    a: Member
    b: Member
    chain: ChainClient
    issuer: str
    instants: dict[str, int] = field(default_factory=dict)
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    proposal: dict[str, Any] = field(default_factory=dict)

    @property
    def did(self) -> str:
        return format_ethr_did(DEFAULT_CHAIN_ID, self.issuer)

    @property
    def authority(self) -> str:
        return self.a.node.registry.consortium.authority_id


def quiet_instant(chain: ChainClient) -> int:
    """An instant 50 s after the last action and 50 s before the next one."""
    chain.request("evm_increaseTime", [50])
    chain.request("evm_mine", [])
    instant = int(chain.block("latest")["timestamp"])  # type: ignore[index]
    chain.request("evm_increaseTime", [50])
    chain.request("evm_mine", [])
    return instant


def decide(story: Story, body: dict[str, Any]) -> dict[str, Any]:
    """Propose on member A, approve and execute on member B (2 of 2)."""
    proposal = story.a.post("/v1/governance/proposals", body)
    proposal_id = proposal["id"]
    story.b.post(f"/v1/governance/proposals/{proposal_id}/approve")
    story.b.post(f"/v1/governance/proposals/{proposal_id}/execute")
    return proposal


def record(story: Story, stage: str) -> None:
    """What both members' registries say now, after their indexes caught up."""
    for member in (story.a, story.b):
        member.node.registry_indexer.poll_once()
    a, b = story.a.api, story.b.api
    story.seen[stage] = {
        "list_a": a.get("/federation/list").json(),
        "list_b": b.get("/federation/list").json(),
        "fetch_ethr": a.get("/federation/fetch", params={"sub": story.did}),
        "fetch_alias": b.get("/federation/fetch", params={"sub": ALIAS}),
        "dcc": a.get("/federation/registry.json").json(),
        "tir_attributes": a.get(
            f"/trusted-issuers-registry/v5/issuers/{story.did}/attributes"
        ).json(),
    }


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    tmp = tmp_path_factory.mktemp("registry")
    accounts = dev_accounts(10)
    with AnvilProcess(accounts=10) as process:
        chain = ChainClient(process.rpc_url, expected_chain_id=DEFAULT_CHAIN_ID)
        operators = accounts[2:4]
        deployment = deploy_all(
            TransactionSender(chain, operators[0]),
            members=[o.address for o in operators],
            threshold=2,
            proposal_lifetime=3600,
        )
        deployment_file = tmp / "deployment.json"
        deployment.save(deployment_file)
        members = []
        for index, operator in enumerate(operators):
            settings = Settings(
                data_dir=tmp / f"member-{index}",
                rpc_url=process.rpc_url,
                deployment_file=deployment_file,
                account_key="0x" + operator.key.hex(),
                confirmations=0,
                public_url=f"https://member-{index}.consortium.example",
                registry_name="Example Credentials Consortium",
            )
            members.append(Member(Node.open(settings)))
        try:
            story = Story(members[0], members[1], chain, accounts[6].address.lower())
            for member in members:
                assert ensure_registry_key(member.node)
            story.instants["before"] = quiet_instant(chain)
            record(story, "before")
            story.proposal = decide(
                story,
                {
                    "action": "accredit_issuer",
                    "target": story.issuer,
                    "credential_types": [OB],
                    "metadata": METADATA,
                    "aliases": [ALIAS.replace("registrar", "Registrar")],
                },
            )
            story.instants["accredited"] = quiet_instant(chain)
            record(story, "accredited")
            for action, stage in (
                ("suspend_issuer", "suspended"),
                ("reinstate_issuer", "reinstated"),
                ("remove_issuer", "removed"),
            ):
                decide(story, {"action": action, "target": story.issuer})
                story.instants[stage] = quiet_instant(chain)
                record(story, stage)
            yield story
        finally:
            for member in members:
                member.node.close()


# -- governance: the metadata is what members vote on --------------------------------------------


def test_an_accreditation_proposal_publishes_the_metadata_and_aliases_members_vote_on(
    story: Story,
) -> None:
    proposal = story.proposal
    document = proposal["metadata_document"]
    assert proposal["metadata_hash"] == "0x" + keccak(document.encode()).hex()
    assert proposal["metadata"]["organization_name"] == "Tech College"
    assert proposal["metadata"]["rorid"] == "042nb2s44"  # normalized from the ROR URL
    assert proposal["aliases"] == [ALIAS]  # the did:web host is proposed lowercase
    # Member B sees the same published text when it approves.
    seen_by_b = story.b.api.get(f"/v1/governance/proposals/{proposal['id']}").json()
    assert seen_by_b["metadata_document"] == document


@pytest.mark.parametrize(
    "body",
    [
        {"metadata": {**METADATA, "homepage_uri": "http://plain.example"}},
        {"metadata": {**METADATA, "ctid": "not-a-ctid"}},
        {"metadata": {"organization_name": "X", "extra": "field"}},
        {"aliases": ["not a did"]},
        {"aliases": [f"did:web:{i}.example" for i in range(9)]},
    ],
)
def test_invalid_issuer_metadata_or_aliases_are_refused_before_anything_is_sent(
    story: Story, body: dict[str, Any]
) -> None:
    response = story.a.api.post(
        "/v1/governance/proposals",
        json={"action": "accredit_issuer", "target": story.issuer, **body},
    )
    assert response.status_code == 422, response.text


def test_metadata_belongs_to_accreditation_proposals_only(story: Story) -> None:
    response = story.a.api.post(
        "/v1/governance/proposals",
        json={"action": "suspend_issuer", "target": story.issuer, "aliases": [ALIAS]},
    )
    assert response.status_code == 422


# -- OpenID Federation (DCC profile) --------------------------------------------------------------


def entity_configuration(member: Member) -> dict[str, Any]:
    response = member.api.get("/.well-known/openid-federation")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/entity-statement+jwt")
    header, claims = decode_unverified(response.text)
    assert header["typ"] == "entity-statement+jwt"
    verify_jws(response.text, claims["jwks"]["keys"], typ="entity-statement+jwt")
    return claims


def test_each_member_publishes_a_self_signed_entity_configuration_naming_its_endpoints(
    story: Story,
) -> None:
    claims = entity_configuration(story.a)
    entity = "https://member-0.consortium.example"
    assert claims["iss"] == claims["sub"] == entity
    federation = claims["metadata"]["federation_entity"]
    assert federation["federation_fetch_endpoint"] == f"{entity}/federation/fetch"
    assert federation["federation_list_endpoint"] == f"{entity}/federation/list"
    assert federation["organization_name"] == "Example Credentials Consortium"
    binding = claims["chain_binding"]
    assert binding["authority_id"] == story.authority
    assert binding["member"] == story.a.node.operator.address.lower()
    # Another member signs with its own key but speaks for the same consortium.
    other = entity_configuration(story.b)
    assert other["jwks"] != claims["jwks"]
    assert other["chain_binding"]["authority_id"] == story.authority


def test_the_signing_key_is_bound_on_chain_to_a_current_member(story: Story) -> None:
    from node.registry.jose import b64url_decode
    from node.registry.keys import key_bound

    node = story.a.node
    jwk = entity_configuration(story.a)["jwks"]["keys"][0]
    assert key_bound(node.chain, node.contracts, node.operator.address, b64url_decode(jwk["x"]))
    assert node.operator.address in node.contracts.issuer_registry.members()


def test_an_accredited_issuer_is_listed_under_its_did_ethr_and_alias_by_every_member(
    story: Story,
) -> None:
    seen = story.seen["accredited"]
    assert seen["list_a"] == seen["list_b"] == [story.did, ALIAS]
    for name, sub in (("fetch_ethr", story.did), ("fetch_alias", ALIAS)):
        response = seen[name]
        assert response.status_code == 200
        header, claims = decode_unverified(response.text)
        assert header["typ"] == "entity-statement+jwt"
        assert claims["sub"] == sub
        assert claims["metadata"] == {
            "federation_entity": {
                "organization_name": "Tech College",
                "homepage_uri": "https://tech-college.example",
                "logo_uri": "https://tech-college.example/logo.png",
                "location": "Boston, MA, USA",
            },
            "institution_additional_information": {
                "legal_name": "Board of Trustees of Tech College"
            },
            "credential_registry_entity": {
                "ctid": "ce-e8a41a52-6ff6-48f0-9872-889c87b093b7",
                "ce_url": "https://credentialengineregistry.org/resources/"
                "ce-e8a41a52-6ff6-48f0-9872-889c87b093b7",
            },
            "ror_entity": {"rorid": "042nb2s44", "ror_url": "https://ror.org/042nb2s44"},
        }
        assert claims["accredited_for"] == [OB]
        assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize("stage", ["before", "suspended", "removed"])
def test_an_issuer_not_in_good_standing_is_not_listed_and_fetch_answers_404(
    story: Story, stage: str
) -> None:
    seen = story.seen[stage]
    assert seen["list_a"] == seen["list_b"] == []
    for name in ("fetch_ethr", "fetch_alias"):
        response = seen[name]
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert seen["dcc"]["registry"] == {}


def test_a_reinstated_issuer_is_listed_again(story: Story) -> None:
    assert story.seen["reinstated"]["list_a"] == [story.did, ALIAS]
    assert story.seen["reinstated"]["fetch_alias"].status_code == 200


def test_fetch_without_sub_is_an_openid_federation_invalid_request(story: Story) -> None:
    response = story.a.api.get("/federation/fetch")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_the_dcc_legacy_list_names_each_listed_did(story: Story) -> None:
    dcc = story.seen["accredited"]["dcc"]
    entry = {"name": "Tech College", "location": "Boston, MA, USA", "url": METADATA["homepage_uri"]}
    assert dcc["registry"] == {story.did: entry, ALIAS: entry}
    assert set(dcc["meta"]) == {"created", "updated"}


# -- EBSI Trusted Issuers Registry ----------------------------------------------------------------


def test_the_tir_attribute_is_the_consortium_decision_scoped_to_credential_types(
    story: Story,
) -> None:
    attributes = story.seen["accredited"]["tir_attributes"]
    assert attributes["total"] == 1
    item = attributes["items"][0]
    assert item["id"] == f"{story.proposal['id']:064x}"
    response = story.a.api.get(item["href"].removeprefix("https://member-0.consortium.example"))
    assert response.status_code == 200, response.text
    document = response.json()
    attribute = document["attribute"]
    assert attribute["issuerType"] == "Revoked" and attribute["status"] == "removed"  # now
    assert attribute["tao"] == attribute["rootTao"] == story.authority
    keys = entity_configuration(story.a)["jwks"]["keys"]
    body = verify_jws(attribute["body"], keys)
    assert body["sub"] == story.did
    accredited_for = body["vc"]["credentialSubject"]["accreditedFor"]
    assert accredited_for[0]["types"] == ["VerifiableCredential", OB]
    import hashlib

    assert attribute["hash"] == hashlib.sha256(attribute["body"].encode()).hexdigest()


def test_the_tir_lists_issuers_in_pages_and_answers_404_for_strangers(story: Story) -> None:
    page = story.a.api.get("/trusted-issuers-registry/v5/issuers", params={"page[size]": 1}).json()
    assert page["total"] == 2 and page["pageSize"] == 1 and len(page["items"]) == 1
    assert page["links"]["next"].endswith("page[after]=2&page[size]=1")
    issuer = story.a.api.get(f"/trusted-issuers-registry/v5/issuers/{ALIAS}").json()
    assert issuer == {
        "did": ALIAS,
        "attributes": f"https://member-0.consortium.example/trusted-issuers-registry/v5/issuers/"
        f"{ALIAS}/attributes",
        "hasAttributes": True,
    }
    stranger = story.a.api.get("/trusted-issuers-registry/v5/issuers/did:web:nobody.example")
    assert stranger.status_code == 404
    assert stranger.json()["code"] == "issuer_not_found"


# -- TRQP 2.0, answered for any instant -----------------------------------------------------------

EXPECTED = {
    # stage: (did:ethr authorized, reason), (alias authorized, reason)
    "before": ((False, "never_accredited"), (False, "alias_not_bound_yet")),
    "accredited": ((True, "accredited"), (True, "accredited")),
    "suspended": ((False, "issuer_suspended"), (False, "issuer_suspended")),
    "reinstated": ((True, "accredited"), (True, "accredited")),
    "removed": ((False, "issuer_removed"), (False, "issuer_removed")),
}


def trqp_time(seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def authorization(story: Story, entity: str, resource: str, moment: int) -> dict[str, Any]:
    query = {
        "entity_id": entity,
        "authority_id": story.authority,
        "action": "issue",
        "resource": resource,
        "context": {"time": trqp_time(moment)},
    }
    jsonschema.validate(query, AUTHORIZATION_REQUEST, format_checker=jsonschema.FormatChecker())
    response = story.b.api.post("/authorization", json=query)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    jsonschema.validate(answer, AUTHORIZATION_RESPONSE, format_checker=jsonschema.FormatChecker())
    return answer


@pytest.mark.parametrize("stage", STAGES)
def test_trqp_answers_for_the_instant_asked_as_the_chain_does(story: Story, stage: str) -> None:
    moment = story.instants[stage]
    registry = story.a.node.contracts.issuer_registry
    on_chain = registry.is_accredited(story.issuer, credential_type_id(OB), moment)
    (ethr_ok, ethr_reason), (alias_ok, alias_reason) = EXPECTED[stage]
    ethr = authorization(story, story.did, OB, moment)
    alias = authorization(story, ALIAS, OB, moment)
    assert (ethr["authorized"], ethr["reason"]) == (ethr_ok, ethr_reason)
    assert ethr["authorized"] == on_chain
    assert (alias["authorized"], alias["reason"]) == (alias_ok, alias_reason)
    assert ethr["time_requested"] == ethr["time_evaluated"] == trqp_time(moment)


def test_trqp_is_not_authorized_for_a_type_the_consortium_never_granted(story: Story) -> None:
    answer = authorization(story, story.did, CLR, story.instants["accredited"])
    assert (answer["authorized"], answer["reason"]) == (False, "not_accredited_for_type")


def test_trqp_without_a_time_answers_for_now(story: Story) -> None:
    response = story.a.api.post(
        "/authorization",
        json={
            "entity_id": story.did,
            "authority_id": story.authority,
            "action": "issue",
            "resource": OB,
        },
    )
    answer = response.json()
    assert answer["authorized"] is False and "time_requested" not in answer
    jsonschema.validate(answer, AUTHORIZATION_RESPONSE)


def test_trqp_evidence_names_the_grant_and_the_contract_call_that_decides(story: Story) -> None:
    moment = story.instants["accredited"]
    response = story.a.api.post(
        "/authorization?evidence=true",
        json={
            "entity_id": ALIAS,
            "authority_id": story.authority,
            "action": "issue",
            "resource": OB,
            "context": {"time": trqp_time(moment)},
        },
    )
    evidence = response.json()["evidence"]
    assert evidence["chainId"] == DEFAULT_CHAIN_ID
    assert evidence["contract"] == story.a.node.deployment.issuer_registry.lower()
    decision = evidence["decision"]
    assert decision["grant"]["index"] == 0
    assert decision["grant"]["grantedBy"]["proposalId"] == story.proposal["id"]
    assert decision["status"]["status"] == "active"
    type_id = "0x" + credential_type_id(OB).hex()
    assert decision["contractCall"]["args"] == [story.issuer, type_id, moment]
    assert evidence["aliasBinding"]["alias"] == ALIAS
    # The indexed block is a block of this chain, with this hash.
    block = story.chain.block(evidence["indexedBlock"]["number"])
    assert block is not None
    assert "0x" + bytes(block["hash"]).hex() == evidence["indexedBlock"]["hash"]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"authority_id": "did:web:another-consortium.example"}, 404, "unknown_authority"),
        ({"action": "verify"}, 404, "unknown_assertion"),
        ({"entity_id": "did:web:nobody.example"}, 404, "subject_not_found"),
        ({"context": {"time": "2026-01-01T00:00:00+01:00"}}, 400, "invalid_time"),
        ({"context": {"time": "yesterday"}}, 400, "invalid_time"),
    ],
)
def test_trqp_refuses_what_it_cannot_answer_with_a_problem(
    story: Story, change: dict[str, Any], status: int, code: str
) -> None:
    query = {
        "entity_id": story.did,
        "authority_id": story.authority,
        "action": "issue",
        "resource": OB,
        **change,
    }
    response = story.a.api.post("/authorization", json=query)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_trqp_recognition_names_the_members_of_the_consortium_at_the_time(story: Story) -> None:
    def recognized(entity: str, moment: int) -> bool:
        response = story.a.api.post(
            "/recognition",
            json={
                "entity_id": entity,
                "authority_id": "https://member-0.consortium.example",
                "action": "govern",
                "resource": "issuer-accreditation",
                "context": {"time": trqp_time(moment)},
            },
        )
        assert response.status_code == 200, response.text
        jsonschema.validate(response.json(), RECOGNITION_RESPONSE)
        return bool(response.json()["recognized"])

    member = format_ethr_did(DEFAULT_CHAIN_ID, story.b.node.operator.address)
    assert recognized(member, story.instants["accredited"])
    assert not recognized(story.did, story.instants["accredited"])


def test_registry_answers_are_the_same_json_on_every_member_node(story: Story) -> None:
    body = {
        "entity_id": story.did,
        "authority_id": story.authority,
        "action": "issue",
        "resource": OB,
        "context": {"time": trqp_time(story.instants["reinstated"])},
    }
    a = story.a.api.post("/authorization", json=body).json()
    b = story.b.api.post("/authorization", json=body).json()
    assert a == b
    assert json.dumps(story.seen["removed"]["dcc"]["registry"]) == "{}"
