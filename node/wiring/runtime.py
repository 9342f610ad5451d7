"""Assembling a running node from its settings: the one place that wires the layers together.

`Node.open(settings)` checks the data directory, unlocks the keys, migrates the database, starts
or joins the chain, loads (or on an embedded chain, makes) the contract deployment and builds the
services. The API and the CLI only ever talk to the `Node` and its services.

Longer than the ~400-line guide on purpose: it is the composition root, one short builder per
service, and seeing every edge of the object graph in one file is its point (the builders hold
no logic; each service lives in its own package).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from sqlmodel import func, select

from node import __version__
from node.anchoring.worker import AnchoringWorker, WorkerConfig
from node.chain.bindings import Contracts, Deployment, lernode_error_decoder
from node.chain.client import ChainClient, redact_url
from node.chain.deploy import deploy_all, verify_deployment
from node.chain.embedded import EmbeddedChain
from node.chain.sender import Call, TransactionSender
from node.config import Settings
from node.delivery.holder import verify_did_auth
from node.delivery.offers import DeliverySettings, OfferService
from node.delivery.oid4vci import Oid4vciIssuer
from node.did.binding import DidWebChain
from node.did.chain_resolver import ChainDidResolver
from node.did.did_key import DidKeyResolver
from node.did.hosting import DidWebHosting
from node.did.identifier import format_ethr_did
from node.did.projection import did_registry_subscription
from node.did.resolution import Resolver
from node.did.router import DidMethodRouter, HostedFirst, HostedOnly
from node.did.sources import IndexedDidSource
from node.did.web_fetch import WebDidResolver, WebPolicy
from node.errors import ChainError, ConfigurationError
from node.governance.service import GovernanceService
from node.indexing.indexer import Indexer
from node.issuance.accreditation import AccreditationGate
from node.issuance.onboarding import MIN_BALANCE, OnboardingService
from node.issuance.service import ChainInfo, IssuanceService
from node.issuance.status import StatusService
from node.keystore import (
    Ed25519Key,
    KeyStore,
    load_or_create_passphrase,
    make_private,
)
from node.registry.assembly import LazySigner, RegistryProtocols, assemble
from node.registry.federation import FederationProfile
from node.registry.foreign import FetchPolicy, GuardedFetch
from node.registry.jose import JwsSigner
from node.registry.keys import federation_key
from node.registry.projection import issuer_registry_subscription
from node.registry.service import REGISTRY_CURSOR, ConsortiumRegistry
from node.store.db import Database
from node.store.models import Credential, CredentialState, Institution
from node.verification.engine import VerificationLimits, Verifier
from node.verification.presentations import PresentationVerifier
from node.verification.readers.abi import registry_abi
from node.verification.readers.indexed import IndexedChainSource
from node.verification.readers.projection import credential_registry_subscription
from node.verification.readers.rpc import RpcChainSource
from node.wiring.health import ChainProbe

log = logging.getLogger(__name__)

OPERATOR_KEY = "operator"
KEYS_DIR = "keys"


def prepare_data_dir(path: Path) -> Path:
    """Create the data directory (0700) and prove it is writable before anything else touches
    it; what an older node left readable by others there is made private (docs/security.md)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        make_private(path, keep=path / KEYS_DIR)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"data directory {path} is not writable: {exc.strerror}", code="data_dir_unwritable"
        ) from None
    return path.resolve()


