"""Access tokens: local EdDSA verification plus deny-lists of sessions that ended (logout) and
of dossier grants taken away.

Auth signs short-lived JWTs with its Ed25519 private key; the gateway checks them with the public
key without asking auth. A logout must still take effect at once, so the gateway refuses the
tokens of revoked sessions until they would have expired anyway; likewise a dossier taken away
from a client is dropped from the client's tokens issued before it was taken.
"""

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import aio_pika
import jwt
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from libs.contracts.auth import (
    ACCESS_TOKEN_ALGORITHM,
    ACCESS_TOKEN_AUDIENCE,
    ACCESS_TOKEN_ISSUER,
    AccessClaims,
    GrantRevoked,
    SessionRevoked,
)
from libs.contracts.envelope import new_id
from libs.contracts.topology import EVENTS_EXCHANGE
from libs.servicekit.errors import Unauthenticated, Unavailable
from libs.servicekit.logs import get_logger

log = get_logger(__name__)
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "sid"]


class TokenExpired(Unauthenticated):
    """The token was valid but its lifetime is over: a refresh token can get a new one."""


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM file at `path`."""
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} does not hold an Ed25519 public key")
    return key


class DenyList:
    """Session ids that ended, each kept as long as one of its access tokens could still live."""

    def __init__(self, keep_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.keep_seconds = keep_seconds
        self._clock = clock
        self._until: dict[str, float] = {}

    def add(self, session_id: str) -> None:
        """Refuse this session's tokens from now on."""
        self._until[session_id] = self._clock() + self.keep_seconds
        self._prune()

    def __contains__(self, session_id: object) -> bool:
        until = self._until.get(str(session_id))
        return until is not None and until > self._clock()

    def __len__(self) -> int:
        self._prune()
        return len(self._until)

    def _prune(self) -> None:
        now = self._clock()
        for session_id in [sid for sid, until in self._until.items() if until <= now]:
            del self._until[session_id]


