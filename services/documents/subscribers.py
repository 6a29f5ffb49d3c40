"""Bus entry points of the documents service: thin, typed, each calls one handler."""

from faststream.rabbit import RabbitBroker

from libs.contracts import documents
from libs.servicekit.bus import declare_emitted_events
from libs.servicekit.rpc import serve_rpc
from services.documents.handlers import DocumentsHandlers

SERVICE = "documents"
# Every event the service's outbox publishes: the AsyncAPI document lists these as sent.
EMITS = (documents.DocumentPublished, documents.DocumentsBatchPublished)


def register(broker: RabbitBroker, handlers: DocumentsHandlers, *, prefetch: int) -> None:
    """Wire every RPC method of the service."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    serve_rpc(broker, documents.BEGIN_UPLOAD, handlers.begin_upload, prefetch=prefetch)
    serve_rpc(broker, documents.COMPLETE_UPLOAD, handlers.complete_upload, prefetch=prefetch)
    serve_rpc(broker, documents.LIST_DOCUMENTS, handlers.list_documents, prefetch=prefetch)
    serve_rpc(broker, documents.OPEN_DOWNLOAD, handlers.open_download, prefetch=prefetch)
    serve_rpc(broker, documents.OPEN_OFFICE_ASSET, handlers.open_office_asset, prefetch=prefetch)
    serve_rpc(broker, documents.REPORT_DAMAGED, handlers.report_damaged, prefetch=prefetch)
    serve_rpc(broker, documents.REPORT_VERIFIED, handlers.report_verified, prefetch=prefetch)
    serve_rpc(broker, documents.LIST_DOCUMENT_PROBLEMS, handlers.list_document_problems,
              prefetch=prefetch)
    serve_rpc(broker, documents.PUBLISH_BATCH, handlers.publish_batch, prefetch=prefetch)
