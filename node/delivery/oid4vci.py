"""OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow, `ldp_vc` format.

The node is its own authorization server. A learner's offer carries a pre-authorized code
(optionally with a numeric `tx_code` the institution sends separately); the token endpoint
exchanges it, once, for a short-lived access token; the wallet fetches a `c_nonce` from the
nonce endpoint and signs a proof JWT (`typ: openid4vci-proof+jwt`, `aud` = this credential
issuer, `nonce`, `kid` = its did:key key id); the credential endpoint checks the proof and
collects the offer bound to that DID. Errors are the spec's (`invalid_grant`, `invalid_proof`,
`invalid_nonce`, ...; `invalid_token` for the access token).

Nonces are stateless: expiry and 16 random bytes, authenticated with a node key kept in the
database (so every API worker accepts every worker's nonce) and nothing is stored per nonce —
the public nonce endpoint cannot fill a table. Replaying a proof gains nothing: the access
token is bound to one offer and an offer is collected once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from node.credentials.model import CLR_CONTEXTS, OB_CONTEXTS
from node.delivery import jws
from node.delivery.errors import HolderRefused, InvalidToken, OAuthError
from node.delivery.holder import did_of_key_id
from node.delivery.links import CONFIGURATIONS, PRE_AUTHORIZED_GRANT
from node.delivery.offers import DeliverySettings, OfferService, aware
from node.errors import LernodeError
from node.store.db import Database
from node.store.models import NodeSetting, Offer, OfferState

PROOF_TYP = "openid4vci-proof+jwt"
NONCE_KEY_SETTING = "delivery.nonce_key"
#: Wrong transaction codes an offer survives before its pre-authorized code is burnt.
MAX_TX_CODE_FAILURES = 5
#: Seconds a proof's `iat` may lie in the future (clock skew) or in the past.
IAT_SKEW = 300
TOKEN_PATH, NONCE_PATH, CREDENTIAL_PATH = "/oid4vci/token", "/oid4vci/nonce", "/oid4vci/credential"
_CONTEXTS = {"OpenBadgeCredential": OB_CONTEXTS, "ClrCredential": CLR_CONTEXTS}


class Oid4vciIssuer:
    def __init__(
        self,
        db: Database,
        offers: OfferService,
        settings: DeliverySettings,
        display_name: Callable[[], str],
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.offers = offers
        self.settings = settings
        self._display_name = display_name
        self.clock = clock
        self._nonce_key: bytes | None = None

    @property
    def issuer(self) -> str:
        return self.settings.base_url

    # -- metadata -------------------------------------------------------------------------------

    def issuer_metadata(self) -> dict[str, Any]:
        """`/.well-known/openid-credential-issuer`: OB 3.0 and CLR 2.0 as `ldp_vc`."""
        return {
            "credential_issuer": self.issuer,
            "credential_endpoint": self.issuer + CREDENTIAL_PATH,
            "nonce_endpoint": self.issuer + NONCE_PATH,
            "display": [{"name": self._display_name(), "locale": "en"}],
            "credential_configurations_supported": {
                configuration: _configuration(kind)
                for kind, configuration in CONFIGURATIONS.items()
            },
        }

    def authorization_server_metadata(self) -> dict[str, Any]:
        """`/.well-known/oauth-authorization-server` (RFC 8414): the node is its own AS."""
        return {
            "issuer": self.issuer,
            "token_endpoint": self.issuer + TOKEN_PATH,
            "grant_types_supported": [PRE_AUTHORIZED_GRANT],
            "pre-authorized_grant_anonymous_access_supported": True,
            "token_endpoint_auth_methods_supported": ["none"],
        }

    # -- token ----------------------------------------------------------------------------------

    def token(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Exchange a pre-authorized code (and its tx_code) for an access token, once."""
        if form.get("grant_type") != PRE_AUTHORIZED_GRANT:
            raise OAuthError(
                "unsupported_grant_type",
                f"this node supports only the {PRE_AUTHORIZED_GRANT} grant",
            )
        code = form.get("pre-authorized_code")
        if not code:
            raise OAuthError("invalid_request", "pre-authorized_code is missing")
        given_tx_code = form.get("tx_code") or form.get("user_pin")
        token = secrets.token_urlsafe(32)
        now = self.clock()

        def exchange(session: Session) -> tuple[Offer | None, LernodeError | None]:
            offer = session.exec(
                select(Offer).where(Offer.pre_authorized_code == code).with_for_update()
            ).first()
            refusal = _grant_refusal(offer, now, given_tx_code)
            if refusal is not None:
                if isinstance(refusal, WrongTxCode) and offer is not None:
                    offer.tx_code_failures += 1
                    session.add(offer)
                return None, refusal
            assert offer is not None
            offer.access_token_hash = _token_hash(token)
            offer.token_expires_at = min(
                now + timedelta(seconds=self.settings.token_ttl), aware(offer.expires_at)
            )
            session.add(offer)
            return offer, None

        offer, refusal = self.db.retrying(exchange)
        if refusal is not None:
            raise refusal
        assert offer is not None and offer.token_expires_at is not None
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": max(1, int((aware(offer.token_expires_at) - now).total_seconds())),
        }

    # -- nonce ----------------------------------------------------------------------------------

    def nonce(self) -> dict[str, Any]:
        expires = int(self.clock().timestamp()) + self.settings.token_ttl
        body = struct.pack(">Q", expires) + secrets.token_bytes(16)
        return {
            "c_nonce": _b64(body + self._mac(body)),
            "c_nonce_expires_in": self.settings.token_ttl,
        }

    def _nonce_is_fresh(self, value: Any) -> bool:
        try:
            raw = base64.urlsafe_b64decode(str(value) + "=" * (-len(str(value)) % 4))
        except ValueError:
            return False
        if len(raw) != 40:
            return False
        body, mac = raw[:24], raw[24:]
        (expires,) = struct.unpack(">Q", body[:8])
        return hmac.compare_digest(mac, self._mac(body)) and expires > self.clock().timestamp()

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key(), body, hashlib.sha256).digest()[:16]

    def _key(self) -> bytes:
        """The nonce key, made once per node and shared by its workers through the database."""
        if self._nonce_key is None:

            def load(session: Session) -> str:
                row = session.get(NodeSetting, NONCE_KEY_SETTING)
                if row is None:
                    row = NodeSetting(key=NONCE_KEY_SETTING, value=secrets.token_hex(32))
                    session.add(row)
                    session.flush()
                return row.value

            try:
                value = self.db.retrying(load)
            except IntegrityError:  # pragma: no cover - lost the creation race every attempt
                value = self.db.retrying(load)
            self._nonce_key = bytes.fromhex(value)
        return self._nonce_key

    # -- credential -----------------------------------------------------------------------------

    def credential(self, authorization: str | None, body: Any) -> dict[str, Any]:
        """Check the access token and the holder's proof, then collect the offer."""
        offer = self._offer_for_token(authorization)
        if not isinstance(body, Mapping):
            raise OAuthError("invalid_credential_request", "the request body must be JSON")
        expected = self.offers.links(offer).configuration_id
        requested = body.get("credential_configuration_id")
        if requested is None:
            raise OAuthError(
                "invalid_credential_request",
                "credential_configuration_id is required (this node issues no "
                "credential_identifier)",
            )
        if requested != expected:
            raise OAuthError(
                "unknown_credential_configuration",
                f"this offer delivers {expected}, not {str(requested)[:80]}",
            )
        holder = self._holder_of(_single_jwt(body))
        try:
            credential = self.offers.collect(offer, holder, protocol="oid4vci")
        except OAuthError:
            raise
        except LernodeError as error:
            raise OAuthError("credential_request_denied", error.detail, reason=error.code) from None
        return {"credentials": [{"credential": credential}]}

    def _offer_for_token(self, authorization: str | None) -> Offer:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("send the access token as Authorization: Bearer <token>")
        with self.db.session() as session:
            offer = session.exec(
                select(Offer).where(Offer.access_token_hash == _token_hash(token.strip()))
            ).first()
        if offer is None:
            raise InvalidToken("unknown access token")
        if offer.state == OfferState.COLLECTED:
            raise InvalidToken("this access token was used: its offer is collected")
        if offer.token_expires_at is None or aware(offer.token_expires_at) <= self.clock():
            raise InvalidToken("the access token expired")
        return offer

    def _holder_of(self, token: str) -> str:
        """The did:key that signed a valid proof JWT for this issuer and a fresh nonce."""
        try:
            proof = jws.decode(token)
        except jws.MalformedJws as error:
            raise OAuthError("invalid_proof", f"proof JWT: {error}") from None
        header, payload = proof.header, proof.payload
        if header.get("typ") != PROOF_TYP:
            raise OAuthError("invalid_proof", f"the proof JWT's typ must be {PROOF_TYP}")
        if header.get("alg") not in (*jws.EDDSA_ALGS, jws.ES256):
            raise OAuthError("invalid_proof", "the proof JWT must be signed with EdDSA or ES256")
        try:
            holder = did_of_key_id(header.get("kid"))
        except HolderRefused as error:
            raise OAuthError("invalid_proof", f"kid: {error.detail}") from None
        if not proof.verifies_with(holder.key):
            raise OAuthError("invalid_proof", "the proof JWT's signature does not verify")
        audience = payload.get("aud")
        if self.issuer not in (audience if isinstance(audience, list) else [audience]):
            raise OAuthError("invalid_proof", f"the proof JWT's aud must be {self.issuer}")
        issued = payload.get("iat")
        now = self.clock().timestamp()
        if not isinstance(issued, int | float) or not (
            now - self.settings.token_ttl - IAT_SKEW <= issued <= now + IAT_SKEW
        ):
            raise OAuthError("invalid_proof", "the proof JWT's iat is missing or not recent")
        if not self._nonce_is_fresh(payload.get("nonce")):
            raise OAuthError(
                "invalid_nonce", "the proof's nonce is missing, unknown or expired; get a new one"
            )
        return holder.did


