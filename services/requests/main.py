"""Composition root of the requests service: `python -m services.requests`."""

import asyncio
from dataclasses import dataclass
from datetime import time, timedelta

from libs.servicekit.bus import create_broker
from libs.servicekit.cursor_signing import CursorSigner, cursor_key
from libs.servicekit.logs import configure_logging
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.outbox import OutboxRelay
from libs.servicekit.runtime import ServiceRuntime
from services.requests import subscribers
from services.requests.config import RequestsSettings
from services.requests.domain import ServiceLevels, WorkingCalendar
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


def build(settings: RequestsSettings) -> RequestsService:
    """Build the service from its settings (tests call this with their own)."""
    broker = create_broker(settings.amqp_url, SERVICE)
    database = create_mongo_client(settings.mongo_url)[settings.database_name(SERVICE)]
    store = RequestStore(database)
    windows = SubmissionWindows(database)
    relay = OutboxRelay(broker, database, [REQUESTS])
    levels = ServiceLevels(
        calendar=WorkingCalendar(opens=time(settings.office_opens_hour),
                                 closes=time(settings.office_closes_hour % 24)),
        working_days=dict(settings.target_working_days),
        default_working_days=settings.default_target_working_days)
    signer = CursorSigner(cursor_key(settings.cursor_secret, settings.environment))
    handlers = RequestHandlers(store, on_events_stored=relay.notify, windows=windows, limits={
        SubmissionKind.MESSAGE: SubmissionLimit(
            settings.message_burst, timedelta(seconds=settings.message_interval_seconds)),
        SubmissionKind.ATTACHMENT: SubmissionLimit(
            settings.attachment_burst, timedelta(seconds=settings.attachment_interval_seconds)),
    }, levels=levels, cursor_signer=signer)
    subscribers.register(broker, handlers, prefetch=settings.rpc_prefetch)

    async def prepare() -> None:
        await store.ensure_indexes()
        await windows.ensure_indexes()

    runtime = ServiceRuntime(
        SERVICE, settings, broker, database, relay=relay, prepare_database=prepare
    )
    return RequestsService(runtime=runtime, handlers=handlers, store=store, relay=relay)


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = RequestsSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).runtime.run())
