"""Bus entry points of the signing service: thin, typed, each calls one handler."""

from faststream.rabbit import RabbitBroker

from libs.contracts import client_sheet, signing
from libs.servicekit.bus import declare_emitted_events, subscribe_event
from libs.servicekit.rpc import serve_rpc
from services.signing.client_sheets import ClientSheetSignatures
from services.signing.handlers import SigningHandlers
from services.signing.mobile_handlers import MobileSigning

SERVICE = "signing"
# Every event the service's outbox publishes: the AsyncAPI document lists these as sent.
EMITS = (signing.SignerInvited, signing.SignatureCompleted, signing.SignatureRefused,
         signing.SignatureCancelled)


def register(broker: RabbitBroker, handlers: SigningHandlers, mobile: MobileSigning, *,
             prefetch: int, sheets: ClientSheetSignatures) -> None:
    """Wire every RPC method and event subscription of the service."""
    declare_emitted_events(broker, producer=SERVICE, events=EMITS)
    # A confirmed client sheet is offered to its client for signature (once per sheet).
    subscribe_event(broker, consumer=SERVICE, purpose="client-sheet-signatures",
                    event_type=client_sheet.ClientSheetConfirmed,
                    handle=sheets.on_sheet_confirmed, prefetch=prefetch)
    serve_rpc(
        broker, signing.LIST_DOCUMENTS_TO_SIGN, handlers.list_documents_to_sign, prefetch=prefetch
    )
    serve_rpc(broker, signing.CREATE_SIGNATURE_REQUEST, handlers.create_request,
              prefetch=prefetch)
    serve_rpc(broker, signing.GET_SIGNATURE_REQUEST, handlers.get_request, prefetch=prefetch)
    serve_rpc(broker, signing.LIST_SIGNATURE_REQUESTS, handlers.list_requests, prefetch=prefetch)
    serve_rpc(broker, signing.CANCEL_SIGNATURE_REQUEST, handlers.cancel_request,
              prefetch=prefetch)
    serve_rpc(broker, signing.GET_OFFER, handlers.get_offer, prefetch=prefetch)
    serve_rpc(broker, signing.DOCUMENT_SERVED, handlers.document_served, prefetch=prefetch)
    serve_rpc(broker, signing.SIGN, handlers.sign, prefetch=prefetch)
    serve_rpc(broker, signing.REFUSE, handlers.refuse, prefetch=prefetch)
    serve_rpc(broker, signing.OPEN_SIGNED_DOCUMENT, handlers.open_signed_document,
              prefetch=prefetch)
    serve_rpc(broker, signing.GET_AUDIT_TRAIL, handlers.get_audit_trail, prefetch=prefetch)
    serve_rpc(broker, signing.VERIFY, handlers.verify, prefetch=prefetch)
    # the mobile signature
    serve_rpc(broker, signing.MOBILE_STATUS, mobile.status, prefetch=prefetch)
    serve_rpc(broker, signing.START_ENROLMENT, mobile.start, prefetch=prefetch)
    serve_rpc(broker, signing.CONFIRM_CODE, mobile.confirm_code, prefetch=prefetch)
    serve_rpc(broker, signing.CHECK_ID_CARD, mobile.check_id_card, prefetch=prefetch)
    serve_rpc(broker, signing.FINISH_ENROLMENT, mobile.finish, prefetch=prefetch)
    serve_rpc(broker, signing.MOBILE_CHALLENGE, mobile.challenge, prefetch=prefetch)
    serve_rpc(broker, signing.MOBILE_SIGN, mobile.sign, prefetch=prefetch)
    serve_rpc(broker, signing.LIST_ENROLMENTS, mobile.list_enrolments, prefetch=prefetch)
    serve_rpc(broker, signing.REVOKE_ENROLMENT, mobile.revoke, prefetch=prefetch)