@dataclass
class Node:
    """A running node: its settings, keys, database, chain connection and contracts."""

    settings: Settings
    keystore: KeyStore
    db: Database
    chain: ChainClient
    deployment: Deployment
    contracts: Contracts
    operator: LocalAccount
    anvil: EmbeddedChain | None = None
    _senders: dict[str, TransactionSender] = field(default_factory=dict)
    _senders_lock: threading.Lock = field(default_factory=threading.Lock)
    _signing_keys: dict[str, Ed25519Key] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    # -- assembly -----------------------------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings, *, deploy_if_missing: bool | None = None) -> Node:
        """Open (and on an embedded chain, create) everything the node needs.

        Partially started pieces are stopped again when a later step fails, so a bad
        configuration never leaves an orphaned anvil behind.
        """
        data_dir = prepare_data_dir(settings.data_dir)
        passphrase = load_or_create_passphrase(data_dir, settings.key_passphrase)
        keystore = KeyStore(data_dir / KEYS_DIR, passphrase)
        keystore.check_permissions()
        operator = keystore.account(OPERATOR_KEY, settings.account_key)

        db = Database(settings.sqlalchemy_url)
        db.migrate()

        anvil: EmbeddedChain | None = None
        try:
            if settings.embedded:
                anvil = EmbeddedChain(
                    data_dir / "chain",
                    port=settings.embedded_chain_port or None,
                    chain_id=settings.embedded_chain_id,
                    extra_args=embedded_mining_args(settings.embedded_block_time),
                )
                anvil.start()
                rpc_url = anvil.rpc_url
                expected = settings.embedded_chain_id
            else:
                assert settings.rpc_url is not None
                rpc_url, expected = settings.rpc_url, settings.chain_id  # type: ignore[assignment]
            chain = ChainClient(rpc_url, expected_chain_id=expected)
            chain.connect()
            if anvil is not None:
                chain.on_receipt = anvil.make_durable
                fund_dev_account(chain, operator.address)
            durable = anvil.make_durable if anvil is not None else _nothing_to_persist
            deployment = cls._deployment(
                settings, chain, operator, deploy_if_missing=deploy_if_missing, durable=durable
            )
        except BaseException:
            if anvil is not None:
                anvil.stop()
            db.dispose()
            raise
        node = cls(
            settings=settings,
            keystore=keystore,
            db=db,
            chain=chain,
            deployment=deployment,
            contracts=Contracts(chain, deployment),
            operator=operator,
            anvil=anvil,
        )
        return node

    @staticmethod
    def _deployment(
        settings: Settings,
        chain: ChainClient,
        operator: LocalAccount,
        *,
        deploy_if_missing: bool | None,
        durable: Callable[[int], None],
    ) -> Deployment:
        path = settings.deployment_path
        if path.exists():
            deployment = Deployment.load(path)
            verify_deployment(chain, deployment)
            return deployment
        if deploy_if_missing is None:
            deploy_if_missing = settings.embedded
        if not deploy_if_missing:
            raise ConfigurationError(
                f"no contract deployment at {path}: run `lernode deploy` or set "
                "LERNODE_DEPLOYMENT_FILE to the consortium's deployment.json",
                code="not_deployed",
            )
        sender = TransactionSender(chain, operator, error_decoder=lernode_error_decoder())
        deployment = deploy_all(
            sender,
            members=[operator.address],
            threshold=1,
            proposal_lifetime=settings.proposal_lifetime,
        )
        durable(chain.latest_block())  # never a deployment.json naming contracts a crash lost
        deployment.save(path)
        return deployment

    def sender(self, account: LocalAccount) -> TransactionSender:
        """The one transaction sender for `account` (one per key keeps nonces consistent)."""
        with self._senders_lock:
            existing = self._senders.get(account.address)
            if existing is None:
                existing = TransactionSender(
                    self.chain,
                    account,
                    confirmations=self.settings.confirmations,
                    error_decoder=self.contracts.error_decoder,
                    contract_names=self.contracts.names_by_address,
                )
                self._senders[account.address] = existing
            return existing

    def start_background(self, on_chain_exit: Callable[[ChainError], None] | None = None) -> None:
        """Start the anchoring worker, the chain indexer threads and, on an embedded chain, its
        keeper (periodic saves; `on_chain_exit` is called if the chain process dies)."""
        if self.anvil is not None:
            self.anvil.watch(on_chain_exit or _log_chain_exit)
        self.worker.start()
        indexers = (("indexer", self.indexer), ("registry-indexer", self.registry_indexer))
        for name, indexer in indexers:
            thread = threading.Thread(
                target=indexer.run, args=(self._stop,), name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        """Stop background work first (it may be mid-transaction), then the chain."""
        self._stop.set()
        if "worker" in self.__dict__:
            self.worker.stop()
        for thread in self._threads:
            thread.join(10)
        if "issuance" in self.__dict__:
            self.issuance.close()
        self.db.dispose()
        if self.anvil is not None:
            self.anvil.stop()

    def make_durable(self, block_number: int) -> None:
        """Return once `block_number` survives a crash of the chain process: on the embedded
        chain, once its state file holds the block; an external chain keeps its own blocks."""
        if self.anvil is not None:
            self.anvil.make_durable(block_number)

    # -- services -----------------------------------------------------------------------------

    def now(self) -> int:
        """The chain's clock (latest block time): what contracts compare validity against."""
        latest = self.chain.block("latest")
        return int(latest["timestamp"]) if latest else 0

    def fund(self, address: str) -> None:
        """Make sure `address` can pay for gas: anvil's cheat RPC on the embedded chain,
        a transfer from the operator account on an external one (an API worker process has
        no anvil of its own, but the embedded chain still takes the cheat)."""
        if self.settings.embedded:
            fund_dev_account(self.chain, address)
            return
        if self.chain.balance(address) < MIN_BALANCE:
            self.sender(self.operator).transact(
                Call(to=to_checksum_address(address)), value=MIN_BALANCE * 10
            )

    @cached_property
    def governance(self) -> GovernanceService:
        return GovernanceService(
            self.contracts.issuer_registry, self.sender, self.now, self.deployment.block_number
        )

    @cached_property
    def onboarding(self) -> OnboardingService:
        return OnboardingService(
            self.db,
            self.chain,
            self.contracts,
            self.keystore,
            self.sender,
            self.fund,
            self.settings.base_url,
            default_signs_as=self.settings.issuer_did_method,
        )

    @cached_property
    def worker(self) -> AnchoringWorker:
        return AnchoringWorker(
            self.db,
            self.chain,
            self.contracts,
            account_for=self.onboarding.account,
            sender_for=self.sender,
            config=WorkerConfig(
                batch_size=self.settings.anchor_batch_size,
                batch_interval=self.settings.anchor_interval,
                confirmations=self.settings.confirmations,
            ),
            # Called before any `final` is recorded: on the embedded chain it persists the state.
            make_durable=self.make_durable,
        )

    @cached_property
    def issuance(self) -> IssuanceService:
        def queued(anchor_now: bool) -> None:
            if anchor_now:
                self.worker.request_flush()
            else:
                self.worker.wake.set()

        def terms_of_use(issuer: str) -> list[dict[str, Any]]:
            pointer = self.registry.tir.issuance_certificate(issuer)
            return [pointer] if pointer else []

        return IssuanceService(
            self.db,
            self.settings.base_url,
            self.signing_key,
            ChainInfo(self.deployment.chain_id, self.deployment.credential_registry.lower()),
            queued,
            terms_of_use=terms_of_use if self.settings.registry_pointer else None,
            accreditation=AccreditationGate(
                lambda address, kind: self.governance.is_accredited(address, kind, self.now())
            ),
        )

    @cached_property
    def resolver(self) -> Resolver:
        return Resolver(
            self.db,
            self.deployment.chain_id,
            self.deployment.did_registry,
            block_time=self.chain.block_timestamp,
            # The public resolver answers did:web only for DIDs this node hosts (never fetches).
            others={
                "key": DidKeyResolver(),
                # Late-bound: the hosting reads did:ethr documents through this resolver.
                "web": HostedOnly(lambda did: self.did_web_hosting.hosted_document(did)),  # noqa: PLW0108
            },
        )

    @cached_property
    def indexer(self) -> Indexer:
        deployment = self.deployment
        return Indexer(
            self.db,
            self.chain,
            [
                did_registry_subscription(deployment.did_registry),
                credential_registry_subscription(deployment.credential_registry, registry_abi()),
            ],
            start_block=deployment.block_number,
            poll_interval=0.5,
        )

    @cached_property
    def verifier(self) -> Verifier:
        return _verifier(self)

    @cached_property
    def off_chain_dids(self) -> DidMethodRouter:
        """DID documents of presentation holders and off-chain issuers: did:key (pure) and
        did:web (this node's own from its data, any other over HTTPS under the SSRF guard)."""
        web = HostedFirst(self.did_web_hosting.hosted_document, self.web_dids)
        return DidMethodRouter(others={"web": web})

    @cached_property
    def presentations(self) -> PresentationVerifier:
        return PresentationVerifier(self.verifier, self.off_chain_dids)

    @cached_property
    def status(self) -> StatusService:
        return StatusService(
            self.db,
            self.contracts.credential_registry,
            self.signing_key,
            self.worker.wake.set,
            self.issuance.status_list_url,
            self.issuance.status_list_prefix,
        )

    # -- wallet delivery (issue 13) --------------------------------------------------------------

    @cached_property
    def offers(self) -> OfferService:
        """Offers to learners' wallets. Holder presentations are checked by the delivery
        package's DIDAuth check (did:key, DataIntegrityProof or Ed25519Signature2020)."""
        return OfferService(
            self.db,
            self.issuance,
            DeliverySettings(
                base_url=self.settings.base_url,
                wallet_request_url=self.settings.wallet_request_url,
                offer_ttl=self.settings.offer_ttl,
                token_ttl=self.settings.offer_token_ttl,
            ),
            verify_did_auth,
            self.onboarding.get,
        )

    @cached_property
    def oid4vci(self) -> Oid4vciIssuer:
        def display_name() -> str:
            own = self.own_institution()
            return own.name if own is not None else "lernode"

        return Oid4vciIssuer(
            self.db, self.offers, self.offers.settings, display_name, self.offers.clock
        )

    # -- the consortium registry: OpenID Federation, TRQP, EBSI TIR (docs/design.md) ------------

    @cached_property
    def registry_indexer(self) -> Indexer:
        """Follows the IssuerRegistry's governance events with a cursor of its own, so a node
        that predates the registry backfills them from the deployment block."""
        return Indexer(
            self.db,
            self.chain,
            [issuer_registry_subscription(self.deployment.issuer_registry)],
            cursor=REGISTRY_CURSOR,
            start_block=self.deployment.block_number,
            poll_interval=0.5,
        )

    @cached_property
    def registry(self) -> RegistryProtocols:
        chain_id = self.deployment.chain_id
        consortium = ConsortiumRegistry(
            self.db,
            chain_id=chain_id,
            issuer_registry=self.deployment.issuer_registry,
            did_registry=self.deployment.did_registry,
            now=self.now,
        )
        profile = FederationProfile(
            entity_id=self.settings.base_url,
            organization_name=self.settings.registry_name,
            homepage_uri=None,
            ttl=self.settings.registry_statement_ttl,
            member=self.operator.address.lower(),
            member_did=format_ethr_did(chain_id, self.operator.address),
        )
        signer = LazySigner(lambda: JwsSigner(federation_key(self.db, self.keystore).private_key))
        fetch = GuardedFetch(
            FetchPolicy(
                allow_private=self.settings.trusted_registries_allow_private,
                http_origins=frozenset(
                    o.lower().rstrip("/") for o in self.settings.trusted_registries_http_origins
                ),
            )
        )
        return assemble(consortium, signer, profile, self.settings.trusted_registries, fetch)

    def signing_key(self, institution: Institution) -> Ed25519Key:
        """The institution's current signing key, decrypted once per process."""
        if institution.signing_key_id is None:
            raise ConfigurationError(f"{institution.did} has no signing key", code="key_missing")
        with self._senders_lock:
            key = self._signing_keys.get(institution.signing_key_id)
            if key is None:
                key = self.keystore.load_signing_key(institution.signing_key_id)
                self._signing_keys[institution.signing_key_id] = key
            return key

    # -- DIDs beyond did:ethr (docs/did-web.md) -----------------------------------------------

    @cached_property
    def ethr_documents(self) -> IndexedDidSource:
        """did:ethr documents at a block: the index, or the chain while the index lags."""
        return IndexedDidSource(
            self.resolver,
            self.indexer.position,
            self.chain.latest_block,
            ChainDidResolver(self.chain, self.contracts.did_registry),
        )

    @cached_property
    def did_web_hosting(self) -> DidWebHosting:
        """The did:web documents this node serves for its institutions."""
        return DidWebHosting(self.db, self.settings.base_url, self.ethr_documents)

    @cached_property
    def web_dids(self) -> WebDidResolver:
        """did:web documents of other hosts, fetched under the SSRF guard."""
        settings = self.settings
        policy = WebPolicy(
            allow_private=settings.did_web_allow_private,
            http_origins=frozenset(settings.did_web_http_origins),
            timeout=settings.did_web_timeout,
        )
        return WebDidResolver(policy, ttl=settings.did_web_cache_ttl)

    @cached_property
    def did_documents(self) -> DidMethodRouter:
        """Every DID method the verifier reads: did:ethr (index/chain), did:key, did:web
        (this node's own from its data, any other over HTTPS)."""
        return DidMethodRouter(self.ethr_documents, self.off_chain_dids.sources)

    @cached_property
    def did_web_chain(self) -> DidWebChain:
        """What `did_web_binding` reads: the consortium's aliases and did:ethr documents."""
        return DidWebChain.from_registry(
            self.deployment.chain_id, self.contracts.issuer_registry, self.ethr_documents
        )

    # -- facts --------------------------------------------------------------------------------

    def own_institution(self) -> Institution | None:
        with self.db.session() as session:
            return session.exec(select(Institution).order_by(Institution.id)).first()  # type: ignore[arg-type]

    @cached_property
    def chain_probe(self) -> ChainProbe:
        return ChainProbe(self.chain.rpc_url)

    def health(self) -> dict[str, Any]:
        """Never blocks on the chain for more than a probe's budget (node/wiring/health.py);
        `degraded` names what is wrong: the chain, the database, or an institution whose work
        the chain refuses."""
        problems: list[str] = []
        head = self.chain_probe.head()
        if head.problem is not None:
            problems.append(head.problem)
        database = self.db.check()
        pending = 0
        refusals: list[dict[str, Any]] = []
        if database == "ok":
            with self.db.session() as session:
                pending = session.exec(
                    select(func.count())
                    .select_from(Credential)
                    .where(Credential.state == CredentialState.PENDING)
                ).one()
            refusals = self.worker.problems()
            problems.extend(
                f"{r['work']} refused for {r['institution']}: {r['code']} "
                f"({r['count']} in a row, next attempt {r['next_attempt_at']})"
                for r in refusals
            )
        else:
            problems.append(f"database: {database}")
        institution = self.own_institution() if database == "ok" else None
        return {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "refusals": refusals,
            "chain_id": self.deployment.chain_id,
            "rpc_url": redact_url(self.chain.rpc_url),
            "latest_block": head.latest_block,
            "contracts": dict(self.deployment.addresses),
            "issuer_did": institution.did if institution else None,
            "database": database,
            "pending_anchors": pending,
            "version": __version__,
        }


def embedded_mining_args(block_time: float) -> list[str]:
    """Automine every transaction and also seal an empty block every `block_time` seconds."""
    if block_time <= 0:
        return []
    return ["--block-time", f"{block_time:g}", "--mixed-mining"]


def _nothing_to_persist(block_number: int) -> None:
    """An external chain persists its blocks itself."""


def _log_chain_exit(error: ChainError) -> None:
    log.error("the embedded chain stopped: %s", error.detail)


def fund_dev_account(chain: ChainClient, address: str, wei: int = 10**24) -> None:
    """Give a fresh key gas money on the embedded dev chain (anvil's cheat RPC; no real value)."""
    if chain.balance(address) < wei // 1000:
        chain.request("anvil_setBalance", [address, hex(wei)])


# -- verification (kept together at the end to ease merges) --------------------------------------


def _verification_source(node: Node) -> IndexedChainSource:
    """The node's chain facts: its event index, with the chain (two round trips) behind it."""
    deployment = node.deployment
    fallback = RpcChainSource(
        node.chain,
        deployment.credential_registry,
        did_registry=deployment.did_registry,
        from_block=deployment.block_number,
    )
    return IndexedChainSource(
        node.db,
        chain_id=deployment.chain_id,
        credential_registry=deployment.credential_registry,
        issuer_registry=deployment.issuer_registry,
        dids=node.resolver,
        fallback=fallback,
        cursors=(node.indexer.cursor, node.registry_indexer.cursor),
    )


def _verifier(node: Node) -> Verifier:
    """The verifier a node serves: its event index, receipts of its own credentials from its
    database; holder-supplied status lists are compared with the chain, the node's own lists
    are not re-read (they are built from the same chain words)."""
    return Verifier(
        _verification_source(node),
        node.off_chain_dids,
        anchor_lookup=node.issuance.receipt_for_hash,
        limits=VerificationLimits(cpu_seconds=node.settings.verify_cpu_seconds),
        registries=node.registry.issuers,
    )
