"""Forgotten and changed passwords (ASVS 6.4): a mailed single-use link, and a signed-in change.

After a reset or a change every other session of the account ends: whoever knew the old
password (or held a stolen refresh token) is out.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from libs.contracts import auth
from libs.contracts.envelope import new_id, utc_now
from libs.contracts.rpc import Ack
from libs.servicekit.errors import Gone, Invalid, NotFound, Unauthenticated
from libs.servicekit.logs import correlation_id, get_logger
from services.auth.accounts.store import AuthStore
from services.auth.background import BackgroundWork
from services.auth.domain import (
    InvitationState,
    UserStatus,
    hash_token,
    invitation_state,
    new_secret_token,
    normalize_email,
    password_problem,
)
from services.auth.mail_quota.quota import MailQuota
from services.auth.passwords.hashing import PasswordHasher
from services.auth.passwords.store import PasswordResetStore, StoredPasswordReset
from services.auth.sessions.keeper import SessionKeeper
from services.auth.sessions.lockout.domain import (
    LoginThrottle,
    account_key,
    session_key,
    too_many_attempts,
)

log = get_logger(__name__)
UNKNOWN_RESET_LINK = "This password-reset link does not exist."
SPENT_RESET_LINK = "This password-reset link has expired or has been used already."
WRONG_CURRENT_PASSWORD = "The current password is not correct."  # noqa: S105 - a message


class PasswordHandlers:
    """Reset by mail link and change while signed in."""

    def __init__(
        self,
        store: AuthStore,
        resets: PasswordResetStore,
        hasher: PasswordHasher,
        sessions: SessionKeeper,
        throttle: LoginThrottle,
        *,
        reset_minutes: int,
        background: BackgroundWork,
        mail_quota: MailQuota,
        notify: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._resets = resets
        self._hasher = hasher
        self._sessions = sessions
        self._throttle = throttle
        self._reset_lifetime = timedelta(minutes=reset_minutes)
        self._notify = notify
        self._clock = clock
        self._background = background
        self._mail_quota = mail_quota

    # --- reset by mail link --------------------------------------------------------------------

    async def request_reset(self, request: auth.PasswordResetRequest) -> Ack:
        """Answer at once, the same for every address; the link is made and mailed afterwards.

        Doing the work after the reply keeps the answer time independent of whether the
        address has an account (no enumeration by timing, ASVS 6.3.8).
        """
        self._background.start(self._send_reset_link(normalize_email(request.email)),
                               "password reset link")
        return Ack()

    async def _send_reset_link(self, email: str) -> None:
        account = await self._store.find_user_by_email(email)
        if account is None or account.status is not UserStatus.ACTIVE:
            log.info("password reset asked for no active account")
            return
        if not await self._mail_quota.allow("password-reset", email):
            log.warning("password reset not mailed: the address had its share this hour",
                        user_id=account.user_id)
            return
        now = self._clock()
        await self._resets.expire_open_password_resets(account.user_id, now)
        token = new_secret_token()  # 256 bits; only its hash is stored
        event = auth.PasswordResetRequested(
            reset_id=new_id(), user_id=account.user_id, email=account.email,
            display_name=account.display_name, language=account.language,
            reset_token=token, expires_at=now + self._reset_lifetime,
            correlation_id=correlation_id.get(),
        )
        await self._resets.insert_password_reset(event, hash_token(token), now)
        self._notify()
        log.info("password reset link made", user_id=account.user_id, reset_id=event.reset_id)

    async def _open_reset(self, token: str) -> StoredPasswordReset:
        reset = await self._resets.find_password_reset(hash_token(token))
        if reset is None:
            raise NotFound(UNKNOWN_RESET_LINK)
        if invitation_state(reset.expires_at, reset.used_at, self._clock()) is not (
                InvitationState.OPEN):
            raise Gone(SPENT_RESET_LINK)
        return reset

    async def look_up_reset(
        self, request: auth.PasswordResetLookupRequest
    ) -> auth.PasswordResetPreview:
        """What the reset page shows: the address whose password is reset."""
        reset = await self._open_reset(request.token)
        account = await self._store.find_user(reset.user_id)
        if account is None:
            raise NotFound(UNKNOWN_RESET_LINK)
        return auth.PasswordResetPreview(email=account.email)

    async def reset_password(self, request: auth.ResetPasswordRequest) -> auth.TokenPair:
        """Choose a new password through the link: every session ends, a new one opens."""
        reset = await self._open_reset(request.token)
        _require_valid_password(request.password)
        password_hash = await self._hasher.hash(request.password)
        if not await self._resets.use_password_reset(reset.reset_id, self._clock()):
            raise Gone(SPENT_RESET_LINK)  # the same link used at the same moment elsewhere
        account = await self._store.find_user(reset.user_id)
        if account is None:
            raise Gone(SPENT_RESET_LINK)
        updated = await self._store.set_password(
            account.user_id, password_hash, self._changed(account.user_id, account.email,
                                                          account.display_name,
                                                          account.language, "reset"))
        if updated is None:  # disabled meanwhile
            raise Gone(SPENT_RESET_LINK)
        self._notify()
        ended = await self._sessions.revoke_all_of(updated.user_id, "password reset")
        # The mailbox owner proved themselves: the back-off of the address is over.
        await self._throttle.succeeded([account_key(updated.email)])
        log.info("password reset", user_id=updated.user_id, sessions_ended=ended)
        return await self._sessions.open(updated)

    # --- change while signed in ----------------------------------------------------------------

    async def change_password(self, request: auth.ChangePasswordRequest) -> Ack:
        """The signed-in user changes their password; their other sessions end."""
        account = await self._store.find_user(request.caller.user_id)
        if account is None or account.password_hash is None:
            raise Unauthenticated("The session has ended; please log in again.")
        # Guessing the current password is still guessing; it counts on the session, so a
        # stranger's lockout of the address does not keep the signed-in owner from a change.
        keys = [session_key(request.session_id)]
        await self._throttle.check(keys)
        if not await self._hasher.verify(request.current_password, account.password_hash):
            blocked_until = (await self._throttle.failed(keys)).blocked_until
            if blocked_until is not None:
                raise too_many_attempts(blocked_until, self._clock())
            raise Invalid(WRONG_CURRENT_PASSWORD,
                          fields={"current_password": WRONG_CURRENT_PASSWORD})
        _require_valid_password(request.new_password, field="new_password")
        password_hash = await self._hasher.hash(request.new_password)
        event = self._changed(account.user_id, account.email, account.display_name,
                              account.language, "change")
        if await self._store.set_password(account.user_id, password_hash, event) is None:
            raise Unauthenticated("The session has ended; please log in again.")
        self._notify()
        await self._throttle.succeeded(keys)
        ended = await self._sessions.revoke_all_of(
            account.user_id, "password changed", keep_session_id=request.session_id)
        log.info("password changed", user_id=account.user_id, sessions_ended=ended)
        return Ack()

    def _changed(
        self, user_id: str, email: str, display_name: str, language: str, how: str
    ) -> auth.PasswordChanged:
        return auth.PasswordChanged(
            user_id=user_id, email=email, display_name=display_name, language=language,
            how=how, correlation_id=correlation_id.get(),
        )


def _require_valid_password(password: str, *, field: str = "password") -> None:
    problem = password_problem(password)
    if problem is not None:
        raise Invalid(problem, fields={field: problem})
