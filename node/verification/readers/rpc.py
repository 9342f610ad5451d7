"""Chain facts straight from a JSON-RPC endpoint, in two round trips per verification.

For a verifier with nothing but an RPC URL and the CredentialRegistry address (`lernode verify
--rpc`), and for a node whose index lags behind what a verification needs:

1. one `eth_call` of the VerificationLens (`lens.py`) reads every piece of state the plan names
   at the latest block: anchors (`anchorOf`), the issuers' accreditation and status histories,
   status words and DID aliases, plus the chain id, the block and its time and the addresses of
   the IssuerRegistry and the DID registry;
2. one JSON-RPC batch of `eth_getLogs` filters (one HTTP request) reads the issuers' ERC-1056
   change events (DID documents are replays of them) and the `Anchored` events that give each
   anchor its transaction (one filter per anchoring block the state named).

Only current state and logs are read, never state as of an old block, so a pruned node (Besu's
default, an anvil restarted from a state dump) serves it as well as an archive node. A fact the
plan did not name is read on demand (another two round trips), so the answer is always complete.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from node.chain.client import ChainClient
from node.chain.contracts.types import Grant, StatusChange
from node.did.document import AttributeChanged, DelegateChanged, DidEvent, OwnerChanged
from node.did.projection import DID_EVENTS
from node.errors import ConfigurationError
from node.indexing.indexer import DecodedLog, Subscription
from node.verification.readers.abi import RegistryAbi, address_topic, registry_abi
from node.verification.readers.facts import AnchorFact, ChainState, HistoryFacts, ReadPlan
from node.verification.readers.lens import Readings, read_state

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@dataclass
class _Snapshot:
    """Everything one round of reads returned."""

    readings: Readings
    anchors: dict[tuple[str, bytes], AnchorFact | None] = field(default_factory=dict)
    grants: dict[str, list[Grant]] = field(default_factory=dict)
    statuses: dict[str, list[StatusChange]] = field(default_factory=dict)
    words: dict[tuple[str, int, int, int], int] = field(default_factory=dict)
    aliases: dict[str, str | None] = field(default_factory=dict)
    dids: dict[str, list[DidEvent]] = field(default_factory=dict)


class RpcChainSource:
    """`ChainSource` over JSON-RPC; see the module docstring."""

    def __init__(
        self,
        client: ChainClient,
        registry_address: str,
        *,
        did_registry: str | None = None,
        from_block: int = 0,
        abi: RegistryAbi | None = None,
    ) -> None:
        if not isinstance(registry_address, str) or not _ADDRESS.fullmatch(registry_address):
            raise ConfigurationError(
                f"not a contract address: {registry_address!r}", code="invalid_registry_address"
            )
        if did_registry is not None and not _ADDRESS.fullmatch(did_registry):
            raise ConfigurationError(
                f"not a contract address: {did_registry!r}", code="invalid_registry_address"
            )
        self.client = client
        self.registry_address = registry_address.lower()
        self.did_registry = did_registry.lower() if did_registry else None
        self.from_block = from_block
        self.abi = abi or registry_abi()
        self._did_decoder = Subscription(
            name="verification-dids",
            address="0x" + "00" * 20,
            abi=self.abi.did_registry,
            events=DID_EVENTS,
            handler=lambda _session, _log: None,
            rollback=lambda _session, _block: None,
        )

    def facts_for(self, plan: ReadPlan) -> RpcFacts:
        return RpcFacts(self, self.read(plan))

    def read(self, plan: ReadPlan) -> _Snapshot:
        """Two round trips: the lens, then the logs."""
        abi = self.abi
        roots = sorted(plan.roots)
        words = sorted(plan.status_words)
        issuers = sorted(plan.issuers)
        aliases = sorted(plan.aliases)
        registry_calls = [abi.anchor_call(i, r) for i, r in roots]
        registry_calls += [abi.status_word_call(*word) for word in words]
        issuer_calls = [
            call for i in issuers for call in (abi.grants_call(i), abi.statuses_call(i))
        ]
        issuer_calls += [abi.alias_call(did) for did in aliases]
        readings = read_state(self.client, self.registry_address, registry_calls, issuer_calls)
        self._check_deployment(readings)
        snapshot = _Snapshot(readings)
        results = iter(readings.registry_results)
        for (issuer, root), data in zip(roots, results, strict=False):
            answer = abi.decode_anchor(data) if data else None
            snapshot.anchors[(issuer, root)] = (
                None
                if answer is None
                else AnchorFact(issuer, answer.timestamp, answer.block_number, answer.count, None)
            )
        for word, data in zip(words, results, strict=False):
            snapshot.words[word] = abi.decode_status_word(data) if data else 0
        answers = iter(readings.issuer_registry_results)
        for issuer in issuers:
            grants, statuses = next(answers, b""), next(answers, b"")
            snapshot.grants[issuer] = abi.decode_grants(grants) if grants else []
            snapshot.statuses[issuer] = abi.decode_statuses(statuses) if statuses else []
        for did in aliases:
            data = next(answers, b"")
            snapshot.aliases[did] = abi.decode_address(data) if data else None
        self._read_logs(snapshot, issuers)
        return snapshot

    def _check_deployment(self, readings: Readings) -> None:
        if readings.registry_code_size == 0:
            raise ConfigurationError(
                f"no contract at {self.registry_address} on this chain (chain id "
                f"{readings.chain_id})",
                code="registry_not_found",
            )
        if int(readings.issuer_registry, 16) == 0:
            raise ConfigurationError(
                f"{self.registry_address} is not a lernode CredentialRegistry (its registry() "
                "getter does not answer)",
                code="registry_not_found",
            )
        if self.did_registry is None and int(readings.did_registry, 16) == 0:
            raise ConfigurationError(
                f"{self.registry_address} names no DID registry (didRegistry()); pass it "
                "explicitly",
                code="registry_not_found",
            )

    def _read_logs(self, snapshot: _Snapshot, issuers: list[str]) -> None:
        abi, head = self.abi, snapshot.readings.block_number
        did_registry = self.did_registry or snapshot.readings.did_registry
        filters: list[dict[str, Any]] = []
        if issuers:
            filters.append(
                {
                    "address": to_checksum_address(did_registry),
                    "topics": [abi.did_topics, [address_topic(i) for i in issuers]],
                    "fromBlock": hex(self.from_block),
                    "toBlock": hex(head),
                }
            )
        filters += self._anchor_filters(snapshot, head)
        if not filters:
            return
        answers = self.client.read_batch([("eth_getLogs", [f]) for f in filters])
        for address in issuers:
            snapshot.dids[address] = []
        for raw in [log for answer in answers for log in answer or [] if not log.get("removed")]:
            self._apply_log(snapshot, raw, did_registry)
        for address in snapshot.dids:
            snapshot.dids[address].sort(key=lambda e: e.block_number)

    def _anchor_filters(self, snapshot: _Snapshot, head: int) -> list[dict[str, Any]]:
        """`Anchored` logs of the anchors found, one filter per anchoring block the state named
        (issuer and root are indexed topics)."""
        del head
        registry = to_checksum_address(self.registry_address)
        by_block: dict[int, tuple[set[str], set[str]]] = {}
        for (issuer, root), record in snapshot.anchors.items():
            if record is None or record.block is None:
                continue
            issuers, roots = by_block.setdefault(record.block, (set(), set()))
            issuers.add(address_topic(issuer))
            roots.add("0x" + root.hex())
        return [
            {
                "address": registry,
                "topics": [self.abi.anchored_topic, sorted(issuers), sorted(roots)],
                "fromBlock": hex(block),
                "toBlock": hex(block),
            }
            for block, (issuers, roots) in sorted(by_block.items())
        ]

    def _apply_log(self, snapshot: _Snapshot, raw: Mapping[str, Any], did_registry: str) -> None:
        address = str(raw.get("address", "")).lower()
        topics = [str(t).lower() for t in raw.get("topics", [])]
        if address == self.registry_address:
            found = self.abi.anchored_args(topics)
            if found is None:
                return
            key = (found[0], found[1])
            record = snapshot.anchors.get(key)
            if record is not None:
                snapshot.anchors[key] = AnchorFact(
                    record.issuer,
                    record.timestamp,
                    record.block,
                    record.count,
                    str(raw["transactionHash"]).lower(),
                )
            return
        if address != did_registry:
            return
        decoded = self._did_decoder.decode(raw, _block_time(raw))
        if decoded is not None:
            identity = str(decoded.args["identity"]).lower()
            snapshot.dids.setdefault(identity, []).append(did_event(decoded))


class RpcFacts(HistoryFacts):
    """`ChainFacts` from one snapshot, reading what it lacks on demand."""

    def __init__(self, source: RpcChainSource, snapshot: _Snapshot) -> None:
        readings = snapshot.readings
        super().__init__(
            chain_id=readings.chain_id,
            registry_address=source.registry_address,
            state=ChainState(readings.block_number, readings.block_time, "chain"),
        )
        self.source = source
        self.snapshot = snapshot

    def _more(self, plan: ReadPlan) -> _Snapshot:
        extra = self.source.read(plan)
        own = self.snapshot
        own.anchors.update(extra.anchors)
        own.grants.update(extra.grants)
        own.statuses.update(extra.statuses)
        own.words.update(extra.words)
        own.aliases.update(extra.aliases)
        own.dids.update(extra.dids)
        return own

    def anchor(self, issuer: str, root: bytes) -> AnchorFact | None:
        key = (issuer, root)
        if key not in self.snapshot.anchors:
            self._more(ReadPlan(frozenset({issuer}), frozenset({key})))
        return self.snapshot.anchors.get(key)

    def _read_grants(self, issuer: str) -> list[Grant]:
        if issuer not in self.snapshot.grants:
            self._more(ReadPlan(frozenset({issuer})))
        return self.snapshot.grants.get(issuer, [])

    def _read_statuses(self, issuer: str) -> list[StatusChange]:
        if issuer not in self.snapshot.statuses:
            self._more(ReadPlan(frozenset({issuer})))
        return self.snapshot.statuses.get(issuer, [])

    def status_word(self, issuer: str, list_number: int, purpose: int, word: int) -> int:
        key = (issuer, list_number, purpose, word)
        if key not in self.snapshot.words:
            self._more(ReadPlan(status_words=frozenset({key})))
        return self.snapshot.words.get(key, 0)

    def did_history(self, address: str) -> list[DidEvent]:
        if address not in self.snapshot.dids:
            self._more(ReadPlan(frozenset({address})))
        return self.snapshot.dids.get(address, [])

    def issuer_of_alias(self, did: str) -> str | None:
        if did not in self.snapshot.aliases:
            self._more(ReadPlan(aliases=frozenset({did})))
        return self.snapshot.aliases.get(did)


def did_event(decoded: DecodedLog) -> DidEvent:
    """One decoded ERC-1056 log as the document builder's event."""
    args, block, time = decoded.args, decoded.block_number, decoded.block_time
    if decoded.event == "DIDOwnerChanged":
        return OwnerChanged(block, time, str(args["owner"]))
    if decoded.event == "DIDDelegateChanged":
        return DelegateChanged(
            block, time, bytes(args["delegateType"]), str(args["delegate"]), int(args["validTo"])
        )
    return AttributeChanged(
        block, time, bytes(args["name"]), bytes(args["value"]), int(args["validTo"])
    )


def _block_time(raw: Mapping[str, Any]) -> int:
    """The log's block time when the node includes it (`blockTimestamp`); DID documents do not
    depend on it (validity is judged at the anchoring time), only their metadata would."""
    value = raw.get("blockTimestamp")
    try:
        return int(value, 16) if isinstance(value, str) else int(value or 0)
    except ValueError:
        return 0
