"""Auth's part in erasure (GDPR art. 17) and retention.

A dossier's erasure takes the dossier away from every account that had it (the gateways hear of
it, as of any revoked grant), erases the client accounts left without any dossier (their only
purpose was that dossier), the access log of the dossier, its invitations and registrations.
The office admin erases a client account on its own (`erase_account`); a client deletes their
own login, confirming with their password (`delete_own_login`); the office is told.

Kept: the staff audit log (ASVS 16.2, GDPR art. 5(2) accountability: who did what to which
account or dossier) and, for the few minutes access tokens live, the record of revoked grants.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts.caller import Role
from libs.contracts.envelope import Event, utc_now
from libs.contracts.privacy import (
    AccountErased,
    AccountErasureReport,
    AccountErasureRequest,
    KeptEvidence,
    LoginDeleted,
    OwnLoginDeletion,
)
from libs.contracts.rpc import Ack
from libs.servicekit.erasure import (
    ERASURE_REPORTS,
    DeleteMentioning,
    DeleteWhere,
    ErasureParticipant,
    ErasureRule,
    HoldsNoDossierData,
    KeepAsEvidence,
)
from libs.servicekit.errors import Forbidden, Invalid, NotFound
from libs.servicekit.logs import get_logger
from libs.servicekit.mongo import Document
from libs.servicekit.retention import RetentionJob, RetentionRule, schedule_retention
from libs.servicekit.runtime import ServiceRuntime
from services.auth.accounts.grant_revocations import GrantRevocations
from services.auth.accounts.store import GRANT_REVOCATIONS, INVITATIONS, USERS
from services.auth.audit.store import AUDIT
from services.auth.audit.trail import AuditTrail
from services.auth.config import AuthSettings
from services.auth.eid.store import EID_LINKS
from services.auth.mail_quota.store import MAIL_QUOTA
from services.auth.office.store import OFFICE_SETTINGS
from services.auth.passwords.hashing import PasswordHasher
from services.auth.passwords.store import PASSWORD_RESETS
from services.auth.privacy.access_log import AccessLog
from services.auth.privacy.store import (
    ACCOUNT_NOTICES,
    EXPORTS,
    STAFF_READS,
    AccountRecords,
    StaffReads,
)
from services.auth.privacy.store import RUNNING as RUNNING_EXPORTS
from services.auth.registration.store import REGISTRATIONS
from services.auth.sessions.keeper import SessionKeeper
from services.auth.sessions.lockout.store import THROTTLES, UNLOCKS
from services.auth.sessions.store import SESSIONS

log = get_logger(__name__)
SERVICE = "auth"
AUDIT_REASON = ("the staff audit log: who did what to which account or dossier (ASVS 16.2, "
                "GDPR art. 5(2) accountability); names no person, only account ids")

# What a dossier's erasure does to each collection of the auth database.
ERASURE_RULES: dict[str, ErasureRule] = {
    USERS: HoldsNoDossierData("grants are taken away and accounts left without a dossier are "
                              "erased before the rules run (erase_dossier_accounts)"),
    INVITATIONS: DeleteMentioning(),
    SESSIONS: HoldsNoDossierData("session ids and token hashes; ended with the account"),
    PASSWORD_RESETS: HoldsNoDossierData("reset links of accounts, erased with the account"),
    REGISTRATIONS: DeleteMentioning(),
    AUDIT: KeepAsEvidence(AUDIT_REASON, field="target"),
    EID_LINKS: HoldsNoDossierData("eID link requests of accounts, erased with the account"),
    THROTTLES: HoldsNoDossierData("failed log-in counters, kept a day (retention)"),
    UNLOCKS: HoldsNoDossierData("unlock links of accounts, erased with the account"),
    MAIL_QUOTA: HoldsNoDossierData("how many mails an address got, kept a day (retention)"),
    GRANT_REVOCATIONS: KeepAsEvidence(
        "revoked grants, until the access tokens issued before the erasure have expired "
        "(minutes; then purged): the gateways refuse the dossier meanwhile", field="dossier_id"),
    STAFF_READS: DeleteWhere("dossier_id"),
    ACCOUNT_NOTICES: HoldsNoDossierData("the outbox of the office's notice, removed once sent"),
    OFFICE_SETTINGS: HoldsNoDossierData("the broker office's own identity and branding"),
    EXPORTS: DeleteWhere("dossier_ids"),  # with their files, before the rules (forget_exports)
    RUNNING_EXPORTS: HoldsNoDossierData("which account has an export in progress (ids only)"),
}

# Retention (deploy/README.md, "Retention"): defaults and their legal basis.
RETENTION_RULES = (
    RetentionRule("refused_registrations", REGISTRATIONS, "created_at", 30,
                  "GDPR art. 5(1)(e): a refused registration has no further purpose; 30 days "
                  "to answer the applicant's questions", only={"status": "refused"}),
    RetentionRule("expired_invitations", INVITATIONS, "expires_at", 90,
                  "GDPR art. 5(1)(e): an unused link has no purpose once expired",
                  only={"used_at": None}),
    RetentionRule("access_log", STAFF_READS, "at", 730,
                  "GDPR art. 15 and 5(2): the client may ask who consulted their data; two "
                  "years, as the Belgian DPA advises for access logs"),
    RetentionRule("audit_log", AUDIT, "at", 2555,
                  "GDPR art. 5(2) and the insurance distribution rules (Law of 4 April 2014): "
                  "seven years of staff actions"),
    # Counters that only serve a limit of minutes or an hour (their TTL index forgets them
    # too, but a TTL is slow on some servers: this job is the bound).
    RetentionRule("login_throttles", THROTTLES, "last.failure_at", 1,
                  "GDPR art. 5(1)(c)/(e): failed log-ins count towards a back-off of minutes; "
                  "a day after the last failure they have no purpose"),
    RetentionRule("mail_quota", MAIL_QUOTA, "sent_at", 1,
                  "GDPR art. 5(1)(c)/(e): mails to an address count for an hour's limit; "
                  "kept a day at most"),
)


class AuthErasure:
    """The auth side of a dossier's erasure and the erasure of accounts."""

    def __init__(self, database: AsyncDatabase[Document], sessions: SessionKeeper,
                 revocations: GrantRevocations, hasher: PasswordHasher, audit: AuditTrail, *,
                 notify: Callable[[], None], clock: Callable[[], datetime] = utc_now,
                 forget_exports: Callable[[str], Awaitable[dict[str, int]]] | None = None,
                 ) -> None:
        self._accounts = AccountRecords(database)
        self._sessions = sessions
        self._revocations = revocations
        self._hasher = hasher
        self._audit = audit
        self._notify = notify
        self._clock = clock
        self._forget_exports = forget_exports
        self.participant = ErasureParticipant(database, SERVICE, ERASURE_RULES,
                                              before=self._before_rules, notify=notify)

    async def ensure_indexes(self) -> None:
        """The purge of sent notices."""
        await self._accounts.ensure_indexes()

    async def _before_rules(self, dossier_id: str) -> dict[str, int]:
        """What the rules cannot do by a query: accounts, and the data exports' files."""
        deleted = await self.erase_dossier_accounts(dossier_id)
        if self._forget_exports is not None:
            deleted |= await self._forget_exports(dossier_id)
        return deleted

    async def erase_dossier_accounts(self, dossier_id: str) -> dict[str, int]:
        """Take the dossier from every account; erase the clients left without a dossier."""
        deleted: dict[str, int] = {"grants": 0}
        for doc in await self._accounts.accounts_with(dossier_id):
            await self._revocations.record(doc["_id"], dossier_id)  # gateways first
            await self._accounts.take_dossier(doc["_id"], dossier_id)
            deleted["grants"] += 1
            left = [d for d in doc.get("dossier_ids", []) if d != dossier_id]
            if doc.get("role") == Role.CLIENT.value and not left:
                for name, count in (await self._erase_account_data(doc["_id"])).items():
                    deleted[name] = deleted.get(name, 0) + count
        return deleted

    async def _erase_account_data(self, user_id: str) -> dict[str, int]:
        """Delete an account's login, sessions' use, preferences and links; what was deleted."""
        ended = await self._sessions.revoke_all_of(user_id, "account erased")
        deleted = {"sessions_ended": ended, **await self._accounts.delete_linked(user_id)}
        # The login itself with its preferences (language, trusted devices) and its eID.
        doc = await self._accounts.delete_account(user_id)
        deleted[USERS] = 0 if doc is None else 1
        if doc is not None:  # the notifier forgets the mails to the address
            await self._store_notice(AccountErased(user_id=user_id, email=doc["email"]))
        return deleted

    async def _store_notice(self, event: Event) -> None:
        # Notices ride documents of their own: the account they tell of is deleted. Once
        # relayed, the outbox entry (with the name and address) is removed; the shell purges.
        await self._accounts.insert_notice(event, purge_at=self._clock() + timedelta(days=1))
        self._notify()

    async def erase_account(self, request: AccountErasureRequest) -> AccountErasureReport:
        """The office admin erases a client account (the dossiers stay the office's)."""
        if request.caller.role is not Role.ADMIN:
            raise Forbidden("Only the office admin erases accounts.")
        doc = await self._accounts.find_account(request.user_id)
        if doc is None:
            raise NotFound("This account does not exist.")
        if doc.get("role") != Role.CLIENT.value:
            raise Invalid("Only a client's account is erased here; disable a staff account.")
        deleted = await self._erase_account_data(request.user_id)
        await self._audit.record(request.caller, request.origin, "account.erase",
                                 request.user_id, sessions_ended=str(deleted["sessions_ended"]))
        kept = [KeptEvidence(collection=AUDIT, count=1, reason=AUDIT_REASON)]
        return AccountErasureReport(user_id=request.user_id, deleted=deleted, kept=kept)

    async def delete_own_login(self, request: OwnLoginDeletion) -> Ack:
        """A client deletes their own login (confirmed with the password); the office is told."""
        if request.caller.role is not Role.CLIENT:
            raise Forbidden("Staff accounts are closed by the office admin.")
        doc = await self._accounts.find_account(request.caller.user_id)
        if doc is None:
            raise NotFound("This account does not exist.")
        if not doc.get("password_hash") or not await self._hasher.verify(
                request.password, doc["password_hash"]):
            raise Invalid("The password is not correct.",
                          fields={"password": "The password is not correct."})
        event = LoginDeleted(user_id=doc["_id"], display_name=doc["display_name"],
                             email=doc["email"], dossier_ids=list(doc.get("dossier_ids", [])))
        await self._store_notice(event)
        await self._erase_account_data(doc["_id"])
        log.info("client deleted their login", user_id=doc["_id"])
        return Ack()


