"""Composition root of the auth service: `python -m services.auth`."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from libs.contracts.envelope import utc_now
from libs.servicekit.bus import create_broker
from libs.servicekit.cursor_signing import CursorSigner, cursor_key
from libs.servicekit.export_parts import EXPORT_PARTS
from libs.servicekit.logs import configure_logging
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.outbox import OutboxRelay
from libs.servicekit.periodic import stop_background
from libs.servicekit.references import DossierReferenceCheck, RpcCalling
from libs.servicekit.rpc import RpcClient
from libs.servicekit.runtime import ServiceRuntime
from services.auth.accounts import subscribers as accounts_subscribers
from services.auth.accounts.actions import AccountHandlers
from services.auth.accounts.grant_revocations import GrantRevocations
from services.auth.accounts.handlers import AuthHandlers
from services.auth.accounts.invitations import InvitationSender
from services.auth.accounts.lists import AccountListHandlers
from services.auth.accounts.store import (
    GRANT_REVOCATIONS,
    OUTBOX_COLLECTIONS,
    AuthStore,
    GrantRevocationRecords,
)
from services.auth.audit import subscribers as audit_subscribers
from services.auth.audit.handlers import AuditLogHandlers
from services.auth.audit.store import AuditStore
from services.auth.audit.trail import AuditTrail
from services.auth.background import BackgroundWork
from services.auth.config import AuthSettings
from services.auth.domain import SessionLimits
from services.auth.eid import subscribers as eid_subscribers
from services.auth.eid.handlers import EidHandlers, trust_bundle_from
from services.auth.eid.store import EID_LINKS, EidStore
from services.auth.mail_quota.quota import MailQuota
from services.auth.mail_quota.store import MailQuotaStore
from services.auth.office import subscribers as office_subscribers
from services.auth.office.handlers import OfficeHandlers
from services.auth.office.store import OFFICE_OUTBOX_COLLECTIONS, OfficeStore
from services.auth.passwords import subscribers as passwords_subscribers
from services.auth.passwords.handlers import PasswordHandlers
from services.auth.passwords.hashing import password_hasher
from services.auth.passwords.store import PASSWORD_RESETS, PasswordResetStore
from services.auth.privacy import erasure as privacy_erasure
from services.auth.privacy import subscribers as privacy_subscribers
from services.auth.privacy.export_wiring import build_exports, sweep_exports
from services.auth.privacy.exports import PrivacyExports
from services.auth.privacy.store import EXPORTS
from services.auth.registration import subscribers as registration_subscribers
from services.auth.registration.handlers import RegistrationHandlers
from services.auth.registration.store import REGISTRATION_OUTBOX_COLLECTIONS, RegistrationStore
from services.auth.sessions import subscribers as sessions_subscribers
from services.auth.sessions.access_tokens import AccessTokenSigner, signing_key_from_settings
from services.auth.sessions.handlers import LoginHandlers, SessionHandlers
from services.auth.sessions.keeper import SessionKeeper
from services.auth.sessions.lockout import subscribers as lockout_subscribers
from services.auth.sessions.lockout.domain import BackOffPolicy, FailureWindow, LoginThrottle
from services.auth.sessions.lockout.handlers import UnlockHandlers
from services.auth.sessions.lockout.store import UNLOCKS, ThrottleRecords, UnlockLinks
from services.auth.sessions.store import SESSIONS, SessionStore

SERVICE = "auth"


@dataclass
class AuthService:
    runtime: ServiceRuntime
    handlers: AuthHandlers
    login_handlers: LoginHandlers
    password_handlers: PasswordHandlers
    registration_handlers: RegistrationHandlers
    account_handlers: AccountHandlers
    eid_handlers: EidHandlers
    list_handlers: AccountListHandlers
    office_handlers: OfficeHandlers
    background: BackgroundWork
    store: AuthStore
    relay: OutboxRelay
    signer: AccessTokenSigner
    prepare_database: Callable[[], Awaitable[None]]
    rpc_client: RpcClient | None  # None when the caller passed its own RPC (tests)
    privacy_exports: PrivacyExports
    export_sweep_seconds: float

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM, then close the RPC connection."""
        background = [asyncio.create_task(
            sweep_exports(self.privacy_exports, self.runtime.database,
                          self.export_sweep_seconds), name="privacy-export-sweep")]
        try:
            await self.runtime.run()
        finally:
            await stop_background(background)
            if self.rpc_client is not None:
                await self.rpc_client.close()


