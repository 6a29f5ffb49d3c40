"""Bus entry points of privacy: the access log (the gateways' staff reads), the erasures (a
dossier's, an account's, a client's own login) and the data exports (the RPC methods, the parts'
reports, and auth's own part of an export)."""

from collections.abc import Callable

from faststream.rabbit import RabbitBroker
from pymongo.asynchronous.database import AsyncDatabase

from libs.contracts import privacy
from libs.servicekit.bus import declare_emitted_events, subscribe_event
from libs.servicekit.erasure import subscribe_erasure
from libs.servicekit.export_parts import subscribe_export_part
from libs.servicekit.mongo import Document
from libs.servicekit.rpc import serve_rpc
from services.auth.privacy.erasure import AuthPrivacy
from services.auth.privacy.export_parts import AccountPartBuilder
from services.auth.privacy.exports import PrivacyExports
from services.auth.privacy.store import AccountRecords

SERVICE = "auth"
# Through the outbox (the AsyncAPI document lists them); the parts' reports: export_parts.
EMITS = (privacy.LoginDeleted, privacy.AccountErased, privacy.ErasureCompleted,
         privacy.ExportRequested, privacy.ExportReady)


def register(broker: RabbitBroker, database: AsyncDatabase[Document], erasures: AuthPrivacy,
             exports: PrivacyExports, *, notify: Callable[[], None], prefetch: int,
             event_prefetch: int) -> None:
    """Wire the RPC methods and event consumers of privacy."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    access_log, erasure = erasures.access_log, erasures.erasure
    serve_rpc(broker, privacy.LIST_STAFF_READS, access_log.list_reads, prefetch=prefetch)
    serve_rpc(broker, privacy.ERASE_ACCOUNT, erasure.erase_account, prefetch=prefetch)
    serve_rpc(broker, privacy.DELETE_OWN_LOGIN, erasure.delete_own_login, prefetch=prefetch)
    subscribe_erasure(broker, erasure.participant)
    subscribe_event(broker, consumer=SERVICE, purpose="access-log",
                    event_type=privacy.StaffReadsRecorded, handle=access_log.on_reads_recorded,
                    prefetch=event_prefetch)
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
    subscribe_export_part(broker, database, exports.storage, consumer=SERVICE,
                          part=privacy.ExportPart.ACCOUNT,
                          build=AccountPartBuilder(AccountRecords(database)), notify=notify)
