"""Composition root of the notifier service: `python -m services.notifier`."""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from libs.contracts.envelope import utc_now
from libs.contracts.privacy import ExportPart, ExportReady
from libs.servicekit.bus import create_broker, subscribe_event
from libs.servicekit.export_parts import subscribe_export_part
from libs.servicekit.export_storage import ExportStorage
from libs.servicekit.lease import Lease
from libs.servicekit.logs import configure_logging, get_logger
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.periodic import run_every, stop_background
from libs.servicekit.rpc import RpcClient
from libs.servicekit.runtime import ServiceRuntime
from services.notifier import privacy_erasure, subscribers
from services.notifier.config import NotifierSettings
from services.notifier.delivery import MailDelivery
from services.notifier.delivery_log import DeliveryLog
from services.notifier.handlers import NotifierHandlers, RpcCalling
from services.notifier.mail_problems import MailProblems
from services.notifier.mail_templates import OfficeBrandingSource, renderer
from services.notifier.mailer import SmtpMailer
from services.notifier.office import OfficeSettingsCopy
from services.notifier.preferences import Preferences
from services.notifier.privacy_export import ExportReadyMails, MailsPartBuilder
from services.notifier.sms_handlers import SmsHandlers
from services.notifier.sms_providers import SmsProvider, provider_from_settings
from services.notifier.sms_store import SmsStore
from services.notifier.store import MailStore

SERVICE = "notifier"
log = get_logger(__name__)
FORGET_EVERY = timedelta(hours=1)  # old mails are deleted by the mail check at most hourly


@dataclass
class NotifierService:
    runtime: ServiceRuntime
    handlers: NotifierHandlers
    delivery: MailDelivery
    problems: MailProblems
    delivery_log: DeliveryLog
    preferences: Preferences
    store: MailStore
    rpc_client: RpcClient | None  # None when the caller passed its own RPC (tests)
    sms: SmsHandlers
    sms_store: SmsStore
    sms_provider: SmsProvider
    check_seconds: float
    _last_forget: datetime | None = field(default=None, init=False)
    mailer: SmtpMailer
    office: OfficeSettingsCopy  # the office's name, addresses and look for the mails

    async def check_mails(self) -> None:
        """The periodic job: send the office digests, the clients' request news and the
        clients' daily digests that are due, then make the hand-offs a crash cut off
        uncertain."""
        await self.handlers.send_due_office_digests()
        await self.handlers.send_due_client_updates()
        await self.handlers.send_due_client_digests()
        await self.delivery.settle_stalled()
        now = utc_now()
        if self._last_forget is None or now - self._last_forget >= FORGET_EVERY:
            self._last_forget = now
            if forgotten := await self.store.forget_old(now):
                log.info("old mails forgotten", count=forgotten)

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM, checking mails meanwhile, then close the RPC
        connection."""
        checker = asyncio.create_task(
            run_every(self.check_seconds, self.check_mails, name="mail check",
                      lease=Lease(self.runtime.database, "mail-check")),
            name="mails")
        office = asyncio.create_task(self.office.keep_loaded(), name="office settings")
        try:
            await self.runtime.run()
        finally:
            await stop_background([checker, office])
            if self.rpc_client is not None:
                await self.rpc_client.close()
            await self.sms_provider.close()
            await self.mailer.close()
            await self.office.close()


def build(settings: NotifierSettings, *, rpc: RpcCalling | None = None,
          http: httpx.AsyncClient | None = None) -> NotifierService:
    """Build the service from its settings (tests call this with their own, a fake `rpc`, and
    an `http` client on their own transport for the office logo)."""
    broker = create_broker(settings.amqp_url, SERVICE)
    database = create_mongo_client(settings.mongo_url)[settings.database_name(SERVICE)]
    store = MailStore(database)
    # Who the clients of a dossier are is auth's to say: asked over RPC.
    rpc_client: RpcClient | None = None
    if rpc is None:
        rpc = rpc_client = RpcClient(settings.amqp_url,
                                     timeout_seconds=settings.rpc_timeout_seconds)
    mailer = SmtpMailer(settings)
    delivery = MailDelivery(store, mailer, settings)
    preferences = Preferences(store, settings)
    office = OfficeSettingsCopy(rpc, http)
    # The mails are branded with the latest office settings and carry their logo inline.
    branding = OfficeBrandingSource(settings=office.current, logo=office.logo)
    renderer()  # the catalogs and templates compiled at start, not when the first mail is due
    handlers = NotifierHandlers(store, delivery, settings, rpc=rpc, preferences=preferences,
                                office=branding)
    problems = MailProblems(store, delivery, settings)
    delivery_log = DeliveryLog(store, delivery, settings)
    subscribers.register(broker, handlers, problems, prefetch=settings.event_prefetch,
                         rpc_prefetch=settings.rpc_prefetch)
    subscribers.register_mail_log(broker, delivery_log, preferences,
                                  rpc_prefetch=settings.rpc_prefetch)
    sms_store = SmsStore(database)
    sms_provider = provider_from_settings(settings)
    if settings.environment == "prod" and settings.sms_provider == "sink":
        # Like a mail catcher for SMTP: fine for a demo cluster, wrong for real clients.
        log.warning("SMS go to files, not to phones", directory=settings.sms_sink_dir)
    sms = SmsHandlers(sms_store, sms_provider, settings, clock=utc_now)
    subscribers.register_sms(broker, sms, prefetch=settings.rpc_prefetch)
    office.subscribe(broker)
    privacy, relay = privacy_erasure.wire(broker, database, settings, delivery,
                                            office=branding)
    # The data exports: the mails part (reported through the erasure's relay, the service's
    # only outbox), and the mail telling the client the export is ready.
    subscribe_export_part(broker, database, ExportStorage.from_settings(settings),
                          consumer=SERVICE, part=ExportPart.MAILS,
                          build=MailsPartBuilder(database), notify=relay.notify)
    subscribe_event(broker, consumer=SERVICE, purpose="privacy-export-mails",
                    event_type=ExportReady,
                    handle=ExportReadyMails(delivery, settings, branding).send,
                    prefetch=settings.event_prefetch)

    async def prepare() -> None:
        # Retried by the runtime until both answer; the service reports not-ready meanwhile.
        await store.ensure_indexes()
        await sms_store.ensure_indexes()
        if rpc_client is not None and not rpc_client.connected:
            await rpc_client.connect()

    runtime = ServiceRuntime(SERVICE, settings, broker, database, relay=relay,
                             prepare_database=prepare)
    privacy.start_with(runtime)
    return NotifierService(runtime=runtime, handlers=handlers, delivery=delivery,
                           problems=problems, delivery_log=delivery_log,
                           preferences=preferences, store=store, rpc_client=rpc_client, sms=sms,
                           sms_store=sms_store, sms_provider=sms_provider,
                           check_seconds=settings.mail_check_seconds, mailer=mailer,
                           office=office)


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = NotifierSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).run())
