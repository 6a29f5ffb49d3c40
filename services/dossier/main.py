"""Composition root of the dossier service: `python -m services.dossier`."""

import asyncio
from dataclasses import dataclass

from libs.contracts.privacy import ExportPart
from libs.servicekit.bus import create_broker
from libs.servicekit.cursor_signing import CursorSigner, cursor_key
from libs.servicekit.export_parts import EXPORT_PARTS, subscribe_export_part
from libs.servicekit.export_storage import ExportStorage
from libs.servicekit.logs import configure_logging, get_logger
from libs.servicekit.mongo import create_mongo_client
from libs.servicekit.outbox import OutboxRelay
from libs.servicekit.runtime import ServiceRuntime
from services.dossier import privacy_erasure, subscribers
from services.dossier.config import DossierSettings
from services.dossier.consultation import DossierConsultation
from services.dossier.cursors import PageCursors
from services.dossier.handlers import DossierHandlers
from services.dossier.locks import ImportLocks
from services.dossier.privacy_export import DossiersPartBuilder
from services.dossier.references import DossierReferences
from services.dossier.store import COLLECTIONS, DOSSIERS, DossierStore

SERVICE = "dossier"
log = get_logger(__name__)


@dataclass
class DossierService:
    runtime: ServiceRuntime
    handlers: DossierHandlers
    store: DossierStore
    relay: OutboxRelay


def build(settings: DossierSettings) -> DossierService:
    """Build the service from its settings (tests call this with their own)."""
    broker = create_broker(settings.amqp_url, SERVICE)
    database = create_mongo_client(settings.mongo_url)[settings.database_name(SERVICE)]
    store = DossierStore(database)
    relay = OutboxRelay(broker, database, [DOSSIERS, *COLLECTIONS.values(),
                                           *privacy_erasure.OUTBOX_COLLECTIONS, EXPORT_PARTS])
    handlers = DossierHandlers(store, ImportLocks(database), on_events_stored=relay.notify)
    page_cursors = PageCursors(CursorSigner(cursor_key(settings.cursor_secret,
                                                       settings.environment)))
    consultation = DossierConsultation(store, page_cursors)
    subscribers.register(broker, handlers, consultation, DossierReferences(store),
                         prefetch=settings.rpc_prefetch)
    privacy = privacy_erasure.wire(broker, database, settings, notify=relay.notify)
    subscribe_export_part(broker, database, ExportStorage.from_settings(settings),
                          consumer=SERVICE, part=ExportPart.DOSSIERS,
                          build=DossiersPartBuilder(store), notify=relay.notify)

    async def prepare_database() -> None:
        await store.ensure_indexes()
        await privacy.ensure_indexes()
        filled = await store.fill_derived_fields()
        if filled:
            log.info("derived fields filled in", **filled)

    runtime = ServiceRuntime(
        SERVICE, settings, broker, database, relay=relay, prepare_database=prepare_database
    )
    privacy.start_with(runtime)
    return DossierService(runtime=runtime, handlers=handlers, store=store, relay=relay)


def main() -> None:
    """Run the service until SIGINT/SIGTERM."""
    settings = DossierSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(build(settings).runtime.run())
