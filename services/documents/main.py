"""Composition root of the documents service: `python -m services.documents`."""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from libs.contracts.documents import DocumentPublished
from libs.contracts.privacy import ExportPart
from libs.servicekit.bus import create_broker, subscribe_event
from libs.servicekit.cursor_signing import CursorSigner, cursor_key
from libs.servicekit.export_parts import EXPORT_PARTS, subscribe_export_part
from libs.servicekit.export_storage import ExportStorage
from libs.servicekit.lease import Lease
from libs.servicekit.logs import configure_logging
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.outbox import OutboxRelay
from libs.servicekit.periodic import run_every, stop_background
from libs.servicekit.references import DossierReferenceCheck, RpcCalling
from libs.servicekit.rpc import RpcClient
from libs.servicekit.runtime import ServiceRuntime
from services.documents import privacy_erasure, subscribers
from services.documents.announcements import BatchAnnouncer
from services.documents.config import MIB, DocumentsSettings
from services.documents.handlers import DocumentsHandlers
from services.documents.integrity import BodyVerifier
from services.documents.object_storage import ObjectStorage
from services.documents.orphans import OrphanSweep
from services.documents.privacy_export import DocumentsPartBuilder
from services.documents.renditions import RenditionWorker
from services.documents.store import BATCHES, DOCUMENTS, DocumentsStore

SERVICE = "documents"


@dataclass
class DocumentsService:
    runtime: ServiceRuntime
    handlers: DocumentsHandlers
    store: DocumentsStore
    storage: ObjectStorage
    relay: OutboxRelay
    renditions: RenditionWorker
    sweep: OrphanSweep
    sweep_seconds: float
    verifier: BodyVerifier
    announcer: BatchAnnouncer
    announce_check_seconds: float
    rpc_client: RpcClient | None  # None when the caller passed its own RPC (tests)

    async def run(self) -> None:
        """Serve until SIGINT/SIGTERM, sweeping orphans, scrubbing bodies and announcing
        staff batches that never came meanwhile."""
        database = self.runtime.database  # each job in one replica at a time: its lease
        background = [
            asyncio.create_task(
                run_every(self.sweep_seconds, self.sweep.sweep, name="orphan sweep",
                          lease=Lease(database, "orphan-sweep")),
                name="sweep"),
            asyncio.create_task(self.verifier.run_scrubber(Lease(database, "scrubber")),
                                name="scrubber"),
            asyncio.create_task(
                run_every(self.announce_check_seconds, self.announcer.announce_overdue,
                          name="announcing overdue batches",
                          lease=Lease(database, "batch-announcer")),
                name="announcer"),
        ]
        try:
            await self.runtime.run()
        finally:
            await stop_background(background)
            if self.rpc_client is not None:
                await self.rpc_client.close()


def build(settings: DocumentsSettings, *, rpc: RpcCalling | None = None) -> DocumentsService:
    """Build the service from its settings (tests call this with their own, and a fake `rpc`
    standing for the dossier service)."""
    broker = create_broker(settings.amqp_url, SERVICE)
    database = create_mongo_client(settings.mongo_url)[settings.database_name(SERVICE)]
    store = DocumentsStore(database, CursorSigner(cursor_key(settings.cursor_secret,
                                                             settings.environment)))
    storage = ObjectStorage(
        endpoint=settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        region=settings.s3_region,
        bucket=settings.s3_bucket,
        timeout_seconds=settings.s3_timeout_seconds,
    )
    relay = OutboxRelay(broker, database, [DOCUMENTS, BATCHES,
                                           *privacy_erasure.OUTBOX_COLLECTIONS, EXPORT_PARTS])
    # Whether a dossier and its claims exist is the dossier service's to say: asked over RPC.
    rpc_client: RpcClient | None = None
    if rpc is None:
        rpc = rpc_client = RpcClient(settings.amqp_url,
                                     timeout_seconds=settings.rpc_timeout_seconds)
    verifier = BodyVerifier(
        store, storage, verified_for=timedelta(seconds=settings.verified_for_seconds),
        range_wait_seconds=settings.range_check_wait_seconds,
        scrub_bytes_per_second=settings.scrub_bytes_per_second,
        scrub_idle_seconds=settings.scrub_idle_seconds)
    announcer = BatchAnnouncer(
        store, announce_after=timedelta(seconds=settings.announce_after_seconds),
        on_events_stored=relay.notify)
    handlers = DocumentsHandlers(
        store,
        storage,
        verifier,
        announcer,
        DossierReferenceCheck(rpc),
        max_upload_bytes=settings.max_upload_bytes,
        client_max_upload_bytes=settings.client_max_upload_bytes,
        dossier_quota_bytes=settings.dossier_quota_bytes,
        link_lifetime=timedelta(seconds=settings.presign_seconds),
        on_events_stored=relay.notify,
    )
    subscribers.register(broker, handlers, prefetch=settings.rpc_prefetch)
    privacy = privacy_erasure.wire(broker, database, settings, storage, notify=relay.notify)
    renditions = RenditionWorker(
        store, storage, soffice=settings.soffice_path,
        timeout_seconds=settings.conversion_timeout_seconds,
        memory_bytes=settings.conversion_memory_mib * MIB,
        max_concurrent=settings.max_concurrent_conversions)
    # Its own queue: a slow conversion never holds up the RPC answers.
    subscribe_event(broker, consumer=SERVICE, purpose="renditions",
                    event_type=DocumentPublished, handle=renditions.on_document_published,
                    prefetch=2 * settings.max_concurrent_conversions)
    subscribe_export_part(broker, database, ExportStorage.from_settings(settings),
                          consumer=SERVICE, part=ExportPart.DOCUMENTS,
                          build=DocumentsPartBuilder(database, storage), notify=relay.notify)

    async def prepare_storage() -> None:
        # Retried by the runtime until both answer; the service reports not-ready meanwhile.
        await store.ensure_indexes()
        await storage.ensure_bucket()
        if rpc_client is not None and not rpc_client.connected:
            await rpc_client.connect()

    runtime = ServiceRuntime(
        SERVICE, settings, broker, database, relay=relay, prepare_database=prepare_storage
    )
    privacy.start_with(runtime)
    return DocumentsService(
        runtime=runtime, handlers=handlers, store=store, storage=storage, relay=relay,
        renditions=renditions,
        sweep=OrphanSweep(store, storage,
                          grace=timedelta(seconds=settings.orphan_grace_seconds)),
        sweep_seconds=settings.orphan_sweep_seconds,
        verifier=verifier,
        announcer=announcer,
        announce_check_seconds=settings.announce_check_seconds,
        rpc_client=rpc_client,
    )


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = DocumentsSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).run())
