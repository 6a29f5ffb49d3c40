"""Composition root of the documents service: `python -m services.documents`."""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from libs.servicekit.bus import create_broker
from libs.servicekit.logs import configure_logging
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.outbox import OutboxRelay
from libs.servicekit.runtime import ServiceRuntime
from services.documents import subscribers
from services.documents.config import DocumentsSettings
from services.documents.handlers import DocumentsHandlers
from services.documents.object_storage import ObjectStorage
from services.documents.store import DOCUMENTS, DocumentsStore

SERVICE = "documents"


@dataclass
class DocumentsService:
    runtime: ServiceRuntime
    handlers: DocumentsHandlers
    store: DocumentsStore
    storage: ObjectStorage
    relay: OutboxRelay


def build(settings: DocumentsSettings) -> DocumentsService:
    """Build the service from its settings (tests call this with their own)."""
    broker = create_broker(settings.amqp_url, SERVICE)
    database = create_mongo_client(settings.mongo_url)[settings.database_name(SERVICE)]
    store = DocumentsStore(database)
    storage = ObjectStorage(
        endpoint=settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        region=settings.s3_region,
        bucket=settings.s3_bucket,
        timeout_seconds=settings.s3_timeout_seconds,
    )
    relay = OutboxRelay(broker, database, [DOCUMENTS])
    handlers = DocumentsHandlers(
        store,
        storage,
        max_upload_bytes=settings.max_upload_bytes,
        link_lifetime=timedelta(seconds=settings.presign_seconds),
        on_events_stored=relay.notify,
    )
    subscribers.register(broker, handlers, prefetch=settings.rpc_prefetch)

    async def prepare_storage() -> None:
        # Retried by the runtime until both answer; the service reports not-ready meanwhile.
        await store.ensure_indexes()
        await storage.ensure_bucket()

    runtime = ServiceRuntime(
        SERVICE, settings, broker, database, relay=relay, prepare_database=prepare_storage
    )
    return DocumentsService(
        runtime=runtime, handlers=handlers, store=store, storage=storage, relay=relay
    )


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = DocumentsSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).runtime.run())
