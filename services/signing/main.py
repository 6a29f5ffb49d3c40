"""Composition root of the signing service: `python -m services.signing`."""

import asyncio
from dataclasses import dataclass

from libs.servicekit.bus import create_broker
from libs.servicekit.logs import configure_logging
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.runtime import ServiceRuntime
from services.signing import subscribers
from services.signing.config import SigningSettings
from services.signing.handlers import SigningHandlers
from services.signing.store import SigningStore

SERVICE = "signing"


@dataclass
class SigningService:
    runtime: ServiceRuntime
    handlers: SigningHandlers
    store: SigningStore


def build(settings: SigningSettings) -> SigningService:
    """Build the service from its settings (tests call this with their own)."""
    broker = create_broker(settings.amqp_url, SERVICE)
    database = create_mongo_client(settings.mongo_url)[settings.database_name(SERVICE)]
    store = SigningStore(database)
    handlers = SigningHandlers(store)
    subscribers.register(broker, handlers, prefetch=settings.rpc_prefetch)
    runtime = ServiceRuntime(
        SERVICE, settings, broker, database, prepare_database=store.ensure_indexes
    )
    return SigningService(runtime=runtime, handlers=handlers, store=store)


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = SigningSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).runtime.run())
