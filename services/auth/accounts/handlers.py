"""Use cases of the auth service: accounts, invitations, sessions and dossier grants (password
log-ins are in sessions/handlers.py)."""

from collections.abc import Callable
from datetime import datetime

from libs.contracts import auth
from libs.contracts.caller import STAFF_ROLES, Caller, Role
from libs.contracts.envelope import new_id, utc_now
from libs.servicekit.access import require_staff
from libs.servicekit.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from libs.servicekit.logs import get_logger
from libs.servicekit.references import DossierReferenceCheck
from services.auth.accounts.grant_revocations import GrantRevocations
from services.auth.accounts.invitations import InvitationSender
from services.auth.accounts.store import AuthStore, StoredInvitation
from services.auth.audit.trail import AuditTrail
from services.auth.domain import (
    Account,
    InvitationState,
    UserStatus,
    hash_token,
    invitation_state,
    normalize_email,
    password_problem,
)
from services.auth.passwords.hashing import PasswordHasher
from services.auth.sessions.keeper import SessionKeeper

log = get_logger(__name__)
EMAIL_TAKEN = "An account with this e-mail address exists already."
UNKNOWN_LINK = "This activation link does not exist."
SPENT_LINK = "This activation link has expired or has been used already."


def _require_valid_password(password: str) -> None:
    problem = password_problem(password)
    if problem is not None:
        raise Invalid(problem, fields={"password": problem})


async def create_active_account(
    store: AuthStore, hasher: PasswordHasher, email: str, display_name: str, role: Role,
    password: str,
) -> Account:
    """An account that can log in at once (staff, the first admin, the CLI's `create-admin`)."""
    _require_valid_password(password)
    account = Account(
        user_id=new_id(), email=normalize_email(email), display_name=display_name.strip(),
        role=role, status=UserStatus.ACTIVE, password_hash=await hasher.hash(password),
    )
    if not await store.insert_user(account, utc_now()):
        raise Conflict(EMAIL_TAKEN, fields={"email": EMAIL_TAKEN})
    return account