def build(settings: AuthSettings, *, rpc: RpcCalling | None = None) -> AuthService:
    """Build the service from its settings (tests call this with their own, and a fake `rpc`
    standing for the dossier service)."""
    broker = create_broker(settings.amqp_url, SERVICE)
    database = create_mongo_client(settings.mongo_url)[settings.database_name(SERVICE)]
    store = AuthStore(database)
    relay = OutboxRelay(
        broker, database,
        [*OUTBOX_COLLECTIONS, SESSIONS, PASSWORD_RESETS, *REGISTRATION_OUTBOX_COLLECTIONS,
         EID_LINKS, UNLOCKS, GRANT_REVOCATIONS, *OFFICE_OUTBOX_COLLECTIONS,
         *privacy_erasure.OUTBOX_COLLECTIONS, EXPORTS, EXPORT_PARTS])
    # Whether a dossier exists is the dossier service's to say: asked over RPC.
    rpc_client: RpcClient | None = None
    if rpc is None:
        rpc = rpc_client = RpcClient(settings.amqp_url,
                                     timeout_seconds=settings.rpc_timeout_seconds)
    references = DossierReferenceCheck(rpc)
    revocations = GrantRevocations(GrantRevocationRecords(database), notify=relay.notify)
    signer = AccessTokenSigner(signing_key_from_settings(settings))
    session_store = SessionStore(database)
    sessions = SessionKeeper(
        store, session_store, signer,
        access_token_seconds=settings.access_token_seconds,
        limits=SessionLimits(idle=timedelta(days=settings.refresh_idle_days),
                             maximum=timedelta(days=settings.session_max_days)),
        devices_kept=settings.trusted_devices_per_account, notify=relay.notify,
    )
    throttle_records = ThrottleRecords(database)
    throttle = LoginThrottle(
        throttle_records,
        account=BackOffPolicy(settings.account_failure_limit,
                              timedelta(seconds=settings.account_first_wait_seconds),
                              timedelta(seconds=settings.account_longest_wait_seconds)),
        client_ip=FailureWindow(settings.ip_failure_limit,
                                timedelta(minutes=settings.ip_failure_window_minutes)),
        clock=utc_now,
    )
    unlocks = UnlockLinks(database)
    registration_store = RegistrationStore(database)
    audit_store = AuditStore(database)
    audit = AuditTrail(audit_store)
    background = BackgroundWork()
    mail_quota_store = MailQuotaStore(database)
    mail_quota = MailQuota(mail_quota_store, limit=settings.mail_limit_per_address,
                           window=timedelta(minutes=settings.mail_limit_window_minutes))
    hasher = password_hasher(settings)  # one hasher: one bound on concurrent hashing
    invitations = InvitationSender(store, invitation_days=settings.invitation_days,
                                   notify=relay.notify)
    handlers = AuthHandlers(store, hasher, sessions, audit, references, revocations, invitations)
    unlock_handlers = UnlockHandlers(
        store, hasher, sessions, throttle, unlocks,
        unlock_minutes=settings.unlock_link_minutes, notify=relay.notify,
    )
    login_handlers = LoginHandlers(store, hasher, sessions, throttle, unlock_handlers, background)
    reset_store = PasswordResetStore(database)
    password_handlers = PasswordHandlers(
        store, reset_store, hasher, sessions, throttle,
        reset_minutes=settings.password_reset_minutes, background=background,
        mail_quota=mail_quota, notify=relay.notify,
    )
    registration_handlers = RegistrationHandlers(
        store, registration_store, hasher, audit, background, references,
        confirmation_hours=settings.registration_confirmation_hours, mail_quota=mail_quota,
        notify=relay.notify,
    )
    account_handlers = AccountHandlers(store, sessions, invitations, audit)
    eid_store = EidStore(database)
    eid_handlers = EidHandlers(
        eid_store, store, sessions, audit,
        trust_bundle=trust_bundle_from(settings.eid_trust_bundle_path), notify=relay.notify,
    )
    list_handlers = AccountListHandlers(
        store, CursorSigner(cursor_key(settings.cursor_secret, settings.environment)))
    office_store = OfficeStore(database)
    office_handlers = OfficeHandlers(office_store, audit, notify=relay.notify)
    # Each capability wires its own RPC methods and declares the events its outbox publishes.
    prefetch = settings.rpc_prefetch
    accounts_subscribers.register(broker, handlers, account_handlers, list_handlers,
                                  prefetch=prefetch)
    office_subscribers.register(broker, office_handlers, prefetch=prefetch)
    sessions_subscribers.register(broker, login_handlers,
                                  SessionHandlers(sessions, revocations), prefetch=prefetch)
    lockout_subscribers.register(broker, unlock_handlers, prefetch=prefetch)
    passwords_subscribers.register(broker, password_handlers, prefetch=prefetch)
    registration_subscribers.register(broker, registration_handlers, prefetch=prefetch)
    audit_subscribers.register(broker, AuditLogHandlers(audit_store, store), prefetch=prefetch)
    eid_subscribers.register(broker, eid_handlers, prefetch=prefetch)
    privacy_exports = build_exports(database, settings, notify=relay.notify)
    privacy = privacy_erasure.build(database, settings, sessions, revocations, hasher, audit,
                                    notify=relay.notify,
                                    forget_exports=privacy_exports.forget_dossier)
    privacy_subscribers.register(broker, database, privacy, privacy_exports,
                                 notify=relay.notify, prefetch=prefetch,
                                 event_prefetch=settings.event_prefetch)

    async def prepare_database() -> None:
        """Indexes, then the office's first admin when configured and none exists yet."""
        await store.ensure_indexes()
        await session_store.ensure_indexes()
        await reset_store.ensure_indexes()
        await throttle_records.ensure_indexes()
        await unlocks.ensure_indexes()
        await registration_store.ensure_indexes()
        await audit_store.ensure_indexes()
        await eid_store.ensure_indexes()
        await store.prepare_lists()
        await mail_quota_store.ensure_indexes()
        await revocations.ensure_indexes()
        await office_store.ensure_indexes()
        await privacy.ensure_indexes()
        await privacy_exports.ensure_indexes()
        if rpc_client is not None and not rpc_client.connected:
            await rpc_client.connect()
        await handlers.bootstrap_admin(
            settings.bootstrap_admin_email, settings.bootstrap_admin_name,
            settings.bootstrap_admin_password.get_secret_value(),
        )

    # The runtime retries the preparation until the database answers (not ready meanwhile).
    runtime = ServiceRuntime(
        SERVICE, settings, broker, database, relay=relay, prepare_database=prepare_database
    )
    privacy.start_with(runtime)
    return AuthService(
        runtime=runtime, handlers=handlers, login_handlers=login_handlers,
        password_handlers=password_handlers,
        registration_handlers=registration_handlers, account_handlers=account_handlers,
        eid_handlers=eid_handlers, list_handlers=list_handlers, office_handlers=office_handlers,
        background=background, store=store, relay=relay, signer=signer,
        prepare_database=prepare_database, rpc_client=rpc_client,
        privacy_exports=privacy_exports, export_sweep_seconds=settings.export_sweep_seconds)


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = AuthSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).run())
