"""Sessions: opened at login, kept alive by rotating refresh tokens, ended by logout or reuse."""

from collections.abc import Callable
from datetime import datetime

from libs.contracts.auth import SessionRevoked, TokenPair
from libs.contracts.envelope import new_id, utc_now
from libs.servicekit.errors import Unauthenticated
from libs.servicekit.logs import correlation_id, get_logger
from services.auth.accounts.store import AuthStore
from services.auth.domain import (
    Account,
    RefreshOutcome,
    SessionLimits,
    SessionRecord,
    UserStatus,
    build_access_claims,
    decide_refresh,
    hash_token,
    new_secret_token,
)
from services.auth.sessions.access_tokens import AccessTokenSigner
from services.auth.sessions.store import SESSION_RETENTION, SessionStore

log = get_logger(__name__)
SESSION_ENDED = "The session has ended; please log in again."


class SessionKeeper:
    """Opens, refreshes and revokes sessions; every revocation emits SessionRevoked."""

    def __init__(
        self,
        store: AuthStore,
        sessions: SessionStore,
        signer: AccessTokenSigner,
        *,
        access_token_seconds: int,
        limits: SessionLimits,
        devices_kept: int,
        notify: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._signer = signer
        self._access_token_seconds = access_token_seconds
        self._limits = limits
        self._devices_kept = devices_kept
        self._notify = notify
        self._clock = clock

    def _token_pair(self, account: Account, session_id: str, refresh_token: str,
                    authenticated_at: datetime | None = None) -> TokenPair:
        claims = build_access_claims(account, session_id, self._clock(), self._access_token_seconds,
                                     authenticated_at)
        return TokenPair(
            access_token=self._signer.sign(claims), refresh_token=refresh_token,
            expires_in=claims.exp - claims.iat,
        )

    async def open(self, account: Account, *, device: str | None = None) -> TokenPair:
        """Log `account` in: a new session and its first token pair; a `device` (a device
        cookie's hash) becomes one of the account's trusted devices (the latest few are kept)."""
        if device is not None:
            await self._store.trust_device(account.user_id, device, self._devices_kept)
        now = self._clock()
        refresh_token = new_secret_token()
        session = SessionRecord(
            session_id=new_id(), user_id=account.user_id,
            refresh_token_hash=hash_token(refresh_token), previous_refresh_hashes=[],
            created_at=now, last_refreshed_at=now,
        )
        await self._sessions.insert_session(
            session, self._limits.idle_expiry(session) + SESSION_RETENTION
        )
        log.info("session opened", session_id=session.session_id, user_id=account.user_id)
        return self._token_pair(account, session.session_id, refresh_token)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair for a valid refresh token; a replayed old token ends the whole session."""
        presented = hash_token(refresh_token)
        session = await self._sessions.find_session_by_refresh_hash(presented)
        if session is None:
            raise Unauthenticated(SESSION_ENDED)
        now = self._clock()
        outcome = decide_refresh(session, presented, now, self._limits)
        if outcome is RefreshOutcome.REUSED:
            log.warning("refresh token reused; revoking the session",
                        session_id=session.session_id, user_id=session.user_id)
            await self.revoke(session, "refresh token reused")
        if outcome is not RefreshOutcome.ROTATE:
            raise Unauthenticated(SESSION_ENDED)

        account = await self._store.find_user(session.user_id)
        if account is None or account.status is not UserStatus.ACTIVE:
            await self.revoke(session, "account not active")
            raise Unauthenticated(SESSION_ENDED)

        new_token = new_secret_token()
        rotated = SessionRecord(
            session_id=session.session_id, user_id=session.user_id,
            refresh_token_hash=hash_token(new_token), previous_refresh_hashes=[],
            created_at=session.created_at, last_refreshed_at=now,
        )
        purge_at = self._limits.idle_expiry(rotated) + SESSION_RETENTION
        if not await self._sessions.rotate_refresh_token(
            session.session_id, presented, rotated.refresh_token_hash, now, purge_at
        ):
            # Another refresh with the same token won the race: the token was used twice.
            log.warning("refresh token used concurrently; revoking the session",
                        session_id=session.session_id)
            await self.revoke(session, "refresh token reused")
            raise Unauthenticated(SESSION_ENDED)
        return self._token_pair(account, session.session_id, new_token, session.created_at)

    async def revoke(self, session: SessionRecord, reason: str) -> None:
        """End `session` (idempotent); gateways learn it from SessionRevoked."""
        event = SessionRevoked(
            session_id=session.session_id, user_id=session.user_id,
            correlation_id=correlation_id.get(),
        )
        if await self._sessions.revoke_session(session, reason, self._clock(), event):
            log.info("session revoked", session_id=session.session_id, reason=reason)
            self._notify()

    async def revoke_all_of(
        self, user_id: str, reason: str, *, keep_session_id: str | None = None
    ) -> int:
        """End every open session of the user except `keep_session_id`; how many ended."""
        ended = 0
        for session in await self._sessions.open_sessions_of(user_id):
            if session.session_id != keep_session_id:
                await self.revoke(session, reason)
                ended += 1
        return ended

    async def find(self, session_id: str) -> SessionRecord | None:
        """The session with this id."""
        return await self._sessions.find_session(session_id)

    async def find_by_refresh_token(self, refresh_token: str) -> SessionRecord | None:
        """The session a refresh token (current or rotated) belongs to."""
        return await self._sessions.find_session_by_refresh_hash(hash_token(refresh_token))

    async def revoked_since(self, since: datetime) -> list[str]:
        """Ids of sessions ended at or after `since` (gateways fill their deny-list with it)."""
        return await self._sessions.sessions_revoked_since(since)