class AuthHandlers:
    """One method per RPC method, plus the first-admin bootstrap run at start."""

    def __init__(
        self,
        store: AuthStore,
        hasher: PasswordHasher,
        sessions: SessionKeeper,
        audit: AuditTrail,
        references: DossierReferenceCheck,
        revocations: GrantRevocations,
        invitations: InvitationSender,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._sessions = sessions
        self._audit = audit
        self._references = references
        self._revocations = revocations
        self._invitations = invitations
        self._clock = clock

    # --- staff accounts ------------------------------------------------------------------------

    async def create_staff(self, request: auth.CreateStaffRequest) -> auth.UserPublic:
        """The office admin adds an agent or another admin, with a password."""
        if request.caller.role != Role.ADMIN:
            raise Forbidden("Only the office admin may add staff.")
        if request.role not in STAFF_ROLES:
            raise Invalid("Staff are agents or admins.", fields={"role": "Choose agent or admin."})
        account = await create_active_account(
            self._store, self._hasher, request.email, request.display_name, request.role,
            request.password,
        )
        log.info("staff account created", user_id=account.user_id, role=account.role.value,
                 by=request.caller.user_id)
        await self._audit.record(request.caller, request.origin, "staff.create",
                                 account.user_id, role=account.role.value)
        return account.public()

    async def bootstrap_admin(self, email: str, display_name: str, password: str) -> bool:
        """Create the office's first admin unless an admin exists; True if created now."""
        if not email or await self._store.admin_exists():
            return False
        try:
            account = await create_active_account(
                self._store, self._hasher, email, display_name, Role.ADMIN, password
            )
        except Conflict:
            # Either another replica created it a moment ago, or the address is someone else's.
            if not await self._store.admin_exists():
                log.warning("bootstrap admin e-mail belongs to a non-admin account; not created",
                            email=normalize_email(email))
            return False
        log.info("first office admin created", user_id=account.user_id, email=account.email)
        return True

    # --- invitations ---------------------------------------------------------------------------

    async def invite_client(self, request: auth.InviteClientRequest) -> auth.InvitationPublic:
        """Staff invite a client by e-mail; the notifier mails the activation link (manual 1.1)."""
        require_staff(request.caller)
        await self._references.require_dossiers(request.caller, request.dossier_ids)
        account = await self._invited_account(request)
        invitation = await self._invitations.send(request.caller, account,
                                                  request.correlation_id)
        await self._audit.record(request.caller, request.origin, "invitation.create",
                                 account.user_id, dossier_ids=",".join(account.dossier_ids))
        return invitation

    async def _invited_account(self, request: auth.InviteClientRequest) -> Account:
        """The client account to invite: new, or the same not-yet-activated one again."""
        email = normalize_email(request.email)
        grants = list(dict.fromkeys(request.dossier_ids))
        account = Account(
            user_id=new_id(), email=email, display_name=request.display_name.strip(),
            role=Role.CLIENT, status=UserStatus.INVITED, language=request.language,
            dossier_ids=grants,
        )
        if await self._store.insert_user(account, self._clock()):
            return account
        existing = await self._store.find_user_by_email(email)
        if existing is None or existing.is_staff or existing.status is not UserStatus.INVITED:
            raise Conflict(EMAIL_TAKEN, fields={"email": EMAIL_TAKEN})
        updated = await self._store.update_invited_user(
            existing.user_id, account.display_name, account.language, grants
        )
        if updated is None:  # activated between the two reads
            raise Conflict(EMAIL_TAKEN, fields={"email": EMAIL_TAKEN})
        return updated

    async def _open_invitation(self, token: str) -> StoredInvitation:
        invitation = await self._store.find_invitation(hash_token(token))
        if invitation is None:
            raise NotFound(UNKNOWN_LINK)
        state = invitation_state(invitation.expires_at, invitation.used_at, self._clock())
        if state is not InvitationState.OPEN:
            raise Gone(SPENT_LINK)
        return invitation

    async def look_up_invitation(
        self, request: auth.InvitationLookupRequest
    ) -> auth.InvitationPreview:
        """What the activation page shows: the invited e-mail address, read-only."""
        invitation = await self._open_invitation(request.token)
        account = await self._store.find_user(invitation.user_id)
        if account is None:
            raise NotFound(UNKNOWN_LINK)
        return auth.InvitationPreview(
            email=account.email, display_name=account.display_name, language=account.language
        )

    async def activate(self, request: auth.ActivateRequest) -> auth.TokenPair:
        """The client chooses a password through the link and is logged in (manual 1.1)."""
        invitation = await self._open_invitation(request.token)
        _require_valid_password(request.password)
        password_hash = await self._hasher.hash(request.password)
        now = self._clock()
        if not await self._store.use_invitation(invitation.invitation_id, now):
            raise Gone(SPENT_LINK)  # the same link was used at the same moment elsewhere
        account = await self._store.activate_user(invitation.user_id, password_hash, now)
        if account is None:
            raise Gone(SPENT_LINK)
        log.info("account activated", user_id=account.user_id,
                 invitation_id=invitation.invitation_id)
        return await self._sessions.open(account)

    # --- users and grants ----------------------------------------------------------------------

    async def _client_for_grants(self, caller: Caller, user_id: str) -> Account:
        require_staff(caller)
        account = await self._store.find_user(user_id)
        if account is None:
            raise NotFound("This user does not exist.")
        if account.is_staff:
            raise Invalid("Staff see every dossier; only clients get dossier grants.")
        return account

    async def grant_dossier(self, request: auth.GrantRequest) -> auth.UserPublic:
        """Staff give a client access to an existing dossier (effective at the client's next
        refresh)."""
        await self._client_for_grants(request.caller, request.user_id)
        await self._references.require_dossiers(request.caller, [request.dossier_id],
                                                field="dossier_id")
        account = await self._store.add_grant(request.user_id, request.dossier_id)
        if account is None:
            raise NotFound("This user does not exist.")
        log.info("dossier granted", user_id=account.user_id, dossier_id=request.dossier_id,
                 by=request.caller.user_id)
        await self._audit.record(request.caller, request.origin, "grant.add", account.user_id,
                                 dossier_id=request.dossier_id)
        return account.public()

    async def revoke_dossier(self, request: auth.GrantRequest) -> auth.UserPublic:
        """Staff take a dossier away from a client; the gateways stop honouring it at once."""
        await self._client_for_grants(request.caller, request.user_id)
        await self._revocations.record(request.user_id, request.dossier_id)
        account = await self._store.remove_grant(request.user_id, request.dossier_id)
        if account is None:
            raise NotFound("This user does not exist.")
        log.info("dossier grant revoked", user_id=account.user_id,
                 dossier_id=request.dossier_id, by=request.caller.user_id)
        await self._audit.record(request.caller, request.origin, "grant.remove",
                                 account.user_id, dossier_id=request.dossier_id)
        return account.public()

    async def get_user(self, request: auth.UserLookupRequest) -> auth.UserPublic:
        """An account, for staff or for its owner; anyone else gets "not found"."""
        caller = request.caller
        if not caller.is_staff and caller.user_id != request.user_id:
            raise NotFound("This user does not exist.")
        account = await self._store.find_user(request.user_id)
        if account is None:
            raise NotFound("This user does not exist.")
        return account.public()

    async def find_user(self, request: auth.FindUserRequest) -> auth.UserPublic:
        """The account of an e-mail address, for staff only."""
        require_staff(request.caller)
        account = await self._store.find_user_by_email(normalize_email(str(request.email)))
        if account is None:
            raise NotFound("No account has this e-mail address.")
        return account.public()
