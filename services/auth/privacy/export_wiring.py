"""Wiring of the data exports in the auth service: the RPC methods, the parts' reports, the
account part, and the periodic sweep (one replica at a time)."""

from collections.abc import Callable
from datetime import timedelta

from faststream.rabbit import RabbitBroker
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts import privacy
from libs.servicekit.bus import declare_emitted_events, subscribe_event
from libs.servicekit.export_parts import subscribe_export_part
from libs.servicekit.export_storage import ExportStorage
from libs.servicekit.lease import Lease
from libs.servicekit.mongo import Document
from libs.servicekit.periodic import run_every
from libs.servicekit.rpc import serve_rpc
from services.auth.config import AuthSettings
from services.auth.privacy.export_parts import AccountPartBuilder
from services.auth.privacy.exports import PrivacyExports

SERVICE = "auth"
EMITS = (privacy.ExportRequested, privacy.ExportReady)  # the parts' reports: export_parts


def wire_privacy_exports(broker: RabbitBroker, database: AsyncDatabase[Document],
                         settings: AuthSettings, *, notify: Callable[[], None],
                         prefetch: int) -> PrivacyExports:
    """Build the exports' owner and connect it to the bus."""
    storage = ExportStorage.from_settings(settings)
    exports = PrivacyExports(
        database, storage, limit_per_day=settings.export_limit_per_day,
        time_limit=timedelta(seconds=settings.export_time_limit_seconds),
        lifetime=timedelta(days=settings.export_lifetime_days), notify=notify)
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, privacy.REQUEST_EXPORT, exports.request_export, prefetch=prefetch)
    serve_rpc(broker, privacy.LIST_MY_EXPORTS, exports.list_my_exports, prefetch=prefetch)
    serve_rpc(broker, privacy.GET_EXPORT, exports.get_export, prefetch=prefetch)
    serve_rpc(broker, privacy.OPEN_EXPORT_DOWNLOAD, exports.open_download, prefetch=prefetch)
    serve_rpc(broker, privacy.LIST_EXPORTS, exports.list_exports, prefetch=prefetch)
    # Assembling a ZIP takes a while: few at a time, on their own queue.
    subscribe_event(broker, consumer=SERVICE, purpose="privacy-export-parts-ready",
                    event_type=privacy.ExportPartReady, handle=exports.on_part_ready,
                    prefetch=2)
    subscribe_event(broker, consumer=SERVICE, purpose="privacy-export-parts-failed",
                    event_type=privacy.ExportPartFailed, handle=exports.on_part_failed,
                    prefetch=4)
    subscribe_export_part(broker, database, storage, consumer=SERVICE,
                          part=privacy.ExportPart.ACCOUNT,
                          build=AccountPartBuilder(database), notify=notify)
    return exports


async def sweep_exports(exports: PrivacyExports, database: AsyncDatabase[Document],
                        seconds: float) -> None:
    """Fail late exports and delete expired ZIPs, in one replica at a time."""
    await run_every(seconds, exports.sweep, name="privacy export sweep",
                    lease=Lease(database, "privacy-export-sweep"))
