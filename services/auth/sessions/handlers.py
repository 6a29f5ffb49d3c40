"""Password log-ins (ASVS 6.3, NIST 800-63B 5.2.2, OWASP device cookies): throttle the
attempts, not the owner; and a session's life after its log-in (refresh, log-out).

Failures from devices the account does not know lock the typed address for a while (doubling).
A device the account logged in from before (its device cookie's hash is kept with the account)
passes that lockout; its own failures count on its own key. The failure that locks the address
mails its owner, once per lockout, a single-use unlock link (sessions/lockout/handlers.py): with
it the password works from any device. Failures per client IP count in a sliding window that no
success resets.
"""

from collections.abc import Callable
from datetime import datetime
from typing import NoReturn

from libs.contracts import auth
from libs.contracts.envelope import utc_now
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Forbidden, Invalid, Unauthenticated
from libs.servicekit.logs import get_logger
from services.auth.accounts.grant_revocations import GrantRevocations
from services.auth.accounts.store import AuthStore
from services.auth.background import BackgroundWork
from services.auth.domain import (
    AWAITS_BROKER,
    WRONG_CREDENTIALS,
    Account,
    UserStatus,
    device_hash,
    normalize_email,
)
from services.auth.passwords.hashing import PasswordHasher
from services.auth.sessions.keeper import SessionKeeper
from services.auth.sessions.lockout.domain import (
    LoginThrottle,
    account_key,
    attempt_keys,
    device_key,
    too_many_attempts,
)
from services.auth.sessions.lockout.handlers import UnlockHandlers

log = get_logger(__name__)


class LoginHandlers:
    """Log in with a password (the mailed unlock link's log-in: UnlockHandlers)."""

    def __init__(
        self, store: AuthStore, hasher: PasswordHasher, sessions: SessionKeeper,
        throttle: LoginThrottle, unlocks: UnlockHandlers, background: BackgroundWork, *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._sessions = sessions
        self._throttle = throttle
        self._unlocks = unlocks
        self._background = background
        self._clock = clock

    async def log_in(self, request: auth.LoginRequest) -> auth.TokenPair:
        """E-mail and password -> a session; every failure looks and takes the same.

        Known or unknown address, the same steps run: one account lookup, the back-off check,
        one argon2 verification, the failure count. Work a lockout causes runs after the reply.
        """
        email = normalize_email(request.email)
        account = await self._store.find_user_by_email(email)
        device = device_hash(request.device_token)
        trusted_device = (
            device_key(account.user_id, device)
            if account is not None and device is not None and device in account.trusted_devices
            else None)
        keys = attempt_keys(email, request.client_ip, trusted_device)
        await self._throttle.check(keys.checked)
        if account is None or account.password_hash is None:
            await self._hasher.verify_nothing(request.password)
            log.info("login refused", user_id=None, client_ip=request.client_ip)
            await self._refuse_login(keys.charged, None)
        matches = await self._hasher.verify(request.password, account.password_hash)
        if matches and account.status is UserStatus.PENDING:
            # Only someone holding the password learns that the account waits for the broker.
            await self._throttle.succeeded(keys.cleared)
            raise Forbidden(AWAITS_BROKER)
        if not matches or account.status is not UserStatus.ACTIVE:
            log.info("login refused", user_id=account.user_id, client_ip=request.client_ip,
                     trusted_device=trusted_device is not None)
            await self._refuse_login(keys.charged, account)
        await self._throttle.succeeded(keys.cleared)
        if self._hasher.needs_rehash(account.password_hash):
            # The cost settings went up: upgrade the stored hash now that we know the password.
            await self._store.replace_password_hash(
                account.user_id, await self._hasher.hash(request.password)
            )
        return await self._sessions.open(account, device=device)

    async def _refuse_login(self, keys: list[str], account: Account | None) -> NoReturn:
        """Count the failure; the attempt that reaches the limit already hears when to retry."""
        counted = await self._throttle.failed(keys)
        if account is not None and account_key(account.email) in counted.newly_locked:
            # After the reply: an unknown address must not answer slower or differently.
            self._background.start(self._unlocks.mail_link(account), "lockout mail")
        if counted.blocked_until is not None:
            raise too_many_attempts(counted.blocked_until, self._clock())
        raise Unauthenticated(WRONG_CREDENTIALS)


class SessionHandlers:
    """A session's life after its log-in: refresh, log out, and what the gateways deny."""

    def __init__(self, sessions: SessionKeeper, revocations: GrantRevocations) -> None:
        self._sessions = sessions
        self._revocations = revocations

    async def refresh(self, request: auth.RefreshRequest) -> auth.TokenPair:
        """A new token pair carrying the account's current grants; the old refresh token dies."""
        return await self._sessions.refresh(request.refresh_token)

    async def log_out(self, request: auth.LogoutRequest) -> Ack:
        """End a session, found by its refresh token or its id; ending it twice is fine."""
        if request.refresh_token:
            session = await self._sessions.find_by_refresh_token(request.refresh_token)
        elif request.session_id:
            session = await self._sessions.find(request.session_id)
        else:
            raise Invalid("Give the refresh token or the session id.",
                          fields={"refresh_token": "Required without session_id."})
        if session is not None:
            await self._sessions.revoke(session, "logout")
        return Ack()

    async def list_revoked_sessions(
        self, request: auth.RevokedSessionsRequest
    ) -> auth.RevokedSessions:
        """Sessions ended and grants taken away since a moment: a starting (or reconnected)
        gateway fills its deny-lists with them."""
        return auth.RevokedSessions(session_ids=await self._sessions.revoked_since(request.since),
                                    grants=await self._revocations.since(request.since))

