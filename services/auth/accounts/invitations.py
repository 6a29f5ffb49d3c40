"""Sending an invitation: a new activation link for an invited account, mailed by the notifier.

Both the first invitation (AuthHandlers.invite_client) and a resent one
(AccountHandlers.resend_invitation) go through this one collaborator, given to each."""

from collections.abc import Callable
from datetime import datetime

from libs.contracts import auth
from libs.contracts.caller import Caller
from libs.contracts.envelope import new_id, utc_now
from libs.servicekit.logs import correlation_id, get_logger
from services.auth.accounts.store import AuthStore
from services.auth.domain import Account, hash_token, invitation_expiry, new_secret_token

log = get_logger(__name__)


class InvitationSender:
    """Makes the newest activation link of an account the only one that works."""

    def __init__(
        self, store: AuthStore, *, invitation_days: int, notify: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._invitation_days = invitation_days
        self._notify = notify
        self._clock = clock

    async def send(
        self, caller: Caller, account: Account, correlation: str | None = None
    ) -> auth.InvitationPublic:
        """A new activation link for an invited `account`, mailed by the notifier; the
        caller's action is audited by the use case that sends it (invite, resend)."""
        now = self._clock()
        # Only the newest link works: an earlier mail may have gone to a wrong inbox.
        await self._store.expire_open_invitations(account.user_id, now, "replaced")
        token = new_secret_token()
        event = auth.InvitationCreated(
            invitation_id=new_id(), user_id=account.user_id, email=account.email,
            display_name=account.display_name, language=account.language,
            activation_token=token, expires_at=invitation_expiry(now, self._invitation_days),
            correlation_id=correlation or correlation_id.get(),
        )
        await self._store.insert_invitation(event, hash_token(token), caller.user_id, now)
        self._notify()
        log.info("client invited", invitation_id=event.invitation_id, user_id=account.user_id,
                 by=caller.user_id)
        return auth.InvitationPublic(
            invitation_id=event.invitation_id, user_id=account.user_id, email=account.email,
            expires_at=event.expires_at,
        )