OUTBOX_COLLECTIONS = [ERASURE_REPORTS, ACCOUNT_NOTICES]


@dataclass
class AuthPrivacy:
    """What main.py needs of the privacy part: indexes, and its background job."""

    erasure: AuthErasure
    access_log: AccessLog
    retention: RetentionJob

    async def ensure_indexes(self) -> None:
        """The access log's and the notices' indexes."""
        await self.erasure.ensure_indexes()
        await self.access_log.ensure_indexes()

    def start_with(self, runtime: ServiceRuntime) -> None:
        """Run the retention job for the life of the service."""
        schedule_retention(runtime, self.retention)


def build(database: AsyncDatabase[Document], settings: AuthSettings,
          sessions: SessionKeeper, revocations: GrantRevocations, hasher: PasswordHasher,
          audit: AuditTrail, *, notify: Callable[[], None],
          forget_exports: Callable[[str], Awaitable[dict[str, int]]] | None = None,
          ) -> AuthPrivacy:
    """Build the access log, the erasures and the retention job of auth (their bus entry
    points: privacy/subscribers.py)."""
    erasure = AuthErasure(database, sessions, revocations, hasher, audit, notify=notify,
                          forget_exports=forget_exports)
    access_log = AccessLog(StaffReads(database))
    return AuthPrivacy(erasure, access_log, RetentionJob(
        database, SERVICE, RETENTION_RULES, settings.retention_days))
