"""Trust over IP's Trust Registry Query Protocol (TRQP) 2.0 answered from the chain's history.

TRQP asks in the PARC model (Principal, Action, Resource, Context):

- **authorization**: "was `entity_id` authorized by `authority_id` to `action` `resource` at
  `context.time`?" Here: action `issue`, resource a credential type (`OpenBadgeCredential`,
  `ClrCredential`, or a 0x type id), entity a did:ethr of this chain or an alias the consortium
  bound. The answer is the IssuerRegistry's `isAccredited(issuer, type, time)` for the instant
  asked, replayed from the indexed history with the reason and the entries behind it; TRQP lists
  time semantics as an open question, a chain answers it exactly. An alias answers only from
  the block that bound it.
- **recognition**: "does `authority_id` recognize `entity_id` for `action` `resource`?" Here:
  action `govern`, resource `issuer-accreditation`: the consortium recognizes its members (their
  did:ethr) as the authorities whose votes make the registry, historically too.

`authority_id` is the consortium's id, the same on every member node: `eip155:<chain>:<registry>`
(this node's OpenID Federation entity id is accepted as well). Shapes follow the TRQP 2.0 JSON
schemas (required `entity_id`, `authority_id`, `action`, `resource`, `time_evaluated` and
`authorized`/`recognized`); `reason` and `evidence` are additional members.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from node.errors import LernodeError, NotFound
from node.registry.evidence import grant_json, ref_json, status_json
from node.registry.service import ConsortiumRegistry, type_label

ISSUE_ACTION = "issue"
GOVERN_ACTION = "govern"
GOVERN_RESOURCE = "issuer-accreditation"

_RFC3339_UTC = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z$", re.ASCII)

_REASONS = {
    "accredited": "was accredited for {type} by the consortium",
    "never_accredited": "had never been accredited by the consortium",
    "issuer_suspended": "was suspended by the consortium",
    "issuer_removed": "had been removed by the consortium",
    "not_accredited_for_type": "was not accredited for {type}",
    "accreditation_not_in_force": "held an accreditation for {type} outside its validity window",
    "alias_not_bound_yet": "was not yet bound by the consortium to the issuer it names now",
}


class TrqpBadRequest(LernodeError):
    code = "invalid_trqp_query"
    title = "Invalid TRQP query"
    status = 400


class UnknownAuthority(NotFound):
    code = "unknown_authority"


class UnknownAssertion(NotFound):
    code = "unknown_assertion"


def parse_time(value: str) -> int:
    """RFC 3339 in UTC (`Z` only, as TRQP requires) to unix seconds (fractions dropped)."""
    match = _RFC3339_UTC.match(value)
    if match is None:
        raise TrqpBadRequest(
            "context.time must be an RFC 3339 date-time in UTC ending in Z", code="invalid_time"
        )
    try:
        moment = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise TrqpBadRequest("context.time is not a valid date-time", code="invalid_time") from None
    return int(moment.timestamp())


def rfc3339(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Trqp:
    """Evaluates TRQP queries against one consortium registry."""

    def __init__(self, registry: ConsortiumRegistry, other_authority_ids: Sequence[str]) -> None:
        self.registry = registry
        self.authority_ids = {registry.authority_id, *other_authority_ids}

    def _check_authority(self, authority_id: str) -> None:
        known = {a.lower().rstrip("/") for a in self.authority_ids}
        if authority_id.lower().rstrip("/") not in known:
            raise UnknownAuthority(
                f"this registry answers for {self.registry.authority_id} only",
                authority_id=self.registry.authority_id,
            )

    def _moment(self, context: Mapping[str, str]) -> tuple[int, str | None]:
        requested = context.get("time")
        if requested:
            return parse_time(requested), requested
        return self.registry.now(), None

    def authorization(
        self,
        *,
        entity_id: str,
        authority_id: str,
        action: str,
        resource: str,
        context: Mapping[str, str],
        evidence: bool = False,
    ) -> dict[str, Any]:
        self._check_authority(authority_id)
        if action != ISSUE_ACTION:
            raise UnknownAssertion(
                f"the consortium authorizes the action {ISSUE_ACTION!r} only", action=action
            )
        moment, requested = self._moment(context)
        answer = self.registry.authorization(entity_id, resource, moment)
        decision = answer.decision
        label = type_label(answer.credential_type)
        when = rfc3339(moment)
        sentence = _REASONS[decision.code].format(type=label)
        response: dict[str, Any] = {
            "entity_id": entity_id,
            "authority_id": authority_id,
            "action": action,
            "resource": resource,
            "authorized": decision.authorized,
            **({"time_requested": requested} if requested else {}),
            "time_evaluated": when,
            "message": f"{entity_id} {sentence} at {when}.",
            "reason": decision.code,
            "context": dict(context),
        }
        if evidence:
            proof = self.registry.evidence(self.registry.entry(entity_id)).as_json()
            proof["decision"] = {
                "credentialType": answer.credential_type,
                "time": moment,
                "authorized": decision.authorized,
                "reason": decision.code,
                "grant": grant_json(decision.grant) if decision.grant else None,
                "status": status_json(decision.status) if decision.status else None,
                # The same question asked of the contract: any RPC endpoint answers it.
                "contractCall": {
                    "function": "isAccredited(address,bytes32,uint64)",
                    "args": [answer.history.address, answer.credential_type, moment],
                },
            }
            response["evidence"] = proof
        return response

    def recognition(
        self,
        *,
        entity_id: str,
        authority_id: str,
        action: str,
        resource: str,
        context: Mapping[str, str],
        evidence: bool = False,
    ) -> dict[str, Any]:
        self._check_authority(authority_id)
        if action != GOVERN_ACTION or resource != GOVERN_RESOURCE:
            raise UnknownAssertion(
                f"the consortium recognizes its members for action {GOVERN_ACTION!r}, resource "
                f"{GOVERN_RESOURCE!r} only"
            )
        moment, requested = self._moment(context)
        member, event = self.registry.membership(entity_id, moment)
        when = rfc3339(moment)
        verb = "was" if member else "was not"
        response: dict[str, Any] = {
            "entity_id": entity_id,
            "authority_id": authority_id,
            "action": action,
            "resource": resource,
            "recognized": member,
            **({"time_requested": requested} if requested else {}),
            "time_evaluated": when,
            "message": f"{entity_id} {verb} a member of the consortium at {when}.",
            "context": dict(context),
        }
        if evidence:
            proof = self.registry.evidence().as_json()
            proof["membership"] = ref_json(event) if event else None
            response["evidence"] = proof
        return response