class RevokedGrants:
    """Dossiers taken away from clients: (user, dossier) -> when, kept as long as a token issued
    before could live. A token issued (`iat`, whole seconds, auth's clock) at or before that
    moment no longer carries the dossier; a later token is the account's truth."""

    def __init__(self, keep_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._keep_seconds = keep_seconds
        self._clock = clock
        self._revoked: dict[tuple[str, str], tuple[float, float]] = {}  # -> (revoked at, until)

    def add(self, user_id: str, dossier_id: str, revoked_at: datetime) -> None:
        """Drop `dossier_id` from `user_id`'s tokens issued up to `revoked_at`."""
        key = (user_id, dossier_id)
        at = max(revoked_at.timestamp(), self._revoked.get(key, (0.0, 0.0))[0])
        self._revoked[key] = (at, self._clock() + self._keep_seconds)
        self._prune()

    def kept(self, claims: AccessClaims) -> list[str]:
        """The dossiers of `claims` that were not taken away after the token was issued."""
        if not self._revoked:
            return claims.dossiers
        now = self._clock()
        kept = []
        for dossier_id in claims.dossiers:
            revoked = self._revoked.get((claims.sub, dossier_id))
            if revoked is None or revoked[1] <= now or claims.iat > revoked[0]:
                kept.append(dossier_id)
        return kept

    def __len__(self) -> int:
        self._prune()
        return len(self._revoked)

    def _prune(self) -> None:
        now = self._clock()
        for key in [key for key, (_, until) in self._revoked.items() if until <= now]:
            del self._revoked[key]


VERIFIED_TOKENS = 4096  # tokens kept checked (about 1 KB each)


class TokenVerifier:
    """Turns a bearer token into its claims, or raises Unauthenticated."""

    def __init__(self, deny_list: DenyList, *, leeway_seconds: int = 5,
                 revoked_grants: RevokedGrants | None = None) -> None:
        self.deny_list = deny_list
        self.revoked_grants = (RevokedGrants(deny_list.keep_seconds) if revoked_grants is None
                               else revoked_grants)
        self._leeway = leeway_seconds
        self._public_key: Ed25519PublicKey | None = None
        # Tokens whose signature and claims were checked, by their exact text: the same token
        # is not checked again (an Ed25519 verification and a JSON parse per request), but its
        # expiry, its session and its dossiers are, on every use.
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()

    @property
    def has_key(self) -> bool:
        """True once the public key is loaded."""
        return self._public_key is not None

    def use_key(self, public_key: Ed25519PublicKey) -> None:
        """Verify with `public_key` from now on."""
        self._public_key = public_key
        self._verified.clear()

    def verify(self, token: str) -> AccessClaims:
        """The claims of a genuine, current token of a session that has not ended."""
        if self._public_key is None:
            raise Unavailable("Sign-in cannot be checked right now.")
        claims = self._verified.get(token)
        if claims is not None and time.time() < claims.exp + self._leeway:
            self._verified.move_to_end(token)
        else:  # not seen, or expired since (then jwt.decode says so)
            claims = self._checked(token)
        if claims.sid in self.deny_list:
            raise Unauthenticated("This session has ended.")
        kept = self.revoked_grants.kept(claims)
        if kept != claims.dossiers:
            # A dossier taken away since the token was issued: as if the token never had it.
            return claims.model_copy(update={"dossiers": kept})
        return claims


    def _checked(self, token: str) -> AccessClaims:
        """The claims of a genuinely signed, current token (signature, audience, issuer,
        expiry, required claims); kept for the next use of the same token."""
        assert self._public_key is not None
        self._verified.pop(token, None)
        try:
            payload = jwt.decode(
                token,
                self._public_key,
                algorithms=[ACCESS_TOKEN_ALGORITHM],
                audience=ACCESS_TOKEN_AUDIENCE,
                issuer=ACCESS_TOKEN_ISSUER,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
            claims = AccessClaims.model_validate(payload)
        except jwt.ExpiredSignatureError:
            raise TokenExpired("The access token has expired.") from None
        except (jwt.InvalidTokenError, ValidationError):
            raise Unauthenticated("The access token is not valid.") from None
        self._verified[token] = claims
        while len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return claims

    def session_of(self, token: str) -> str | None:
        """The session id of a genuine token, even an expired one (to log that session out)."""
        if self._public_key is None or not token:
            return None
        try:
            payload = jwt.decode(
                token, self._public_key, algorithms=[ACCESS_TOKEN_ALGORITHM],
                audience=ACCESS_TOKEN_AUDIENCE, issuer=ACCESS_TOKEN_ISSUER,
                options={"verify_exp": False},
            )
        except jwt.InvalidTokenError:
            return None
        session_id = payload.get("sid")
        return session_id if isinstance(session_id, str) else None


class RevocationListener:
    """Feeds the deny-lists from `auth.session.revoked` and `auth.grant.revoked` on a queue of
    this gateway instance only.

    The queue is exclusive and auto-deleted: every gateway instance hears every logout and every
    grant taken away, and nothing piles up for an instance that is gone. Events missed while the
    connection was down are caught up by `reload` (LIST_REVOKED_SESSIONS) after each reconnect.
    """

    def __init__(
        self,
        amqp_url: str,
        deny_list: DenyList,
        reload: Callable[[], Awaitable[None]],
        *,
        exchange: str = EVENTS_EXCHANGE,
        revoked_grants: RevokedGrants | None = None,
    ) -> None:
        self._amqp_url = amqp_url
        self._deny_list = deny_list
        self._revoked_grants = revoked_grants
        self._reload = reload
        self._exchange = exchange
        self._connection: AbstractRobustConnection | None = None

    async def start(self) -> None:
        """Connect, declare and bind the instance queue, and start consuming."""
        self._connection = await aio_pika.connect_robust(self._amqp_url)
        self._connection.reconnect_callbacks.add(self._on_reconnect)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            self._exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            f"gateway.revocations.{new_id()}", exclusive=True, auto_delete=True
        )
        await queue.bind(exchange, routing_key=SessionRevoked.routing_key)
        if self._revoked_grants is not None:
            await queue.bind(exchange, routing_key=GrantRevoked.routing_key)
        await queue.consume(self._on_message, no_ack=True)

    async def _on_reconnect(self, *_: object) -> None:
        log.info("revocation listener reconnected; reloading revoked sessions")
        try:
            await self._reload()
        except Exception:
            log.warning("could not reload revoked sessions", exc_info=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if message.routing_key == GrantRevoked.routing_key:
            self._on_grant_revoked(message.body)
            return
        try:
            event = SessionRevoked.model_validate_json(message.body)
        except ValidationError:
            log.warning("ignored a malformed session-revoked event")
            return
        self._deny_list.add(event.session_id)
        log.info("session revoked", event_id=event.event_id, session_id=event.session_id)

    def _on_grant_revoked(self, body: bytes) -> None:
        try:
            event = GrantRevoked.model_validate_json(body)
        except ValidationError:
            log.warning("ignored a malformed grant-revoked event")
            return
        if self._revoked_grants is not None and event.dossier_id is not None:
            self._revoked_grants.add(event.user_id, event.dossier_id, event.revoked_at)
            log.info("dossier grant revoked", event_id=event.event_id, user_id=event.user_id,
                     dossier_id=event.dossier_id)

    async def close(self) -> None:
        """Stop listening; the exclusive queue disappears with the connection."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
