"""Composition root of the notifier service: `python -m services.notifier`."""

import asyncio
from dataclasses import dataclass

from libs.servicekit.bus import create_broker
from libs.servicekit.logs import configure_logging
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.runtime import ServiceRuntime
from services.notifier import subscribers
from services.notifier.config import NotifierSettings
from services.notifier.handlers import NotifierHandlers
from services.notifier.mailer import SmtpMailer
from services.notifier.store import NotifierStore

SERVICE = "notifier"


@dataclass
class NotifierService:
    runtime: ServiceRuntime
    handlers: NotifierHandlers
    store: NotifierStore


def build(settings: NotifierSettings) -> NotifierService:
    """Build the service from its settings (tests call this with their own)."""
    broker = create_broker(settings.amqp_url, SERVICE)
    database = create_mongo_client(settings.mongo_url)[settings.database_name(SERVICE)]
    store = NotifierStore(database, consumer=SERVICE)
    handlers = NotifierHandlers(store.inbox, SmtpMailer(settings), settings)
    subscribers.register(broker, handlers, prefetch=settings.event_prefetch)
    runtime = ServiceRuntime(
        SERVICE, settings, broker, database, prepare_database=store.ensure_indexes
    )
    return NotifierService(runtime=runtime, handlers=handlers, store=store)


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = NotifierSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).runtime.run())
