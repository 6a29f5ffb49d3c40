"""Composition root of the requests service: `python -m services.requests`."""

import asyncio
from dataclasses import dataclass

from libs.servicekit.bus import create_broker
from libs.servicekit.logs import configure_logging
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.outbox import OutboxRelay
from libs.servicekit.runtime import ServiceRuntime
from services.requests import subscribers
from services.requests.config import RequestsSettings
from services.requests.handlers import RequestHandlers
from services.requests.store import REQUESTS, RequestStore

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
    relay = OutboxRelay(broker, database, [REQUESTS])
    handlers = RequestHandlers(store, on_events_stored=relay.notify)
    subscribers.register(broker, handlers, prefetch=settings.rpc_prefetch)
    runtime = ServiceRuntime(
        SERVICE, settings, broker, database, relay=relay, prepare_database=store.ensure_indexes
    )
    return RequestsService(runtime=runtime, handlers=handlers, store=store, relay=relay)


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = RequestsSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).runtime.run())
