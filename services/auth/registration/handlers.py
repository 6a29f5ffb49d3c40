"""Self-registration with the broker's approval (manual 1.1, "Zich inschrijven").

register -> mail with a confirmation link -> the client confirms and chooses a password ->
pending -> staff approve (with dossier grants) or refuse (with a reason) -> mail either way.
Registering answers the same whether or not the address has an account, and as fast.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from libs.contracts import auth
from libs.contracts.caller import Role
from libs.contracts.envelope import new_id, utc_now
from libs.contracts.rpc import Ack
from libs.servicekit.access import require_staff
from libs.servicekit.errors import Conflict, Gone, Invalid, NotFound
from libs.servicekit.logs import correlation_id, get_logger
from libs.servicekit.references import DossierReferenceCheck
from services.auth.accounts.store import AuthStore
from services.auth.audit.trail import AuditTrail
from services.auth.background import BackgroundWork
from services.auth.domain import (
    Account,
    RegistrationStatus,
    UserStatus,
    hash_token,
    national_number_problem,
    new_secret_token,
    normalize_email,
    password_problem,
)
from services.auth.mail_quota.quota import MailQuota
from services.auth.passwords.hashing import PasswordHasher
from services.auth.registration.store import RegistrationStore, StoredRegistration

log = get_logger(__name__)
UNKNOWN_LINK = "This confirmation link does not exist."
SPENT_LINK = "This confirmation link has expired or has been used already."
ACCOUNT_EXISTS = "An account with this e-mail address exists already: log in instead."
NOT_PENDING = "This registration is not waiting for a decision."
NO_REGISTRATION = "This registration does not exist."


class RegistrationHandlers:
    """The client's side (register, confirm) and the staff's (list, approve, refuse)."""

    def __init__(
        self,
        store: AuthStore,
        registrations: RegistrationStore,
        hasher: PasswordHasher,
        audit: AuditTrail,
        background: BackgroundWork,
        references: DossierReferenceCheck,
        *,
        confirmation_hours: int,
        mail_quota: MailQuota,
        notify: Callable[[], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._registrations = registrations
        self._hasher = hasher
        self._audit = audit
        self._background = background
        self._references = references
        self._confirmation_lifetime = timedelta(hours=confirmation_hours)
        self._mail_quota = mail_quota
        self._notify = notify
        self._clock = clock

    # --- the client ----------------------------------------------------------------------------

    async def register(self, request: auth.RegisterRequest) -> Ack:
        """Check the form, answer at once; the confirmation mail is prepared afterwards."""
        if request.national_number:
            problem = national_number_problem(request.national_number, request.birth_date)
            if problem is not None:
                raise Invalid(problem, fields={"national_number": problem})
        self._background.start(self._open_registration(request), "registration")
        return Ack()

    async def _open_registration(self, request: auth.RegisterRequest) -> None:
        email = normalize_email(str(request.email))
        if await self._store.find_user_by_email(email) is not None:
            log.info("registration for an address that has an account; nothing sent")
            return
        if not await self._mail_quota.allow("registration", email):
            log.warning("registration not mailed: the address had its share this hour")
            return
        now = self._clock()
        token = new_secret_token()
        event = auth.RegistrationConfirmationRequested(
            registration_id=new_id(), email=email,
            display_name=f"{request.first_name.strip()} {request.last_name.strip()}",
            language=request.language, confirmation_token=token,
            expires_at=now + self._confirmation_lifetime, correlation_id=correlation_id.get(),
        )
        fields = {
            "last_name": request.last_name.strip(), "first_name": request.first_name.strip(),
            "birth_date": request.birth_date.isoformat(), "phone": request.phone.strip(),
            "national_number": request.national_number, "message": request.message,
        }
        await self._registrations.insert_registration(event, fields, hash_token(token), now)
        self._notify()
        log.info("registration opened", registration_id=event.registration_id)

    async def _open_link(self, token: str) -> StoredRegistration:
        registration = await self._registrations.find_by_token(hash_token(token))
        if registration is None:
            raise NotFound(UNKNOWN_LINK)
        if (registration.status is not RegistrationStatus.AWAITING_CONFIRMATION
                or self._clock() >= registration.expires_at):
            raise Gone(SPENT_LINK)
        return registration

    async def look_up(self, request: auth.RegistrationLookupRequest) -> auth.RegistrationPreview:
        """What the confirmation page shows: the address (read-only) and the name."""
        registration = await self._open_link(request.token)
        return auth.RegistrationPreview(email=registration.email,
                                        display_name=registration.display_name)

    async def confirm(self, request: auth.ConfirmRegistrationRequest) -> Ack:
        """The address is confirmed and the password chosen: the request goes to the broker."""
        registration = await self._open_link(request.token)
        problem = password_problem(request.password)
        if problem is not None:
            raise Invalid(problem, fields={"password": problem})
        account = Account(
            user_id=new_id(), email=registration.email, display_name=registration.display_name,
            role=Role.CLIENT, status=UserStatus.PENDING, language=registration.language,
            password_hash=await self._hasher.hash(request.password),
        )
        if not await self._store.insert_user(account, self._clock()):
            raise Conflict(ACCOUNT_EXISTS, fields={"email": ACCOUNT_EXISTS})
        pending = auth.RegistrationPending(
            registration_id=registration.registration_id, user_id=account.user_id,
            email=registration.email, display_name=registration.display_name,
            correlation_id=correlation_id.get())
        if not await self._registrations.mark_confirmed(
                registration.registration_id, account.user_id, self._clock(), pending):
            await self._store.set_status(account.user_id, UserStatus.DISABLED)
            raise Gone(SPENT_LINK)  # the same link confirmed at the same moment elsewhere
        self._notify()  # the office is told a registration waits for its decision
        log.info("registration confirmed", registration_id=registration.registration_id,
                 user_id=account.user_id)
        return Ack()

    # --- the staff -----------------------------------------------------------------------------

    async def list_registrations(
        self, request: auth.ListRegistrationsRequest
    ) -> auth.RegistrationList:
        """Registrations in a status (default: pending, the ones waiting for a decision)."""
        require_staff(request.caller)
        return auth.RegistrationList(registrations=await self._registrations.list_by_status(
            RegistrationStatus(request.status)))

    async def _pending(self, registration_id: str) -> StoredRegistration:
        registration = await self._registrations.find(registration_id)
        if registration is None:
            raise NotFound(NO_REGISTRATION)
        if registration.status is not RegistrationStatus.PENDING or registration.user_id is None:
            raise Conflict(NOT_PENDING)
        return registration

    async def approve(self, request: auth.ApproveRegistrationRequest) -> auth.RegistrationPublic:
        """Staff accept the client and link the account to dossiers; the client is mailed."""
        require_staff(request.caller)
        registration = await self._pending(request.registration_id)
        assert registration.user_id is not None
        dossier_ids = list(dict.fromkeys(request.dossier_ids))
        await self._references.require_dossiers(request.caller, dossier_ids)
        if await self._store.open_pending_user(registration.user_id, dossier_ids) is None:
            raise Conflict(NOT_PENDING)
        decided = await self._decide(registration, request.caller.user_id, approved=True,
                                     dossier_ids=dossier_ids, reason=None)
        await self._audit.record(request.caller, request.origin, "registration.approve",
                                 registration.registration_id, user_id=registration.user_id,
                                 dossier_ids=",".join(dossier_ids))
        return decided

    async def refuse(self, request: auth.RefuseRegistrationRequest) -> auth.RegistrationPublic:
        """Staff refuse the registration with a reason; the client is mailed the reason."""
        require_staff(request.caller)
        registration = await self._pending(request.registration_id)
        assert registration.user_id is not None
        await self._store.set_status(registration.user_id, UserStatus.DISABLED)
        decided = await self._decide(registration, request.caller.user_id, approved=False,
                                     dossier_ids=[], reason=request.reason.strip())
        await self._audit.record(request.caller, request.origin, "registration.refuse",
                                 registration.registration_id, user_id=registration.user_id,
                                 reason=request.reason.strip())
        return decided

    async def _decide(
        self, registration: StoredRegistration, decided_by: str, *, approved: bool,
        dossier_ids: list[str], reason: str | None,
    ) -> auth.RegistrationPublic:
        event = auth.RegistrationDecided(
            registration_id=registration.registration_id, user_id=registration.user_id,
            email=registration.email, display_name=registration.display_name,
            language=registration.language, approved=approved, reason=reason,
            correlation_id=correlation_id.get(),
        )
        status = RegistrationStatus.APPROVED if approved else RegistrationStatus.REFUSED
        decided = await self._registrations.decide(
            registration.registration_id, status, decided_by, self._clock(), event,
            dossier_ids=dossier_ids, reason=reason)
        if decided is None:
            raise Conflict(NOT_PENDING)
        self._notify()
        log.info("registration decided", registration_id=registration.registration_id,
                 approved=approved, by=decided_by)
        return decided.public