class WrongTxCode(OAuthError):
    def __init__(self) -> None:
        super().__init__("invalid_grant", "the transaction code (tx_code) is wrong")


def _grant_refusal(offer: Offer | None, now: datetime, tx_code: str | None) -> OAuthError | None:
    if offer is None:
        return OAuthError("invalid_grant", "unknown pre-authorized code")
    if offer.state != OfferState.OPEN or aware(offer.expires_at) <= now:
        return OAuthError("invalid_grant", f"the offer is no longer open ({offer.state.value})")
    if offer.access_token_hash is not None:
        return OAuthError("invalid_grant", "this pre-authorized code was already used")
    if offer.tx_code is None:
        return None
    if offer.tx_code_failures >= MAX_TX_CODE_FAILURES:
        return OAuthError("invalid_grant", "too many wrong transaction codes; ask for a new offer")
    if not tx_code:
        return OAuthError("invalid_request", "this offer needs its transaction code (tx_code)")
    if not hmac.compare_digest(tx_code.encode(), offer.tx_code.encode()):
        return WrongTxCode()
    return None


def _single_jwt(body: Mapping[str, Any]) -> str:
    proofs = body.get("proofs")
    if isinstance(proofs, Mapping):
        tokens = proofs.get("jwt")
        if set(proofs) != {"jwt"} or not isinstance(tokens, list) or len(tokens) != 1:
            raise OAuthError("invalid_proof", "send exactly one proof: proofs: {jwt: [<JWT>]}")
        return str(tokens[0])
    proof = body.get("proof")  # drafts before 1.0
    if isinstance(proof, Mapping) and proof.get("proof_type") == "jwt":
        return str(proof.get("jwt"))
    raise OAuthError("invalid_proof", "a proof of possession is required: proofs: {jwt: [<JWT>]}")


def _configuration(kind: str) -> dict[str, Any]:
    return {
        "format": "ldp_vc",
        "scope": kind,
        "cryptographic_binding_methods_supported": ["did:key"],
        "credential_signing_alg_values_supported": ["eddsa-rdfc-2022", "eddsa-jcs-2022"],
        "proof_types_supported": {
            "jwt": {"proof_signing_alg_values_supported": ["EdDSA", "ES256"]}
        },
        "credential_definition": {
            "@context": list(_CONTEXTS[kind]),
            "type": ["VerifiableCredential", kind],
        },
        "credential_metadata": {
            "display": [
                {
                    "name": "Open Badge" if kind == "OpenBadgeCredential" else "Learner record",
                    "locale": "en",
                    "description": "Open Badges 3.0 credential"
                    if kind == "OpenBadgeCredential"
                    else "Comprehensive Learner Record 2.0",
                }
            ]
        },
    }


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
