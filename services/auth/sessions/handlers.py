"""Password log-ins (ASVS 6.3, NIST 800-63B 5.2.2, OWASP device cookies): throttle the
attempts, not the owner.

Failures from devices the account does not know lock the typed address for a while (doubling).
A device the account logged in from before (its device cookie's hash is kept with the account)
passes that lockout; its own failures count on its own key. The failure that locks the address
mails its owner, once per lockout, a single-use unlock link: with it the password works from any
device. Failures per client IP count in a sliding window that no success resets.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn

from libs.contracts import auth, lockout
from libs.contracts.envelope import new_id, utc_now
from libs.servicekit.errors import Forbidden, Gone, NotFound, Unauthenticated
from libs.servicekit.logs import correlation_id, get_logger
from services.auth.accounts.store import AuthStore
from services.auth.background import BackgroundWork
from services.auth.domain import (
    AWAITS_BROKER,
    WRONG_CREDENTIALS,
    Account,
    InvitationState,
    UserStatus,
    hash_token,
    invitation_state,
    new_secret_token,
    normalize_email,
)
from services.auth.passwords.hashing import PasswordHasher
from services.auth.sessions.keeper import SessionKeeper
from services.auth.sessions.throttle import (
    LoginThrottle,
    account_key,
    attempt_keys,
    device_key,
    ip_key,
    too_many_attempts,
)
from services.auth.sessions.unlock_store import StoredUnlock, UnlockLinks

log = get_logger(__name__)
UNKNOWN_UNLOCK_LINK = "This sign-in link does not exist."
SPENT_UNLOCK_LINK = "This sign-in link has expired or has been used already."
WRONG_PASSWORD = "The password is not correct."  # noqa: S105 - a message
UNLOCK_WRONG_PASSWORDS_ALLOWED = 5  # then the link ends: it is no ticket for endless guessing


class LoginHandlers:
    """Log in with a password, or with a password and a mailed unlock link."""

    def __init__(
        self, store: AuthStore, hasher: PasswordHasher, sessions: SessionKeeper,
        throttle: LoginThrottle, unlocks: UnlockLinks, background: BackgroundWork, *,
        unlock_minutes: int, devices_kept: int, notify: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._sessions = sessions
        self._throttle = throttle
        self._unlocks = unlocks
        self._background = background
        self._unlock_lifetime = timedelta(minutes=unlock_minutes)
        self._devices_kept = devices_kept
        self._notify = notify
        self._clock = clock

    async def log_in(self, request: auth.LoginRequest) -> auth.TokenPair:
        """E-mail and password -> a session; every failure looks and takes the same.

        Known or unknown address, the same steps run: one account lookup, the back-off check,
        one argon2 verification, the failure count. Work a lockout causes runs after the reply.
        """
        email = normalize_email(request.email)
        account = await self._store.find_user_by_email(email)
        device = _device_hash(request.device_token)
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
        return await self._signed_in(account, device)

    async def _refuse_login(self, keys: list[str], account: Account | None) -> NoReturn:
        """Count the failure; the attempt that reaches the limit already hears when to retry."""
        counted = await self._throttle.failed(keys)
        if account is not None and account_key(account.email) in counted.newly_locked:
            # After the reply: an unknown address must not answer slower or differently.
            self._background.start(self._mail_unlock_link(account), "lockout mail")
        if counted.blocked_until is not None:
            raise too_many_attempts(counted.blocked_until, self._clock())
        raise Unauthenticated(WRONG_CREDENTIALS)

    async def _mail_unlock_link(self, account: Account) -> None:
        """Tell the owner their address is locked, with a link to sign in anyway."""
        if account.status is not UserStatus.ACTIVE:
            return  # an invited, pending or disabled account cannot log in: nothing to unlock
        now = self._clock()
        token = new_secret_token()  # 256 bits; only its hash is stored
        event = lockout.LoginLockedOut(
            unlock_id=new_id(), user_id=account.user_id, email=account.email,
            display_name=account.display_name, language=account.language,
            unlock_token=token, expires_at=now + self._unlock_lifetime,
            correlation_id=correlation_id.get(),
        )
        await self._unlocks.insert(event, hash_token(token), now)
        self._notify()
        log.warning("address locked after failed logins; owner mailed", user_id=account.user_id,
                    unlock_id=event.unlock_id)

    async def _signed_in(self, account: Account, device: str | None) -> auth.TokenPair:
        if device is not None:
            await self._store.trust_device(account.user_id, device, self._devices_kept)
        return await self._sessions.open(account)

    # --- the mailed unlock link ----------------------------------------------------------------

    async def _open_unlock(self, token: str) -> tuple[StoredUnlock, Account]:
        unlock = await self._unlocks.find(hash_token(token))
        if unlock is None:
            raise NotFound(UNKNOWN_UNLOCK_LINK)
        if invitation_state(unlock.expires_at, unlock.used_at, self._clock()) is not (
                InvitationState.OPEN):
            raise Gone(SPENT_UNLOCK_LINK)
        account = await self._store.find_user(unlock.user_id)
        if account is None or account.status is not UserStatus.ACTIVE or (
                account.password_hash is None):
            raise Gone(SPENT_UNLOCK_LINK)
        return unlock, account

    async def look_up_unlock(self, request: lockout.UnlockLookupRequest) -> lockout.UnlockPreview:
        """What the unlock page shows: the address the link signs in."""
        _, account = await self._open_unlock(request.token)
        return lockout.UnlockPreview(email=account.email)

    async def unlock_log_in(self, request: lockout.UnlockLoginRequest) -> auth.TokenPair:
        """The link and the password: signed in from any device; the address's lockout ends.

        The link proves the mailbox, the password the account; this device is trusted next time.
        """
        unlock, account = await self._open_unlock(request.token)
        assert account.password_hash is not None  # checked by _open_unlock
        if not await self._hasher.verify(request.password, account.password_hash):
            await self._unlocks.wrong_password(unlock.unlock_id, self._clock(),
                                               UNLOCK_WRONG_PASSWORDS_ALLOWED)
            if request.client_ip:
                await self._throttle.failed([ip_key(request.client_ip)])
            log.info("unlock login refused", user_id=account.user_id, client_ip=request.client_ip)
            raise Unauthenticated(WRONG_PASSWORD)
        if not await self._unlocks.use(unlock.unlock_id, self._clock()):
            raise Gone(SPENT_UNLOCK_LINK)  # the same link used at the same moment elsewhere
        await self._throttle.succeeded([account_key(account.email)])
        log.info("signed in with an unlock link", user_id=account.user_id,
                 unlock_id=unlock.unlock_id)
        return await self._signed_in(account, _device_hash(request.device_token))


def _device_hash(device_token: str | None) -> str | None:
    """What is kept of a device cookie: its hash (a leaked database trusts no browser)."""
    return hash_token(device_token) if device_token else None
