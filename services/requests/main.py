"""Composition root of the requests service: `python -m services.requests`."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from libs.contracts.caller import Caller
from libs.contracts.envelope import utc_now
from libs.contracts.privacy import ExportPart
from libs.servicekit.bus import create_broker
from libs.servicekit.cursor_signing import CursorSigner, cursor_key
from libs.servicekit.export_parts import EXPORT_PARTS, subscribe_export_part
from libs.servicekit.export_storage import ExportStorage
from libs.servicekit.lease import Lease
from libs.servicekit.logs import configure_logging
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.outbox import OutboxRelay
from libs.servicekit.periodic import run_every, stop_background
from libs.servicekit.references import RpcCalling
from libs.servicekit.rpc import RpcClient
from libs.servicekit.runtime import ServiceRuntime
from services.requests import privacy_erasure, subscribers
from services.requests.client_sheet import wiring as client_sheet_wiring
from services.requests.client_sheet.filing import SheetRequestFiling
from services.requests.client_sheet.handlers import ClientSheetHandlers
from services.requests.client_sheet.store import REMINDERS, ClientSheetStore
from services.requests.config import RequestsSettings
from services.requests.domain import ServiceLevels, WorkingCalendar
from services.requests.forms.handlers import FormHandlers
from services.requests.forms.store import DataChangeStore, DraftStore
from services.requests.handlers import RequestHandlers
from services.requests.privacy_export import RequestsPartBuilder
from services.requests.store import REQUESTS, RequestStore, SubmissionWindows
from services.requests.submission_limits import SubmissionKind, SubmissionLimit

SERVICE = "requests"


@dataclass
class RequestsService:
    runtime: ServiceRuntime
    handlers: RequestHandlers
    store: RequestStore
    relay: OutboxRelay
    forms: FormHandlers
    draft_purge_seconds: float
    client_sheets: ClientSheetHandlers
    client_sheet_store: ClientSheetStore
    client_sheet_check_seconds: float
    rpc_client: RpcClient | None  # None when the caller passed its own RPC (tests)
    prepare_database: Callable[[], Awaitable[None]]  # indexes (the runtime runs it at start)

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM, purging expired drafts and looking for due client
        sheets meanwhile (each job in one replica at a time: its lease)."""
        database = self.runtime.database
        background = [
            asyncio.create_task(run_every(
                self.draft_purge_seconds, self.forms.purge_drafts, name="draft purge",
                lease=Lease(database, "draft-purge")), name="draft-purge"),
            asyncio.create_task(run_every(
                self.client_sheet_check_seconds, self.client_sheets.remind_due_sheets,
                name="client sheet reminders", lease=Lease(database, "client-sheet-reminders")),
                name="client-sheet-reminders"),
        ]
        try:
            await self.runtime.run()
        finally:
            await stop_background(background)
            if self.rpc_client is not None:
                await self.rpc_client.close()


def build(settings: RequestsSettings, *, rpc: RpcCalling | None = None,
          clock: Callable[[], datetime] = utc_now) -> RequestsService:
    """Build the service from its settings (tests call this with their own, may pass a fake
    `rpc` standing for the dossier and documents services, and a `clock` of their own for the
    client sheet)."""
    broker = create_broker(settings.amqp_url, SERVICE)
    database = create_mongo_client(settings.mongo_url)[settings.database_name(SERVICE)]
    store = RequestStore(database)
    windows = SubmissionWindows(database)
    relay = OutboxRelay(broker, database, [REQUESTS, REMINDERS,
                                           *privacy_erasure.OUTBOX_COLLECTIONS, EXPORT_PARTS])
    levels = ServiceLevels(
        calendar=WorkingCalendar(opens=time(settings.office_opens_hour),
                                 closes=time(settings.office_closes_hour % 24)),
        working_days={str(kind): days for kind, days in settings.target_working_days.items()},
        default_working_days=settings.default_target_working_days)
    signer = CursorSigner(cursor_key(settings.cursor_secret, settings.environment))
    handlers = RequestHandlers(store, on_events_stored=relay.notify, windows=windows, limits={
        SubmissionKind.MESSAGE: SubmissionLimit(
            settings.message_burst, timedelta(seconds=settings.message_interval_seconds)),
        SubmissionKind.ATTACHMENT: SubmissionLimit(
            settings.attachment_burst, timedelta(seconds=settings.attachment_interval_seconds)),
    }, levels=levels, cursor_signer=signer)
    subscribers.register(broker, handlers, prefetch=settings.rpc_prefetch)
    privacy = privacy_erasure.wire(broker, database, settings, notify=relay.notify)
    # The forms and the client sheet read the dossier (and the claim's documents) from their
    # owners over RPC.
    rpc_client: RpcClient | None = None
    if rpc is None:
        rpc = rpc_client = RpcClient(settings.amqp_url,
                                     timeout_seconds=settings.rpc_timeout_seconds)
    drafts, changes = DraftStore(database), DataChangeStore(database)

    async def take_form_submission(caller: Caller) -> None:
        # A form counts as a message in the account's submission window.
        await handlers._take_submission(caller, SubmissionKind.MESSAGE)

    forms = FormHandlers(
        store, drafts, changes, rpc, on_events_stored=relay.notify,
        take_submission=take_form_submission, cursor_signer=signer, levels=levels)
    subscribers.register_forms(broker, forms, prefetch=settings.rpc_prefetch)
    sheet_store = ClientSheetStore(database)
    client_sheets = ClientSheetHandlers(
        sheet_store, SheetRequestFiling(store, levels), rpc, windows=windows,
        limit=SubmissionLimit(settings.client_sheet_burst,
                              timedelta(seconds=settings.client_sheet_interval_seconds)),
        validity=timedelta(days=settings.client_sheet_validity_days),
        on_events_stored=relay.notify, clock=clock)
    client_sheet_wiring.register(broker, client_sheets, prefetch=settings.rpc_prefetch)
    subscribe_export_part(broker, database, ExportStorage.from_settings(settings),
                          consumer=SERVICE, part=ExportPart.REQUESTS,
                          build=RequestsPartBuilder(database), notify=relay.notify)

    async def prepare() -> None:
        await store.ensure_indexes()
        await windows.ensure_indexes()
        await drafts.ensure_indexes()
        await changes.ensure_indexes()
        await sheet_store.ensure_indexes()
        await client_sheets.prepare()
        if rpc_client is not None and not rpc_client.connected:
            await rpc_client.connect()

    runtime = ServiceRuntime(
        SERVICE, settings, broker, database, relay=relay, prepare_database=prepare
    )
    privacy.start_with(runtime)
    return RequestsService(runtime=runtime, handlers=handlers, store=store, relay=relay,
                           forms=forms, draft_purge_seconds=settings.draft_purge_seconds,
                           client_sheets=client_sheets, client_sheet_store=sheet_store,
                           client_sheet_check_seconds=settings.client_sheet_check_seconds,
                           rpc_client=rpc_client, prepare_database=prepare)


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = RequestsSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).run())
