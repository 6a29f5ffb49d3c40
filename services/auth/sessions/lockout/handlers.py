"""The mailed unlock link of a locked address: sent by the failure that locks it, single use,
short-lived; with it and the password the owner signs in from any device and the address's
lockout ends."""

from collections.abc import Callable
from datetime import datetime, timedelta

from libs.contracts import auth, lockout
from libs.contracts.envelope import new_id, utc_now
from libs.servicekit.errors import Gone, NotFound, Unauthenticated
from libs.servicekit.logs import correlation_id, get_logger
from services.auth.accounts.store import AuthStore
from services.auth.domain import (
    Account,
    InvitationState,
    UserStatus,
    device_hash,
    hash_token,
    invitation_state,
    new_secret_token,
)
from services.auth.passwords.hashing import PasswordHasher
from services.auth.sessions.keeper import SessionKeeper
from services.auth.sessions.lockout.domain import LoginThrottle, account_key, ip_key
from services.auth.sessions.lockout.store import StoredUnlock, UnlockLinks

log = get_logger(__name__)
UNKNOWN_UNLOCK_LINK = "This sign-in link does not exist."
SPENT_UNLOCK_LINK = "This sign-in link has expired or has been used already."
WRONG_PASSWORD = "The password is not correct."  # noqa: S105 - a message
UNLOCK_WRONG_PASSWORDS_ALLOWED = 5  # then the link ends: it is no ticket for endless guessing


class UnlockHandlers:
    """Mails the unlock link of a locked address, and signs in with it and the password."""

    def __init__(
        self, store: AuthStore, hasher: PasswordHasher, sessions: SessionKeeper,
        throttle: LoginThrottle, links: UnlockLinks, *, unlock_minutes: int,
        notify: Callable[[], None], clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._sessions = sessions
        self._throttle = throttle
        self._links = links
        self._unlock_lifetime = timedelta(minutes=unlock_minutes)
        self._notify = notify
        self._clock = clock

    async def mail_link(self, account: Account) -> None:
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
        await self._links.insert(event, hash_token(token), now)
        self._notify()
        log.warning("address locked after failed logins; owner mailed", user_id=account.user_id,
                    unlock_id=event.unlock_id)

    async def _open_unlock(self, token: str) -> tuple[StoredUnlock, Account]:
        unlock = await self._links.find(hash_token(token))
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
            await self._links.wrong_password(unlock.unlock_id, self._clock(),
                                               UNLOCK_WRONG_PASSWORDS_ALLOWED)
            if request.client_ip:
                await self._throttle.failed([ip_key(request.client_ip)])
            log.info("unlock login refused", user_id=account.user_id, client_ip=request.client_ip)
            raise Unauthenticated(WRONG_PASSWORD)
        if not await self._links.use(unlock.unlock_id, self._clock()):
            raise Gone(SPENT_UNLOCK_LINK)  # the same link used at the same moment elsewhere
        await self._throttle.succeeded([account_key(account.email)])
        log.info("signed in with an unlock link", user_id=account.user_id,
                 unlock_id=unlock.unlock_id)
        return await self._sessions.open(account, device=device_hash(request.device_token))
