"""Composition root of the requests service: `python -m services.requests`."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import time, timedelta

from libs.contracts.caller import Caller
from libs.servicekit.bus import create_broker
from libs.servicekit.cursor_signing import CursorSigner, cursor_key
from libs.servicekit.logs import configure_logging
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.outbox import OutboxRelay
from libs.servicekit.periodic import run_every
from libs.servicekit.references import RpcCalling
from libs.servicekit.rpc import RpcClient
from libs.servicekit.runtime import ServiceRuntime
from services.requests import subscribers
from services.requests.config import RequestsSettings
from services.requests.domain import ServiceLevels, WorkingCalendar
from services.requests.forms.handlers import FormHandlers
from services.requests.forms.store import DataChangeStore, DraftStore
from services.requests.handlers import RequestHandlers
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
    rpc_client: RpcClient | None  # None when the caller passed its own RPC (tests)
    prepare_database: Callable[[], Awaitable[None]]  # indexes (the runtime runs it at start)

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM, purging expired drafts meanwhile."""
        purge = asyncio.create_task(run_every(
            self.draft_purge_seconds, self.forms.purge_drafts, name="draft purge"))
        try:
            await self.runtime.run()
        finally:
            purge.cancel()
            if self.rpc_client is not None:
                await self.rpc_client.close()


def build(settings: RequestsSettings, *, rpc: RpcCalling | None = None) -> RequestsService:
    """Build the service from its settings (tests call this with their own, and may pass a
    fake `rpc` standing for the dossier and documents services)."""
    broker = create_broker(settings.amqp_url, SERVICE)
    database = create_mongo_client(settings.mongo_url)[settings.database_name(SERVICE)]
    store = RequestStore(database)
    windows = SubmissionWindows(database)
    relay = OutboxRelay(broker, database, [REQUESTS])
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
    # The forms read the dossier (and the claim's documents) from their owners over RPC.
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

    async def prepare() -> None:
        await store.ensure_indexes()
        await windows.ensure_indexes()
        await drafts.ensure_indexes()
        await changes.ensure_indexes()
        if rpc_client is not None and not rpc_client.connected:
            await rpc_client.connect()

    runtime = ServiceRuntime(
        SERVICE, settings, broker, database, relay=relay, prepare_database=prepare
    )
    return RequestsService(runtime=runtime, handlers=handlers, store=store, relay=relay,
                           forms=forms, draft_purge_seconds=settings.draft_purge_seconds,
                           rpc_client=rpc_client, prepare_database=prepare)


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = RequestsSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).run())
