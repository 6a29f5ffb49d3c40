"""Staff actions on accounts: disable (ends its sessions), resend or revoke an invitation;
who should hear news of a dossier."""

from collections.abc import Callable
from datetime import datetime

from libs.contracts import auth
from libs.contracts.caller import Role
from libs.contracts.envelope import utc_now
from libs.servicekit.access import require_staff
from libs.servicekit.errors import Conflict, Forbidden, Invalid, NotFound
from libs.servicekit.logs import get_logger
from services.auth.accounts.invitations import InvitationSender
from services.auth.accounts.store import AuthStore
from services.auth.audit.trail import AuditTrail
from services.auth.domain import Account, UserStatus
from services.auth.sessions.keeper import SessionKeeper

log = get_logger(__name__)
NO_USER = "This user does not exist."
NOT_INVITED = "This account has no open invitation: it was activated already."


class AccountHandlers:
    """Disable accounts, manage invitations, name the members of a dossier."""

    def __init__(
        self, store: AuthStore, sessions: SessionKeeper, invitations: InvitationSender,
        audit: AuditTrail, *, clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._invitations = invitations
        self._audit = audit
        self._clock = clock

    async def _account(self, request: auth.AccountActionRequest) -> Account:
        require_staff(request.caller)
        account = await self._store.find_user(request.user_id)
        if account is None:
            raise NotFound(NO_USER)
        if account.is_staff and request.caller.role is not Role.ADMIN:
            raise Forbidden("Only the office admin manages staff accounts.")
        return account

    async def disable_user(self, request: auth.AccountActionRequest) -> auth.UserPublic:
        """Disable an account: it cannot log in and every session of it ends now."""
        account = await self._account(request)
        if account.user_id == request.caller.user_id:
            raise Invalid("You cannot disable your own account.")
        disabled = await self._store.set_status(account.user_id, UserStatus.DISABLED)
        if disabled is None:
            raise NotFound(NO_USER)
        await self._store.expire_open_invitations(account.user_id, self._clock(),
                                                  "account disabled")
        ended = await self._sessions.revoke_all_of(account.user_id, "account disabled")
        await self._audit.record(request.caller, request.origin, "account.disable",
                                 account.user_id, sessions_ended=str(ended))
        return disabled.public()

    async def resend_invitation(self, request: auth.AccountActionRequest) -> auth.InvitationPublic:
        """A new activation link for an invited client (the older link stops working)."""
        account = await self._account(request)
        if account.status is not UserStatus.INVITED:
            raise Conflict(NOT_INVITED)
        invitation = await self._invitations.send(request.caller, account)
        await self._audit.record(request.caller, request.origin, "invitation.resend",
                                 account.user_id, invitation_id=invitation.invitation_id)
        return invitation

    async def revoke_invitation(self, request: auth.AccountActionRequest) -> auth.UserPublic:
        """The activation link of an invited client stops working (resend makes a new one)."""
        account = await self._account(request)
        if account.status is not UserStatus.INVITED:
            raise Conflict(NOT_INVITED)
        ended = await self._store.expire_open_invitations(account.user_id, self._clock(),
                                                          "revoked")
        await self._audit.record(request.caller, request.origin, "invitation.revoke",
                                 account.user_id, links_ended=str(ended))
        return account.public()

    async def list_dossier_members(
        self, request: auth.DossierMembersRequest
    ) -> auth.DossierMembers:
        """The active clients granted a dossier, to tell them news of it (staff and services)."""
        require_staff(request.caller)
        accounts = await self._store.active_clients_of(request.dossier_id)
        return auth.DossierMembers(members=[
            auth.DossierMember(user_id=account.user_id, email=account.email,
                               display_name=account.display_name, language=account.language)
            for account in accounts])
